// Section 7 of issue 4, table by table: values are worked out by hand next to each row.
import { describe, expect, it } from 'vitest';
import { credit, evaluatePeriod, roundMinutes, stretches } from '../../src/availability/account.ts';
import { periodEnding } from '../../src/availability/calendar.ts';
import { createEvidence } from '../../src/availability/evidence.ts';
import { reportService } from '../../src/availability/service.ts';
import type { Exclusion, ServiceState, SlaPolicy, Span } from '../../src/availability/types.ts';
import { T, ms, pol, tl } from '../support/availability.ts';

const NOV = periodEnding('month', 2026, 11, 'UTC');
const DEC_1 = T('2026-12-01T00:00:00Z');
const NOV_MIN = 30 * 24 * 60; // 43,200
// UDESK-1.2's minimum outage; the default policy has none.
const UDESK_RULE = { min_outage: ms('5m') };

function run(spans: Span<ServiceState>[], over: Partial<SlaPolicy> = {}, opts: { exclusions?: Exclusion[]; now?: number; period?: typeof NOV } = {}) {
  return evaluatePeriod({
    service: 'meet', policy: pol(over), period: opts.period ?? NOV, spans, exclusions: opts.exclusions ?? [], now: opts.now ?? DEC_1,
  });
}

describe('the 5-minute rule (UDESK-1.2)', () => {
  it.each([
    // outage, counted?, counted minutes (rounded up), availability
    ['4m59s', 'not_counted', 0, 100],
    ['5m', 'counted', 5, ((NOV_MIN - 5) / NOV_MIN) * 100],
    ['5m1s', 'counted', 6, ((NOV_MIN - 6) / NOV_MIN) * 100],
    ['43m12s', 'counted', 44, ((NOV_MIN - 44) / NOV_MIN) * 100],
  ] as const)('an outage of %s is %s: %d minutes', (len, status, minutes, avail) => {
    const r = run(tl('2026-11-01T00:00:00Z', ['up', '9d'], ['down', len], ['up', '30d']), UDESK_RULE);
    expect(r.windows).toHaveLength(1);
    expect(r.windows[0]!.status).toBe(status);
    expect(r.windows[0]!.duration_ms).toBe(ms(len));
    expect(r.minutes.down_counted).toBe(minutes);
    expect(r.availability).toBeCloseTo(avail, 9);
    expect(r.minutes.down).toBeCloseTo(ms(len) / 60_000, 9);
  });

  it('a short outage is recorded with the reason it did not count', () => {
    const r = run(tl('2026-11-01T00:00:00Z', ['up', '1d'], ['down', '4m59s'], ['up', '30d']), UDESK_RULE);
    expect(r.windows[0]!.why).toContain('4m59s unavailable < minimum 5m');
    expect(r.incidents).toEqual([expect.objectContaining({ level: 'L1', counted: false, duration_ms: ms('4m59s') })]);
  });
});

describe('rounding of counted minutes', () => {
  it.each([
    ['up', ms('5m1s'), 6],
    ['up', ms('5m'), 5],
    ['nearest', ms('5m29s'), 5],
    ['nearest', ms('5m30s'), 6],
    ['down', ms('5m59s'), 5],
    ['none', ms('5m30s'), 5.5],
  ] as const)('%s: %d ms -> %d minutes', (r, v, want) => {
    expect(roundMinutes(v, r)).toBe(want);
  });
});

