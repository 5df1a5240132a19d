// Section 5 of the media-path issue: the probes against ground truth. A seeded relay applies
// a known delay distribution and loss between the probe and a real server (coturn, and the
// reflector); the measured figures must match what that distribution implies.
//
// Applied, upstream: delay 10 ms + U(0, 8 ms) jitter, 2 % random loss; downstream: 5 ms fixed.
//   Mean RTT = 10 + 8/2 + 5 = 19 ms (plus the loopback's own ~0.1 ms).
//   Consecutive round trips differ by D = U_i - U_(i-1), two independent U(0, w): |D| has the
//   triangular density 2(w - x)/w^2 on [0, w], so E|D| = w/3 = 2.667 ms. That is the value of
//   the mean |IPDV| and the expectation of the RFC 3550 estimator (J tracks E|D|).
//   Loss: binomial(n, 0.02); the measured count must lie in its central 95 % interval.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';
import { stunProbe } from '../../src/probes/stun.ts';
import type { ProbeResult } from '../../src/probes/types.ts';
import { udpEchoProbe } from '../../src/probes/udp-echo.ts';
import { runQuality } from '../../src/quality/summary.ts';
import { judgeWindow } from '../../src/quality/verdict.ts';
import { type Reflector, startReflector } from '../../src/reflector/index.ts';
import { type Coturn, startCoturn } from '../support/coturn.ts';
import { type RelayStats, startRelay } from '../support/impair-relay.ts';
import { mean } from '../../src/quality/stats.ts';
import { ECHO_KEY, echoTarget, quality, stunTarget } from '../support/targets.ts';

const UP = { delayMs: 10, jitterMs: 8, loss: 0.02 };
const DOWN = { delayMs: 5 };
const MEAN_RTT_MS = UP.delayMs + UP.jitterMs / 2 + DOWN.delayMs;
const MEAN_ABS_D_MS = UP.jitterMs / 3;

/** Central 95 % interval of Binomial(n, p), from its pmf. */
function binomInterval(n: number, p: number): [number, number] {
  let cdf = 0;
  let lo = -1;
  let logC = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logC += Math.log(n - k + 1) - Math.log(k);
    cdf += Math.exp(logC + k * Math.log(p) + (n - k) * Math.log1p(-p));
    if (lo < 0 && cdf >= 0.025) lo = k;
    if (cdf >= 0.975) return [lo, k];
  }
  return [lo, n];
}

function checkAgainstTruth(r: ProbeResult, n: number, s: RelayStats): void {
  const q = runQuality(r)!;
  expect(q.sent).toBe(n);
  // The applied mean is what the relay really held the packets for (on a loaded machine its
  // timer can run late, and the probe must see that too); it must be near the nominal 19 ms.
  const applied = mean(s.appliedUpMs) + mean(s.appliedDownMs);
  expect(Math.abs(applied - MEAN_RTT_MS)).toBeLessThan(2);
  expect(Math.abs(q.rtt.mean * 1000 - applied)).toBeLessThan(1);
  expect(Math.abs(q.jitter * 1000 - MEAN_ABS_D_MS) / MEAN_ABS_D_MS).toBeLessThan(0.1);
  expect(Math.abs(q.ipdvMean * 1000 - MEAN_ABS_D_MS) / MEAN_ABS_D_MS).toBeLessThan(0.1);
  const [lo, hi] = binomInterval(n, UP.loss);
  expect(q.lost).toBeGreaterThanOrEqual(lo);
  expect(q.lost).toBeLessThanOrEqual(hi);

  // Verdicts on both sides of each target, the targets placed around the applied truth.
  const w = { sent: q.sent, lost: q.lost, rttCount: q.rtt.count, rttSum: q.rtt.mean * q.rtt.count, jitterCount: q.jitterSamples, jitterSum: q.jitter * q.jitterSamples };
  const strict = judgeWindow(w, quality({ loss: 0.01, jitter_ms: MEAN_ABS_D_MS * 0.75, latency_ms: MEAN_RTT_MS - 2 }));
  const loose = judgeWindow(w, quality({ loss: 0.035, jitter_ms: MEAN_ABS_D_MS * 1.25, latency_ms: MEAN_RTT_MS + 2 }));
  expect([strict.loss.verdict, strict.jitter, strict.latency]).toEqual(['breached', 'breached', 'breached']);
  expect([loose.loss.verdict, loose.jitter, loose.latency]).toEqual(['met', 'met', 'met']);
  // ... and the HEDU defaults: 2 % loss breaches 0.05 %; 19 ms and 2.7 ms are well within 150 / 50 ms.
  const hedu = judgeWindow(w, quality({}));
  expect([hedu.loss.verdict, hedu.jitter, hedu.latency]).toEqual(['breached', 'met', 'met']);
}

let turn: Coturn;
let refl: Reflector;
beforeAll(async () => {
  turn = await startCoturn();
  refl = await startReflector({ listen: '127.0.0.1:0', keys: { k1: ECHO_KEY }, rate_limit: 5000, max_packet_bytes: 1472 }, { metrics: createMetrics({ region: 't', version: '0', defaultMetrics: false }), log: pino({ level: 'silent' }) });
});
afterAll(async () => { await turn?.stop(); await refl?.close(); });

describe('accuracy against an impaired path', () => {
  it('udp-echo through the relay to the reflector: RTT, jitter, IPDV, loss and verdicts', async () => {
    const relay = await startRelay({ upstreamPort: refl.address.port, seed: 42, up: UP, down: DOWN });
    try {
      const n = 2400;
      const r = await udpEchoProbe(echoTarget(relay.port, { packets: n, spacing: 5, packet_timeout: 300 }), AbortSignal.timeout(25_000));
      const s = await relay.stats();
      checkAgainstTruth(r, n, s);
      // Every loss was upstream, and the ack vector says so (bar the last few packets' tail).
      expect(r.packets!.lostDownstream).toBe(0);
      expect(r.packets!.lostUpstream).toBeGreaterThanOrEqual(s.upDropped - 3);
    } finally { await relay.close(); }
  }, 30_000);

  it('stun through the relay to coturn: RTT, jitter, IPDV, loss and verdicts', async () => {
    const relay = await startRelay({ upstreamPort: turn.port, seed: 43, up: UP, down: DOWN });
    try {
      const n = 2400;
      // Our own coturn: a rate far above RFC 8489 section 6.2's default for servers we do not own.
      const r = await stunProbe(stunTarget(relay.port, { packets: n, spacing: 5, packet_timeout: 300, max_outstanding: 100 }), AbortSignal.timeout(25_000));
      checkAgainstTruth(r, n, await relay.stats());
    } finally { await relay.close(); }
  }, 30_000);
});
