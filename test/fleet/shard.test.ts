// agent.shard picks the same targets as Prometheus's own hashmod: a real Prometheus reads
// the same addresses from a file_sd file, relabels them with hashmod, and keeps one shard;
// slaprobe's choice must equal Prometheus's, target for target.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { Target } from '../../src/config/types.ts';
import { effectiveConfig } from '../../src/fleet/sd.ts';
import { hashmod, inShard, shardKey } from '../../src/fleet/shard.ts';
import { type Server, freePort, httpOk, startServer, tempDir, tool, waitFor } from '../deploy/tools.ts';

// Loopback addresses only: Prometheus scrapes them once (connection refused on port 9).
const ADDRESSES = Array.from({ length: 60 }, (_, i) => `127.0.${Math.floor(i / 20)}.${(i % 20) + 1}:${9 + (i % 3)}`);
const COUNT = 3;

interface PromTarget { labels: Record<string, string>; discoveredLabels: Record<string, string> }

describe('hashmod against a real Prometheus', () => {
  let prom: Server;
  let port: number;
  beforeAll(async () => {
    const dir = tempDir('hashmod');
    port = await freePort();
    writeFileSync(join(dir, 'targets.json'), JSON.stringify([{ targets: ADDRESSES, labels: { team: 'media' } }]));
    // Job "all" labels every target with its hashmod; job "one" keeps shard 1 only, the way an
    // operator shards Prometheus itself.
    writeFileSync(join(dir, 'prometheus.yml'), `
global: {scrape_interval: 1h, scrape_timeout: 1s}
scrape_configs:
  - job_name: all
    file_sd_configs: [{files: [${join(dir, 'targets.json')}]}]
    relabel_configs:
      - {source_labels: [__address__], modulus: ${COUNT}, target_label: shard, action: hashmod}
  - job_name: one
    file_sd_configs: [{files: [${join(dir, 'targets.json')}]}]
    relabel_configs:
      - {source_labels: [__address__], modulus: ${COUNT}, target_label: __tmp_shard, action: hashmod}
      - {source_labels: [__tmp_shard], regex: "1", action: keep}
`);
    prom = startServer(tool('prometheus'), [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
    await waitFor('prometheus ready', async () => ((await httpOk(`http://127.0.0.1:${port}/-/ready`)) ? true : undefined), 30_000, 100);
  });
  afterAll(async () => {
    await prom?.stop();
  });

  const active = async (job: string): Promise<PromTarget[]> => {
    const j = (await (await fetch(`http://127.0.0.1:${port}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: PromTarget[] } };
    return j.data.activeTargets.filter((t) => t.labels['job'] === job);
  };

  it('gives every address the shard Prometheus gives it', async () => {
    const all = await waitFor('targets discovered', async () => {
      const t = await active('all');
      return t.length === ADDRESSES.length ? t : undefined;
    }, 30_000, 200);
    const theirs = Object.fromEntries(all.map((t) => [t.labels['instance']!, Number(t.labels['shard'])]));
    const ours = Object.fromEntries(ADDRESSES.map((a) => [a, hashmod(a, COUNT)]));
    expect(ours).toEqual(theirs);
    // Not a degenerate split: every shard gets some.
    expect(new Set(Object.values(ours))).toEqual(new Set([0, 1, 2]));
  });

  it('agent.shard keeps the targets Prometheus keeps for that shard', async () => {
    const kept = await waitFor('shard 1 discovered', async () => {
      const t = await active('one');
      return t.length > 0 ? t : undefined;
    }, 30_000, 200);
    const cfg = parseConfig(`
agent: {shard: {count: ${COUNT}, index: 1}}
targets:
${ADDRESSES.map((a, i) => `  - {name: t${i}, kind: tcp, address: "${a}"}`).join('\n')}
`, 'c.yaml');
    const mine = effectiveConfig(cfg, new Map()).targets.map((t) => (t as Target & { address: string }).address);
    expect(mine.sort()).toEqual(kept.map((t) => t.labels['instance']!).sort());
  });
});

describe('shards', () => {
  const cfg = (shard: string) => parseConfig(`
agent: {shard: ${shard}}
targets:
${ADDRESSES.map((a, i) => `  - {name: t${i}, kind: tcp, address: "${a}"}`).join('\n')}
  - {name: web, kind: http, url: "http://127.0.0.1:8080/health"}
`, 'c.yaml', { env: { HOSTNAME: 'slaprobe-2', POD_ORDINAL: '1' } });

  it('split the targets: disjoint, and together all of them', () => {
    const parts = [0, 1, 2, 3].map((i) => effectiveConfig(cfg(`{count: 4, index: ${i}}`), new Map()).targets.map((t) => t.name));
    const flat = parts.flat();
    expect(new Set(flat).size).toBe(flat.length);
    expect(flat.sort()).toEqual([...ADDRESSES.map((_, i) => `t${i}`), 'web'].sort());
  });

  it('an http target is sharded by its URL (its __address__ in a blackbox job)', () => {
    const web = cfg('{count: 4, index: 0}');
    const t = parseConfig('targets: [{name: web, kind: http, url: "http://127.0.0.1:8080/health"}]', 'c.yaml').targets[0]!;
    expect(shardKey(t)).toBe('http://127.0.0.1:8080/health');
    const idx = hashmod('http://127.0.0.1:8080/health', 4);
    expect(inShard(web.targets, { count: 4, index: idx }).some((x) => x.name === 'web')).toBe(true);
  });

  it.each([
    ['{count: 3, index: "${POD_ORDINAL}"}', 1],
    ['{count: 3, index: "${HOSTNAME}"}', 2],
    ['{count: 3, index: 0}', 0],
  ])('index from %s is %i', (shard, index) => {
    expect(cfg(shard).agent.shard).toEqual({ count: 3, index });
  });

  it.each([
    ['{count: 2, index: "${HOSTNAME}"}', 'agent.shard.index: is 2 but count is 2: shards are numbered 0 to 1; raise count to the number of agents (replicas)'],
    ['{count: 2, index: slaprobe}', 'agent.shard.index: expected this agent\'s shard number (0 to count - 1): a number, ${POD_ORDINAL}, or a StatefulSet pod name such as slaprobe-3 (${HOSTNAME}); got "slaprobe"'],
    ['{index: 0}', 'agent.shard.count: is required: how many agents share this region\'s targets'],
  ])('refuses %s', (shard, message) => {
    expect(() => cfg(shard)).toThrow(message);
  });
});
