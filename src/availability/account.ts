// The accounting of one service under one policy over one period: downtime windows and the
// minimum-outage rule, incidents and their recovery deadlines, minutes by state, availability,
// error budget and credit. Pure: everything comes in as arguments, `now` included.
import { firstEndingAfter, mergeIntervals, overlap } from './exclusions.ts';
import type { CreditRule, Exclusion, Level, Period, Rounding, ServiceState, SlaPolicy, Span } from './types.ts';

const MINUTE = 60_000;

export interface Stretch {
  start: number;
  /** End of the last bad span: the first good run after it, or the last evidence if open. */
  end: number;
  /** No known good state after it: still going (or the data stops during it). */
  open: boolean;
  seen: number;
}

/**
 * Maximal stretches of bad states. Unknown time between two bad spans is bridged (an outage
 * during which the agent was down stays one window); a known good stretch ends the window
 * unless the next bad span starts less than `mergeWithin` later (the flapping rule).
 */
export function stretches(spans: readonly Span<ServiceState>[], isBad: (s: ServiceState) => boolean, mergeWithin: number): Stretch[] {
  const out: Stretch[] = [];
  let cur: Stretch | undefined;
  let knownGood = false;
  for (const s of spans) {
    if (isBad(s.state)) {
      if (cur && (!knownGood || s.start - cur.end < mergeWithin)) {
        cur.end = s.end;
      } else {
        if (cur) out.push(cur);
        cur = { start: s.start, end: s.end, open: false, seen: s.seen ?? s.start };
      }
      knownGood = false;
    } else if (s.state !== 'unknown') {
      knownGood = true;
    }
  }
  if (cur) out.push({ ...cur, open: !knownGood });
  return out;
}

export type Measure = Record<ServiceState, number> & { excluded: number };

/** Milliseconds of each state in [a, b), excluded time taken out and counted apart. */
export function measure(spans: readonly Span<ServiceState>[], excluded: readonly { start: number; end: number }[], a: number, b: number): Measure {
  const m: Measure = { up: 0, degraded: 0, partial: 0, down: 0, unknown: 0, excluded: 0 };
  if (b <= a) return m;
  let covered = 0;
  for (let i = firstEndingAfter(spans, a); i < spans.length && spans[i]!.start < b; i++) {
    const s = spans[i]!;
    const x = Math.max(a, s.start);
    const y = Math.min(b, s.end);
    if (y <= x) continue;
    const ex = overlap(excluded, x, y);
    m[s.state] += y - x - ex;
    m.excluded += ex;
    covered += y - x;
  }
  // Time no span covers is unknown (the caller's data stops short of b).
  const gap = b - a - covered;
  if (gap > 0) {
    const ex = overlap(excluded, a, b) - m.excluded;
    m.excluded += ex;
    m.unknown += gap - ex;
  }
  return m;
}

