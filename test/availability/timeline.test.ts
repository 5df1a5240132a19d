import { describe, expect, it } from 'vitest';
import { applyOutcome, serviceState, serviceTimeline, type OpenSegment } from '../../src/availability/timeline.ts';
import type { Rule, Span, TargetState } from '../../src/availability/types.ts';
import { tl } from '../support/availability.ts';

const I = 10_000;
/** Runs at t seconds; returns the spans they make (closed + open cut at `now` s). */
function fold(runs: [number, boolean][], now: number): [string, number, number][] {
  let open: OpenSegment | undefined;
  const out: Span<TargetState>[] = [];
  for (const [t, ok] of runs) {
    const r = applyOutcome(open, { t: t * 1000, success: ok }, I);
    if (r.closed) out.push(r.closed);
    open = r.open;
  }
  if (open) out.push({ start: open.start, end: Math.min(open.end, now * 1000), state: open.state });
  return out.map((s) => [s.state, s.start / 1000, s.end / 1000]);
}

describe('runs to target spans (interval 10 s)', () => {
  it.each([
    ['steady up', [[0, true], [10, true], [20, true]], 100, [['up', 0, 30]]],
    // the window runs from the first failed run to the first successful run
    ['an outage', [[0, true], [10, false], [20, false], [30, true]], 100, [['up', 0, 10], ['down', 10, 30], ['up', 30, 40]]],
    // one skipped run (20 s gap) is bridged; 25 s (2.5 intervals) too
    ['a skipped run', [[0, true], [20, true], [45, true]], 100, [['up', 0, 55]]],
    // a gap over 2.5 intervals is unknown after last run + interval
    ['the agent stopped', [[0, true], [10, true], [60, true]], 100, [['up', 0, 20], ['up', 60, 70]]],
    ['a state change after a gap', [[0, true], [60, false]], 100, [['up', 0, 10], ['down', 60, 70]]],
    ['open segment cut at now', [[0, false]], 4, [['down', 0, 4]]],
    ['a run older than the latest is ignored', [[0, true], [10, true], [5, false]], 100, [['up', 0, 20]]],
  ] as [string, [number, boolean][], number, [string, number, number][]][])('%s', (_n, runs, now, want) => {
    expect(fold(runs, now)).toEqual(want);
  });
});

describe('service state by rule', () => {
  const all: Rule = { type: 'all' };
  const any: Rule = { type: 'any' };
  const two: Rule = { type: 'at_least', k: 2 };
  it.each([
    [all, ['down', 'down', 'down'], false, 'down'],
    [all, ['down', 'up', 'down'], false, 'partial'], // some but not all down: L3
    [all, ['down', 'up', 'down'], true, 'degraded'], // a quality breach outranks partial: L2
    [all, ['up', 'up', 'up'], false, 'up'],
    [all, ['up', 'up', 'up'], true, 'degraded'],
    [all, ['down', undefined, 'down'], false, 'unknown'], // could be down
    [all, ['down', undefined, 'up'], false, 'partial'], // cannot be down: one is up
    [all, [undefined, undefined, undefined], false, 'unknown'],
    [any, ['up', 'down', 'up'], false, 'down'],
    [any, ['up', undefined, 'up'], false, 'unknown'],
    [two, ['down', 'up', 'up'], false, 'partial'],
    [two, ['down', 'down', 'up'], false, 'down'],
    [two, ['down', undefined, 'up'], false, 'unknown'],
    [two, [undefined, 'up', 'up'], false, 'up'],
    [all, [], false, 'unknown'],
  ] as [Rule, (TargetState | undefined)[], boolean, string][])('%j %j degraded=%s -> %s', (rule, states, deg, want) => {
    expect(serviceState(rule, states, deg)).toBe(want);
  });
});

describe('service timeline', () => {
  const t0 = Date.parse('2026-11-02T00:00:00Z');
  const at = (m: number) => t0 + m * 60_000;
  it('combines targets, degraded spans and unknown gaps over the whole range', () => {
    const a = tl<TargetState>('2026-11-02T00:00:00Z', ['up', '10m'], ['down', '10m'], ['up', '10m']);
    const b = tl<TargetState>('2026-11-02T00:05:00Z', ['up', '10m'], ['down', '10m'], ['up', '5m']);
    const deg = [tl<'degraded'>('2026-11-02T00:25:00Z', ['degraded', '3m'])];
    const got = serviceTimeline({ type: 'all' }, [a, b], [[], ...deg], at(0), at(40));
    expect(got.map((s) => [s.state, (s.start - t0) / 60_000, (s.end - t0) / 60_000])).toEqual([
      ['up', 0, 10], // 0-5: b unknown but a up, so not down under "all"
      ['partial', 10, 15],
      ['down', 15, 20],
      ['partial', 20, 25],
      ['degraded', 25, 28],
      ['up', 28, 30],
      ['unknown', 30, 40], // neither target has a run
    ]);
  });

});
