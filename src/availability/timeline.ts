// From probe outcomes to state timelines: one target's outcomes become spans of up/down
// (gaps are unknown), and a service's targets combine by its rule (per region; regions.ts
// combines the regions). Pure functions; the sink and the samples reader feed them.
import type { Rule, ServiceState, Span, TargetState } from './types.ts';

/**
 * A run covers the time until the next run if that comes within GAP_FACTOR intervals (a run
 * skipped by the scheduler, or a late one, does not make a hole); otherwise it covers one
 * interval and the rest, until the next run, is unknown.
 */
export const GAP_FACTOR = 2.5;

export interface Outcome {
  /** When the run started, Unix ms. */
  t: number;
  success: boolean;
  /** When the agent had the result (run finished), Unix ms; defaults to t. */
  seen?: number;
}

/** The segment still being extended: [start, end) with end = last run + interval. */
export interface OpenSegment {
  start: number;
  last: number;
  end: number;
  state: TargetState;
  seen: number;
  runs: number;
}

export interface Applied {
  /** A segment that this outcome closed, ready to store. */
  closed?: Span<TargetState>;
  open: OpenSegment;
  /** The outcome is older than the open segment's last run and was ignored. */
  outOfOrder?: boolean;
}

/**
 * Folds one outcome into a target's open segment. A window of unavailability therefore runs
 * from the first failed run to the first successful run after it, to the millisecond.
 */
export function applyOutcome(open: OpenSegment | undefined, o: Outcome, interval: number): Applied {
  if (!open) return { open: firstSegment(o.t, o.success, o.seen ?? o.t, interval) };
  if (o.t < open.last) return { open, outOfOrder: true };
  const next = { ...open };
  const closed = advance(next, o.t, o.success, o.seen ?? o.t, interval);
  return closed ? { closed, open: next } : { open: next };
}

/** The segment a target's first run opens. */
export function firstSegment(t: number, success: boolean, seen: number, interval: number): OpenSegment {
  return { start: t, last: t, end: t + interval, state: success ? 'up' : 'down', seen, runs: 1 };
}

/**
 * applyOutcome's rule on a segment changed in place, for readers folding millions of runs
 * (a samples file): no object per run, only the closed span of a state change or a gap.
 * The caller checks the order first (t >= open.last).
 */
export function advance(open: OpenSegment, t: number, success: boolean, seen: number, interval: number): Span<TargetState> | undefined {
  const state: TargetState = success ? 'up' : 'down';
  if (t - open.last <= GAP_FACTOR * interval && state === open.state) {
    open.last = t;
    open.end = t + interval;
    open.runs++;
    return undefined;
  }
  // After a gap the segment covers one interval past its last run; a state change ends it at this run.
  const closed = { start: open.start, end: t - open.last > GAP_FACTOR * interval ? open.end : t, state: open.state, seen: open.seen };
  open.start = t;
  open.last = t;
  open.end = t + interval;
  open.state = state;
  open.seen = seen;
  open.runs = 1;
  return closed;
}

/** A finished list of spans from closed segments plus the open one, cut at `now`. */
export function withOpen<S extends string>(closed: Span<S>[], open: { start: number; end: number; state: S; seen: number } | undefined, now: number): Span<S>[] {
  if (!open || open.start >= now) return closed;
  return [...closed, { start: open.start, end: Math.min(open.end, now), state: open.state, seen: open.seen }];
}

/**
 * Walks several sorted, non-overlapping span lists at once over [from, to) and gives, for
 * each stretch between boundaries, the combined state (undefined = unknown), merged where
 * equal. `seen` of a new stretch is the latest `seen` of the input spans starting there.
 */
export function sweep<R extends string>(
  lists: readonly (readonly Span<string>[])[], from: number, to: number,
  combine: (states: (string | undefined)[]) => R | undefined,
): Span<R>[] {
  const pts: number[] = [from, to];
  for (const l of lists) for (const s of l) {
    if (s.end > from && s.start < to) {
      if (s.start > from) pts.push(s.start);
      if (s.end < to) pts.push(s.end);
    }
  }
  const sorted = Float64Array.from(pts).sort();
  const bounds: number[] = [];
  for (const x of sorted) if (x !== bounds[bounds.length - 1]) bounds.push(x);
  const idx = lists.map(() => 0);
  const states: (string | undefined)[] = lists.map(() => undefined);
  const out: Span<R>[] = [];
  for (let b = 0; b < bounds.length - 1; b++) {
    const a = bounds[b]!;
    const z = bounds[b + 1]!;
    let seen: number | undefined;
    for (let i = 0; i < lists.length; i++) {
      const l = lists[i]!;
      let j = idx[i]!;
      while (j < l.length && l[j]!.end <= a) j++;
      idx[i] = j;
      const s = l[j];
      if (s && s.start <= a) {
        states[i] = s.state;
        if (s.start === a && s.seen !== undefined) seen = Math.max(seen ?? -Infinity, s.seen);
      } else {
        states[i] = undefined;
      }
    }
    const r = combine(states);
    if (r === undefined) continue;
    const last = out[out.length - 1];
    if (last && last.state === r && last.end === a) last.end = z;
    else out.push({ start: a, end: z, state: r, ...(seen !== undefined ? { seen } : {}) });
  }
  return out;
}

/** How many targets must be down for the service to be down. */
export function threshold(rule: Rule, n: number): number {
  return rule.type === 'all' ? n : rule.type === 'any' ? 1 : rule.k;
}

/**
 * The service's state from its targets' states at one instant. Down when the rule says so;
 * unknown when the unknown targets could still make it down; otherwise degraded (a quality
 * breach), partial (some targets down) or up.
 */
export function serviceState(rule: Rule, targets: readonly (TargetState | undefined)[], degraded: boolean): ServiceState {
  let down = 0;
  let unknown = 0;
  for (const s of targets) {
    if (s === 'down') down++;
    else if (s === undefined) unknown++;
  }
  const k = threshold(rule, targets.length);
  if (targets.length === 0) return 'unknown';
  if (down >= k) return 'down';
  if (unknown > 0 && down + unknown >= k) return 'unknown';
  if (degraded) return 'degraded';
  return down > 0 ? 'partial' : 'up';
}

/**
 * A service's timeline over [from, to), every instant covered (unknown included), from each
 * target's spans and each target's quality-breach spans (state "degraded").
 */
export function serviceTimeline(
  rule: Rule, targets: readonly Span<TargetState>[][], degraded: readonly Span<'degraded'>[][], from: number, to: number,
): Span<ServiceState>[] {
  const n = targets.length;
  const lists: (readonly Span<string>[])[] = [...targets, ...degraded];
  return sweep(lists, from, to, (st) => {
    const ts = st.slice(0, n) as (TargetState | undefined)[];
    const deg = st.slice(n).some((x) => x === 'degraded');
    return serviceState(rule, ts, deg);
  });
}
