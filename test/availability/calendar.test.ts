import { describe, expect, it } from 'vitest';
import { formatInstant, offsetAt, parseInstant, periodAt, periodEnding, periodsFor, zonedTime } from '../../src/availability/calendar.ts';
import { T } from '../support/availability.ts';

describe('periods', () => {
  it.each([
    ['month', 2026, 11, 'UTC', '2026-11', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', 30 * 1440],
    ['month', 2026, 2, 'UTC', '2026-02', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 28 * 1440],
    ['month', 2028, 2, 'UTC', '2028-02', '2028-02-01T00:00:00Z', '2028-03-01T00:00:00Z', 29 * 1440],
    ['month', 2026, 12, 'Asia/Shanghai', '2026-12', '2026-11-30T16:00:00Z', '2026-12-31T16:00:00Z', 31 * 1440],
    // a DST month: March 2026 in Berlin loses an hour
    ['month', 2026, 3, 'Europe/Berlin', '2026-03', '2026-02-28T23:00:00Z', '2026-03-31T22:00:00Z', 31 * 1440 - 60],
    ['year', 2026, 11, 'UTC', '2026', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', 365 * 1440],
    // rolling 12 months ending November 2026: December 2025 to November 2026, 365 days
    ['rolling_12_months', 2026, 11, 'UTC', '2025-12..2026-11', '2025-12-01T00:00:00Z', '2026-12-01T00:00:00Z', 365 * 1440],
    ['rolling_12_months', 2028, 3, 'UTC', '2027-04..2028-03', '2027-04-01T00:00:00Z', '2028-04-01T00:00:00Z', 366 * 1440],
  ] as const)('%s ending %d-%d in %s is %s', (kind, y, m, tz, label, start, end, minutes) => {
    const p = periodEnding(kind, y, m, tz);
    expect(p).toEqual({ label, start: T(start), end: T(end) });
    expect((p.end - p.start) / 60_000).toBe(minutes);
  });

  it.each([
    ['2026-10-31T15:59:59Z', 'Asia/Shanghai', '2026-10'],
    ['2026-10-31T16:00:00Z', 'Asia/Shanghai', '2026-11'],
    ['2026-10-31T16:00:00Z', 'UTC', '2026-10'],
    ['2026-12-01T04:59:59Z', 'America/New_York', '2026-11'],
  ])('%s in %s is in %s', (t, tz, label) => {
    expect(periodAt('month', T(t), tz).label).toBe(label);
  });

  it('--year gives 12 months for a monthly policy, one period otherwise', () => {
    expect(periodsFor('month', { year: 2026 }, 'UTC').map((p) => p.label)).toEqual(Array.from({ length: 12 }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`));
    expect(periodsFor('rolling_12_months', { year: 2026 }, 'UTC').map((p) => p.label)).toEqual(['2026-01..2026-12']);
  });
});

describe('time zones', () => {
  it.each([
    ['2026-11-21T00:00:00Z', 'Asia/Shanghai', 8 * 60],
    ['2026-07-01T00:00:00Z', 'Europe/Berlin', 120],
    ['2026-01-01T00:00:00Z', 'Europe/Berlin', 60],
    ['2026-11-21T00:00:00Z', 'Asia/Kathmandu', 5 * 60 + 45],
  ])('offset at %s in %s is %d min', (t, tz, min) => {
    expect(offsetAt(T(t), tz)).toBe(min * 60_000);
  });

  it.each([
    // 02:30 on 2026-03-29 does not exist in Berlin: the instant after the gap
    [2026, 3, 29, 2, 30, 'Europe/Berlin', '2026-03-29T01:30:00Z'],
    [2026, 11, 1, 0, 0, 'Asia/Shanghai', '2026-10-31T16:00:00Z'],
  ])('%d-%d-%d %d:%d in %s', (y, m, d, h, mi, tz, want) => {
    expect(zonedTime(y, m, d, h, mi, tz)).toBe(T(want));
  });

  it('formats an instant with its offset', () => {
    expect(formatInstant(T('2026-10-31T16:00:00Z'), 'Asia/Shanghai')).toBe('2026-11-01T00:00:00+08:00');
    expect(formatInstant(T('2026-10-31T16:00:00Z'), 'UTC')).toBe('2026-10-31T16:00:00Z');
  });
});

describe('instants in config, CLI and samples', () => {
  it.each([
    ['2026-11-03T02:00:00+08:00', T('2026-11-02T18:00:00Z')],
    ['2026-11-03T02:00:00Z', T('2026-11-03T02:00:00Z')],
    ['2026-11-03T02:00:00.250Z', T('2026-11-03T02:00:00.250Z')],
    ['1793750400', 1_793_750_400_000],
    [1793750400.5, 1_793_750_400_500],
    ['2026-11-03T02:00:00', undefined], // no offset: ambiguous
    ['2026-02-30T00:00:00Z', undefined],
    ['yesterday', undefined],
    ['', undefined],
  ])('%j -> %j', (v, want) => {
    expect(parseInstant(v)).toBe(want);
  });
});
