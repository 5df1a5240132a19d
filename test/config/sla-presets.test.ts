// Each preset reproduces its agreement's numbers (../shared/SLA-TERMS.md).
import { describe, expect, it } from 'vitest';
import { evaluatePeriod } from '../../src/availability/account.ts';
import { periodEnding } from '../../src/availability/calendar.ts';
import type { SlaPolicy } from '../../src/availability/types.ts';
import { loadPresets } from '../../src/config/sla.ts';
import { tl } from '../support/availability.ts';

const preset = (name: string): SlaPolicy => {
  const p = loadPresets().get(name);
  if (typeof p !== 'object') throw new Error(`preset ${name}: ${p}`);
  return p;
};

function allUp(policy: SlaPolicy, y: number, m: number, down?: [string, string]) {
  const period = periodEnding(policy.period, y, m, policy.time_zone);
  const start = new Date(period.start).toISOString();
  const spans = down ? tl(start, ['up', '3d'], ['down', down[1]], ['up', '400d']) : tl(start, ['up', '400d']);
  return evaluatePeriod({ service: 's', policy, period, spans, exclusions: [], now: period.end });
}

describe('presets', () => {
  it('all five load', () => {
    expect([...loadPresets().keys()]).toEqual(['contract', 'easymeeting', 'hedu', 'udesk', 'umeet']);
    for (const v of loadPresets().values()) expect(typeof v).toBe('object');
  });

  it.each([
    // UDESK-1.2 worked example: 99.9 % of a 30-day month = 43,156.8 available minutes, 43.2 unavailable
    ['udesk', 2026, 11, 30 * 1440 * (1 - 0.999), 43.2],
    // HEDU-5.1: 99.968 % of a 30-day month, "about 14 minutes"
    ['hedu', 2026, 11, 30 * 1440 * (1 - 0.99968), 13.824],
    ['umeet', 2026, 11, 30 * 1440 * 0.001, 43.2],
    ['contract', 2026, 11, 30 * 1440 * 0.001, 43.2],
    // EASYMEETING-avail: 99.0 % over 365 days (December 2025 to November 2026)
    ['easymeeting', 2026, 11, 365 * 1440 * 0.01, 5256],
  ])('%s allows %d minutes (%d)', (name, y, m, computed, stated) => {
    const r = allUp(preset(name), y, m);
    expect(computed).toBeCloseTo(stated, 9);
    expect(r.budget.allowed).toBeCloseTo(stated, 9);
    expect(r.availability).toBe(100);
  });

  it.each([
    // 44 minutes down in a 30-day month
    ['udesk', '44m', 'minutes', 44, false], // UDESK-13.2: equal time
    ['hedu', '44m', 'minutes', 440, false], // HEDU-7.2: 10x
    ['umeet', '43m', 'minutes', 430, true], // 43 <= 43.2: met, credit still 10x the unavailable time
    ['contract', '44m', null, 0, false],
  ] as const)('%s: %s down gives a credit of %s %d, met=%s', (name, down, unit, amount, met) => {
    const r = allUp(preset(name), 2026, 11, ['down', down]);
    expect(r.met).toBe(met);
    if (unit === null) expect(r.credit).toBeNull();
    else expect(r.credit).toEqual({ unit, amount });
  });

  it('EASYMEETING-credit: 2.5 % of the monthly fee per point under 99.0 % over 12 months', () => {
    // 2 % of 525,600 minutes down = 10,512 minutes: 98.0 %, one point under: 2.5 %
    const r = allUp(preset('easymeeting'), 2026, 11, ['down', `${10_512}m`]);
    expect(r.availability).toBeCloseTo(98, 9);
    expect(r.credit!.unit).toBe('percent');
    expect(r.credit!.amount).toBeCloseTo(2.5, 9);
  });

  it('UDESK-1.2: a 4m59s outage is not counted, a 5m one is', () => {
    expect(allUp(preset('udesk'), 2026, 11, ['down', '4m59s']).minutes.down_counted).toBe(0);
    expect(allUp(preset('udesk'), 2026, 11, ['down', '5m']).minutes.down_counted).toBe(5);
    // HEDU has no minimum: the same 4m59s counts, rounded up to 5 minutes
    expect(allUp(preset('hedu'), 2026, 11, ['down', '4m59s']).minutes.down_counted).toBe(5);
  });
});
