// Delay statistics of a packet train, pure. Inputs are round-trip times in seconds, in send
// order, with their sequence numbers so that a lost packet between two answers is visible.

/** RFC 3550 section 6.4.1: J += (|D| - J) / 16 over consecutive answers, D the difference of their transit times. Returns the final J, starting from `j0`. */
export function rfc3550Jitter(rtts: readonly number[], j0 = 0): number {
  let j = j0;
  for (let i = 1; i < rtts.length; i++) j += (Math.abs(rtts[i]! - rtts[i - 1]!) - j) / 16;
  return j;
}

/**
 * |IPDV| of each pair of consecutive packets (RFC 3393, RFC 5481 section 4.1): the delay
 * difference of packets i and i+1. Pairs across a loss are skipped when seqs are given,
 * as RFC 3393 defines IPDV between selected packets, both of which arrived.
 */
export function ipdvAbs(rtts: readonly number[], seqs?: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < rtts.length; i++) {
    if (seqs && seqs[i]! - seqs[i - 1]! !== 1) continue;
    out.push(Math.abs(rtts[i]! - rtts[i - 1]!));
  }
  return out;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Nearest-rank percentile (p in 0..1) of unsorted values; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

/** PDV (RFC 5481 section 4.2): each delay minus the minimum delay of the same window. */
export function pdv(rtts: readonly number[]): number[] {
  const min = Math.min(...rtts);
  return rtts.map((r) => r - min);
}

export interface RttStats { count: number; min: number; mean: number; median: number; p95: number; p99: number; max: number }

export function rttStats(rtts: readonly number[]): RttStats {
  return {
    count: rtts.length,
    min: rtts.length ? Math.min(...rtts) : NaN,
    mean: mean(rtts),
    median: percentile(rtts, 0.5),
    p95: percentile(rtts, 0.95),
    p99: percentile(rtts, 0.99),
    max: rtts.length ? Math.max(...rtts) : NaN,
  };
}

/** Lengths of the runs of consecutive lost packets, given the seqs answered out of `sent` (seqs 0..sent-1). */
export function lossBursts(answeredSeqs: readonly number[], sent: number): number[] {
  const got = new Uint8Array(sent);
  for (const s of answeredSeqs) if (s >= 0 && s < sent) got[s] = 1;
  const bursts: number[] = [];
  let run = 0;
  for (let i = 0; i < sent; i++) {
    if (got[i]) {
      if (run) bursts.push(run);
      run = 0;
    } else run++;
  }
  if (run) bursts.push(run);
  return bursts;
}

/**
 * The running RFC 3550 jitter after each consecutive pair, starting from `j0`; the last value
 * is what RTCP would report now, the mean is the window's jitter (its expectation is
 * E|D|, the same quantity the mean |IPDV| estimates, but weighted the RFC 3550 way).
 */
export function rfc3550Series(rtts: readonly number[], j0 = 0): number[] {
  const out: number[] = [];
  let j = j0;
  for (let i = 1; i < rtts.length; i++) {
    j += (Math.abs(rtts[i]! - rtts[i - 1]!) - j) / 16;
    out.push(j);
  }
  return out;
}
