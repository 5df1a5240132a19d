// Each preset reproduces its agreement's numbers (../shared/SLA-TERMS.md, with the
// corrections of issue 8). Every expected figure is worked out by hand in the comment next to it.
import { describe, expect, it } from 'vitest';
import { evaluatePeriod } from '../../src/availability/account.ts';
import { periodEnding } from '../../src/availability/calendar.ts';
import type { Exclusion, ServiceState, SlaPolicy, Span } from '../../src/availability/types.ts';
import { loadPresets } from '../../src/config/sla.ts';
import { T, ms, tl } from '../support/availability.ts';

const preset = (name: string): SlaPolicy => {
  const p = loadPresets().get(name);
  if (typeof p !== 'object') throw new Error(`preset ${name}: ${p}`);
  return p;
};

/** The service up through the period, with an optional outage 3 days in. */
function allUp(policy: SlaPolicy, y: number, m: number, down?: string, exclusions: Exclusion[] = []) {
  const period = periodEnding(policy.period, y, m, policy.time_zone);
  const start = new Date(period.start).toISOString();
  const spans = down ? tl(start, ['up', '3d'], ['down', down], ['up', '400d']) : tl(start, ['up', '400d']);
  return evaluatePeriod({ service: 's', policy, period, spans, exclusions, now: period.end });
}

describe('presets', () => {
  it('all five load', () => {
    expect([...loadPresets().keys()]).toEqual(['contract', 'easymeeting', 'hedu', 'udesk', 'umeet']);
    for (const v of loadPresets().values()) expect(typeof v).toBe('object');
  });

  it.each([
    // SLA-TERMS "The five agreements": the four Chinese providers count China Standard Time,
    // Easymeeting (Norwegian) Oslo time.
    ['hedu', 'Asia/Shanghai'],
    ['umeet', 'Asia/Shanghai'],
    ['udesk', 'Asia/Shanghai'],
    ['contract', 'Asia/Shanghai'],
    ['easymeeting', 'Europe/Oslo'],
  ])('%s counts its calendar in %s', (name, tz) => {
    expect(preset(name).time_zone).toBe(tz);
    const r = allUp(preset(name), 2026, 11);
    expect(r.period.time_zone).toBe(tz);
  });

  it('the Shanghai November of udesk starts at 2026-10-31T16:00Z (UTC+8)', () => {
    const p = periodEnding('month', 2026, 11, preset('udesk').time_zone);
    expect(p.start).toBe(T('2026-10-31T16:00:00Z'));
  });

  it.each([
    // UDESK-1.2 worked example: 99.9 % of a 30-day month = 43,156.8 available minutes, 43.2 unavailable
    ['udesk', 30 * 1440 * (1 - 0.999), 43.2],
    // HEDU-5.1: 99.968 % of a 30-day month, "about 14 minutes": 43,200 x 0.00032 = 13.824
    ['hedu', 30 * 1440 * (1 - 0.99968), 13.824],
    ['umeet', 30 * 1440 * 0.001, 43.2],
    ['contract', 30 * 1440 * 0.001, 43.2],
    // EASYMEETING-avail: 99.0 % over 365 days (December 2025 to November 2026): 525,600 x 0.01
    ['easymeeting', 365 * 1440 * 0.01, 5256],
  ])('%s allows %d minutes (%d)', (name, computed, stated) => {
    const r = allUp(preset(name), 2026, 11);
    expect(computed).toBeCloseTo(stated, 9);
    expect(r.budget.allowed).toBeCloseTo(stated, 9);
    expect(r.availability).toBe(100);
  });
});

describe('credit conditions', () => {
  it.each([
    // 30-day month: 43,200 minutes.
    // UDESK-13.2(1): 44 > 43.2 allowed: missed, credit the 44 lost minutes
    ['udesk', '44m', false, { unit: 'minutes', amount: 44 }],
    // UDESK-13.2(1): 10 minutes is (43,200 - 10) / 43,200 = 99.97685 % >= 99.9 %: met, no credit
    ['udesk', '10m', true, { unit: 'minutes', amount: 0 }],
    // HEDU-7.2: 44 > 13.824: missed; 10 x 44 = 440 minutes
    ['hedu', '44m', false, { unit: 'minutes', amount: 440 }],
    // HEDU-7.2 credits per incident: 10 < 13.824 is met, and still 10 x 10 = 100 minutes
    ['hedu', '10m', true, { unit: 'minutes', amount: 100 }],
    // UMEET-7.2: 43 <= 43.2 met, 10 x 43 = 430 minutes all the same
    ['umeet', '43m', true, { unit: 'minutes', amount: 430 }],
    ['contract', '44m', false, null],
  ] as const)('%s: %s down: met=%s, credit %j', (name, down, met, want) => {
    const r = allUp(preset(name), 2026, 11, down);
    expect(r.met).toBe(met);
    if (want === null) expect(r.credit).toBeNull();
    else expect(r.credit).toMatchObject(want);
  });

  it('UDESK-13.2(1): the reason of a zero credit is printed with it', () => {
    expect(allUp(preset('udesk'), 2026, 11, '10m').credit!.why).toBe('target met: this policy credits only a missed target (credit.when: missed)');
  });
});

