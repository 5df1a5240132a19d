// The agent's icmp runs: one long-lived system ping per target (src/engine/ping-stream.ts),
// against loopback and a host in a network namespace of this test that drops or rejects.
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IcmpTarget } from '../../src/config/types.ts';
import { gapOf, icmpStreamProbe, retainStreams, stopStreams } from '../../src/engine/ping-stream.ts';
import { type TestHost, createTestHost } from '../support/netns.ts';
import { makeTarget } from '../support/targets.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The ping processes this test process started (children by parent pid, in /proc). */
function pingChildren(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'ping' && ppid === process.pid) out.push(Number(name));
    } catch { /* gone */ }
  }
  return out;
}

const target = (raw: Record<string, unknown>) => makeTarget<IcmpTarget>({ kind: 'icmp', ...raw });
const run = (t: IcmpTarget, ms = t.timeout) => icmpStreamProbe(t, AbortSignal.timeout(ms));

afterEach(async () => {
  stopStreams();
  for (let i = 0; i < 40 && pingChildren().length > 0; i++) await sleep(50);
});

describe('icmp stream (one ping process per target)', () => {
  it('keeps every RTT, and a second run continues the same process where the first stopped', async () => {
    // 5 packets every 2 s: one every 400 ms.
    const t = target({ name: 'lo', address: '127.0.0.1', packets: 5, spacing: '200ms', interval: '2s', timeout: '1900ms' });
    expect(gapOf(t)).toBe(400);
    const first = await run(t, 1_000);
    expect(first.success).toBe(true);
    const p1 = first.packets!;
    // The first run starts the process and returns with its first packet.
    expect(p1.sent).toBeGreaterThanOrEqual(1);
    expect(p1).toMatchObject({ received: p1.sent, lost: 0, lossBurstMax: 0 });
    expect(p1.seqs![0]).toBe(1);
    for (const r of p1.rtts) expect(r).toBeGreaterThan(0);
    expect(pingChildren()).toHaveLength(1);

    await sleep(2_000);
    const second = await run(t, 1_000);
    const p2 = second.packets!;
    // What was decided since the first run (one interval: 5 packets), and the sequence goes
    // on from the first run's last.
    expect(p2.sent).toBeGreaterThanOrEqual(3);
    expect(p2.sent).toBeLessThanOrEqual(10);
    expect(p2.received).toBe(p2.sent);
    expect(p2.seqs![0]).toBe(p1.seqs!.at(-1)! + 1);
    expect(p2.seqs).toEqual(p2.seqs!.map((_, i) => p2.seqs![0]! + i));
    expect(pingChildren()).toHaveLength(1);
  });

  it('a changed target gets a new process; a removed one has its process stopped', async () => {
    const t = target({ name: 'lo2', address: '127.0.0.1', packets: 5, spacing: '200ms', interval: '2s', timeout: '1900ms' });
    await run(t, 500);
    const [pid] = pingChildren();
    const bigger = { ...t, size: 100 };
    const r = await run(bigger, 500);
    expect(r.packets!.seqs![0]).toBe(1);
    // The old process was sent SIGTERM; it is gone once the kernel has reaped it.
    for (let i = 0; i < 20 && pingChildren().length > 1; i++) await sleep(50);
    const now = pingChildren();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(pid);
    retainStreams(new Set());
    for (let i = 0; i < 20 && pingChildren().length > 0; i++) await sleep(50);
    expect(pingChildren()).toHaveLength(0);
  });

  it('a name that does not resolve is "dns", from its errno code', async () => {
    const t = target({ name: 'nx', address: 'no-such-host.invalid', packets: 2, spacing: '200ms', interval: '2s', timeout: '1500ms' });
    expect(await run(t)).toMatchObject({ success: false, reason: 'dns' });
    expect(pingChildren()).toHaveLength(0);
  });
});

describe('icmp stream: loss and unreachable (network namespace)', () => {
  let host: TestHost;
  beforeAll(() => { host = createTestHost(); });
  afterAll(() => host?.close());
  afterEach(() => host.nft('flush chain inet slp input'));

  it('dropped echo requests are lost, decided by ping\'s "no answer yet" line (gap of 1 s)', async () => {
    host.nft('add rule inet slp input icmp type echo-request drop');
    const t = target({ name: 'drop1', address: host.address, packets: 2, spacing: '200ms', interval: '2s', timeout: '1900ms' });
    expect(gapOf(t)).toBe(1000);
    // The first run starts the stream and returns with the first fate: seq 1 counted lost
    // when ping sends seq 2, 1 s later.
    const first = await run(t, 1_900);
    expect(first).toMatchObject({ success: false, reason: 'timeout', packets: { sent: 1, received: 0, lost: 1 } });
    await sleep(2_200);
    const second = await run(t, 1_900);
    expect(second).toMatchObject({ success: false, reason: 'timeout' });
    const p = second.packets!;
    expect(p.sent).toBeGreaterThanOrEqual(2);
    expect(p).toMatchObject({ received: 0, lost: p.sent, lossBurstMax: p.sent, rtts: [] });
  });

  it('with gaps under a second, a packet is lost once it waited a second', async () => {
    host.nft('add rule inet slp input icmp type echo-request drop');
    const t = target({ name: 'drop2', address: host.address, packets: 5, spacing: '200ms', interval: '2s', timeout: '1900ms' });
    expect(gapOf(t)).toBe(400);
    // Seq 1 leaves at 0 and is decided at 1 s (not at 400 ms, when ping reports it missing).
    const t0 = performance.now();
    const first = await run(t, 1_900);
    expect(performance.now() - t0).toBeGreaterThan(900); // a lower bound: load only delays it
    expect(first).toMatchObject({ success: false, reason: 'timeout', packets: { sent: 1, lost: 1 } });
    await sleep(1_600);
    // Sent every 400 ms; by then seqs 2 to 5 or so have waited their second.
    const r = await run(t, 1_900);
    expect(r).toMatchObject({ success: false, reason: 'timeout' });
    expect(r.packets!.sent).toBeGreaterThanOrEqual(3);
    expect(r.packets!.received).toBe(0);
  });

  it('ICMP destination unreachable answers are "unreachable"; answers again once the rule is gone', async () => {
    host.nft('add rule inet slp input icmp type echo-request reject with icmpx type host-unreachable');
    const t = target({ name: 'unreach', address: host.address, packets: 3, spacing: '200ms', interval: '2s', timeout: '1900ms' });
    const r = await run(t, 900);
    expect(r).toMatchObject({ success: false, reason: 'unreachable', code: 'ICMP_UNREACH' });
    expect(r.packets!.sent).toBeGreaterThanOrEqual(1);
    expect(r.packets).toMatchObject({ received: 0, lost: r.packets!.sent });

    host.nft('flush chain inet slp input');
    await sleep(700);
    await run(t, 400); // the packets in flight when the rule went
    await sleep(2_000);
    const back = await run(t, 1_000);
    expect(back.success).toBe(true);
    expect(back.packets!.received).toBeGreaterThanOrEqual(1);
  });
});