describe('a window crossing a period boundary is one incident, its minutes split', () => {
  // 23:57 -> 00:04: 3 minutes in October, 4 in November; each part alone is under 5
  // minutes, but the window (7 min) counts, so both parts count.
  const spans = tl('2026-10-01T00:00:00Z', ['up', '30d23h57m'], ['down', '7m'], ['up', '30d']);
  it.each([
    ['2026-10', periodEnding('month', 2026, 10, 'UTC'), 3, 31 * 1440],
    ['2026-11', NOV, 4, NOV_MIN],
  ])('%s gets its part', (_label, period, minutes, total) => {
    const r = run(spans, {}, { period });
    expect(r.windows).toHaveLength(1);
    expect(r.windows[0]!.status).toBe('counted');
    expect(r.windows[0]!.start).toBe(T('2026-10-31T23:57:00Z'));
    expect(r.windows[0]!.end).toBe(T('2026-11-01T00:04:00Z'));
    expect(r.windows[0]!.counted_minutes).toBe(minutes);
    expect(r.minutes.total).toBe(total);
    expect(r.availability).toBeCloseTo(((total - minutes) / total) * 100, 9);
    expect(r.incidents).toHaveLength(1);
  });
});

describe('maintenance covering all or part of an outage', () => {
  const spans = tl('2026-11-01T00:00:00Z', ['up', '2d'], ['down', '20m'], ['up', '30d']); // down 00:00-00:20 on the 3rd
  const ex = (from: string, to: string): Exclusion => ({ start: T(from), end: T(to), reason: 'announced upgrade', source: 'upgrade' });
  it.each([
    // exclusion, window status, counted minutes, excluded minutes, availability
    ['covers all', ex('2026-11-02T23:00:00Z', '2026-11-03T01:00:00Z'), 'excluded', 0, 120, 100],
    ['covers the first 12 minutes', ex('2026-11-02T23:00:00Z', '2026-11-03T00:12:00Z'), 'counted', 8, 72, ((NOV_MIN - 72 - 8) / (NOV_MIN - 72)) * 100],
    // 17 of 20 minutes excluded: 3 minutes left, under the 5-minute minimum
    ['covers 17 minutes', ex('2026-11-03T00:00:00Z', '2026-11-03T00:17:00Z'), 'not_counted', 0, 17, 100],
    ['is elsewhere', ex('2026-11-10T00:00:00Z', '2026-11-10T02:00:00Z'), 'counted', 20, 120, ((NOV_MIN - 120 - 20) / (NOV_MIN - 120)) * 100],
  ])('maintenance that %s', (_d, exclusion, status, counted, excluded, avail) => {
    const r = run(spans, UDESK_RULE, { exclusions: [exclusion] });
    expect(r.windows[0]!.status).toBe(status);
    expect(r.minutes.down_counted).toBe(counted);
    expect(r.minutes.excluded).toBe(excluded);
    expect(r.availability).toBeCloseTo(avail, 9);
    if (status !== 'counted' || excluded !== 120) expect(r.windows[0]!.why).toContain('upgrade (announced upgrade)');
  });

  it('a policy with exclusions: false ignores maintenance', () => {
    const r = run(spans, { exclusions: false }, { exclusions: [ex('2026-11-02T23:00:00Z', '2026-11-03T01:00:00Z')] });
    expect(r.windows[0]!.status).toBe('counted');
    expect(r.minutes.excluded).toBe(0);
  });
});

describe('28-, 29-, 30- and 31-day months', () => {
  it.each([
    [2026, 2, 28],
    [2028, 2, 29],
    [2026, 11, 30],
    [2026, 12, 31],
  ])('%d-%d has %d days; a 10-minute outage leaves (T - 10) / T', (y, m, days) => {
    const period = periodEnding('month', y, m, 'UTC');
    const total = days * 1440;
    const spans = tl(new Date(period.start).toISOString(), ['up', '5d'], ['down', '10m'], ['up', '40d']);
    const r = run(spans, {}, { period, now: period.end });
    expect(r.minutes.total).toBe(total);
    expect(r.period.minutes).toBe(total);
    expect(r.availability).toBeCloseTo(((total - 10) / total) * 100, 9);
    expect(r.budget.allowed).toBeCloseTo(total * 0.001, 9);
    expect(r.budget.remaining).toBeCloseTo(total * 0.001 - 10, 9);
  });
});