describe('the minimum outage is UDESK-1.2 only', () => {
  it.each([
    // udesk: 4m59s < 5m: recorded, not counted; 5m counts in full
    ['udesk', '4m59s', 0],
    ['udesk', '5m', 5],
    // no other agreement has a minimum: 4m59s counts, the period's sum rounded up to 5
    ['hedu', '4m59s', 5],
    ['umeet', '4m', 4],
    ['contract', '4m', 4],
  ])('%s: %s down counts %d minutes', (name, down, counted) => {
    expect(preset(name).min_outage).toBe(name === 'udesk' ? ms('5m') : 0);
    expect(allUp(preset(name), 2026, 11, down).minutes.down_counted).toBe(counted);
  });

  it('a 4-minute outage in an Easymeeting year counts', () => {
    const r = allUp(preset('easymeeting'), 2026, 12, '4m');
    expect(r.windows[0]!.status).toBe('counted');
    expect(r.minutes.down_counted).toBe(4);
    // 2026 in Oslo is 365 days = 525,600 minutes: (525,600 - 4) / 525,600
    expect(r.availability).toBeCloseTo(((525_600 - 4) / 525_600) * 100, 9);
  });
});

describe('how maintenance enters the formula', () => {
  // A 30-day month (43,200 min) with 120 minutes of announced maintenance on day 10
  // (00:00-02:00), during which the service is down 20 minutes, and a 30-minute outage
  // outside it (day 3).
  const cases = (name: string) => {
    const policy = preset(name);
    const period = periodEnding('month', 2026, 11, policy.time_zone);
    const d = (days: number) => period.start + days * 86_400_000;
    const spans: Span<ServiceState>[] = [
      { start: period.start, end: d(3), state: 'up' },
      { start: d(3), end: d(3) + ms('30m'), state: 'down' },
      { start: d(3) + ms('30m'), end: d(10) + ms('1h'), state: 'up' },
      { start: d(10) + ms('1h'), end: d(10) + ms('1h20m'), state: 'down' },
      { start: d(10) + ms('1h20m'), end: period.end + 86_400_000, state: 'up' },
    ];
    const exclusions = [{ start: d(10), end: d(10) + ms('2h'), reason: 'announced maintenance', source: 'upgrade' }];
    return evaluatePeriod({ service: 's', policy, period, spans, exclusions, now: period.end });
  };

  it.each([
    // UMEET-5.1 with UMEET-7.1: (total - unavailable) / total = (43,200 - 30) / 43,200;
    // the maintenance is not unavailable time and stays in the total; budget 0.1 % of 43,200
    ['umeet', 'available', ((43_200 - 30) / 43_200) * 100, 43.2, true],
    // HEDU-5.1 / HEDU-7.1 likewise; 30 > 13.824 allowed: missed
    ['hedu', 'available', ((43_200 - 30) / 43_200) * 100, 43_200 * 0.00032, false],
    // UDESK-1.2: available / (available + unavailable) with the maintenance out of both:
    // (43,200 - 120 - 30) / (43,200 - 120) = 43,050 / 43,080; budget 0.1 % of 43,080 = 43.08
    ['udesk', 'removed', (43_050 / 43_080) * 100, 43.08, true],
    // EASYMEETING ("excluding maintenance") removes it as well: its 12 months, next test
  ] as const)('%s: excluded time %s: availability %d, budget %d', (name, mode, availability, allowed, met) => {
    const r = cases(name);
    expect(r.rules.excluded_time).toBe(mode);
    expect(r.minutes.excluded).toBe(120);
    expect(r.minutes.down_counted).toBe(30);
    expect(r.availability).toBeCloseTo(availability, 9);
    expect(r.budget.allowed).toBeCloseTo(allowed, 9);
    expect(r.met).toBe(met);
  });

  it('easymeeting removes excluded time from its 12 months', () => {
    // December 2026 report: 2026 in Oslo, 525,600 minutes; 2 h maintenance, 30 min down
    // outside it: (525,600 - 120 - 30) / (525,600 - 120)
    const policy = preset('easymeeting');
    const period = periodEnding(policy.period, 2026, 12, policy.time_zone);
    const d3 = period.start + 3 * 86_400_000;
    const spans = tl(new Date(period.start).toISOString(), ['up', '3d'], ['down', '30m'], ['up', '400d']);
    const exclusions = [{ start: d3 + ms('1h'), end: d3 + ms('3h'), reason: 'planned maintenance', source: 'm' }];
    const r = evaluatePeriod({ service: 's', policy, period, spans, exclusions, now: period.end });
    expect(r.availability).toBeCloseTo(((525_600 - 150) / (525_600 - 120)) * 100, 9);
  });
});

