// The region rule and regional path faults (issue 10, section 2; UMEET-7.1(2) / HEDU-7.1(2):
// faults of networks that are not the provider's are not unavailable time).
import { describe, expect, it } from 'vitest';
import { evaluatePeriod } from '../../src/availability/account.ts';
import { createEvidence } from '../../src/availability/evidence.ts';
import { REGION_DEFAULTS, combineRegions, fleetState } from '../../src/availability/regions.ts';
import { fleetTimeline, onlyRegion, reportService } from '../../src/availability/service.ts';
import type { RegionPolicy, ServiceState, Span } from '../../src/availability/types.ts';
import { pol, tl } from '../support/availability.ts';

const anyUp = REGION_DEFAULTS;
const allDown: RegionPolicy = { rule: { type: 'all_down' }, min_reporting: 1 };
const two: RegionPolicy = { rule: { type: 'at_least_down', k: 2 }, min_reporting: 1 };
const half: RegionPolicy = { rule: { type: 'fraction_down', f: 0.5 }, min_reporting: 1 };
const min2: RegionPolicy = { rule: { type: 'any_up' }, min_reporting: 2 };

describe('the service state from the regions at one instant', () => {
  it.each([
    [anyUp, ['down', 'down', 'down'], 'down'],
    [anyUp, ['down', 'up', 'down'], 'up'], // one region sees it working: the others' paths
    [anyUp, ['down', 'unknown', 'down'], 'down'], // over the reporting regions only
    [anyUp, ['down', 'degraded', 'partial'], 'degraded'], // the best view of the ones that saw it not down
    [anyUp, ['unknown', 'unknown'], 'unknown'],
    [anyUp, [], 'unknown'],
    [allDown, ['down', 'down', 'down'], 'down'],
    [allDown, ['down', 'unknown', 'down'], 'unknown'], // a silent region could have seen it up
    [allDown, ['down', 'up'], 'up'],
    [two, ['down', 'down', 'up'], 'down'],
    [two, ['down', 'up', 'up'], 'up'],
    [two, ['down', 'unknown', 'unknown'], 'partial'], // all reporting see it down, but not K of them
    [half, ['down', 'up'], 'down'],
    [half, ['down', 'up', 'up'], 'up'],
    [half, ['down', 'down', 'up'], 'down'],
    [min2, ['down', 'unknown', 'unknown'], 'unknown'], // fewer than min_reporting: never down
    [min2, ['up', 'unknown', 'unknown'], 'unknown'], // ... and never up
    [min2, ['up', 'down', 'unknown'], 'up'],
  ] as [RegionPolicy, ServiceState[], ServiceState][])('%j %j -> %s', (p, states, want) => {
    expect(fleetState(p, states)).toBe(want);
  });
});

const t0 = Date.parse('2026-11-02T00:00:00Z');
const m = (x: number) => t0 + x * 60_000;
const mins = (spans: { start: number; end: number }[]) => spans.map((s) => [(s.start - t0) / 60_000, (s.end - t0) / 60_000]);

describe('regions combined over time', () => {
  it('lists what one region saw down while the service was up as its regional path fault, not downtime', () => {
    const eu = tl('2026-11-02T00:00:00Z', ['up', '10m'], ['down', '12m'], ['up', '8m']);
    const us = tl('2026-11-02T00:00:00Z', ['up', '30m']);
    const ap = tl('2026-11-02T00:00:00Z', ['up', '15m'], ['down', '10m'], ['up', '5m']);
    const got = combineRegions(anyUp, ['ap', 'eu', 'us'], [ap, eu, us], m(0), m(30));
    expect(got.spans.map((s) => s.state)).toEqual(['up']);
    expect(got.faults.map((f) => [f.region, ...mins([f])[0]!])).toEqual([['eu', 10, 22], ['ap', 15, 25]]);
  });

  it('the same outage in every region is downtime and no path fault', () => {
    const a = tl('2026-11-02T00:00:00Z', ['up', '10m'], ['down', '6m'], ['up', '14m']);
    const b = tl('2026-11-02T00:00:00Z', ['up', '11m'], ['down', '5m'], ['up', '14m']);
    const got = combineRegions(anyUp, ['a', 'b'], [a, b], m(0), m(30));
    expect(got.spans.filter((s) => s.state === 'down').map((s) => mins([s])[0])).toEqual([[11, 16]]);
    // 10-11: only a saw it down, the service up, but running into the outage: the outage
    // seen from a one run earlier, not a's path
    expect(got.faults).toEqual([]);
  });

  it('a region that stops reporting leaves the verdict to the others; below min_reporting the time is unknown', () => {
    const a = tl('2026-11-02T00:00:00Z', ['up', '10m'], ['down', '10m'], ['up', '10m']);
    const b = tl('2026-11-02T00:00:00Z', ['up', '5m']); // killed at 5m
    const c = tl('2026-11-02T00:00:00Z', ['up', '10m'], ['down', '10m'], ['up', '10m']);
    const pad = (s: Span<ServiceState>[]): Span<ServiceState>[] => [...s, { start: s[s.length - 1]!.end, end: m(30), state: 'unknown' }];
    const p2: RegionPolicy = { rule: { type: 'any_up' }, min_reporting: 2 };
    const got = combineRegions(p2, ['a', 'b', 'c'], [a, pad(b), c], m(0), m(30));
    expect(got.spans.map((s) => [s.state, ...mins([s])[0]!])).toEqual([['up', 0, 10], ['down', 10, 20], ['up', 20, 30]]);
    const p3: RegionPolicy = { rule: { type: 'any_up' }, min_reporting: 3 };
    const thin = combineRegions(p3, ['a', 'b', 'c'], [a, pad(b), c], m(0), m(30));
    expect(thin.spans.map((s) => [s.state, ...mins([s])[0]!])).toEqual([['up', 0, 5], ['unknown', 5, 30]]);
  });
});

