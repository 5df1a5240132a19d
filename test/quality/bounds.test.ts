import { describe, expect, it } from 'vitest';
import { incompleteBeta, lnGamma, lossLowerBound, lossUpperBound, packetsNeeded } from '../../src/quality/bounds.ts';

/** P(X <= k) for X ~ Binomial(n, p), summed term by term in logs: independent of the beta code. */
function binomCdf(k: number, n: number, p: number): number {
  let s = 0;
  let logC = 0; // log C(n, 0)
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    s += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log1p(-p));
  }
  return s;
}

describe('lnGamma', () => {
  it.each([[1, 0], [2, 0], [5, Math.log(24)], [0.5, Math.log(Math.sqrt(Math.PI))], [101, 363.73937555556347]])('lnGamma(%d)', (x, want) => {
    expect(lnGamma(x)).toBeCloseTo(want, 10);
  });
});

describe('incompleteBeta', () => {
  // I_x(1, b) = 1 - (1 - x)^b and I_x(a, 1) = x^a in closed form.
  it.each([[0.3, 1, 5], [0.01, 1, 2000], [0.7, 3, 1], [0.5, 2, 2]])('I_%d(%d, %d)', (x, a, b) => {
    const want = a === 1 ? 1 - Math.pow(1 - x, b) : b === 1 ? Math.pow(x, a) : 0.5;
    expect(incompleteBeta(x, a, b)).toBeCloseTo(want, 12);
  });
});

describe('one-sided Clopper-Pearson', () => {
  it.each([
    [0, 10], [1, 10], [5, 100], [0, 5990], [3, 6000], [10, 20_000], [50, 50_000], [1, 2], [200, 1_000_000],
  ])('upper bound for %d lost of %d has binomial tail P(X <= k) = 5 %%', (k, n) => {
    const u = lossUpperBound(k, n, 0.95);
    expect(binomCdf(k, n, u)).toBeCloseTo(0.05, 6);
  });

  it.each([[1, 10], [5, 100], [3, 6000], [10, 20_000], [200, 1_000_000]])('lower bound for %d lost of %d has P(X >= k) = 5 %%', (k, n) => {
    const l = lossLowerBound(k, n, 0.95);
    expect(1 - binomCdf(k - 1, n, l)).toBeCloseTo(0.05, 6);
  });

  it('0 of n: closed form 1 - 0.05^(1/n); 5,990 packets are the first to show <= 0.05 %', () => {
    expect(lossUpperBound(0, 10)).toBeCloseTo(1 - Math.pow(0.05, 0.1), 14);
    expect(lossUpperBound(0, 5990)).toBeLessThanOrEqual(0.0005);
    expect(lossUpperBound(0, 5989)).toBeGreaterThan(0.0005);
    expect(lossLowerBound(0, 5990)).toBe(0);
  });

  it('the literature value: 1 of 10 at 95 % one-sided is 0.3942', () => {
    expect(lossUpperBound(1, 10)).toBeCloseTo(0.39416, 4);
  });
});

describe('packetsNeeded', () => {
  it.each([
    // [lost, sent, target]
    [0, 0, 0.0005], [0, 1000, 0.0005], [1, 1000, 0.0005], [2, 6000, 0.0005], [0, 6000, 0.0005], [5, 100, 0.01],
  ])('%d lost of %d against %d', (k, n, target) => {
    const m = packetsNeeded(k, n, target);
    expect(lossUpperBound(k, n + m)).toBeLessThanOrEqual(target);
    if (m > 0) expect(lossUpperBound(k, n + m - 1)).toBeGreaterThan(target);
  });

  it('about 6,000 loss-free packets to show 0.05 % from nothing', () => {
    expect(packetsNeeded(0, 0, 0.0005)).toBe(5990);
    expect(packetsNeeded(0, 5000, 0.0005)).toBe(990);
  });
});