describe('time-zone month boundaries (Asia/Shanghai, UTC+8)', () => {
  // 2026-10-31T15:58Z is 23:58 on Oct 31 in Shanghai; 16:06Z is 00:06 on Nov 1.
  const spans = tl('2026-10-25T00:00:00Z', ['up', '6d15h58m'], ['down', '8m'], ['up', '40d']);
  it.each([
    ['Asia/Shanghai', 2026, 10, 2],
    ['Asia/Shanghai', 2026, 11, 6],
    ['UTC', 2026, 10, 8],
    ['UTC', 2026, 11, 0],
  ])('%s %d-%d gets %d minutes', (tz, y, m, minutes) => {
    const period = periodEnding('month', y, m, tz);
    const r = run(spans, { time_zone: tz }, { period, now: T('2027-01-01T00:00:00Z') });
    expect(r.minutes.down_counted).toBe(minutes);
  });

  it('the Shanghai November starts at 16:00 UTC on October 31', () => {
    const p = periodEnding('month', 2026, 11, 'Asia/Shanghai');
    expect(p.start).toBe(T('2026-10-31T16:00:00Z'));
    expect(p.end).toBe(T('2026-11-30T16:00:00Z'));
  });
});

describe('no data and unknown time', () => {
  it('a month with no data says no data, never 100 %', () => {
    for (const unknown of ['excluded', 'down', 'up'] as const) {
      const r = run([], { unknown });
      expect(r.no_data).toBe(true);
      expect(r.availability).toBeNull();
      expect(r.met).toBeNull();
      expect(r.credit).toBeNull();
      expect(r.minutes.unknown).toBe(NOV_MIN);
    }
  });

  // Up all month except 100 unknown minutes (agent stopped) and a counted 10-minute outage.
  const spans = tl('2026-11-01T00:00:00Z', ['up', '3d'], ['unknown', '100m'], ['up', '3d'], ['down', '10m'], ['up', '30d']);
  it.each([
    // rule, denominator, unavailable
    ['excluded', NOV_MIN - 100, 10],
    ['down', NOV_MIN, 110],
    ['up', NOV_MIN, 10],
  ] as const)('unknown = %s: availability = (%d - unavailable) / denominator', (unknown, denom, unavailable) => {
    const r = run(spans, { unknown });
    expect(r.minutes.unknown).toBe(100);
    expect(r.availability).toBeCloseTo(((denom - unavailable) / denom) * 100, 9);
    expect(r.budget.used).toBe(unavailable);
  });

  it('time the spans do not cover is unknown (the agent was not running)', () => {
    const r = run(tl('2026-11-11T00:00:00Z', ['up', '30d']), { partial_period: 'whole_period' });
    expect(r.minutes.unknown).toBe(10 * 1440);
    expect(r.minutes.up).toBe(20 * 1440);
  });
});

describe('an outage still open at report time', () => {
  const now = T('2026-11-21T12:00:00Z');
  // up until 11:00, down since (last failed run covered up to 12:00)
  const spans = tl('2026-11-01T00:00:00Z', ['up', '20d11h'], ['down', '1h']);
  it('is reported open, counted so far, the period in progress', () => {
    const r = run(spans, {}, { now });
    expect(r.in_progress).toBe(true);
    expect(r.windows).toHaveLength(1);
    expect(r.windows[0]!.end).toBeNull();
    expect(r.windows[0]!.status).toBe('counted');
    expect(r.windows[0]!.counted_minutes).toBe(60);
    expect(r.minutes.total).toBe(20 * 1440 + 12 * 60);
    expect(r.availability).toBeCloseTo(((20 * 1440 + 720 - 60) / (20 * 1440 + 720)) * 100, 9);
    // the budget is for the whole month: 43.2 minutes, 60 used
    expect(r.budget.allowed).toBeCloseTo(43.2, 9);
    expect(r.budget.remaining).toBeCloseTo(43.2 - 60, 9);
    expect(r.incidents[0]!.end).toBeNull();
    // L1 deadline 2 h after 11:00 is 13:00, not yet passed at 12:00
    expect(r.incidents[0]!.deadline).toBe(T('2026-11-21T13:00:00Z'));
    expect(r.incidents[0]!.deadline_met).toBeNull();
    expect(run(spans, {}, { now: T('2026-11-21T13:30:00Z') }).incidents[0]!.deadline_met).toBe(false);
  });
});

