// What a day bar says, from the day's report: the worst thing the day held; unknown time is
// never drawn as up. And the local days of a contract's time zone.
import { describe, expect, it } from 'vitest';
import { evaluatePeriod } from '../../src/availability/account.ts';
import { loadPresets } from '../../src/config/sla.ts';
import { current, dayKind, dayPeriods } from '../../src/status/model.ts';
import { T, pol, tl } from '../support/availability.ts';

const day = { label: '2026-11-10', start: T('2026-11-10T00:00:00Z'), end: T('2026-11-11T00:00:00Z') };
// UDESK-1.2's 5-minute rule: the default policy has no minimum outage.
const udesk = pol({ min_outage: 300_000 });
const at = (iso: string) => ({ start: T(iso), end: T(iso) + 3_600_000, reason: 'announced upgrade', source: 'upgrade' });

describe('dayKind', () => {
  it.each([
    ['up all day', tl('2026-11-10T00:00:00Z', ['up', '24h']), [], 'up'],
    ['one minute unknown is not up', tl('2026-11-10T00:00:00Z', ['up', '12h'], ['unknown', '1m'], ['up', '11h59m']), [], 'unknown'],
    ['a 6-minute outage is counted (UDESK-1.2)', tl('2026-11-10T00:00:00Z', ['up', '12h'], ['down', '6m'], ['up', '11h54m']), [], 'counted'],
    ['a 4m59s outage is not counted (UDESK-1.2)', tl('2026-11-10T00:00:00Z', ['up', '12h'], ['down', '4m59s'], ['up', '11h55m1s']), [], 'not_counted'],
    ['an outage inside maintenance is not counted', tl('2026-11-10T00:00:00Z', ['up', '2h10m'], ['down', '30m'], ['up', '21h20m']), [at('2026-11-10T02:00:00Z')], 'not_counted'],
    ['maintenance, up throughout', tl('2026-11-10T00:00:00Z', ['up', '24h']), [at('2026-11-10T02:00:00Z')], 'maintenance'],
    ['degraded', tl('2026-11-10T00:00:00Z', ['up', '2h'], ['degraded', '1h'], ['up', '21h']), [], 'degraded'],
    ['partial', tl('2026-11-10T00:00:00Z', ['up', '2h'], ['partial', '1h'], ['up', '21h']), [], 'degraded'],
    ['nothing known', [], [], 'no_data'],
  ] as const)('%s', (_what, spans, exclusions, kind) => {
    const r = evaluatePeriod({ service: 's', policy: udesk, period: day, spans, exclusions, now: day.end + 1 });
    expect(dayKind(r).kind).toBe(kind);
  });

  it('says why, window by window', () => {
    const spans = tl('2026-11-10T00:00:00Z', ['up', '12h'], ['down', '4m59s'], ['up', '11h55m1s']);
    const r = evaluatePeriod({ service: 's', policy: udesk, period: day, spans, exclusions: [], now: day.end });
    expect(dayKind(r).notes).toEqual(['downtime not counted: 4m59s unavailable < minimum 5m: recorded, not counted']);
  });

  it('counts under the policy: HEDU has no minimum outage (HEDU-5.1)', () => {
    const hedu = loadPresets().get('hedu');
    if (typeof hedu !== 'object') throw new Error('hedu preset missing');
    const spans = tl('2026-11-10T00:00:00Z', ['up', '12h'], ['down', '2m'], ['up', '11h58m']);
    expect(dayKind(evaluatePeriod({ service: 's', policy: hedu, period: day, spans, exclusions: [], now: day.end })).kind).toBe('counted');
  });
});

describe('dayPeriods', () => {
  it('are local days of the zone, the last one holding now', () => {
    const d = dayPeriods(T('2026-11-10T17:00:00Z'), 'Asia/Shanghai', 3);
    expect(d.map((p) => p.label)).toEqual(['2026-11-09', '2026-11-10', '2026-11-11']);
    expect(d[2]!.start).toBe(T('2026-11-10T16:00:00Z'));
    expect(d[2]!.end - d[2]!.start).toBe(86_400_000);
  });

  it('a DST change makes a 23-hour day (Europe/Oslo, 2026-03-29)', () => {
    const d = dayPeriods(T('2026-03-29T12:00:00Z'), 'Europe/Oslo', 1);
    expect(d[0]!.end - d[0]!.start).toBe(23 * 3_600_000);
  });
});

describe('current', () => {
  const now = T('2026-11-10T12:00:00Z');
  const iv = 10_000;
  it.each([
    ['a run in flight: the newest span ended 5 s ago', tl('2026-11-10T11:00:00Z', ['up', '59m55s']), 'up', T('2026-11-10T11:59:55Z')],
    ['evidence up to 1.5 intervals old is current', tl('2026-11-10T11:00:00Z', ['down', '59m45s']), 'down', T('2026-11-10T11:59:45Z')],
    ['older than that: unknown, the bars run to now', tl('2026-11-10T11:00:00Z', ['up', '59m44s']), 'unknown', now],
    ['a trailing unknown span after old evidence', tl('2026-11-10T11:00:00Z', ['up', '30m'], ['unknown', '30m']), 'unknown', now],
    ['nothing at all', [], 'unknown', now],
  ] as const)('%s', (_what, spans, state, frontier) => {
    const c = current(spans, now, iv);
    expect(c.state).toBe(state);
    expect(c.frontier).toBe(frontier);
  });
});
