// The accounting of one service under one policy over one period: downtime windows and the
// minimum-outage rule, incidents and their recovery deadlines, minutes by state, availability,
// error budget and credit. Pure: everything comes in as arguments, `now` included.
import { localTime, periodEnding } from './calendar.ts';
import { firstEndingAfter, mergeIntervals, overlap } from './exclusions.ts';
import type { CreditRule, Exclusion, Level, Notice, Period, Rounding, ServiceState, SlaPolicy, Span } from './types.ts';

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
  // `|| 0`: Math.ceil(-1e-9) is -0, which prints as 0 but is not Object.is-equal to it.
  if (r === 'up') return Math.ceil(x - 1e-9) || 0;
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
  /** What the minimum-outage rule compares: down time outside exclusions, plus unknown time when it counts as down. */
  unavailable_ms: number;
  status: WindowStatus;
  why: string;
  exclusions: { source: string; reason: string }[];
  /**
   * The minutes of this window that enter this period's availability and budget: its
   * unavailable time inside the period, exact (rounding_scope: period, the period's sum is
   * rounded once) or rounded (rounding_scope: window); 0 unless counted.
   */
  counted_minutes: number;
  /** The same, in exact milliseconds before any rounding. */
  counted_ms: number;
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
  /** When the first (firing) notification about the service arrived during the incident; null if none (or no record). */
  notified_at: number | null;
  /** notified_at within the policy's notify_within of the start; null without notify_within, without a record, or while still inside it. */
  notify_met: boolean | null;
}

export interface CreditReport {
  unit: 'minutes' | 'percent';
  amount: number;
  /** Why this amount (or zero): the condition of the policy's credit rule. */
  why: string;
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
  /** The policy's notify_within, ms (null: none). */
  notify_within: number | null;
  /** The rules that shaped these figures, as the policy sets them. */
  rules: Pick<SlaPolicy, 'excluded_time' | 'rounding' | 'rounding_scope' | 'unknown_in_outage' | 'partial_period' | 'min_outage' | 'merge_within'>;
  /**
   * Minutes of the elapsed part of the period by state (excluded time in `excluded` only).
   * `down_counted`: the period's unavailable minutes as rounded, the one figure the
   * availability, the budget (`budget.used`) and the credit use;
   * `not_in_service`: the part before the first evidence of the service (partial_period);
   * `unknown_counted`: unknown minutes counted as unavailable (inside counted windows, or all
   * with unknown: down).
   */
  minutes: {
    total: number; up: number; degraded: number; partial: number; down: number; down_counted: number; unknown: number; excluded: number;
    not_in_service: number; unknown_counted: number;
  };
  /** Percent; null when there is no data (never 100 % by default). */
  availability: number | null;
  no_data: boolean;
  met: boolean | null;
  budget: { allowed: number; used: number; remaining: number; remaining_ratio: number | null; burn_rate: number | null };
  /** The credit this period settles; null with no data, no credit rule, or when another period settles it. */
  credit: CreditReport | null;
  /** The period whose figure settles a credit, and whether it is this one. */
  settlement: { label: string; start: number; end: number; here: boolean };
  windows: WindowReport[];
  incidents: IncidentReport[];
  /** Why the figures are as they are where that is not evident (no data, data outside the period ...). */
  notes: string[];
}

export interface EvaluateArgs {
  service: string;
  policy: SlaPolicy;
  period: Period;
  /** Service timeline covering the period and, where possible, windows that cross its bounds. */
  spans: readonly Span<ServiceState>[];
  exclusions: readonly Exclusion[];
  now: number;
  /** The source has evidence of the service from before `spans` begin (partial_period). */
  seenBefore?: boolean;
  /** Notifications delivered about the service, oldest first; absent: no record to judge by. */
  notifications?: readonly Notice[];
}

