// Packet timing lives in the worker: a main thread blocked 15 ms at random (as a config
// reload, a big scrape or a slow sink would block it) must not inflate the measured RTTs.
// The bound is one of correctness, not speed: per packet, the probe's RTT minus the time the
// relay saw between the request arriving and the reply leaving (both directions' delay plus
// the reflector) stays under 5 ms at p99. Stamped on the main thread, a packet whose answer
// lands in a block would read up to 15 ms long. Comparing packet by packet keeps the test
// robust when other work on the machine delays the relay itself.
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';
import { udpEchoProbe } from '../../src/probes/udp-echo.ts';
import { percentile, mean } from '../../src/quality/stats.ts';
import { type Reflector, startReflector } from '../../src/reflector/index.ts';
import { startRelay } from '../support/impair-relay.ts';
import { ECHO_KEY, echoTarget } from '../support/targets.ts';

let refl: Reflector;
beforeAll(async () => {
  refl = await startReflector({ listen: '127.0.0.1:0', keys: { k1: ECHO_KEY }, rate_limit: 5000, max_packet_bytes: 1472 }, { metrics: createMetrics({ region: 't', version: '0', defaultMetrics: false }), log: pino({ level: 'silent' }) });
});
afterAll(async () => { await refl?.close(); });

it('a main thread blocked 15 ms every ~50 ms does not move the RTT p99', async () => {
  const relay = await startRelay({ upstreamPort: refl.address.port, seed: 5, up: { delayMs: 15 }, down: { delayMs: 15 }, seqAt: 16 });
  let blocking = true;
  let blocks = 0;
  // Seeded gaps between blocks, 30-70 ms.
  let seed = 12345;
  const gap = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return 30 + (seed % 41); };
  const blocker = (async () => {
    while (blocking) {
      await new Promise((r) => setTimeout(r, gap()));
      const until = performance.now() + 15;
      while (performance.now() < until) { /* busy: the main thread is stuck */ }
      blocks++;
    }
  })();
  try {
    const r = await udpEchoProbe(echoTarget(relay.port, { packets: 400, spacing: 10, packet_timeout: 500 }), AbortSignal.timeout(15_000));
    blocking = false;
    await blocker;
    const s = await relay.stats();
    const rtts = r.packets!.rtts.map((x) => x * 1000);
    const excess = r.packets!.seqs!.map((seq, i) => rtts[i]! - s.pathMs[seq]!);
    expect(blocks).toBeGreaterThan(40);
    expect(r.packets).toMatchObject({ sent: 400, received: 400, lost: 0 });
    expect(Math.min(...rtts)).toBeGreaterThan(30);
    expect(excess.every(Number.isFinite)).toBe(true);
    expect(mean(s.appliedUpMs)).toBeGreaterThanOrEqual(15);
    expect(percentile(excess, 0.99)).toBeLessThan(5);
  } finally {
    blocking = false;
    await relay.close();
  }
}, 30_000);
