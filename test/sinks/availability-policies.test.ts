// The live availability metrics per policy, against a real store and real metrics on a
// simulated clock: every series from the first scrape, each policy by its own rules
// (UDESK-1.2's 5-minute minimum, HEDU's none), the minimum-outage step, and exclusions
// recorded afterwards correcting the period gauges while the counters stay monotonic.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { countedMinutes } from '../../src/availability/account.ts';
import { periodAt } from '../../src/availability/calendar.ts';
import { reportService } from '../../src/availability/service.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createAvailabilitySink, type AvailabilitySink } from '../../src/sinks/availability.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { T } from '../support/availability.ts';

const CONFIG = `
agent: { region: eu }
targets:
  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
  - { name: mcu, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
services:
  - { name: meet, targets: [api], sla: [udesk, hedu] }
  - { name: rooms, targets: [mcu] }
`;

const sinks: AvailabilitySink[] = [];
afterEach(() => {
  for (const s of sinks.splice(0)) s.close();
});

const t0 = T('2026-11-10T00:00:00Z');

function setup(yaml = CONFIG) {
  const cfg = parseConfig(yaml, 'policies.yaml');
  const metrics = createMetrics({ region: 'eu', version: 't', defaultMetrics: false });
  const log = pino({ level: 'silent' }, new Writable({ write(_c, _e, cb) { cb(); } }));
  let clock = t0;
  const store: Store = openStore(mkdtempSync(join(tmpdir(), 'slaprobe-policies-')));
  const sink = createAvailabilitySink({ config: cfg, store, metrics, log, now: () => clock, refreshEvery: 3_600_000 });
  sinks.push(sink);
  /** Runs every 10 s over [from, to), `ok(t)` deciding each run, then refreshes at `to`. */
  const runs = (from: number, to: number, ok: (t: number) => boolean, target = 'api') => {
    const tg = cfg.targets.find((x) => x.name === target)!;
    for (let t = from; t < to; t += 10_000) {
      clock = t + 100;
      sink.onResult(tg, ok(t) ? { success: true } : { success: false, reason: 'refused' }, { dueAt: t, startedAt: t, finishedAt: t + 100, durationSeconds: 0.1 });
    }
    clock = to;
    sink.refresh();
  };
  const value = async (name: string, labels: Record<string, string>) => {
    const x = (await metrics.registry.getMetricsAsJSON()).find((y) => y.name === name);
    return x?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && Object.keys(v.labels).filter((k) => k !== 'region').length === Object.keys(labels).length)?.value;
  };
  const seconds = (sla: string, state: string, service = 'meet') => value('slaprobe_service_seconds_total', { service, sla, state });
  /** What `slaprobe report` says now, from the same store and config. */
  const report = (sla: string, service = 'meet') => {
    const s = cfg.services.find((x) => x.name === service)!;
    const p = s.sla.find((x) => x.name === sla)!;
    return reportService(store, s, p, periodAt(p.period, clock, p.time_zone), cfg.maintenance, store.exclusions(), clock);
  };
  return { runs, value, seconds, report, store, metrics, setClock: (t: number) => (clock = t), sink, cfg };
}

