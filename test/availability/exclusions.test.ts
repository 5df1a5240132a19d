import { describe, expect, it } from 'vitest';
import { exclusionsFor, mergeIntervals, overlap, parseCron, weeklyToCron, type Maintenance } from '../../src/availability/exclusions.ts';
import { T } from '../support/availability.ts';

const cron = (s: string) => {
  const c = parseCron(s);
  if (typeof c === 'string') throw new Error(c);
  return c;
};
const rec = (schedule: string, duration: number, tz: string, services: string[] = []): Maintenance => ({
  kind: 'recurring', name: 'm', reason: 'planned', services, cron: cron(schedule), duration, time_zone: tz,
});
const iso = (t: number) => new Date(t).toISOString().replace('.000', '');

describe('recurring maintenance', () => {
  it.each([
    // 02:00-04:00 Shanghai every Sunday = 18:00-20:00 UTC on Saturdays; November 2026 has Saturdays 7, 14, 21, 28
    ['0 2 * * sun', 2 * 3_600_000, 'Asia/Shanghai', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z',
      ['2026-11-07T18:00:00Z', '2026-11-14T18:00:00Z', '2026-11-21T18:00:00Z', '2026-11-28T18:00:00Z']],
    // an occurrence that began before the range still overlaps it
    ['30 23 * * *', 3_600_000, 'UTC', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z', ['2026-11-01T23:30:00Z', '2026-11-02T23:30:00Z']],
    // day-of-month and day-of-week both set: either matches (cron's rule); Nov 1 2026 is a Sunday
    ['0 0 1 * mon', 60_000, 'UTC', '2026-11-01T00:00:00Z', '2026-11-10T00:00:00Z', ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-09T00:00:00Z']],
    ['*/30 1 1 11 *', 60_000, 'UTC', '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', ['2026-11-01T01:00:00Z', '2026-11-01T01:30:00Z']],
    // 02:30 local does not exist on 2026-03-29 in Berlin: no occurrence that day
    ['30 2 * * *', 60_000, 'Europe/Berlin', '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z', ['2026-03-28T01:30:00Z', '2026-03-30T00:30:00Z']],
  ])('%s for %d ms in %s', (schedule, dur, tz, from, to, starts) => {
    const got = exclusionsFor('meet', [rec(schedule, dur, tz)], [], T(from), T(to));
    expect(got.map((x) => iso(x.start))).toEqual(starts);
    for (const x of got) expect(x.end - x.start).toBe(dur);
  });

  it('applies to the services it names only', () => {
    const m = [rec('0 2 * * *', 60_000, 'UTC', ['chat'])];
    expect(exclusionsFor('meet', m, [], T('2026-11-01T00:00:00Z'), T('2026-11-02T00:00:00Z'))).toEqual([]);
    expect(exclusionsFor('chat', m, [], T('2026-11-01T00:00:00Z'), T('2026-11-02T00:00:00Z'))).toHaveLength(1);
  });

  it('includes exclusions recorded after the fact, for the service or for all', () => {
    const recorded = [
      { id: 1, service: 'meet', start: T('2026-11-05T00:00:00Z'), end: T('2026-11-05T01:00:00Z'), reason: 'carrier fault', created_at: 0 },
      { id: 2, service: '*', start: T('2026-11-06T00:00:00Z'), end: T('2026-11-06T01:00:00Z'), reason: 'power', created_at: 0 },
      { id: 3, service: 'chat', start: T('2026-11-07T00:00:00Z'), end: T('2026-11-07T01:00:00Z'), reason: 'x', created_at: 0 },
    ];
    expect(exclusionsFor('meet', [], recorded, T('2026-11-01T00:00:00Z'), T('2026-12-01T00:00:00Z')).map((x) => x.source)).toEqual(['exclude#1', 'exclude#2']);
  });
});

describe('cron and weekly syntax', () => {
  it.each([
    ['0 2 * * sun', { minutes: [0], hours: [2] }],
    ['0,30 8-10 * * 1-5', { minutes: [0, 30], hours: [8, 9, 10] }],
    ['*/15 * * * *', { minutes: [0, 15, 30, 45] }],
  ])('%s', (s, want) => {
    expect(cron(s)).toMatchObject(want);
  });
  it.each([
    ['0 2 * *', 'expected 5 fields (minute hour day-of-month month day-of-week), got 4'],
    ['60 2 * * *', 'minute field "60" is out of range 0-59'],
    ['0 2 * * funday', 'day of week field "funday" is out of range 0-7'],
    ['0 2 5-1 * *', 'day of month field "5-1" is out of range 1-31'],
  ])('rejects %s', (s, msg) => {
    expect(parseCron(s)).toBe(msg);
  });
  it.each([
    ['sun 02:00', '0 2 * * sun'],
    ['sat,sun 23:30', '30 23 * * sat,sun'],
    ['sunday 02:00', undefined],
    ['mon 24:00', undefined],
    ['jan 02:00', undefined],
  ])('weekly %s', (s, want) => {
    expect(weeklyToCron(s)).toBe(want);
  });
});

describe('interval arithmetic', () => {
  it.each([
    [[[0, 10], [5, 15], [20, 30]], [[0, 15], [20, 30]]],
    [[[20, 30], [0, 10], [10, 12]], [[0, 12], [20, 30]]],
  ])('merges %j', (xs, want) => {
    expect(mergeIntervals(xs.map(([start, end]) => ({ start: start!, end: end! }))).map((x) => [x.start, x.end])).toEqual(want);
  });
  it.each([
    [0, 100, 25],
    [5, 8, 3],
    [12, 22, 5],
    [30, 40, 0],
  ])('overlap of [%d, %d) with [0,15)+[20,30) is %d', (a, b, want) => {
    expect(overlap([{ start: 0, end: 15 }, { start: 20, end: 30 }], a, b)).toBe(want);
  });
});
