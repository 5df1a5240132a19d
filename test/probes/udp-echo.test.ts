// udp-echo against the real reflector: a clean path, loss split by direction, a flood of
// junk and replayed packets at the reflector while the agent keeps probing.
import dgram from 'node:dgram';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';
import { udpEchoProbe } from '../../src/probes/udp-echo.ts';
import { type Reflector, startReflector } from '../../src/reflector/index.ts';
import { encodeRequest } from '../../src/reflector/wire.ts';
import { startRelay } from '../support/impair-relay.ts';
import { ECHO_KEY, echoTarget } from '../support/targets.ts';

const metrics = createMetrics({ region: 'test', version: '0', defaultMetrics: false });
let refl: Reflector;
beforeAll(async () => {
  refl = await startReflector({ listen: '127.0.0.1:0', keys: { k1: ECHO_KEY }, rate_limit: 2000, max_packet_bytes: 1472 }, { metrics, log: pino({ level: 'silent' }) });
});
afterAll(async () => { await refl?.close(); });

async function reflectorCount(result: string): Promise<number> {
  await new Promise((r) => setTimeout(r, 1200)); // the worker reports its counts every second
  const m = await metrics.reflectorPackets.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('udp-echo against the reflector', () => {
  it('a clean path: every packet back, no loss, reflector hold time out of the RTT', async () => {
    const r = await udpEchoProbe(echoTarget(refl.address.port), AbortSignal.timeout(10_000));
    expect(r.success).toBe(true);
    expect(r.packets).toMatchObject({ sent: 200, received: 200, lost: 0, lostUpstream: 0, lostDownstream: 0, duplicated: 0 });
    expect(r.info?.['reflector_received']).toBe(200);
    expect(r.packets!.upstreamDelays).toHaveLength(200);
    expect(Math.min(...r.packets!.upstreamDelays!)).toBe(0);
  });

  it('30 trains at once, started apart, of different lengths and spacings: one send loop serves them all, every packet back in its own train', async () => {
    // The packet worker files trains in heaps by their next due send (src/probes/train/worker.ts):
    // trains that start, end and interleave at different cadences must each get all their packets.
    const runs = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      new Promise((r) => setTimeout(r, i * 7)).then(() =>
        udpEchoProbe({ ...echoTarget(refl.address.port, { packets: 20 + (i % 4) * 10, spacing: 5 + (i % 3) * 10 }), name: `t${i}` }, AbortSignal.timeout(15_000)))));
    runs.forEach((r, i) => {
      const n = 20 + (i % 4) * 10;
      expect(r.success, `train ${i}`).toBe(true);
      expect(r.packets, `train ${i}`).toMatchObject({ sent: n, received: n, lost: 0, duplicated: 0, late: 0 });
      expect(r.packets!.seqs, `train ${i}`).toEqual(Array.from({ length: n }, (_, k) => k));
      expect(r.info?.['reflector_received'], `train ${i}`).toBe(n);
    });
  });

  it('a wrong key: every packet dropped as unauthenticated, the run times out', async () => {
    const before = await reflectorCount('unauthenticated');
    const r = await udpEchoProbe(echoTarget(refl.address.port, { key: 'another-key-0123456789', packets: 20, packet_timeout: 100 }), AbortSignal.timeout(10_000));
    expect(r).toMatchObject({ success: false, reason: 'timeout' });
    expect(r.packets).toMatchObject({ sent: 20, received: 0, lost: 20 });
    expect(await reflectorCount('unauthenticated')).toBe(before + 20);
  });

  it('loss is split upstream / downstream by the reflector\'s ack vector', async () => {
    const relay = await startRelay({ upstreamPort: refl.address.port, seed: 7, up: { loss: 0.05 }, down: { loss: 0.03 } });
    try {
      const r = await udpEchoProbe(echoTarget(relay.port, { packets: 1000, spacing: 2 }), AbortSignal.timeout(15_000));
      const s = await relay.stats();
      const p = r.packets!;
      expect(p.sent).toBe(1000);
      expect(p.lost).toBe(s.upDropped + s.downDropped);
      // Only packets lost in the last 63 of the train can lack a later ack to tell the direction.
      const unknown = p.lost! - p.lostUpstream! - p.lostDownstream!;
      expect(unknown).toBeLessThanOrEqual(8);
      expect(Math.abs(p.lostUpstream! - s.upDropped)).toBeLessThanOrEqual(unknown);
      expect(Math.abs(p.lostDownstream! - s.downDropped)).toBeLessThanOrEqual(unknown);
      expect(p.lossBurstMax).toBeGreaterThanOrEqual(1);
    } finally { await relay.close(); }
  });

  it('a path that duplicates every reply: duplicated, not received twice', async () => {
    const relay = await startRelay({ upstreamPort: refl.address.port, seed: 1, down: { duplicate: true } });
    try {
      const r = await udpEchoProbe(echoTarget(relay.port, { packets: 100 }), AbortSignal.timeout(10_000));
      expect(r.packets).toMatchObject({ sent: 100, received: 100, lost: 0, duplicated: 100 });
    } finally { await relay.close(); }
  });

  it('a path that duplicates every request: the reflector drops the copy as replayed', async () => {
    const before = await reflectorCount('replayed');
    const relay = await startRelay({ upstreamPort: refl.address.port, seed: 2, up: { duplicate: true } });
    try {
      const r = await udpEchoProbe(echoTarget(relay.port, { packets: 100 }), AbortSignal.timeout(10_000));
      expect(r.packets).toMatchObject({ sent: 100, received: 100, lost: 0, duplicated: 0 });
      expect(await reflectorCount('replayed')).toBe(before + 100);
    } finally { await relay.close(); }
  });
});