describe('flapping: one successful run inside an outage', () => {
  // down 3m, one success (30 s), down 3m
  const spans = tl('2026-11-01T00:00:00Z', ['up', '1d'], ['down', '3m'], ['up', '30s'], ['down', '3m'], ['up', '30d']);
  it.each([
    // merge_within, windows, counted minutes
    ['0s', 2, 0],
    ['30s', 2, 0], // strictly less than merge_within apart
    ['31s', 1, 7], // 6m30s as one window, the 30 s flap counts as down, rounded up to 7
    ['5m', 1, 7],
  ])('merge_within %s gives %d windows, %d counted minutes', (mw, n, counted) => {
    const r = run(spans, { ...UDESK_RULE, merge_within: ms(mw) });
    expect(r.windows).toHaveLength(n);
    expect(r.minutes.down_counted).toBe(counted);
  });
});

describe('stretches bridge unknown time only when the outage goes on after it', () => {
  it.each([
    // down, unknown, down: one window across the dead time (kill -9 mid-outage)
    [[['down', '3m'], ['unknown', '2m'], ['down', '3m'], ['up', '1m']], [[0, 8]], false],
    // down, unknown, up: the window ends where the evidence of down ends
    [[['down', '3m'], ['unknown', '2m'], ['up', '1m']], [[0, 3]], false],
    // down, then the data stops: open
    [[['up', '1m'], ['down', '3m'], ['unknown', '2m']], [[1, 4]], true],
  ] as [[ServiceState, string][], [number, number][], boolean][])('%j', (steps, want, open) => {
    const s = stretches(tl('2026-11-02T00:00:00Z', ...steps), (x) => x === 'down', 0);
    const t0 = T('2026-11-02T00:00:00Z');
    expect(s.map((x) => [(x.start - t0) / 60_000, (x.end - t0) / 60_000])).toEqual(want);
    expect(s[s.length - 1]!.open).toBe(open);
  });
});

describe('fault levels and recovery deadlines (HEDU-5.8)', () => {
  it.each([
    // steps, level, deadline met
    [[['partial', '23h']], 'L3', true],
    [[['partial', '25h']], 'L3', false],
    [[['degraded', '3h59m']], 'L2', true],
    [[['degraded', '4h1m']], 'L2', false],
    [[['partial', '1h'], ['down', '59m']], 'L1', true],
    [[['partial', '1h'], ['down', '1h1m']], 'L1', false],
  ] as [[ServiceState, string][], string, boolean][])('%j is %s, deadline met %s', (steps, level, met) => {
    const r = run(tl('2026-11-01T00:00:00Z', ['up', '1d'], ...steps, ['up', '30d']));
    expect(r.incidents).toHaveLength(1);
    expect(r.incidents[0]!.level).toBe(level);
    expect(r.incidents[0]!.deadline_met).toBe(met);
    // degraded and partial time is recorded but is not unavailable time
    if (level !== 'L1') expect(r.availability).toBe(100);
  });
});