export function roundMinutes(ms: number, r: Rounding): number {
  const x = ms / MINUTE;
  // 1e-9 absorbs float noise so that exactly 5 minutes stays 5, not 6.
  if (r === 'up') return Math.ceil(x - 1e-9);
  if (r === 'down') return Math.floor(x + 1e-9);
  if (r === 'nearest') return Math.round(x);
  return x;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${sec > 0 || s === 0 ? `${sec}s` : ''}`;
}

export type WindowStatus = 'counted' | 'not_counted' | 'excluded';

export interface WindowReport {
  start: number;
  /** First successful run after it; null while open. */
  end: number | null;
  /** When the agent first saw the service down. */
  first_seen: number;
  /** Whole window, ms, both periods if it crosses a boundary. */
  duration_ms: number;
  down_ms: number;
  unknown_ms: number;
  excluded_ms: number;
  /** What the minimum-outage rule compares: down time outside exclusions (+ unknown if unknown counts as down). */
  unavailable_ms: number;
  status: WindowStatus;
  why: string;
  exclusions: { source: string; reason: string }[];
  /** Counted minutes that fall in this period (rounded per policy); 0 unless counted. */
  counted_minutes: number;
}

export interface IncidentReport {
  level: Level;
  start: number;
  end: number | null;
  duration_ms: number;
  first_seen: number;
  counted: boolean;
  excluded_ms: number;
  excluded_reasons: string[];
  deadline: number;
  /** Recovered by the deadline; null while open and the deadline has not passed. */
  deadline_met: boolean | null;
}

export interface PeriodReport {
  service: string;
  sla: string;
  description: string;
  target: number;
  period: Period & { time_zone: string; minutes: number };
  now: number;
  /** The period has not ended at `now`; figures are so far. */
  in_progress: boolean;
  unknown_rule: SlaPolicy['unknown'];
  /** Minutes of the elapsed part of the period by state (excluded time in `excluded` only). */
  minutes: { total: number; up: number; degraded: number; partial: number; down: number; down_counted: number; unknown: number; excluded: number };
  /** Percent; null when there is no data (never 100 % by default). */
  availability: number | null;
  no_data: boolean;
  met: boolean | null;
  budget: { allowed: number; used: number; remaining: number; remaining_ratio: number | null; burn_rate: number | null };
  credit: { unit: 'minutes' | 'percent'; amount: number } | null;
  windows: WindowReport[];
  incidents: IncidentReport[];
}

export interface EvaluateArgs {
  service: string;
  policy: SlaPolicy;
  period: Period;
  /** Service timeline covering the period and, where possible, windows that cross its bounds. */
  spans: readonly Span<ServiceState>[];
  exclusions: readonly Exclusion[];
  now: number;
}

export function evaluatePeriod({ service, policy, period, spans, exclusions, now }: EvaluateArgs): PeriodReport {
  const excl = policy.exclusions ? exclusions : [];
  const merged = mergeIntervals(excl);
  const ps = period.start;
  const pe = Math.min(period.end, Math.max(now, ps));
  const all = measure(spans, merged, ps, pe);
  const round = (ms: number) => roundMinutes(ms, policy.rounding);
  const unknownIsDown = policy.unknown === 'down';

  const windows: WindowReport[] = [];
  for (const w of stretches(spans, (s) => s === 'down', policy.merge_within)) {
    if (w.end <= ps || w.start >= pe) continue;
    const m = measure(spans, merged, w.start, w.end);
    const downMs = w.end - w.start - m.unknown - m.excluded;
    const unavailable = downMs + (unknownIsDown ? m.unknown : 0);
    const overlapping = excl.filter((x) => x.end > w.start && x.start < w.end);
    const sources = overlapping.map((x) => ({ source: x.source, reason: x.reason }));
    let status: WindowStatus;
    let why: string;
    if (unavailable <= 0 && m.excluded > 0) {
      status = 'excluded';
      why = `entirely excluded: ${sources.map((x) => `${x.source} (${x.reason})`).join('; ')}`;
    } else if (unavailable >= policy.min_outage) {
      status = 'counted';
      why = `${formatDuration(unavailable)} unavailable >= minimum ${formatDuration(policy.min_outage)}`;
    } else {
      status = 'not_counted';
      why = `${formatDuration(unavailable)} unavailable < minimum ${formatDuration(policy.min_outage)}: recorded, not counted`;
    }
    if (status !== 'excluded' && m.excluded > 0) why += `; ${formatDuration(m.excluded)} excluded: ${sources.map((x) => `${x.source} (${x.reason})`).join('; ')}`;
    if (m.unknown > 0) why += `; ${formatDuration(m.unknown)} unknown (agent had no result)`;
    if (w.open) why += `; still open`;
    const part = measure(spans, merged, Math.max(w.start, ps), Math.min(w.end, pe));
    const partDown = Math.max(0, Math.min(w.end, pe) - Math.max(w.start, ps) - part.unknown - part.excluded);
    windows.push({
      start: w.start, end: w.open ? null : w.end, first_seen: w.seen, duration_ms: w.end - w.start,
      down_ms: downMs, unknown_ms: m.unknown, excluded_ms: m.excluded, unavailable_ms: unavailable,
      status, why, exclusions: sources,
      counted_minutes: status === 'counted' ? round(partDown) : 0,
    });
  }

  const countedStarts = windows.filter((w) => w.status === 'counted').map((w) => w.start);
  const incidents: IncidentReport[] = [];
  for (const s of stretches(spans, (x) => x === 'down' || x === 'degraded' || x === 'partial', policy.merge_within)) {
    if (s.end <= ps || s.start >= pe) continue;
    const m = measure(spans, merged, s.start, s.end);
    // The level is the worst state reached, even where that part is excluded.
    const reached = new Set<ServiceState>();
    for (let i = firstEndingAfter(spans, s.start); i < spans.length && spans[i]!.start < s.end; i++) reached.add(spans[i]!.state);
    const level: Level = reached.has('down') ? 'L1' : reached.has('degraded') ? 'L2' : 'L3';
    const deadline = s.start + policy.recovery[level];
    const end = s.open ? null : s.end;
    const reasons = [...new Set(excl.filter((x) => x.end > s.start && x.start < s.end).map((x) => `${x.source}: ${x.reason}`))];
    incidents.push({
      level, start: s.start, end, duration_ms: s.end - s.start, first_seen: s.seen,
      counted: countedStarts.some((t) => t >= s.start && t < s.end),
      excluded_ms: m.excluded, excluded_reasons: reasons, deadline,
      deadline_met: end !== null ? end <= deadline : now > deadline ? false : null,
    });
  }

  const downCounted = windows.reduce((a, w) => a + w.counted_minutes, 0);
  const min = (ms: number) => ms / MINUTE;
  const total = min(pe - ps);
  const periodMinutes = min(period.end - period.start);
  const excluded = min(all.excluded);
  const unknown = min(all.unknown);
  const known = all.up + all.degraded + all.partial + all.down;
  const unavailable = downCounted + (unknownIsDown ? round(all.unknown) : 0);
  const outOfDenominator = excluded + (policy.unknown === 'excluded' ? unknown : 0);
  const denom = total - outOfDenominator;
  const noData = known <= 0 || denom <= 0;
  const availability = noData ? null : ((denom - unavailable) / denom) * 100;
  const budgetShare = 1 - policy.target / 100;
  const allowed = budgetShare * (periodMinutes - outOfDenominator);
  const remaining = allowed - unavailable;
  return {
    service, sla: policy.name, description: policy.description, target: policy.target,
    period: { ...period, time_zone: policy.time_zone, minutes: periodMinutes },
    now, in_progress: now < period.end, unknown_rule: policy.unknown,
    minutes: {
      total, up: min(all.up), degraded: min(all.degraded), partial: min(all.partial), down: min(all.down),
      down_counted: downCounted, unknown, excluded,
    },
    availability, no_data: noData,
    met: availability === null ? null : availability >= policy.target - 1e-9,
    budget: {
      allowed, used: unavailable, remaining,
      remaining_ratio: allowed > 0 ? remaining / allowed : null,
      burn_rate: noData || budgetShare <= 0 ? null : unavailable / denom / budgetShare,
    },
    credit: noData ? null : credit(policy.credit, { availability: availability!, unavailable, periodMinutes }),
    windows, incidents,
  };
}

/**
 * The credit of one period. Minutes credits are whole when the policy rounds minutes;
 * percent credits are exact here and rounded to 2 decimals only when printed.
 */
export function credit(rule: CreditRule, r: { availability: number; unavailable: number; periodMinutes: number }): { unit: 'minutes' | 'percent'; amount: number } | null {
  switch (rule.type) {
    case 'none':
      return null;
    case 'equal_time':
      return { unit: 'minutes', amount: r.unavailable };
    case 'multiplier': {
      const cap = rule.cap === 'period' ? r.periodMinutes : rule.cap ?? Infinity;
      return { unit: 'minutes', amount: Math.min(rule.factor * r.unavailable, cap) };
    }
    case 'percent_per_point': {
      const lost = Math.max(0, rule.threshold - r.availability);
      // 1e-9: 99.0 - 98.0 is 0.9999999999999 in floating point, and that is one whole point.
      const points = rule.steps === 'whole' ? Math.floor(lost + 1e-9) : rule.steps === 'started' ? Math.ceil(lost - 1e-9) : lost;
      return { unit: 'percent', amount: Math.min(points * rule.percent, rule.cap_percent ?? Infinity) };
    }
    case 'tiers': {
      let pct = 0;
      for (const t of [...rule.tiers].sort((a, b) => b.below - a.below)) if (r.availability < t.below) pct = t.percent;
      return { unit: 'percent', amount: pct };
    }
  }
}