describe('the reflector under attack while the agent probes it', () => {
  it('junk, oversized and replayed floods are dropped and counted; the agent\'s probing of another reflector loses nothing', async () => {
    // The agent serves reflector `refl` (flooded) and probes `other` (a peer agent's reflector).
    const other = await startReflector({ listen: '127.0.0.1:0', keys: { k1: ECHO_KEY }, rate_limit: 2000, max_packet_bytes: 1472 }, { metrics: createMetrics({ region: 't', version: '0', defaultMetrics: false }), log: pino({ level: 'silent' }) });
    const before = { malformed: await reflectorCount('malformed'), oversized: await reflectorCount('oversized'), replayed: await reflectorCount('replayed') };
    // The attacker sends from 127.0.0.2, so the per-source rate limit of 127.0.0.1 is not what saves the probe.
    const atk = dgram.createSocket('udp4');
    await new Promise<void>((r) => atk.bind(0, '127.0.0.2', () => r()));
    const valid = encodeRequest(ECHO_KEY, { keyId: 'k1', session: Buffer.alloc(8, 9), seq: 1, wallSeconds: Math.floor(Date.now() / 1000), sendNs: 1n }, 172);
    const sent = { junk: 0, big: 0, replay: 0 };
    let stop = false;
    const flood = (async () => {
      while (!stop) {
        for (let i = 0; i < 50; i++) {
          atk.send(Buffer.alloc(172, i), refl.address.port, '127.0.0.1'); sent.junk++;
          if (i % 10 === 0) { atk.send(Buffer.alloc(4000, 1), refl.address.port, '127.0.0.1'); sent.big++; }
          if (i % 5 === 0) { atk.send(valid, refl.address.port, '127.0.0.1'); sent.replay++; }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      const [toOther, toFlooded] = await Promise.all([
        udpEchoProbe(echoTarget(other.address.port, { packets: 300, spacing: 5 }), AbortSignal.timeout(15_000)),
        // Probing the flooded reflector itself: its socket buffer overflows, so loss is
        // expected there; the run must still finish with every packet accounted for.
        udpEchoProbe(echoTarget(refl.address.port, { packets: 300, spacing: 5 }), AbortSignal.timeout(15_000)),
      ]);
      expect(toOther.success).toBe(true);
      expect(toOther.packets).toMatchObject({ sent: 300, received: 300, lost: 0 });
      expect(toFlooded.packets!.sent).toBe(300);
      expect(toFlooded.packets!.received + toFlooded.packets!.lost!).toBe(300);
    } finally {
      stop = true;
      await flood;
      await other.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    atk.close();
    expect(sent.junk).toBeGreaterThan(1000);
    // The kernel drops much of a flood at the socket buffer; what reaches the reflector is counted by kind.
    const malformed = (await reflectorCount('malformed')) - before.malformed;
    const oversized = (await reflectorCount('oversized')) - before.oversized;
    const replayed = (await reflectorCount('replayed')) - before.replayed;
    expect(malformed).toBeGreaterThan(1000);
    expect(malformed).toBeLessThanOrEqual(sent.junk);
    expect(oversized).toBeGreaterThan(0);
    expect(oversized).toBeLessThanOrEqual(sent.big);
    // The first copy of the captured packet was reflected once (to the attacker); every other copy is a replay.
    expect(replayed).toBeGreaterThan(100);
    expect(replayed).toBeLessThanOrEqual(sent.replay - 1);
  });
});
