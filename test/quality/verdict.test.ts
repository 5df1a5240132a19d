import { describe, expect, it } from 'vitest';
import { QUALITY_DEFAULTS } from '../../src/config/defaults.ts';
import { MIN_DELAY_SAMPLES, delayVerdict, judgeWindow, lossVerdict } from '../../src/quality/verdict.ts';

describe('loss verdict against 0.05 % at 95 %', () => {
  it.each([[0, 5990], [0, 100], [1, 20_000], [5, 6000], [20, 10_000], [3, 6000]])('%d lost of %d: verdict follows the bounds, which bracket the ratio', (lost, sent) => {
    const v = lossVerdict(lost, sent, 0.0005, 0.95);
    expect(v.verdict).toBe(v.upper <= 0.0005 ? 'met' : v.lower > 0.0005 ? 'breached' : 'insufficient_data');
    expect(v.lower).toBeLessThanOrEqual(lost / sent);
    expect(v.upper).toBeGreaterThanOrEqual(lost / sent);
    expect(v.needed > 0).toBe(v.verdict === 'insufficient_data');
  });

  it.each([
    [0, 5990, 'met'], [0, 5989, 'insufficient_data'], [1, 20_000, 'met'], [20, 10_000, 'breached'],
    [3, 6000, 'insufficient_data'], [10, 6000, 'breached'],
  ])('%d of %d is %s', (lost, sent, want) => {
    expect(lossVerdict(lost, sent, 0.0005, 0.95).verdict).toBe(want);
  });

  it('insufficient data says how many packets are still needed: 5,990 from nothing', () => {
    expect(lossVerdict(0, 0, 0.0005, 0.95)).toMatchObject({ verdict: 'insufficient_data', needed: 5990 });
  });
});

describe('delay verdicts', () => {
  it.each([
    [0.05, MIN_DELAY_SAMPLES, 50, 'met'],
    [0.0501, MIN_DELAY_SAMPLES, 50, 'breached'],
    [0.2, MIN_DELAY_SAMPLES - 1, 150, 'insufficient_data'],
    [Number.NaN, 1000, 150, 'insufficient_data'],
    [0.149, 1000, 150, 'met'],
    [0.151, 1000, 150, 'breached'],
  ])('%d s over %d samples against %d ms', (v, n, limit, want) => {
    expect(delayVerdict(v, n, limit)).toBe(want);
  });

  it('latency_mode half_rtt halves the RTT before comparing', () => {
    const w = { sent: 200, lost: 0, rttCount: 200, rttSum: 200 * 0.2, jitterCount: 199, jitterSum: 199 * 0.001 };
    expect(judgeWindow(w, QUALITY_DEFAULTS).latency).toBe('breached');
    expect(judgeWindow(w, { ...QUALITY_DEFAULTS, latency_mode: 'half_rtt' }).latency).toBe('met');
    expect(judgeWindow(w, QUALITY_DEFAULTS).jitter).toBe('met');
  });
});
