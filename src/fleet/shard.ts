// Spreading one region's targets over N agents with Prometheus's own `hashmod`, so that an
// operator can predict (and check with promtool or a relabel rule) which agent probes what:
//
//   relabel_configs:
//     - {source_labels: [__address__], modulus: N, target_label: __tmp_shard, action: hashmod}
//     - {source_labels: [__tmp_shard], regex: I, action: keep}
//
// prometheus/prometheus model/relabel/relabel.go, case HashMod:
//   hash := md5.Sum([]byte(val)); mod := binary.BigEndian.Uint64(hash[8:]) % cfg.Modulus
// Evidence is keyed by target and region, not by agent, so N -> N+1 agents moves targets
// between agents and loses nothing (a moved target's timeline continues under another agent).
import { createHash } from 'node:crypto';
import type { Target } from '../config/types.ts';

/** Prometheus `hashmod`: md5 of the value, last 8 bytes as a big-endian uint64, modulo. */
export function hashmod(value: string, modulus: number): number {
  const sum = createHash('md5').update(value, 'utf8').digest();
  return Number(sum.readBigUInt64BE(8) % BigInt(modulus));
}

/** What is hashed: Prometheus's `__address__` of the target (the SD entry, the url, the address). */
export function shardKey(t: Target): string {
  return t.sd_address ?? (t.kind === 'http' ? t.url : t.address);
}

/** The targets of shard `index` of `count`. */
export function inShard<T extends Target>(targets: readonly T[], shard: { count: number; index: number } | undefined): T[] {
  if (!shard || shard.count === 1) return [...targets];
  return targets.filter((t) => hashmod(shardKey(t), shard.count) === shard.index);
}
