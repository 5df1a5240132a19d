import { describe, expect, it } from 'vitest';
import { ipdvAbs, lossBursts, mean, pdv, percentile, rfc3550Jitter, rfc3550Series, rttStats } from '../../src/quality/stats.ts';
import { estimateMos, mosFromR, rFactor } from '../../src/quality/mos.ts';

describe('RFC 3550 jitter', () => {
  it.each([
    // constant delay: no jitter
    [[0.01, 0.01, 0.01], 0, 0],
    // one step of 16 ms from J = 0: J = 16/16 = 1 ms
    [[0.01, 0.026], 0, 0.001],
    // two steps of 16 ms: 1 ms, then 1 + (16 - 1)/16 = 1.9375 ms
    [[0.01, 0.026, 0.01], 0, 0.0019375],
    // starting at 2 ms with no variation decays by 15/16
    [[0.01, 0.01], 0.002, 0.002 * 15 / 16],
  ])('%j from %d -> %d', (rtts, j0, want) => {
    expect(rfc3550Jitter(rtts, j0)).toBeCloseTo(want, 12);
    const s = rfc3550Series(rtts, j0);
    expect(s.length).toBe(Math.max(0, rtts.length - 1));
    if (s.length) expect(s[s.length - 1]).toBeCloseTo(want, 12);
  });

  it('converges to E|D|: alternating delays 10/20 ms give |D| = 10 ms every time', () => {
    const rtts = Array.from({ length: 400 }, (_, i) => (i % 2 ? 0.02 : 0.01));
    expect(rfc3550Jitter(rtts)).toBeCloseTo(0.01, 9);
  });
});

describe('IPDV and PDV', () => {
  it.each([
    [[0.01, 0.013, 0.011], undefined, [0.003, 0.002]],
    // the pair across the lost packet 2 is skipped
    [[0.01, 0.013, 0.02, 0.018], [0, 1, 3, 4], [0.003, 0.002]],
  ])('|IPDV| of %j (seqs %j)', (rtts, seqs, want) => {
    const got = ipdvAbs(rtts, seqs);
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 12));
  });

  it('PDV is delay above the minimum', () => {
    expect(pdv([0.012, 0.01, 0.015]).map((x) => Math.round(x * 1e6))).toEqual([2000, 0, 5000]);
  });
});

describe('percentiles and RTT statistics', () => {
  const xs = Array.from({ length: 100 }, (_, i) => (i + 1) / 1000); // 1..100 ms
  it.each([[0.5, 0.05], [0.95, 0.095], [0.99, 0.099], [1, 0.1], [0.001, 0.001]])('p%d', (p, want) => {
    expect(percentile(xs, p)).toBeCloseTo(want, 12);
  });
  it('rttStats', () => {
    const s = rttStats(xs);
    expect(s).toMatchObject({ count: 100, min: 0.001, max: 0.1 });
    expect(s.mean).toBeCloseTo(0.0505, 12);
    expect(s.median).toBeCloseTo(0.05, 12);
    expect(Number.isNaN(mean([]))).toBe(true);
  });
});

describe('loss bursts', () => {
  it.each([
    [[0, 1, 2, 3], 4, []],
    [[0, 3], 4, [2]],
    [[1, 2, 5], 8, [1, 2, 2]],
    [[], 3, [3]],
  ])('answered %j of %d -> %j', (seqs, sent, want) => {
    expect(lossBursts(seqs, sent)).toEqual(want);
  });
});

describe('E-model MOS', () => {
  it.each([
    // R = 93.2 - 0.024 x (0 + 0 + 10) = 92.96 with no delay, jitter or loss
    [0, 0, 0, 92.96],
    // Ta = 75 + 2 x 10 + 10 = 105 ms: Id = 2.52
    [150, 10, 0, 93.2 - 2.52],
    // Ta = 200 + 10 = 210: Id = 5.04 + 0.11 x 32.7 = 8.637
    [400, 0, 0, 93.2 - 5.04 - 0.11 * 32.7],
    // 1 % random loss: Ie = 95 x 1 / 26.1
    [0, 0, 0.01, 93.2 - 0.24 - 95 / 26.1],
  ])('R(rtt %d ms, jitter %d ms, loss %d)', (rtt, jitter, loss, want) => {
    expect(rFactor(rtt / 2, jitter, loss)).toBeCloseTo(want, 9);
  });
  it.each([[-5, 1], [0, 1], [100, 4.5], [120, 4.5], [93.2, 1 + 0.035 * 93.2 + 7e-6 * 93.2 * 33.2 * 6.8]])('MOS(R = %d)', (r, want) => {
    expect(mosFromR(r)).toBeCloseTo(want, 9);
  });
  it('HEDU limits (150 ms RTT, 50 ms jitter, 0.05 % loss) still score above 4', () => {
    const mos = estimateMos(150, 50, 0.0005);
    expect(mos).toBeGreaterThan(4);
    expect(mos).toBeLessThan(estimateMos(150, 0, 0));
  });
});
