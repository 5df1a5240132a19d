// Figures become exact decimals at output (issue 8, section 3).
import { describe, expect, it } from 'vitest';
import { evaluatePeriod } from '../../src/availability/account.ts';
import { periodEnding } from '../../src/availability/calendar.ts';
import { decimal, render, stable } from '../../src/availability/format.ts';
import { pol, tl } from '../support/availability.ts';

describe('decimal: fixed places, half away from zero on the decimal value', () => {
  it.each([
    [43.19999999999524, 3, '43.200'],
    [43.19999999999524, 1, '43.2'],
    [1.005, 2, '1.01'], // (1.005).toFixed(2) is "1.00": binary 1.00499999...
    [2.5, 0, '3'],
    [-16.8, 3, '-16.800'],
    [-0.0004, 3, '0.000'], // never "-0.000"
    [99.97685185185185, 4, '99.9769'],
    [0, 2, '0.00'],
  ])('decimal(%d, %d) = %s', (x, places, want) => {
    expect(decimal(x, places)).toBe(want);
  });

  it.each([
    [43.19999999999524, 43.2],
    [0.1 + 0.2, 0.3],
    [99.97685185185185, 99.9768518519],
    [5256, 5256],
  ])('stable(%d) = %d', (x, want) => {
    expect(stable(x)).toBe(want);
  });
});

describe('reports print what a person signs', () => {
  // 30-day month, 99.9 %: 0.001 x 43,200 = 43.2 minutes allowed; in binary 43.20000000000004
  const period = periodEnding('month', 2026, 11, 'UTC');
  const r = {
    ...evaluatePeriod({ service: 'meet', policy: pol(), period, now: period.end, exclusions: [], spans: tl('2026-11-01T00:00:00Z', ['up', '31d']) }),
    regions: [''], regional_faults: [],
  };
  it('the budget is float noise inside, 43.2 outside', () => {
    expect(r.budget.allowed).not.toBe(43.2);
    expect(JSON.parse(render([r], 'json')).reports[0].budget.allowed).toBe(43.2);
    expect(render([r], 'csv')).toContain(',43.200,0.000,43.200,');
    expect(render([r], 'table')).toContain('allowed 43.200 min, used 0.000, remaining 43.200');
    expect(render([r], 'markdown')).toContain('2026-11 in UTC (2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z, 43200 min)');
  });
});

describe('the report says which period settles a credit', () => {
  it('an Easymeeting month that does not end the contract year', async () => {
    const { loadPresets } = await import('../../src/config/sla.ts');
    const em = loadPresets().get('easymeeting');
    if (typeof em !== 'object') throw new Error('easymeeting preset missing');
    const period = periodEnding(em.period, 2026, 6, em.time_zone);
    const r = {
      ...evaluatePeriod({ service: 'meet', policy: em, period, now: period.end, exclusions: [], spans: tl('2025-06-01T00:00:00Z', ['up', '400d']) }),
      regions: [''], regional_faults: [],
    };
    const text = render([r], 'table');
    expect(text).toContain('period        2025-07..2026-06 in Europe/Oslo (2025-07-01T00:00:00+02:00 to 2026-07-01T00:00:00+02:00, 525600 min)');
    expect(text).toContain('credit        none in this period: settled on 2026-01..2026-12');
    expect(text).toContain('note          no credit in this report: the credit is judged on 2026-01..2026-12, in the report of that period');
    const row = render([r], 'csv').trim().split('\n');
    const rec = Object.fromEntries(row[0]!.split(',').map((k, i) => [k, row[1]!.split(',')[i]]));
    expect(rec).toMatchObject({ settlement_period: '2026-01..2026-12', settles_here: 'false', credit: '' });
  });
});
