// Human lines for `slaprobe probe stun|udp-echo|icmp ...`: the statistics of one run and the
// verdicts that one run supports (usually insufficient_data for loss: one run is rarely
// thousands of packets).
import type { Target } from '../config/types.ts';
import { QUALITY_DEFAULTS } from '../config/defaults.ts';
import type { ProbeResult } from '../probes/types.ts';
import { estimateMos } from './mos.ts';
import { ipdvAbs, mean, pdv, percentile, rfc3550Series, rttStats } from './stats.ts';
import { judgeWindow } from './verdict.ts';

const ms = (s: number) => (Number.isFinite(s) ? `${(s * 1000).toFixed(3)} ms` : 'n/a');

export interface RunQuality {
  sent: number;
  lost: number;
  rtt: ReturnType<typeof rttStats>;
  /** Mean of the running RFC 3550 jitter over the run, seeded with the first |D|. */
  jitter: number;
  jitterSamples: number;
  ipdvMean: number;
  pdvP99: number;
  mos: number;
}

/** The figures of one run. The stateless RFC 3550 estimator is seeded with the first |D| rather than 0, so that a short train is not reported at half its jitter. */
export function runQuality(result: ProbeResult): RunQuality | undefined {
  const p = result.packets;
  if (!p) return undefined;
  const rtts = p.rtts;
  const lost = p.lost ?? Math.max(0, p.sent - p.received);
  const first = rtts.length > 1 ? Math.abs(rtts[1]! - rtts[0]!) : 0;
  const series = rfc3550Series(rtts, first);
  const jitter = mean(series);
  const stats = rttStats(rtts);
  return {
    sent: p.sent, lost, rtt: stats,
    jitter, jitterSamples: series.length,
    ipdvMean: mean(ipdvAbs(rtts, p.seqs)),
    pdvP99: rtts.length ? percentile(pdv(rtts), 0.99) : NaN,
    mos: rtts.length ? estimateMos(stats.mean * 1000, (Number.isFinite(jitter) ? jitter : 0) * 1000, p.sent ? lost / p.sent : 0) : NaN,
  };
}

export function summarizeRun(target: Target, result: ProbeResult): string[] {
  const q = runQuality(result);
  if (!q) return [];
  const p = result.packets!;
  const qt = target.quality ?? QUALITY_DEFAULTS;
  const lines: string[] = [];
  const pct = q.sent ? ((q.lost / q.sent) * 100).toFixed(3) : 'n/a';
  lines.push(`packets: ${q.sent} sent, ${p.received} received, ${q.lost} lost (${pct} %)` +
    (p.lostUpstream !== undefined ? `, ${p.lostUpstream} upstream / ${p.lostDownstream ?? 0} downstream / ${Math.max(0, q.lost - p.lostUpstream - (p.lostDownstream ?? 0))} unknown direction` : '') +
    `, longest loss burst ${p.lossBurstMax ?? 0}` +
    (p.unobserved ? `; ${p.unobserved} more answered but unobserved (read after a stall of the agent, past the timeout: in none of these figures)` : ''));
  const odd = { late: p.late ?? 0, duplicated: p.duplicated ?? 0, reordered: p.reordered ?? 0 };
  const inv = Object.entries(p.invalid ?? {}).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`);
  lines.push(`answers: ${odd.late} late, ${odd.duplicated} duplicated, ${odd.reordered} reordered; invalid: ${inv.length ? inv.join(', ') : 'none'}`);
  lines.push(`rtt: min ${ms(q.rtt.min)}, mean ${ms(q.rtt.mean)}, median ${ms(q.rtt.median)}, p95 ${ms(q.rtt.p95)}, p99 ${ms(q.rtt.p99)}, max ${ms(q.rtt.max)}`);
  lines.push(`jitter (RFC 3550, mean over the run): ${ms(q.jitter)}; mean |IPDV| (RFC 3393): ${ms(q.ipdvMean)}; PDV p99 (RFC 5481): ${ms(q.pdvP99)}`);
  lines.push(`MOS estimate (simplified G.107 E-model, G.711): ${Number.isFinite(q.mos) ? q.mos.toFixed(2) : 'n/a'}`);
  const v = judgeWindow({ sent: q.sent, lost: q.lost, rttCount: q.rtt.count, rttSum: q.rtt.mean * q.rtt.count || 0, jitterCount: q.jitterSamples, jitterSum: q.jitter * q.jitterSamples || 0 }, qt);
  const bound = `${(v.loss.upper * 100).toFixed(4)} %`;
  lines.push(`verdict loss <= ${(qt.loss * 100).toFixed(3)} %: ${v.loss.verdict} (${(qt.confidence * 100).toFixed(0)} % upper bound ${bound}` +
    (v.loss.verdict === 'insufficient_data' ? `; ${v.loss.needed} more loss-free packets needed)` : ')'));
  lines.push(`verdict jitter <= ${qt.jitter_ms} ms: ${v.jitter} (${ms(v.jitterSeconds)} over ${q.jitterSamples} samples)`);
  lines.push(`verdict latency (${qt.latency_mode}) <= ${qt.latency_ms} ms: ${v.latency} (${ms(v.latencySeconds)} over ${q.rtt.count} samples)`);
  return lines;
}