describe('EASYMEETING: the credit is judged on the contract year, once', () => {
  // Up from 2025-01-01 (Oslo) to 2027; down 10,512 minutes (7.3 days) from 2026-03-10.
  // 2026 in Oslo is 365 days = 525,600 minutes: (525,600 - 10,512) / 525,600 = 98.0 %, one
  // point under 99.0 %: EASYMEETING-credit 2.5 % of the monthly fee.
  const policy = preset('easymeeting');
  const start = T('2024-12-31T23:00:00Z'); // 2025-01-01T00:00+01:00
  const downAt = T('2026-03-10T00:00:00Z');
  const spans: Span<ServiceState>[] = [
    { start, end: downAt, state: 'up' },
    { start: downAt, end: downAt + 10_512 * 60_000, state: 'down' },
    { start: downAt + 10_512 * 60_000, end: T('2027-06-01T00:00:00Z'), state: 'up' },
  ];
  const reports = Array.from({ length: 12 }, (_, i) => {
    const period = periodEnding(policy.period, 2026, i + 1, policy.time_zone);
    return evaluatePeriod({ service: 's', policy, period, spans, exclusions: [], now: T('2027-02-01T00:00:00Z') });
  });

  it('every month of 2026 shows the rolling 12-month figure and names 2026 as the settling year', () => {
    for (const r of reports) expect(r.settlement.label).toBe('2026-01..2026-12');
    // the April 2026 report: May 2025 to April 2026, 365 days; the whole outage is in it
    expect(reports[3]!.period.label).toBe('2025-05..2026-04');
    expect(reports[3]!.availability).toBeCloseTo(((525_600 - 10_512) / 525_600) * 100, 9);
    expect(reports[3]!.met).toBe(false);
  });

  it('only the December report (January to December 2026) settles a credit: 2.5 %, paid once', () => {
    const credited = reports.filter((r) => r.credit !== null);
    expect(credited.map((r) => r.period.label)).toEqual(['2026-01..2026-12']);
    expect(credited[0]!.settlement.here).toBe(true);
    expect(credited[0]!.availability).toBeCloseTo(98, 9);
    expect(credited[0]!.credit!.unit).toBe('percent');
    expect(credited[0]!.credit!.amount).toBeCloseTo(2.5, 9);
    // the sum over the year's reports: the lost time is paid once, not in every rolling month
    expect(reports.reduce((a, r) => a + (r.credit?.amount ?? 0), 0)).toBeCloseTo(2.5, 9);
    expect(reports[5]!.notes).toContain('no credit in this report: the credit is judged on 2026-01..2026-12, in the report of that period');
  });

  it('a year at 99.2 % settles no credit (not below 99.0 %)', () => {
    // 4,204.8 minutes down: (525,600 - 4,204.8) / 525,600 = 99.2 %
    const s2: Span<ServiceState>[] = [
      { start, end: downAt, state: 'up' },
      { start: downAt, end: downAt + 4_204.8 * 60_000, state: 'down' },
      { start: downAt + 4_204.8 * 60_000, end: T('2027-06-01T00:00:00Z'), state: 'up' },
    ];
    const period = periodEnding(policy.period, 2026, 12, policy.time_zone);
    const r = evaluatePeriod({ service: 's', policy, period, spans: s2, exclusions: [], now: T('2027-02-01T00:00:00Z') });
    // rounded up once: 4,205 minutes: (525,600 - 4,205) / 525,600 = 99.19996 %
    expect(r.availability).toBeCloseTo(((525_600 - 4205) / 525_600) * 100, 9);
    expect(r.met).toBe(true);
    expect(r.credit).toMatchObject({ unit: 'percent', amount: 0 });
  });
});

describe('a preset time zone can be overridden', () => {
  it('{preset: udesk, time_zone: Europe/Berlin} counts the Berlin month', async () => {
    const { parseConfig } = await import('../../src/config/load.ts');
    const c = parseConfig('agent: { region: r }\ntargets:\n  - { name: api, kind: tcp, address: "127.0.0.1:9" }\nservices:\n  - { name: meet, targets: [api], sla: [{ preset: udesk, name: udesk-berlin, time_zone: Europe/Berlin }] }\n', 'c.yaml');
    const p = c.services[0]!.sla[0]!;
    expect(p.time_zone).toBe('Europe/Berlin');
    expect(p.min_outage).toBe(ms('5m'));
    // the Berlin November (CET, UTC+1) starts at 2026-10-31T23:00Z
    expect(periodEnding(p.period, 2026, 11, p.time_zone).start).toBe(T('2026-10-31T23:00:00Z'));
  });
});