export function evaluatePeriod({ service, policy, period, spans, exclusions, now, notifications, seenBefore }: EvaluateArgs): PeriodReport {
  const excl = policy.exclusions ? exclusions : [];
  const merged = mergeIntervals(excl);
  const ps = period.start;
  const pe = Math.min(period.end, Math.max(now, ps));
  // A period that began before the service was first seen (a partial first month) is
  // accounted from its first evidence: the time before is not in service, neither up nor down.
  const firstKnown = seenBefore ? -Infinity : spans.find((x) => x.state !== 'unknown')?.start;
  const as = policy.partial_period === 'from_first_sample' && firstKnown !== undefined && firstKnown > ps ? Math.min(firstKnown, pe) : ps;
  const all = measure(spans, merged, as, pe);
  const round = (ms: number) => roundMinutes(ms, policy.rounding);
  const unknownIsDown = policy.unknown === 'down';
  const unknownInOutageDown = unknownIsDown || policy.unknown_in_outage === 'down';
  const perWindow = policy.rounding_scope === 'window';

  const windows: WindowReport[] = [];
  let unknownInWindows = 0;
  let unknownCountedInWindows = 0;
  for (const w of stretches(spans, (s) => s === 'down', policy.merge_within)) {
    if (w.end <= as || w.start >= pe) continue;
    const m = measure(spans, merged, w.start, w.end);
    const downMs = w.end - w.start - m.unknown - m.excluded;
    const unavailable = downMs + (unknownInOutageDown ? m.unknown : 0);
    const overlapping = excl.filter((x) => x.end > w.start && x.start < w.end);
    const sources = overlapping.map((x) => ({ source: x.source, reason: x.reason }));
    let status: WindowStatus;
    let why: string;
    if (unavailable <= 0 && m.excluded > 0) {
      status = 'excluded';
      why = `entirely excluded: ${sources.map((x) => `${x.source} (${x.reason})`).join('; ')}`;
    } else if (unavailable >= policy.min_outage) {
      status = 'counted';
      why = policy.min_outage > 0 ? `${formatDuration(unavailable)} unavailable >= minimum ${formatDuration(policy.min_outage)}` : `${formatDuration(unavailable)} unavailable (no minimum outage)`;
    } else {
      status = 'not_counted';
      why = `${formatDuration(unavailable)} unavailable < minimum ${formatDuration(policy.min_outage)}: recorded, not counted`;
    }
    if (status !== 'excluded' && m.excluded > 0) why += `; ${formatDuration(m.excluded)} excluded: ${sources.map((x) => `${x.source} (${x.reason})`).join('; ')}`;
    if (m.unknown > 0) why += `; ${formatDuration(m.unknown)} unknown (agent had no result), ${unknownInOutageDown ? 'counted as down' : 'not counted as down'}`;
    if (w.open) why += `; still open`;
    const a = Math.max(w.start, as);
    const b = Math.min(w.end, pe);
    const part = measure(spans, merged, a, b);
    const partUnavailable = Math.max(0, b - a - part.unknown - part.excluded) + (unknownInOutageDown ? part.unknown : 0);
    const countedMs = status === 'counted' ? partUnavailable : 0;
    unknownInWindows += part.unknown;
    if (status === 'counted' && unknownInOutageDown) unknownCountedInWindows += part.unknown;
    if (w.start < ps || w.end > pe) why += `; ${formatDuration(b - a)} of it in this period`;
    windows.push({
      start: w.start, end: w.open ? null : w.end, first_seen: w.seen, duration_ms: w.end - w.start,
      down_ms: downMs, unknown_ms: m.unknown, excluded_ms: m.excluded, unavailable_ms: unavailable,
      status, why, exclusions: sources,
      counted_minutes: perWindow ? round(countedMs) : countedMs / MINUTE,
      counted_ms: countedMs,
    });
  }

  const countedStarts = windows.filter((w) => w.status === 'counted').map((w) => w.start);
  const incidents: IncidentReport[] = [];
  for (const s of stretches(spans, (x) => x === 'down' || x === 'degraded' || x === 'partial', policy.merge_within)) {
    if (s.end <= as || s.start >= pe) continue;
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
      notified_at: null, notify_met: null,
    });
  }
  if (notifications) notify(incidents, notifications, policy.notify_within, now);

  // Unknown time outside every window counts as unavailable only with unknown: down (and
  // then with no minimum); inside a window it went with the window above.
  const unknownOutside = Math.max(0, all.unknown - unknownInWindows);
  const unknownCounted = unknownCountedInWindows + (unknownIsDown ? unknownOutside : 0);
  const countedMs = windows.reduce((x, w) => x + w.counted_ms, 0);
  const unavailable = perWindow
    ? windows.reduce((x, w) => x + w.counted_minutes, 0) + (unknownIsDown ? round(unknownOutside) : 0)
    : round(countedMs + (unknownIsDown ? unknownOutside : 0));
  const min = (ms: number) => ms / MINUTE;
  const total = min(pe - ps);
  const notInService = min(as - ps);
  const periodMinutes = min(period.end - period.start);
  const excluded = min(all.excluded);
  const unknown = min(all.unknown);
  const known = all.up + all.degraded + all.partial + all.down;
  const minutes = {
    total, up: min(all.up), degraded: min(all.degraded), partial: min(all.partial), down: min(all.down),
    down_counted: unavailable, unknown, excluded, not_in_service: notInService, unknown_counted: min(unknownCounted),
  };
  const rules = {
    excluded_time: policy.excluded_time, rounding: policy.rounding, rounding_scope: policy.rounding_scope,
    unknown_in_outage: policy.unknown_in_outage, partial_period: policy.partial_period,
    min_outage: policy.min_outage, merge_within: policy.merge_within,
  };
  const denom = countedMinutes({ minutes, rules, unknown_rule: policy.unknown });
  const outOfDenominator = total - denom;
  const noData = known <= 0 || denom <= 0;
  const availability = noData ? null : ((denom - unavailable) / denom) * 100;
  const met = availability === null ? null : availability >= policy.target - 1e-9;
  const budgetShare = 1 - policy.target / 100;
  const allowed = budgetShare * (periodMinutes - outOfDenominator);
  const remaining = allowed - unavailable;
  const settlement = settlementOf(policy, period);
  const notes: string[] = [];
  if (notInService > 0 && !noData) notes.push(`the service was first seen at ${new Date(as).toISOString()}: the ${formatDuration(as - ps)} before are not in service (partial_period: from_first_sample)`);
  let cr: CreditReport | null = null;
  if (!noData && settlement.here) cr = credit(policy.credit, { availability: availability!, unavailable, periodMinutes, met: met! });
  if (!noData && !settlement.here && policy.credit.type !== 'none') {
    notes.push(`no credit in this report: the credit is judged on ${settlement.label}, in the report of that period`);
  }
  return {
    service, sla: policy.name, description: policy.description, target: policy.target,
    period: { ...period, time_zone: policy.time_zone, minutes: periodMinutes },
    now, in_progress: now < period.end, unknown_rule: policy.unknown, notify_within: policy.notify_within,
    rules,
    minutes,
    availability, no_data: noData, met,
    budget: {
      allowed, used: unavailable, remaining,
      remaining_ratio: allowed > 0 ? remaining / allowed : null,
      burn_rate: noData || budgetShare <= 0 ? null : unavailable / denom / budgetShare,
    },
    credit: cr, settlement,
    windows, incidents, notes,
  };
}

