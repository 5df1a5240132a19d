// ICMP echo through the system ping (iputils) driven by the npm `ping` package: N echo
// requests per run in one ping process, each reply's sequence number and RTT kept.
// The name is resolved here first, so a DNS failure is classified from its errno code and
// ping only ever sees a numeric address.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { IcmpTarget } from '../config/types.ts';
import { resolveHost } from './connect.ts';
import { classify, detailOf } from './errors.ts';
import { type ProbeFn, type ProbeResult, fail } from './types.ts';

/**
 * What both icmp probes (this train, the agent's long-lived stream) need before ping runs:
 * the ping executable and the target's numeric address; or the failed run saying which is
 * missing (a DNS failure classified from its errno code).
 */
export async function pingAndAddress(t: IcmpTarget): Promise<{ bin: string; address: string } | ProbeResult> {
  const bin = findPing();
  if (!bin) return fail('ping_unavailable', 'no executable "ping" on PATH; install iputils-ping (Debian/Ubuntu: apt-get install iputils-ping)', { code: 'ENOENT' });
  try {
    return { bin, address: await resolveHost(t.host, t.ip_protocol) };
  } catch (e) {
    const c = classify(e);
    return fail(c.reason, detailOf(e), { code: c.code });
  }
}

export const icmpProbe: ProbeFn = async (target, signal) => {
  const t = target as IcmpTarget;
  const found = await pingAndAddress(t);
  if (!('address' in found)) return found;
  const ip = found.address;
  if (signal.aborted) return fail('timeout', 'run timed out before ping started', { code: 'ABORT_ERR' });
  const v6 = ip.includes(':');
  // -w (deadline) bounds the whole process inside the run's timeout; -W is the wait for the
  // last reply. ping exits on its own: the npm package offers no way to kill it early.
  const deadline = Math.max(1, Math.floor(t.timeout / 1000));
  const wait = Math.max(1, Math.min(deadline, Math.ceil((t.timeout - (t.packets - 1) * t.spacing) / 1000)));
  // Imported on use: the agent's engine runs icmp through ping-stream.ts and never needs it.
  const ping = (await import('ping')).default;
  let res;
  try {
    res = await ping.promise.probe(ip, {
      numeric: true,
      min_reply: t.packets,
      timeout: wait,
      deadline,
      packetSize: t.size,
      v6: false,
      extra: [v6 ? '-6' : '-4', '-i', (t.spacing / 1000).toFixed(3)],
    });
  } catch (e) {
    return fail('ping_unavailable', `ping could not be started: ${detailOf(e)}`, { code: 'ESPAWN' });
  }
  const parsed = parsePingOutput(String(res.output ?? ''));
  const info = { address: ip };
  if (parsed.transmitted === undefined) {
    // No statistics block: ping refused to run (bad option, permission, interval too small
    // without privileges). Its exit status is 2 in all these cases.
    return fail('ping_unavailable', `ping gave no statistics: ${String(res.output ?? '').trim().split('\n')[0]?.slice(0, 200)}`, { code: 'PING_EXIT_2', info });
  }
  const sent = parsed.transmitted;
  const received = Math.min(parsed.received ?? parsed.replies.length, sent);
  const seqs = parsed.replies.map((r) => r.seq);
  const rtts = parsed.replies.map((r) => r.rttMs / 1000);
  const lost = sent - received;
  const packets = { sent, received, rtts, seqs, lost, duplicated: parsed.duplicates, lossBurstMax: longestGap(seqs, sent) };
  if (received === 0) {
    return parsed.errors > 0
      ? fail('unreachable', `${sent} echo requests, ${parsed.errors} ICMP errors (destination unreachable)`, { code: 'ICMP_UNREACH', packets, info })
      : fail('timeout', `${sent} echo requests, no reply`, { code: 'PING_EXIT_1', packets, info });
  }
  return { success: true, packets, info };
};

interface PingOutput { transmitted?: number; received?: number; errors: number; duplicates: number; replies: { seq: number; rttMs: number }[] }

/**
 * iputils' output is a stable, documented format: one line per reply with icmp_seq= and
 * time=, a "DUP!" suffix for duplicates, and the statistics line
 * "N packets transmitted, M received, +D duplicates, +E errors, L% packet loss".
 */
export function parsePingOutput(out: string): PingOutput {
  const r: PingOutput = { errors: 0, duplicates: 0, replies: [] };
  const seen = new Set<number>();
  for (const line of out.split('\n')) {
    const m = /icmp_seq=(\d+).*time=([\d.]+) ms(.*)$/.exec(line);
    if (m) {
      const seq = Number(m[1]);
      if (/DUP!/.test(m[3]!) || seen.has(seq)) continue;
      seen.add(seq);
      r.replies.push({ seq, rttMs: Number(m[2]) });
      continue;
    }
    const s = /^(\d+) packets transmitted, (\d+) (?:packets )?received(.*)$/.exec(line.trim());
    if (s) {
      r.transmitted = Number(s[1]);
      r.received = Number(s[2]);
      const d = /\+(\d+) duplicates/.exec(s[3]!);
      const e = /\+(\d+) errors/.exec(s[3]!);
      if (d) r.duplicates = Number(d[1]);
      if (e) r.errors = Number(e[1]);
    }
  }
  return r;
}

/** Longest run of consecutive missing sequence numbers among 1..sent. */
function longestGap(seqs: number[], sent: number): number {
  const got = new Set(seqs);
  let best = 0;
  let run = 0;
  for (let s = 1; s <= sent; s++) {
    run = got.has(s) ? 0 : run + 1;
    best = Math.max(best, run);
  }
  return best;
}

let cachedPath: string | undefined;
let cachedFor: string | undefined;

export function findPing(path = process.env['PATH'] ?? ''): string | undefined {
  if (cachedFor === path) return cachedPath;
  cachedFor = path;
  cachedPath = undefined;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const f = join(dir, 'ping');
    try {
      accessSync(f, constants.X_OK);
      cachedPath = f;
      break;
    } catch { /* next */ }
  }
  return cachedPath;
}
