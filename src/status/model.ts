// What the status page shows, as data (GET /status.json, and the input of the HTML page).
// Every figure comes from the calculator `slaprobe report` uses: the period figures are
// reportService over each policy's current period, the day bars are evaluatePeriod over
// day-sized periods of the same service timeline, the incidents evaluatePeriod over the
// whole range of the bars. Nothing here counts minutes of its own.
import { evaluatePeriod, type IncidentReport, type PeriodReport, type WindowReport } from '../availability/account.ts';
import { formatInstant, localTime, periodAt, zonedTime } from '../availability/calendar.ts';
import { toJson } from '../availability/format.ts';
import { exclusionsFor, type Maintenance, type RecordedExclusion } from '../availability/exclusions.ts';
import { LOOKBACK, fleetTimeline, onlyRegion, reportService, serviceSpans, type ServiceDef, type ServiceReport, type TimelineSource } from '../availability/service.ts';
import { GAP_FACTOR } from '../availability/timeline.ts';
import type { Period, ServiceState, SlaPolicy, Span } from '../availability/types.ts';
import { policiesOf } from '../config/sla.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
export const DAYS = 90;
/** Data older than this many intervals of the slowest target is stale. */
export const STALE_INTERVALS = 3;
/** How far ahead planned maintenance is listed. */
export const MAINTENANCE_AHEAD = 30 * DAY;

export type StatusSource = TimelineSource;

export interface StatusInput {
  services: readonly (ServiceDef & { sla: readonly SlaPolicy[] })[];
  /** Run interval per target name, ms (staleness). */
  intervals: ReadonlyMap<string, number>;
  maintenance: readonly Maintenance[];
  recorded: readonly RecordedExclusion[];
  source: StatusSource;
  now: number;
  days?: number;
}

/**
 * What a day held, worst first: counted downtime; downtime not counted (shorter than the
 * policy's minimum, or excluded); degraded or partial service; unknown time (never up);
 * maintenance (excluded time, no downtime); up; no data at all.
 */
export const DAY_KINDS = ['counted', 'not_counted', 'degraded', 'unknown', 'maintenance', 'up', 'no_data'] as const;
export type DayKind = (typeof DAY_KINDS)[number];

export interface DayStatus {
  date: string;
  start: number;
  end: number;
  kind: DayKind;
  /** The day's availability under the bars' policy, percent; null without data. */
  availability: number | null;
  minutes: PeriodReport['minutes'];
  /** Why, one line per window or fact, for the tooltip and the text alternative. */
  notes: string[];
}

export interface RegionStatus {
  region: string;
  state: ServiceState;
  as_of: number | null;
}

export interface IncidentStatus extends IncidentReport {
  /** The policy's reasons for its downtime windows (counted, not counted, excluded). */
  why: string[];
}

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  /** Since when the service has been in that state (the start of its last stretch), Unix ms. */
  since: number | null;
  /** Availability over the whole range of the bars under the bars' policy, percent; null without data. */
  range_availability: number | null;
  /** The bars and incidents are evaluated up to here: the end of a live service's newest evidence, else now. */
  evaluated_to: number;
  /** Newest evidence of any of its targets, Unix ms; null when there is none. */
  as_of: number | null;
  stale: boolean;
  /** Present when more than one region reported on its targets. */
  regions: RegionStatus[];
  /** The policy the day bars and incidents are evaluated under (the service's first). */
  days_policy: string;
  time_zone: string;
  days: DayStatus[];
  /** One per policy: its current period, exactly as `slaprobe report` computes it. */
  periods: ServiceReport[];
  incidents: IncidentStatus[];
}

export interface PlannedMaintenance {
  source: string;
  reason: string;
  start: number;
  end: number;
  in_progress: boolean;
  services: string[];
}

export interface StatusModel {
  now: number;
  as_of: number | null;
  stale: boolean;
  /** Age beyond which data is called stale, ms. */
  stale_after_ms: number;
  services: ServiceStatus[];
  maintenance: PlannedMaintenance[];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The `n` local days of `tz` ending with the one that contains `now`, oldest first. */
export function dayPeriods(now: number, tz: string, n: number): Period[] {
  const l = localTime(now, tz);
  const out: Period[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(l.year, l.month - 1, l.day - i));
    const e = new Date(d.getTime() + DAY);
    out.push({
      label: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
      start: zonedTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, 0, tz),
      end: zonedTime(e.getUTCFullYear(), e.getUTCMonth() + 1, e.getUTCDate(), 0, 0, tz),
    });
  }
  return out;
}