describe('credits', () => {
  it.each([
    // rule, availability, unavailable minutes, period minutes, want
    [{ type: 'multiplier', factor: 10, cap: 'period' }, 99.9, 44, NOV_MIN, { unit: 'minutes', amount: 440 }], // HEDU-7.2
    [{ type: 'multiplier', factor: 10, cap: 'period' }, 50, 21_600, NOV_MIN, { unit: 'minutes', amount: NOV_MIN }], // capped
    [{ type: 'multiplier', factor: 10, cap: 100 }, 99.9, 44, NOV_MIN, { unit: 'minutes', amount: 100 }],
    [{ type: 'equal_time' }, 99.9, 44, NOV_MIN, { unit: 'minutes', amount: 44 }], // UDESK-13.2
    // EASYMEETING: 2.5 % per point under 99.0; 97.5 % is 1.5 points
    [{ type: 'percent_per_point', threshold: 99, percent: 2.5, steps: 'exact', cap_percent: null }, 97.5, 0, 0, { unit: 'percent', amount: 1.5 * 2.5 }],
    [{ type: 'percent_per_point', threshold: 99, percent: 2.5, steps: 'whole', cap_percent: null }, 97.5, 0, 0, { unit: 'percent', amount: 2.5 }],
    [{ type: 'percent_per_point', threshold: 99, percent: 2.5, steps: 'started', cap_percent: null }, 97.5, 0, 0, { unit: 'percent', amount: 5 }],
    [{ type: 'percent_per_point', threshold: 99, percent: 2.5, steps: 'whole', cap_percent: null }, 98, 0, 0, { unit: 'percent', amount: 2.5 }],
    [{ type: 'percent_per_point', threshold: 99, percent: 2.5, steps: 'exact', cap_percent: null }, 99.2, 0, 0, { unit: 'percent', amount: 0 }],
    [{ type: 'percent_per_point', threshold: 99, percent: 2.5, steps: 'exact', cap_percent: 5 }, 90, 0, 0, { unit: 'percent', amount: 5 }],
    // cloud-style tiers: below 99.9 -> 10 %, below 99 -> 25 %, below 95 -> 100 %
    [{ type: 'tiers', tiers: [{ below: 99, percent: 25 }, { below: 99.9, percent: 10 }, { below: 95, percent: 100 }] }, 99.95, 0, 0, { unit: 'percent', amount: 0 }],
    [{ type: 'tiers', tiers: [{ below: 99, percent: 25 }, { below: 99.9, percent: 10 }, { below: 95, percent: 100 }] }, 99.5, 0, 0, { unit: 'percent', amount: 10 }],
    [{ type: 'tiers', tiers: [{ below: 99, percent: 25 }, { below: 99.9, percent: 10 }, { below: 95, percent: 100 }] }, 98, 0, 0, { unit: 'percent', amount: 25 }],
    [{ type: 'tiers', tiers: [{ below: 99, percent: 25 }, { below: 99.9, percent: 10 }, { below: 95, percent: 100 }] }, 94.9, 0, 0, { unit: 'percent', amount: 100 }],
    [{ type: 'none' }, 50, 100, NOV_MIN, null],
  ] as const)('%j at %d %%', (rule, availability, unavailable, periodMinutes, want) => {
    const got = credit(rule as never, { availability, unavailable, periodMinutes });
    if (want === null) expect(got).toBeNull();
    else {
      expect(got!.unit).toBe(want.unit);
      expect(got!.amount).toBeCloseTo(want.amount, 9);
    }
  });
});

describe('error budget and burn rate', () => {
  it('20 counted minutes in the first 10 days of a 99.9 % month', () => {
    const now = T('2026-11-11T00:00:00Z');
    const r = run(tl('2026-11-01T00:00:00Z', ['up', '5d'], ['down', '20m'], ['up', '4d23h40m']), {}, { now });
    const elapsed = 10 * 1440;
    expect(r.budget.allowed).toBeCloseTo(43.2, 9);
    expect(r.budget.used).toBe(20);
    expect(r.budget.remaining_ratio).toBeCloseTo((43.2 - 20) / 43.2, 9);
    // error rate 20 / 14,400 over an allowed rate of 0.001
    expect(r.budget.burn_rate).toBeCloseTo(20 / elapsed / 0.001, 9);
  });
});

