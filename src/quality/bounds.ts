// One-sided Clopper-Pearson bounds of a loss ratio, and how many more loss-free packets a
// verdict needs. The beta quantile is computed here (regularised incomplete beta by its
// continued fraction, Numerical Recipes 6.4, inverted by bisection) rather than pulling in a
// statistics library for one function; test/quality/bounds.test.ts checks every bound
// against the binomial tail it is defined by.

/** ln Gamma(x), Lanczos approximation (g = 7, n = 9), |error| < 1e-13 for x > 0. */
export function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function betacf(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betacf(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betacf(b, a, 1 - x)) / b;
}

/** x such that I_x(a, b) = p, by bisection (I is increasing in x). */
export function betaQuantile(p: number, a: number, b: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * Math.max(hi, 1e-300); i++) {
    const mid = (lo + hi) / 2;
    if (incompleteBeta(mid, a, b) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * One-sided upper bound U of the loss ratio at `confidence`, k lost of n: the ratio at which
 * seeing k or fewer losses has probability 1 - confidence. U = Beta^-1(confidence; k+1, n-k).
 * With k = 0 it is 1 - (1 - confidence)^(1/n): 5,990 loss-free packets give U = 0.05 % at 95 %.
 */
export function lossUpperBound(k: number, n: number, confidence = 0.95): number {
  if (n <= 0) return 1;
  if (k >= n) return 1;
  if (k === 0) return 1 - Math.pow(1 - confidence, 1 / n);
  return betaQuantile(confidence, k + 1, n - k);
}

/** One-sided lower bound L: the ratio at which seeing k or more losses has probability 1 - confidence. L = Beta^-1(1 - confidence; k, n-k+1). */
export function lossLowerBound(k: number, n: number, confidence = 0.95): number {
  if (n <= 0 || k <= 0) return 0;
  if (k >= n) return Math.pow(1 - confidence, 1 / n);
  return betaQuantile(1 - confidence, k, n - k + 1);
}

/**
 * Further packets, all assumed delivered, before the upper bound falls to `target`: the
 * smallest m with lossUpperBound(k, n + m) <= target. 0 if already there.
 */
export function packetsNeeded(k: number, n: number, target: number, confidence = 0.95): number {
  if (target <= 0) return Infinity;
  if (lossUpperBound(k, n, confidence) <= target) return 0;
  let hi = Math.max(1, n);
  while (lossUpperBound(k, n + hi, confidence) > target) {
    hi *= 2;
    if (hi > 1e12) return Infinity;
  }
  let lo = 0; // lossUpperBound(k, n + lo) > target
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (lossUpperBound(k, n + mid, confidence) <= target) hi = mid;
    else lo = mid;
  }
  return hi;
}