const windowNote = (w: WindowReport) => `${w.status === 'counted' ? 'counted downtime' : w.status === 'excluded' ? 'downtime excluded' : 'downtime not counted'}: ${w.why}`;

/** The kind of a day from its report: the worst thing it held. */
export function dayKind(r: PeriodReport): { kind: DayKind; notes: string[] } {
  const notes = r.windows.map(windowNote);
  const m = r.minutes;
  if (m.degraded + m.partial > 0) notes.push(`${round1(m.degraded + m.partial)} min degraded or partial`);
  if (m.excluded > 0) notes.push(`${round1(m.excluded)} min excluded (maintenance or recorded exclusion)`);
  if (m.unknown > 0) notes.push(`${round1(m.unknown)} min unknown (no result)`);
  if (m.not_in_service > 0) notes.push(`${round1(m.not_in_service)} min before the service's first result (not in service)`);
  let kind: DayKind;
  if (m.total > 0 && m.unknown >= m.total) kind = 'no_data';
  else if (r.windows.some((w) => w.status === 'counted')) kind = 'counted';
  else if (r.windows.length > 0) kind = 'not_counted';
  else if (m.degraded + m.partial > 0) kind = 'degraded';
  else if (m.unknown > 0) kind = 'unknown';
  else if (m.excluded > 0) kind = 'maintenance';
  else if (r.no_data) kind = 'no_data';
  else kind = 'up';
  return { kind, notes };
}

function round1(x: number): string {
  return (Math.round(x * 10) / 10).toFixed(1);
}

/**
 * The state now, and since when. A result is due every interval but known only when its run
 * finishes, so the newest span of a running agent ends a little before now; as in the
 * timeline's gap rule, evidence up to (GAP_FACTOR - 1) intervals old is current. `frontier`
 * is where the evidence of a live service ends (the bars of today run to it, so a run still
 * in flight is not drawn as unknown time); otherwise now.
 */
export function current(spans: readonly Span<ServiceState>[], now: number, interval: number): { state: ServiceState; since: number | null; frontier: number } {
  let known: Span<ServiceState> | undefined;
  for (let i = spans.length - 1; i >= 0 && !known; i--) if (spans[i]!.state !== 'unknown') known = spans[i];
  if (known && now - known.end <= (GAP_FACTOR - 1) * interval) return { state: known.state, since: known.start, frontier: known.end };
  return { state: 'unknown', since: known?.end ?? null, frontier: now };
}

function newest(lists: Iterable<readonly Span<string>[]>): number | null {
  let t = -Infinity;
  for (const l of lists) for (const s of l) if (s.end > t) t = s.end;
  return t === -Infinity ? null : t;
}

/** Each region's own view of the service (the region rule is for the service as a whole). */
function regionsOf(src: StatusSource, svc: ServiceDef, from: number, now: number, interval: number): RegionStatus[] {
  const { regions } = fleetTimeline(src, svc, from, now, now);
  if (regions.length < 2) return [];
  return regions.map((region) => {
    const only = onlyRegion(src, region);
    const asOf = newest(svc.targets.flatMap((t) => only.targetSpans(t, from, now, now).map((r) => r.spans)));
    return { region, state: current(serviceSpans(only, svc, from, now, now), now, interval).state, as_of: asOf };
  });
}