describe('rounding happens once per period (issue 8)', () => {
  // 15 flaps of 20 s down, 40 s up, from 2026-11-02T00:00Z; no minimum outage (HEDU-like).
  const steps: [ServiceState, string][] = [['up', '1d']];
  for (let i = 0; i < 15; i++) steps.push(['down', '20s'], ['up', '40s']);
  steps.push(['up', '30d']);
  const spans = tl('2026-11-01T00:00:00Z', ...steps);
  it.each([
    // rounding_scope, counted minutes: period: 15 x 20 s = 300 s = 5 min exactly, rounded up once = 5;
    // window: each 20 s rounds up to 1 minute: 15 x 1 = 15
    ['period', 5, 20 / 60],
    ['window', 15, 1],
  ] as const)('15 flaps of 20 s, rounding_scope %s: %d minutes', (scope, minutes, perWindow) => {
    const r = run(spans, { rounding_scope: scope });
    expect(r.windows).toHaveLength(15);
    expect(r.minutes.down_counted).toBe(minutes);
    for (const w of r.windows) expect(w.counted_minutes).toBeCloseTo(perWindow, 12);
    expect(r.availability).toBeCloseTo(((NOV_MIN - minutes) / NOV_MIN) * 100, 9);
  });

  it('a window split across two periods is rounded in each period sum', () => {
    // down 2026-10-31T23:59:30Z to 2026-11-01T00:00:30Z: 30 s in October, 30 s in November;
    // each period's sum (30 s) rounds up to 1 minute: 1 + 1
    const s = tl('2026-10-01T00:00:00Z', ['up', '30d23h59m30s'], ['down', '1m'], ['up', '40d']);
    const oct = run(s, {}, { period: periodEnding('month', 2026, 10, 'UTC') });
    const nov = run(s, {}, { period: NOV });
    expect(oct.windows[0]!.counted_ms).toBe(30_000);
    expect(oct.minutes.down_counted).toBe(1);
    expect(nov.windows[0]!.counted_ms).toBe(30_000);
    expect(nov.minutes.down_counted).toBe(1);
    expect(nov.windows[0]!.why).toContain('30s of it in this period');
  });
});

describe('one number per window', () => {
  // down 6m, unknown 1m30s (agent dead), down 5m30s, up; unknown: down.
  // The window's unavailable time: 6 + 1.5 + 5.5 = 13 minutes; that is what the row shows
  // and what the availability and budget count (before: 12 in the row, 12 + 2 counted).
  const spans = tl('2026-11-01T00:00:00Z', ['up', '1d'], ['down', '6m'], ['unknown', '1m30s'], ['down', '5m30s'], ['up', '30d']);
  it('the window row shows the minutes that enter the availability and budget', () => {
    const r = run(spans, { unknown: 'down' });
    expect(r.windows).toHaveLength(1);
    expect(r.windows[0]!.unavailable_ms).toBe(ms('13m'));
    expect(r.windows[0]!.counted_minutes).toBe(13);
    expect(r.minutes.down_counted).toBe(13);
    expect(r.budget.used).toBe(13);
    expect(r.minutes.unknown_counted).toBe(1.5);
    expect(r.availability).toBeCloseTo(((NOV_MIN - 13) / NOV_MIN) * 100, 9);
  });
});

describe('unknown time inside an outage (unknown_in_outage)', () => {
  // down 3m, unknown 2m (agent killed mid-outage), down 1m, then up; unknown: excluded; 5m minimum
  const spans = tl('2026-11-01T00:00:00Z', ['up', '1d'], ['down', '3m'], ['unknown', '2m'], ['down', '1m'], ['up', '30d']);
  it.each([
    // down (default): down before and after, never seen back: 3 + 2 + 1 = 6 >= 5: counted 6;
    // the 2 unknown minutes stay in the denominator: (43,200 - 6) / 43,200
    ['down', 'counted', 6, ((NOV_MIN - 6) / NOV_MIN) * 100],
    // unknown_rule: 3 + 1 = 4 < 5: not counted; the 2 unknown minutes leave the denominator: 100 %
    ['unknown_rule', 'not_counted', 0, 100],
  ] as const)('%s: the window is %s, %d minutes', (mode, status, minutes, availability) => {
    const r = run(spans, { ...UDESK_RULE, unknown_in_outage: mode });
    expect(r.windows[0]!.status).toBe(status);
    expect(r.minutes.down_counted).toBe(minutes);
    expect(r.availability).toBeCloseTo(availability, 9);
  });
});

