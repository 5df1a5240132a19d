// HEDU-5.7 / UMEET-5.7: customers are notified within 15 minutes of a fault. The calculator
// matches each incident with the first firing notification delivered about the service
// between its start and the next incident's start, and judges it against notify_within.
import { describe, expect, it } from 'vitest';
import { evaluatePeriod } from '../../src/availability/account.ts';
import { periodEnding } from '../../src/availability/calendar.ts';
import { render } from '../../src/availability/format.ts';
import type { Notice } from '../../src/availability/types.ts';
import { T, ms, pol, tl } from '../support/availability.ts';

const NOV = periodEnding('month', 2026, 11, 'UTC');
// Two outages: 10:00-10:20 and 12:00-12:10.
const spans = tl('2026-11-10T00:00:00Z', ['up', '10h'], ['down', '20m'], ['up', '100m'], ['down', '10m'], ['up', '2h']);
const at = (iso: string, status: Notice['status'] = 'firing', alertname = 'SlaprobeServiceDown'): Notice => ({ at: T(iso), status, alertname });

function run(notifications: Notice[] | undefined, within: string | null = '15m', now = T('2026-11-10T15:00:00Z')) {
  return evaluatePeriod({
    service: 'meet', policy: pol({ notify_within: within === null ? null : ms(within) }), period: NOV, spans, exclusions: [], now,
    ...(notifications ? { notifications } : {}),
  });
}

describe('notification of incidents (notify_within)', () => {
  it.each([
    // notifications, first incident's [notified_at, met], second's
    ['none on record', [], [null, false], [null, false]],
    ['one each, in time', [at('2026-11-10T10:03:35Z'), at('2026-11-10T12:14:00Z')], ['2026-11-10T10:03:35Z', true], ['2026-11-10T12:14:00Z', true]],
    ['exactly at 15 minutes', [at('2026-11-10T10:15:00Z')], ['2026-11-10T10:15:00Z', true], [null, false]],
    ['a second late', [at('2026-11-10T10:15:01Z')], ['2026-11-10T10:15:01Z', false], [null, false]],
    // a burn alert that fires after a short outage ended is still that outage's notice
    ['after the incident ended, before the next', [at('2026-11-10T10:25:00Z', 'firing', 'SlaprobeErrorBudgetBurnFast')], ['2026-11-10T10:25:00Z', false], [null, false]],
    ['only resolved ones: not a notice', [at('2026-11-10T10:05:00Z', 'resolved')], [null, false], [null, false]],
    ['before the incident: not its notice', [at('2026-11-10T09:59:59Z')], [null, false], [null, false]],
  ] as const)('%s', (_name, notices, first, second) => {
    const r = run([...notices]);
    expect(r.incidents.map((i) => [i.notified_at === null ? null : new Date(i.notified_at).toISOString().replace('.000', ''), i.notify_met])).toEqual([first, second]);
  });

  it('an open incident inside notify_within is pending (null), past it without a notice it is missed', () => {
    const open = tl('2026-11-10T00:00:00Z', ['up', '10h'], ['down', '20m']);
    const ev = (now: string) => evaluatePeriod({ service: 'meet', policy: pol({ notify_within: ms('15m') }), period: NOV, spans: open, exclusions: [], now: T(now), notifications: [] });
    expect(ev('2026-11-10T10:10:00Z').incidents[0]!.notify_met).toBeNull();
    expect(ev('2026-11-10T10:20:00Z').incidents[0]!.notify_met).toBe(false);
  });

  it('no notify_within: the time is shown, nothing is judged; no record at all: nothing is said', () => {
    expect(run([at('2026-11-10T10:03:00Z')], null).incidents[0]).toMatchObject({ notified_at: T('2026-11-10T10:03:00Z'), notify_met: null });
    expect(run(undefined).incidents.map((i) => [i.notified_at, i.notify_met])).toEqual([[null, null], [null, null]]);
  });

  it('the report prints the delay and the verdict per incident, and says when there was none', () => {
    // What reportService adds to the calculator's figures: one region, no regional fault.
    const report = () => ({ ...run([at('2026-11-10T10:03:35Z')]), regions: ['eu'], regional_faults: [] });
    const text = render([report()], 'table');
    expect(text).toMatch(/notified/);
    expect(text).toContain('+3m35s, met (15m)');
    expect(text).toContain('not notified, MISSED (15m)');
    const csv = render([report()], 'csv').trim().split('\n');
    expect(csv[0]!.split(',').at(-1)).toBe('notifications_missed');
    expect(csv[1]!.split(',').at(-1)).toBe('1');
    const json = JSON.parse(render([report()], 'json')) as { reports: { incidents: { notified_at: string | null; notify_ms: number | null }[] }[] };
    expect(json.reports[0]!.incidents.map((i) => [i.notified_at, i.notify_ms])).toEqual([['2026-11-10T10:03:35Z', 215_000], [null, null]]);
  });
});