export function buildStatus(input: StatusInput): StatusModel {
  const { now, source, maintenance, recorded } = input;
  const n = input.days ?? DAYS;
  let staleAfter = 0;
  const services = input.services.map((svc): ServiceStatus => {
    const policies = policiesOf(svc);
    const dp = policies[0]!;
    const days = dayPeriods(now, dp.time_zone, n);
    const first = days[0]!.start;
    const from = first - LOOKBACK;
    const spans = serviceSpans(source, svc, from, now, now);
    const exclusions = exclusionsFor(svc.name, maintenance, recorded, from, now);
    const interval = Math.max(MINUTE, ...svc.targets.map((t) => input.intervals.get(t) ?? MINUTE));
    const live = current(spans, now, interval);
    const evaluate = (period: Period) => evaluatePeriod({ service: svc.name, policy: dp, period, spans, exclusions, now: live.frontier });
    const dayStatus = days.map((d): DayStatus => {
      const r = evaluate(d);
      return { date: d.label, start: d.start, end: d.end, availability: r.availability, minutes: r.minutes, ...dayKind(r) };
    });
    const range = evaluate({ label: `${days[0]!.label}..${days[days.length - 1]!.label}`, start: first, end: days[days.length - 1]!.end });
    const incidents = range.incidents.map((i) => ({
      ...i,
      why: range.windows.filter((w) => w.start >= i.start && w.start < (i.end ?? Infinity)).map(windowNote),
    })).reverse();
    staleAfter = Math.max(staleAfter, STALE_INTERVALS * interval);
    const recent = Math.max(from, now - LOOKBACK);
    const asOf = newest(svc.targets.flatMap((t) => source.targetSpans(t, recent, now, now).map((r) => r.spans)));
    return {
      name: svc.name,
      state: live.state,
      since: live.since,
      evaluated_to: live.frontier,
      range_availability: range.availability,
      as_of: asOf,
      stale: asOf === null || now - asOf > STALE_INTERVALS * interval,
      regions: regionsOf(source, svc, recent, now, interval),
      days_policy: dp.name,
      time_zone: dp.time_zone,
      days: dayStatus,
      periods: policies.map((p) => reportService(source, svc, p, periodAt(p.period, now, p.time_zone), maintenance, recorded, now)),
      incidents,
    };
  });

  const planned = new Map<string, PlannedMaintenance>();
  for (const svc of input.services) {
    for (const x of exclusionsFor(svc.name, maintenance, recorded, now, now + MAINTENANCE_AHEAD)) {
      if (x.end <= now) continue;
      const key = `${x.source}\0${x.start}\0${x.end}`;
      const p = planned.get(key) ?? { source: x.source, reason: x.reason, start: x.start, end: x.end, in_progress: x.start <= now, services: [] };
      p.services.push(svc.name);
      planned.set(key, p);
    }
  }
  const asOfs = services.map((s) => s.as_of).filter((t): t is number => t !== null);
  const asOf = asOfs.length > 0 ? Math.max(...asOfs) : null;
  return {
    now,
    as_of: asOf,
    stale: asOf === null || now - asOf > staleAfter,
    stale_after_ms: staleAfter,
    services,
    maintenance: [...planned.values()].sort((a, b) => a.start - b.start),
  };
}

/** The model as GET /status.json serves it: times RFC 3339, periods exactly as `report --format json`. */
export function statusJson(m: StatusModel): unknown {
  const utc = (t: number | null) => (t === null ? null : formatInstant(t, 'UTC'));
  return {
    // The exact instant too: `report --now` with it reproduces every figure to the last digit.
    now: utc(m.now), now_unix_ms: m.now, as_of: utc(m.as_of), stale: m.stale, stale_after_ms: m.stale_after_ms,
    services: m.services.map((s) => {
      const at = (t: number | null) => (t === null ? null : formatInstant(t, s.time_zone));
      return {
        name: s.name, state: s.state, since: at(s.since), range_availability: s.range_availability, evaluated_to_unix_ms: s.evaluated_to, as_of: at(s.as_of), stale: s.stale,
        regions: s.regions.map((r) => ({ ...r, as_of: at(r.as_of) })),
        days_policy: s.days_policy, time_zone: s.time_zone,
        days: s.days.map((d) => ({ ...d, start: at(d.start), end: at(d.end) })),
        periods: s.periods.map(toJson),
        incidents: s.incidents.map((i) => ({ ...i, start: at(i.start), end: at(i.end), first_seen: at(i.first_seen), deadline: at(i.deadline) })),
      };
    }),
    maintenance: m.maintenance.map((x) => ({ ...x, start: utc(x.start), end: utc(x.end) })),
  };
}

/** The status of a config's services from a store (the agent, `slaprobe status`). */
export function statusOf(
  config: { services: StatusInput['services']; targets: readonly { name: string; interval: number }[]; maintenance: readonly Maintenance[] },
  source: StatusSource & { exclusions(): RecordedExclusion[] }, now: number,
): StatusModel {
  return buildStatus({
    services: config.services, intervals: new Map(config.targets.map((t) => [t.name, t.interval])),
    maintenance: config.maintenance, recorded: source.exclusions(), source, now,
  });
}

/** The time the page reads: from LOOKBACK before the first bar or period start, to now. */
export function statusRange(services: StatusInput['services'], now: number, days = DAYS): { from: number; to: number } {
  let from = now;
  for (const svc of services) {
    const policies = policiesOf(svc);
    from = Math.min(from, dayPeriods(now, policies[0]!.time_zone, days)[0]!.start, ...policies.map((p) => periodAt(p.period, now, p.time_zone).start));
  }
  return { from: from - LOOKBACK, to: now };
}