describe('a partial first month (partial_period)', () => {
  // The service is first seen on 2026-11-11 (20 days = 28,800 minutes before the month ends);
  // one 10-minute outage; unknown: down.
  const spans = tl('2026-11-11T00:00:00Z', ['up', '5d'], ['down', '10m'], ['up', '30d']);
  it('from_first_sample: the 14,400 minutes before are not in service; budget 0.1 % of 28,800', () => {
    const r = run(spans, { unknown: 'down' });
    expect(r.minutes.not_in_service).toBe(14_400);
    expect(r.minutes.unknown).toBe(0);
    expect(r.availability).toBeCloseTo(((28_800 - 10) / 28_800) * 100, 9);
    expect(r.budget.allowed).toBeCloseTo(28.8, 9);
    expect(r.notes[0]).toContain('the service was first seen at 2026-11-11T00:00:00.000Z');
  });

  it('whole_period: they are unknown, here counted as down: (43,200 - 14,400 - 10) / 43,200', () => {
    const r = run(spans, { unknown: 'down', partial_period: 'whole_period' });
    expect(r.minutes.not_in_service).toBe(0);
    expect(r.minutes.down_counted).toBe(14_410);
    expect(r.availability).toBeCloseTo(((NOV_MIN - 14_410) / NOV_MIN) * 100, 9);
  });
});

describe('credit conditions (credit.when)', () => {
  it.each([
    // UDESK-13.2(1): equal time only when missed
    [{ type: 'equal_time', when: 'missed' }, true, 10, 0],
    [{ type: 'equal_time', when: 'missed' }, false, 44, 44],
    // HEDU-7.2: 10x per incident, met or not
    [{ type: 'multiplier', factor: 10, cap: 'period', when: 'always' }, true, 10, 100],
    [{ type: 'multiplier', factor: 10, cap: 'period', when: 'missed' }, true, 10, 0],
    // a tier policy that pays only a missed target: 99.5 is below the 99.9 tier, but met (target 99.5)
    [{ type: 'tiers', tiers: [{ below: 99.9, percent: 10 }], when: 'missed' }, true, 0, 0],
  ] as const)('%j, met=%s, %d minutes: %d', (rule, met, unavailable, amount) => {
    expect(credit(rule as never, { availability: 99.5, unavailable, periodMinutes: NOV_MIN, met })!.amount).toBe(amount);
  });
});

describe('a service seen long before the look-back is in service, not partial', () => {
  // Runs every 60 s on 2026-10-01 (one day), then nothing until 2026-11-11, then up to the
  // month end. The look-back (7 days) does not reach October 1st, the source does: the 10
  // days of November before the 11th are unknown time, not "not in service".
  const ev = createEvidence();
  const day = (from: string, to: string) => {
    for (let t = T(from); t < T(to); t += 60_000) ev.add('api', '', t, true, 60_000);
  };
  day('2026-10-01T00:00:00Z', '2026-10-02T00:00:00Z');
  day('2026-11-11T00:00:00Z', '2026-12-01T00:00:00Z');
  const svc = { name: 'meet', targets: ['api'], rule: { type: 'all' as const } };
  it('the time before the first span of the period is unknown', () => {
    const r = reportService(ev, svc, pol(), NOV, [], [], DEC_1);
    expect(r.minutes.not_in_service).toBe(0);
    expect(r.minutes.unknown).toBe(10 * 1440);
  });
  it('a service first seen on the 11th is not in service before', () => {
    const fresh = createEvidence();
    for (let t = T('2026-11-11T00:00:00Z'); t < DEC_1; t += 60_000) fresh.add('api', '', t, true, 60_000);
    const r = reportService(fresh, svc, pol(), NOV, [], [], DEC_1);
    expect(r.minutes.not_in_service).toBe(10 * 1440);
    expect(r.minutes.unknown).toBe(0);
  });
});
