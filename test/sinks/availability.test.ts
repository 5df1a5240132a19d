// The availability sink against a real store and real metrics, on a simulated clock.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createAvailabilitySink, type AvailabilitySink } from '../../src/sinks/availability.ts';
import { openStore } from '../../src/store/index.ts';
import { T } from '../support/availability.ts';

const config = (rule: string) => parseConfig(`
agent: { region: eu }
targets:
  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
  - { name: web, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
services:
  - { name: meet, targets: [api, web], rule: ${rule}, sla: [udesk] }
`, 'sink.yaml');

const sinks: AvailabilitySink[] = [];
afterEach(() => {
  for (const s of sinks.splice(0)) s.close();
});

function setup(rule = 'all') {
  const cfg = config(rule);
  const metrics = createMetrics({ region: 'eu', version: 't', defaultMetrics: false });
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));
  let clock = T('2026-11-10T00:00:00Z');
  const sink = createAvailabilitySink({ config: cfg, store: openStore(mkdtempSync(join(tmpdir(), 'slaprobe-sink-'))), metrics, log, now: () => clock });
  sinks.push(sink);
  const run = (t: number, states: Record<string, boolean>) => {
    clock = t + 100;
    for (const target of cfg.targets) {
      const ok = states[target.name];
      if (ok === undefined) continue;
      sink.onResult(target, ok ? { success: true } : { success: false, reason: 'refused' }, { dueAt: t, startedAt: t, finishedAt: t + 100, durationSeconds: 0.1 });
    }
  };
  const value = async (name: string, labels: Record<string, string>) => {
    const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
    const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
    return v?.value;
  };
  return { sink, run, value, lines, setClock: (t: number) => (clock = t) };
}

describe('availability sink', () => {
  it('an outage of both targets: service down, then the period figures', async () => {
    const { sink, run, value, lines, setClock } = setup();
    const t0 = T('2026-11-10T00:00:00Z');
    // 10 min up, 6 min down (both), 4 min up: runs every 10 s
    for (let t = t0; t < t0 + 20 * 60_000; t += 10_000) {
      const down = t >= t0 + 600_000 && t < t0 + 960_000;
      run(t, { api: !down, web: !down });
      if (t === t0 + 600_000) {
        expect(await value('slaprobe_service_up', { service: 'meet' })).toBe(0);
        expect(await value('slaprobe_outage_open_since_timestamp_seconds', { service: 'meet' })).toBe((t0 + 600_000) / 1000);
      }
    }
    expect(await value('slaprobe_service_up', { service: 'meet' })).toBe(1);
    expect(await value('slaprobe_outage_open_since_timestamp_seconds', { service: 'meet' })).toBeUndefined();
    // Results arrive one target at a time: between api's and web's result the service is
    // partial. The first state (up) at start-up is not logged.
    expect(lines.filter((l) => l['service'] === 'meet').map((l) => [l['from'], l['to'], l['at']])).toEqual([
      ['up', 'partial', '2026-11-10T00:10:00.000Z'],
      ['partial', 'down', '2026-11-10T00:10:00.000Z'],
      ['down', 'partial', '2026-11-10T00:16:00.000Z'],
      ['partial', 'up', '2026-11-10T00:16:00.000Z'],
    ]);
    setClock(t0 + 20 * 60_000);
    sink.refresh();
    // known time 20 min (the month before t0 is unknown, excluded): (20 - 6) / 20
    expect(await value('slaprobe_availability_ratio', { service: 'meet', sla: 'udesk' })).toBeCloseTo((20 - 6) / 20, 9);
    expect(await value('slaprobe_incidents_total', { service: 'meet', sla: 'udesk', level: 'L1' })).toBe(1);
    expect(await value('slaprobe_service_seconds_total', { service: 'meet', sla: 'udesk', state: 'down_counted' })).toBe(6 * 60);
    expect(await value('slaprobe_service_seconds_total', { service: 'meet', sla: 'udesk', state: 'down' })).toBeCloseTo(6 * 60, 6);
    expect(await value('slaprobe_service_seconds_total', { service: 'meet', sla: 'udesk', state: 'up' })).toBeCloseTo(14 * 60, 6);
    expect(await value('slaprobe_credit', { service: 'meet', sla: 'udesk', unit: 'minutes' })).toBe(6); // UDESK-13.2
    // budget: 0.1 % of the month less the time before the first run (not in service): udesk's
    // Shanghai November starts 2026-10-31T16:00Z, 9 days and 8 hours before t0
    const allowed = 0.001 * (43_200 - 9 * 1440 - 8 * 60);
    expect(await value('slaprobe_error_budget_remaining_seconds', { service: 'meet', sla: 'udesk' })).toBeCloseTo((allowed - 6) * 60, 6);
    // counters only grow: a second refresh adds nothing
    sink.refresh();
    expect(await value('slaprobe_incidents_total', { service: 'meet', sla: 'udesk', level: 'L1' })).toBe(1);
    expect(await value('slaprobe_service_seconds_total', { service: 'meet', sla: 'udesk', state: 'down_counted' })).toBe(6 * 60);
  });

  it.each([
    // rule, states, degraded api, service state, service_up
    ['all', { api: false, web: true }, false, 'partial', 1],
    ['any', { api: false, web: true }, false, 'down', 0],
    ['{ at_least: 2 }', { api: false, web: true }, false, 'partial', 1],
    ['all', { api: true, web: true }, true, 'degraded', 1],
    ['all', { api: false, web: false }, true, 'down', 0],
  ])('rule %s with %j, degraded=%s: %s', async (rule, states, degraded, state, up) => {
    const { sink, run, value, lines } = setup(rule);
    const t0 = T('2026-11-10T00:00:00Z');
    run(t0, { api: true, web: true });
    if (degraded) sink.markDegraded('api', true, t0 + 5000);
    run(t0 + 10_000, states);
    expect(await value('slaprobe_service_up', { service: 'meet' })).toBe(up);
    expect(lines[lines.length - 1]).toMatchObject({ service: 'meet', to: state });
  });

  it('a store error is logged, not thrown into the runner', async () => {
    const { sink, run, lines } = setup();
    sink.close(); // the store is closed under the sink
    sinks.length = 0;
    expect(() => run(T('2026-11-10T00:00:00Z'), { api: true, web: true })).not.toThrow();
    expect(lines.some((l) => l['level'] === 50 && String(l['msg']).includes('recording a run of api failed'))).toBe(true);
  });
});
