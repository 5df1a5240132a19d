// Verdicts on loss, jitter and latency against the targets of HEDU-5.4 / UMEET-5.4 (or the
// target's own `quality:`), over any set of packets: one run, a rolling window, a month.
import type { QualityTargets } from '../config/types.ts';
import { lossLowerBound, lossUpperBound, packetsNeeded } from './bounds.ts';

export const VERDICTS = ['met', 'breached', 'insufficient_data'] as const;
export type Verdict = (typeof VERDICTS)[number];
export const QUANTITIES = ['loss', 'jitter', 'latency'] as const;
export type Quantity = (typeof QUANTITIES)[number];

/**
 * Jitter and latency are judged only on at least this many delay samples: 100 round trips
 * are 2 s of a udp-echo stream, or 10 runs of the default stun train; fewer, and one
 * scheduling hiccup decides the verdict.
 */
export const MIN_DELAY_SAMPLES = 100;

export interface LossVerdict { verdict: Verdict; upper: number; lower: number; needed: number }

/**
 * Met only when the one-sided upper bound at `confidence` is at most the target; breached
 * only when the lower bound is above it; otherwise insufficient_data, with the loss-free
 * packets still needed to reach met.
 */
export function lossVerdict(lost: number, sent: number, target: number, confidence: number): LossVerdict {
  const upper = lossUpperBound(lost, sent, confidence);
  const lower = lossLowerBound(lost, sent, confidence);
  if (upper <= target) return { verdict: 'met', upper, lower, needed: 0 };
  if (lower > target) return { verdict: 'breached', upper, lower, needed: 0 };
  return { verdict: 'insufficient_data', upper, lower, needed: packetsNeeded(lost, sent, target, confidence) };
}

/** A delay figure (seconds) against a limit (ms): met at or under it, breached above it, given enough samples. */
export function delayVerdict(valueSeconds: number, samples: number, limitMs: number): Verdict {
  if (samples < MIN_DELAY_SAMPLES || !Number.isFinite(valueSeconds)) return 'insufficient_data';
  return valueSeconds * 1000 <= limitMs ? 'met' : 'breached';
}

/** Latency compared with the target: the mean RTT, or half of it with latency_mode half_rtt. */
export function latencyValue(meanRttSeconds: number, q: Pick<QualityTargets, 'latency_mode'>): number {
  return q.latency_mode === 'half_rtt' ? meanRttSeconds / 2 : meanRttSeconds;
}

export interface DelayWindow {
  sent: number;
  lost: number;
  /** Round trips in the window and the sum of their RTTs, seconds. */
  rttCount: number;
  rttSum: number;
  /** RFC 3550 jitter after each round trip, summed: the window's jitter is their mean. */
  jitterCount: number;
  jitterSum: number;
}

export interface WindowVerdicts {
  loss: LossVerdict;
  jitter: Verdict;
  latency: Verdict;
  jitterSeconds: number;
  latencySeconds: number;
  lossRatio: number;
}

export function judgeWindow(w: DelayWindow, q: QualityTargets): WindowVerdicts {
  const meanRtt = w.rttCount ? w.rttSum / w.rttCount : NaN;
  const jitter = w.jitterCount ? w.jitterSum / w.jitterCount : NaN;
  const latency = latencyValue(meanRtt, q);
  return {
    loss: lossVerdict(w.lost, w.sent, q.loss, q.confidence),
    jitter: delayVerdict(jitter, w.jitterCount, q.jitter_ms),
    latency: delayVerdict(latency, w.rttCount, q.latency_ms),
    jitterSeconds: jitter,
    latencySeconds: latency,
    lossRatio: w.sent ? w.lost / w.sent : NaN,
  };
}