/**
 * HEDU-5.7 / UMEET-5.7: an incident's notification is the first firing one about the service
 * delivered from its start until the next incident starts (a notice sent just after a short
 * incident ended is still its notice). Which alert it was does not matter: the customer was told.
 */
function notify(incidents: IncidentReport[], notices: readonly Notice[], within: number | null, now: number): void {
  const firing = notices.filter((n) => n.status === 'firing');
  incidents.forEach((inc, k) => {
    const until = incidents[k + 1]?.start ?? Infinity;
    const first = firing.find((n) => n.at >= inc.start && n.at < until);
    inc.notified_at = first?.at ?? null;
    if (within === null) return;
    if (first) inc.notify_met = first.at - inc.start <= within;
    else if (now - inc.start > within) inc.notify_met = false;
  });
}

/**
 * Minutes of service time that count under the policy so far: the denominator of its
 * availability, (counted - down_counted) / counted, for the report (evaluatePeriod) and the
 * burn-rate rules (the sink's counter state="counted") alike. The period less the time not in
 * service, the excluded time a policy with excluded_time: removed takes out (UDESK-1.2,
 * EASYMEETING; HEDU/UMEET-7.1 keep it, as available), and the unknown time unknown: excluded
 * takes out (not what inside an outage counted as down).
 */
