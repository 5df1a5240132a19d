// One service under one policy over one period, from any source of target timelines (the
// store for the agent and `report`, a samples file for `report --samples`).
import { evaluatePeriod, type PeriodReport } from './account.ts';
import { exclusionsFor, type Maintenance, type RecordedExclusion } from './exclusions.ts';
import { mergeRegions, serviceTimeline } from './timeline.ts';
import type { Period, Rule, ServiceState, SlaPolicy, Span, TargetState } from './types.ts';

export interface TimelineSource {
  /** The target's spans per region overlapping [from, to), cut at now. */
  targetSpans(target: string, from: number, to: number, now: number): Span<TargetState>[][];
  degradedSpans(target: string, from: number, to: number, now: number): Span<'degraded'>[];
}

export interface ServiceDef {
  name: string;
  targets: readonly string[];
  rule: Rule;
}

/**
 * How far before a period the timeline is read, so that a window that began before the
 * period is measured whole (its length decides whether it counts). A window longer than
 * this before the period start is measured from this point.
 */
export const LOOKBACK = 7 * 86_400_000;

export function serviceSpans(src: TimelineSource, svc: ServiceDef, from: number, to: number, now: number): Span<ServiceState>[] {
  const end = Math.min(to, now);
  if (end <= from) return [];
  const targets = svc.targets.map((t) => mergeRegions(src.targetSpans(t, from, end, now), from, end));
  const degraded = svc.targets.map((t) => src.degradedSpans(t, from, end, now));
  return serviceTimeline(svc.rule, targets, degraded, from, end);
}

export function reportService(
  src: TimelineSource, svc: ServiceDef, policy: SlaPolicy, period: Period,
  maintenance: readonly Maintenance[], recorded: readonly RecordedExclusion[], now: number,
): PeriodReport {
  const from = period.start - LOOKBACK;
  const to = period.end + LOOKBACK;
  const spans = serviceSpans(src, svc, from, to, now);
  const exclusions = exclusionsFor(svc.name, maintenance, recorded, from, Math.min(to, now));
  return evaluatePeriod({ service: svc.name, policy, period, spans, exclusions, now });
}