describe('fleetTimeline over a source: each region\'s targets by the service rule, then the regions', () => {
  const I = 60_000;
  // two targets, rule any (one down is the service down), seen from eu and us
  const ev = createEvidence();
  for (let x = 0; x < 60; x++) {
    ev.add('api', 'eu', m(x), !(x >= 10 && x < 20), I); // eu: api down 10-20 (eu's path to api)
    ev.add('web', 'eu', m(x), !(x >= 40 && x < 50), I); // eu and us: web down 40-50 (the provider)
    ev.add('api', 'us', m(x), true, I);
    ev.add('web', 'us', m(x), !(x >= 40 && x < 50), I);
  }
  const svc = { name: 'meet', targets: ['api', 'web'], rule: { type: 'any' as const } };

  it('counts only what every region saw, lists the rest per region', () => {
    const got = fleetTimeline(ev, svc, m(0), m(60), m(60));
    expect(got.regions).toEqual(['eu', 'us']);
    expect(got.spans.map((s) => [s.state, ...mins([s])[0]!])).toEqual([['up', 0, 40], ['down', 40, 50], ['up', 50, 60]]);
    expect(got.faults.map((f) => [f.region, ...mins([f])[0]!])).toEqual([['eu', 10, 20]]);
  });

  it('the report lists the fault apart from the downtime windows; one region alone counts its own view', () => {
    const period = { label: '2026-11', start: Date.parse('2026-11-01T00:00:00Z'), end: Date.parse('2026-12-01T00:00:00Z') };
    const policy = pol();
    const fleet = reportService(ev, svc, policy, period, [], [], m(60));
    expect(fleet.windows.map((w) => [w.status, (w.start - t0) / 60_000, w.counted_minutes])).toEqual([['counted', 40, 10]]);
    expect(fleet.regional_faults).toEqual([{ region: 'eu', start: m(10), end: m(20), duration_ms: 600_000 }]);
    const eu = reportService(onlyRegion(ev, 'eu'), svc, policy, period, [], [], m(60));
    expect(eu.windows.map((w) => [(w.start - t0) / 60_000, w.counted_minutes])).toEqual([[10, 10], [40, 10]]);
    expect(eu.regional_faults).toEqual([]);
    // a single region is exactly the calculator's own result on its spans
    const alone = evaluatePeriod({ service: 'meet', policy, period, spans: fleetTimeline(onlyRegion(ev, 'us'), svc, period.start - 7 * 86_400_000, period.end, m(60)).spans, exclusions: [], now: m(60) });
    expect(reportService(onlyRegion(ev, 'us'), svc, policy, period, [], [], m(60)).minutes).toEqual(alone.minutes);
  });

  it('one region\'s own view (--region, an agent\'s store) is not held to min_reporting', () => {
    const strict = { ...svc, regions: { rule: { type: 'any_up' as const }, min_reporting: 2 } };
    expect(fleetTimeline(ev, strict, m(0), m(60), m(60)).spans.map((s) => s.state)).toEqual(['up', 'down', 'up']);
    const eu = fleetTimeline(onlyRegion(ev, 'eu'), strict, m(0), m(60), m(60));
    expect(eu.spans.map((s) => [s.state, ...mins([s])[0]!])).toEqual([['up', 0, 10], ['down', 10, 20], ['up', 20, 40], ['down', 40, 50], ['up', 50, 60]]);
    // the same evidence without ownView: one region reporting is fewer than 2, unknown
    const { ownView: _, ...plain } = onlyRegion(ev, 'eu');
    expect(fleetTimeline(plain, strict, m(0), m(60), m(60)).spans.map((s) => s.state)).toEqual(['unknown']);
  });
});