export function countedMinutes(r: Pick<PeriodReport, 'minutes' | 'rules' | 'unknown_rule'>): number {
  const m = r.minutes;
  return m.total - m.not_in_service - (r.rules.excluded_time === 'removed' ? m.excluded : 0) - (r.unknown_rule === 'excluded' ? m.unknown - m.unknown_counted : 0);
}

/**
 * The period that settles a credit of `policy` reported for `period`: the period itself, or
 * the contract year that ends in or after the period's last month.
 */
export function settlementOf(policy: SlaPolicy, period: Period): PeriodReport['settlement'] {
  const st = policy.settlement;
  if (st.type === 'period') return { label: period.label, start: period.start, end: period.end, here: true };
  const last = localTime(period.end - 1, policy.time_zone);
  // The contract year holding the period's last month ends with month start_month - 1.
  const endMonth = st.start_month === 1 ? 12 : st.start_month - 1;
  const endYear = last.month <= endMonth ? last.year : last.year + 1;
  const y = periodEnding('rolling_12_months', endYear, endMonth, policy.time_zone);
  return { label: y.label, start: y.start, end: y.end, here: y.start === period.start && y.end === period.end };
}

/** A figure inside a sentence, without float noise (format.ts prints the figures themselves). */
const shown = (x: number) => String(Number(x.toPrecision(12)));

/**
 * The credit of one period. Minutes credits are whole when the policy rounds minutes;
 * percent credits are exact here and rounded only when printed. `when: missed` pays nothing
 * in a period that met its target (UDESK-13.2(1)); `always` pays every counted minute
 * (HEDU-7.2 / UMEET-7.2, per incident).
 */
export function credit(rule: CreditRule, r: { availability: number; unavailable: number; periodMinutes: number; met?: boolean }): CreditReport | null {
  if (rule.type === 'none') return null;
  const unit = rule.type === 'equal_time' || rule.type === 'multiplier' ? 'minutes' : 'percent';
  if (rule.when === 'missed' && r.met === true) return { unit, amount: 0, why: 'target met: this policy credits only a missed target (credit.when: missed)' };
  switch (rule.type) {
    case 'equal_time':
      return { unit, amount: r.unavailable, why: `the ${shown(r.unavailable)} counted minutes (equal time)` };
    case 'multiplier': {
      const cap = rule.cap === 'period' ? r.periodMinutes : rule.cap ?? Infinity;
      const amount = Math.min(rule.factor * r.unavailable, cap);
      return { unit, amount, why: `${rule.factor} x ${shown(r.unavailable)} counted minutes${amount < rule.factor * r.unavailable ? `, capped at ${shown(cap)}` : ''}${rule.when === 'always' ? ', owed for every incident, met or not' : ''}` };
    }
    case 'percent_per_point': {
      const lost = Math.max(0, rule.threshold - r.availability);
      // 1e-9: 99.0 - 98.0 is 0.9999999999999 in floating point, and that is one whole point.
      const points = rule.steps === 'whole' ? Math.floor(lost + 1e-9) : rule.steps === 'started' ? Math.ceil(lost - 1e-9) : lost;
      const amount = Math.min(points * rule.percent, rule.cap_percent ?? Infinity);
      return { unit, amount, why: lost > 0 ? `${rule.percent} % per point below ${rule.threshold} % (steps: ${rule.steps})` : `not below ${rule.threshold} %` };
    }
    case 'tiers': {
      let pct = 0;
      let below: number | undefined;
      for (const t of [...rule.tiers].sort((a, b) => b.below - a.below)) if (r.availability < t.below) [pct, below] = [t.percent, t.below];
      return { unit, amount: pct, why: below === undefined ? 'above every tier' : `below ${below} %` };
    }
  }
}
