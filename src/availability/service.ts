// One service under one policy over one period, from any source of target timelines (the
// store for the agent and `report`, a samples file for `report --samples`, a Prometheus-
// compatible store for `report --source`). Each region's targets combine by the service's
// rule, then the regions by its region rule (regions.ts): one path for every source.
import { evaluatePeriod, type PeriodReport } from './account.ts';
import { exclusionsFor, type Maintenance, type RecordedExclusion } from './exclusions.ts';
import { REGION_DEFAULTS, combineRegions, type FleetTimeline } from './regions.ts';
import { serviceTimeline } from './timeline.ts';
import type { Notice, Period, RegionPolicy, RegionalFault, Rule, ServiceState, SlaPolicy, Span, TargetState } from './types.ts';

/** One region's spans of one target. */
export interface RegionSpans<S extends string> {
  region: string;
  spans: Span<S>[];
}

export interface TimelineSource {
  /** The target's spans per region overlapping [from, to), cut at now. */
  targetSpans(target: string, from: number, to: number, now: number): RegionSpans<TargetState>[];
  /**
   * The target's quality-breach spans seen from `region` (the agent's store keeps breaches
   * without a region, as it has one: it gives the same spans whatever the region).
   */
  degradedSpans(target: string, from: number, to: number, now: number, region: string): Span<'degraded'>[];
  /** Notifications delivered about the service in [from, to), oldest first (the store has them; a samples file has none). */
  notifications?(service: string, from: number, to: number): Notice[];
  /**
   * The evidence is one region's own view (an agent's store, `report --region`): the region
   * rule, min_reporting above all, is for a fleet's evidence and does not apply.
   */
  readonly ownView?: boolean;
}

export interface ServiceDef {
  name: string;
  targets: readonly string[];
  rule: Rule;
  /** Default REGION_DEFAULTS (any_up, one region reporting). */
  regions?: RegionPolicy;
}

/** A period report with what the regions contributed. */
export interface ServiceReport extends PeriodReport {
  /** The regions whose evidence was read for the service. */
  regions: string[];
  /** Regional path faults overlapping the period: not unavailable time (UMEET-7.1(2), HEDU-7.1(2)). */
  regional_faults: (RegionalFault & { duration_ms: number })[];
}

/**
 * How far before a period the timeline is read, so that a window that began before the
 * period is measured whole (its length decides whether it counts). A window longer than
 * this before the period start is measured from this point.
 */
export const LOOKBACK = 7 * 86_400_000;

export function fleetTimeline(src: TimelineSource, svc: ServiceDef, from: number, to: number, now: number): FleetTimeline & { regions: string[] } {
  const end = Math.min(to, now);
  if (end <= from) return { spans: [], faults: [], regions: [] };
  const byRegion = new Map<string, Span<TargetState>[][]>();
  svc.targets.forEach((t, i) => {
    for (const r of src.targetSpans(t, from, end, now)) {
      let lists = byRegion.get(r.region);
      if (!lists) byRegion.set(r.region, (lists = svc.targets.map(() => [])));
      lists[i] = r.spans;
    }
  });
  const regions = [...byRegion.keys()].sort();
  const perRegion = regions.map((region) => serviceTimeline(
    svc.rule, byRegion.get(region)!, svc.targets.map((t) => src.degradedSpans(t, from, end, now, region)), from, end));
  return { ...combineRegions((src.ownView ? undefined : svc.regions) ?? REGION_DEFAULTS, regions, perRegion, from, end), regions };
}

export function serviceSpans(src: TimelineSource, svc: ServiceDef, from: number, to: number, now: number): Span<ServiceState>[] {
  return fleetTimeline(src, svc, from, to, now).spans;
}

/** Only one region's evidence (`report --region`): that region's own view of every service. */
export function onlyRegion(src: TimelineSource, region: string): TimelineSource {
  return {
    targetSpans: (t, from, to, now) => src.targetSpans(t, from, to, now).filter((r) => r.region === region),
    degradedSpans: (t, from, to, now, r) => (r === region ? src.degradedSpans(t, from, to, now, r) : []),
    ...(src.notifications ? { notifications: src.notifications.bind(src) } : {}),
    ownView: true,
  };
}

export function reportService(
  src: TimelineSource, svc: ServiceDef, policy: SlaPolicy, period: Period,
  maintenance: readonly Maintenance[], recorded: readonly RecordedExclusion[], now: number,
): ServiceReport {
  const from = period.start - LOOKBACK;
  const to = period.end + LOOKBACK;
  const fleet = fleetTimeline(src, svc, from, to, now);
  const exclusions = exclusionsFor(svc.name, maintenance, recorded, from, Math.min(to, now));
  const notices = src.notifications?.(svc.name, from, Math.min(to, now + 1));
  // A service first seen inside the period may have been seen long before the look-back:
  // then the time before its first span here is unknown, not "not yet in service".
  const firstKnown = fleet.spans.find((x) => x.state !== 'unknown')?.start;
  const seenBefore = (firstKnown === undefined || firstKnown > period.start) && svc.targets.some((t) => src.targetSpans(t, -Infinity, from, now).some((r) => r.spans.length > 0));
  const report = evaluatePeriod({
    service: svc.name, policy, period, spans: fleet.spans, exclusions, now,
    ...(notices ? { notifications: notices } : {}), ...(seenBefore ? { seenBefore } : {}),
  });
  const pe = Math.min(period.end, now);
  return {
    ...report,
    regions: fleet.regions,
    regional_faults: fleet.faults.filter((f) => f.end > period.start && f.start < pe).map((f) => ({ ...f, duration_ms: f.end - f.start })),
  };
}

/** The first and last instant `src` has evidence of any of `targets` (up to now); undefined when none. */
export function evidenceSpan(src: TimelineSource, targets: readonly string[], now: number): { first: number; last: number } | undefined {
  let first = Infinity;
  let last = -Infinity;
  for (const t of targets) {
    for (const r of src.targetSpans(t, -Infinity, Infinity, now)) {
      for (const s of r.spans) {
        first = Math.min(first, s.start);
        last = Math.max(last, s.end);
      }
    }
  }
  return first <= last ? { first, last } : undefined;
}

/**
 * Why a period of a service has no data, when the source has evidence elsewhere: none of
 * the service's targets has any, or theirs lies outside the period. `at` prints an instant.
 */
export function noDataReason(src: TimelineSource, svc: ServiceDef, period: Period, now: number, at: (t: number) => string, known: readonly string[]): string {
  const span = evidenceSpan(src, svc.targets, now);
  if (!span) {
    return `no evidence of this service's targets (${svc.targets.join(', ')}) at all; the source has ${known.length ? `targets ${known.join(', ')}` : 'no targets'}: check the target names`;
  }
  return `the evidence of this service's targets runs from ${at(span.first)} to ${at(span.last)}, none of it in ${period.label} (${at(period.start)} to ${at(period.end)})`;
}