describe('availability metrics per policy', () => {
  it('every counter the rules use exists at 0 from the first scrape, for every service, policy and state', async () => {
    const { metrics } = setup();
    const text = await metrics.registry.metrics();
    for (const [service, sla] of [['meet', 'udesk'], ['meet', 'hedu'], ['rooms', 'default']]) {
      for (const state of ['up', 'degraded', 'down', 'down_counted', 'unknown', 'excluded', 'counted']) {
        expect(text).toContain(`slaprobe_service_seconds_total{service="${service}",sla="${sla}",state="${state}",region="eu"} 0`);
      }
    }
    for (const [service, sla] of [['meet', 'udesk'], ['meet', 'hedu'], ['rooms', 'default']]) for (const level of ['L1', 'L2', 'L3']) {
      expect(text).toContain(`slaprobe_incidents_total{service="${service}",sla="${sla}",level="${level}",region="eu"} 0`);
    }
  });

  it('a 3-minute outage counts under HEDU (no minimum) and not under UDESK (5 minutes), each by its own rules', async () => {
    const { runs, seconds, value, report } = setup();
    runs(t0, t0 + 30 * 60_000, (t) => t < t0 + 10 * 60_000 || t >= t0 + 13 * 60_000);
    expect(await seconds('hedu', 'down_counted')).toBe(180);
    expect(await seconds('udesk', 'down_counted')).toBe(0);
    // The state time itself is the same under both: the outage was down time for each.
    expect(await seconds('hedu', 'down')).toBeCloseTo(180, 6);
    expect(await seconds('udesk', 'down')).toBeCloseTo(180, 6);
    // Gauges are the report's figures, policy by policy.
    for (const sla of ['hedu', 'udesk']) {
      const r = report(sla);
      expect(await value('slaprobe_availability_ratio', { service: 'meet', sla })).toBeCloseTo(r.availability! / 100, 12);
      expect(await value('slaprobe_period_unavailable_seconds', { service: 'meet', sla })).toBe(r.budget.used * 60);
      expect(await value('slaprobe_error_budget_remaining_seconds', { service: 'meet', sla })).toBeCloseTo(r.budget.remaining * 60, 9);
    }
    expect(await value('slaprobe_availability_ratio', { service: 'meet', sla: 'udesk' })).toBe(1);
    expect(await value('slaprobe_availability_ratio', { service: 'meet', sla: 'hedu' })).toBeLessThan(1);
  });

  it('UDESK-1.2: the outage becomes counted, whole, the moment it reaches 5 minutes; the counter steps there', async () => {
    const { runs, seconds, report } = setup();
    const down = t0 + 10 * 60_000;
    runs(t0, down, () => true);
    // 4 min 50 s into the outage (last run at 4:50 covers until 5:00, cut at now): not counted yet.
    runs(down, down + 290_000, () => false);
    expect(report('udesk').windows[0]!.status).toBe('not_counted');
    expect(await seconds('udesk', 'down_counted')).toBe(0);
    expect(await seconds('udesk', 'down')).toBeCloseTo(290, 6);
    // 5 min 10 s: counted, from its first second (rounded up to whole minutes).
    runs(down + 290_000, down + 310_000, () => false);
    const r = report('udesk');
    expect(r.windows[0]!.status).toBe('counted');
    expect(await seconds('udesk', 'down_counted')).toBe(r.minutes.down_counted * 60);
    expect(await seconds('udesk', 'down_counted')).toBeGreaterThanOrEqual(300);
    // HEDU counted it all along, minute by minute.
    expect(await seconds('hedu', 'down_counted')).toBe(report('hedu').minutes.down_counted * 60);
  });

  it('an exclusion recorded afterwards lowers the period gauges; the counters never go back', async () => {
    const { runs, seconds, value, store, setClock, sink } = setup();
    runs(t0, t0 + 20 * 60_000, (t) => t < t0 + 5 * 60_000 || t >= t0 + 12 * 60_000);
    const counted = await seconds('udesk', 'down_counted');
    expect(counted).toBe(7 * 60);
    expect(await value('slaprobe_availability_ratio', { service: 'meet', sla: 'udesk' })).toBeLessThan(1);
    // `slaprobe exclude` writes to the store from another process; the agent picks it up.
    store.addExclusion({ service: 'meet', start: t0 + 5 * 60_000, end: t0 + 12 * 60_000, reason: 'carrier fault', created_at: t0 + 20 * 60_000 });
    setClock(t0 + 20 * 60_000 + 1000);
    sink.refresh();
    expect(await value('slaprobe_availability_ratio', { service: 'meet', sla: 'udesk' })).toBe(1);
    expect(await value('slaprobe_period_unavailable_seconds', { service: 'meet', sla: 'udesk' })).toBe(0);
    expect(await value('slaprobe_error_budget_remaining_ratio', { service: 'meet', sla: 'udesk' })).toBe(1);
    expect(await seconds('udesk', 'down_counted')).toBe(counted);
    // A later outage is counted in full from the lower figure: nothing is counted twice.
    runs(t0 + 20 * 60_000, t0 + 40 * 60_000, (t) => t < t0 + 25 * 60_000 || t >= t0 + 31 * 60_000);
    expect(await seconds('udesk', 'down_counted')).toBe(counted! + 6 * 60);
    expect(await value('slaprobe_period_unavailable_seconds', { service: 'meet', sla: 'udesk' })).toBe(6 * 60);
  });

  it('a policy added by a reload starts at 0 (its history is not an increase); a policy removed leaves no series', async () => {
    const { runs, seconds, sink, metrics } = setup();
    runs(t0, t0 + 20 * 60_000, (t) => t < t0 + 5 * 60_000 || t >= t0 + 12 * 60_000, 'mcu');
    sink.reload(parseConfig(CONFIG.replace('{ name: rooms, targets: [mcu] }', '{ name: rooms, targets: [mcu], sla: [hedu] }'), 'policies.yaml'));
    // rooms had 7 counted minutes under its default policy; HEDU, new, starts from 0 ...
    expect(await seconds('hedu', 'down_counted', 'rooms')).toBe(0);
    // ... and counts what happens from now on.
    runs(t0 + 20 * 60_000, t0 + 30 * 60_000, (t) => t >= t0 + 22 * 60_000, 'mcu');
    expect(await seconds('hedu', 'down_counted', 'rooms')).toBe(2 * 60);
    expect(await metrics.registry.metrics()).not.toContain('service="rooms",sla="default"');
  });

  it('down_counted / counted is each policy\'s own error ratio, 1 - availability of its report, whatever its unknown and excluded_time rules (UDESK-1.2, HEDU-7.1)', async () => {
    const policies = ['udesk', 'hedu', 'hedu_unknown_down', 'udesk_unknown_up'];
    const { runs, seconds, report, store } = setup(CONFIG.replace('sla: [udesk, hedu]', 'sla: [udesk, hedu, { preset: hedu, name: hedu_unknown_down, unknown: down }, { preset: udesk, name: udesk_unknown_up, unknown: up }]'));
    // Maintenance known in advance, 70-85 min: excluded time as it happens (removed under UDESK, available under HEDU).
    store.addExclusion({ service: 'meet', start: t0 + 70 * 60_000, end: t0 + 85 * 60_000, reason: 'maintenance', created_at: t0 });
    const min = (m: number) => t0 + m * 60_000;
    const down = (t: number) => (t >= min(40) && t < min(50)) || (t >= min(53) && t < min(60));
    // No runs 30-40 min (the agent was stopped: unknown, outside any outage) and 50-53 min
    // (unknown inside the outage: down before and after, counted as down).
    runs(t0, min(30), () => true);
    runs(min(40), min(50), (t) => !down(t));
    runs(min(53), min(90), (t) => !down(t));
    for (const sla of policies) {
      const r = report(sla);
      const ratio = (await seconds(sla, 'down_counted'))! / (await seconds(sla, 'counted'))!;
      expect(ratio, sla).toBeCloseTo(1 - r.availability! / 100, 9);
      expect(await seconds(sla, 'counted'), sla).toBeCloseTo(countedMinutes(r) * 60, 6);
    }
    // The four rules give four different denominators (so the check above is not one case four times).
    const denominators = await Promise.all(policies.map((sla) => seconds(sla, 'counted')));
    expect(new Set(denominators.map((d) => Math.round(d!))).size).toBe(4);
  });

  it('incidents are counted per policy, as each delimits them: merge_within joins two outages under one policy only', async () => {
    const { runs, value, report } = setup(CONFIG.replace('sla: [udesk, hedu]', 'sla: [hedu, { preset: hedu, name: hedu_flaps, merge_within: 5m }]'));
    // Down 2 minutes, up 2 minutes, down 2 minutes: two stretches, 2 minutes apart.
    const down = (t: number) => (t >= t0 + 10 * 60_000 && t < t0 + 12 * 60_000) || (t >= t0 + 14 * 60_000 && t < t0 + 16 * 60_000);
    runs(t0, t0 + 5 * 60_000, () => true); // the first look: the series start at 0
    runs(t0 + 5 * 60_000, t0 + 30 * 60_000, (t) => !down(t));
    const l1 = (sla: string) => report(sla).incidents.filter((i) => i.level === 'L1').length;
    expect([l1('hedu'), l1('hedu_flaps')]).toEqual([2, 1]);
    expect(await value('slaprobe_incidents_total', { service: 'meet', sla: 'hedu', level: 'L1' })).toBe(l1('hedu'));
    expect(await value('slaprobe_incidents_total', { service: 'meet', sla: 'hedu_flaps', level: 'L1' })).toBe(l1('hedu_flaps'));
  });

  it('an outage across the month boundary: the counter holds both parts, each period its own', async () => {
    const { runs, seconds, report } = setup();
    // HEDU's month is Shanghai's (config/sla/hedu.yaml): it ends at 16:00 UTC.
    const end = T('2026-11-30T16:00:00Z');
    runs(end - 20 * 60_000, end - 10 * 60_000, () => true);
    runs(end - 10 * 60_000, end - 1000, () => false);
    runs(end - 1000, end + 10 * 60_000, (t) => t >= end + 4 * 60_000 - 1000);
    // HEDU: 10 minutes in November, 4 in December.
    expect(report('hedu').minutes.down_counted).toBe(4);
    expect(await seconds('hedu', 'down_counted')).toBe(14 * 60);
  });
});
