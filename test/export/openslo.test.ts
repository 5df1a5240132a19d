// slaprobe export openslo: OpenSLO v1 documents by the spec's rules (OpenSLO README: names,
// annotation keys, duration shorthand where 1M is a month and 1m a minute, target a ratio),
// an SLI promtool evaluates over slaprobe's own counter, and the round trip: export, parse
// back, the same policies.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { createMetrics } from '../../src/metrics.ts';
import { OpenSloError, parseOpenSlo, sliQueries } from '../../src/export/openslo.ts';
import { tool } from '../deploy/tools.ts';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'src/cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'slaprobe-openslo-'));

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], (e, out, err) => resolve({ code: e ? (e.code as number) : 0, out, err }));
  });
}

// Every preset, a preset in another zone, and inline policies with the keys presets leave at
// their defaults: a year, unknown as down, nearest rounding, tiers, no exclusions.
const config = join(dir, 'c.yaml');
writeFileSync(config, `
agent: { region: eu }
targets:
  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
  - { name: media, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
services:
  - name: Meet_EU
    targets: [api, media]
    rule: { at_least: 1 }
    sla: [udesk, hedu, umeet, easymeeting, contract, {preset: udesk, name: udesk-shanghai, time_zone: Asia/Shanghai}]
  - name: portal
    targets: [api]
    sla:
      - name: internal
        description: internal objective, a year
        target: 99.95
        period: year
        time_zone: Europe/Oslo
        min_outage: 90s
        unknown: down
        merge_within: 2m
        rounding: nearest
        exclusions: false
        recovery: { L1: 1h, L2: 3h, L3: 2d }
        credit: { type: tiers, tiers: [{ below: 99.9, percent: 10 }, { below: 99.0, percent: 25 }] }
`);
const NOW = '2026-11-15T12:00:00Z';

async function exported(): Promise<{ text: string; docs: Record<string, unknown>[] }> {
  const r = await cli('export', 'openslo', '--config', config, '--now', NOW);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return { text: r.out, docs: parseAllDocuments(r.out).map((d) => d.toJS() as Record<string, unknown>) };
}

type Slo = {
  metadata: { name: string; annotations: Record<string, string> };
  spec: { service: string; description: string; budgetingMethod: string; timeWindow: { duration: string; isRolling: boolean; calendar?: { startTime: string; timeZone: string } }[];
    objectives: { target: number; timeSliceTarget: number; timeSliceWindow: string }[];
    indicator: { spec: { ratioMetric: { counter: boolean; bad: { metricSource: { spec: { query: string } } }; total: { metricSource: { spec: { query: string } } } } } } };
};

describe('slaprobe export openslo', () => {
  it('round trip: export, parse back, the same policies', async () => {
    const { text } = await exported();
    const back = parseOpenSlo(text);
    const cfg = loadConfigFile(config);
    expect(back).toEqual(cfg.services.flatMap((s) => s.sla.map((p) => ({ service: s.name, policy: { ...p } }))));
    expect(back).toHaveLength(7);
  });

  it('follows the OpenSLO v1 spec: names, annotation keys, time windows, ratios', async () => {
    const { docs } = await exported();
    const cfg = loadConfigFile(config);
    const services = docs.filter((d) => d['kind'] === 'Service');
    const slos = docs.filter((d) => d['kind'] === 'SLO') as unknown as Slo[];
    expect(services).toHaveLength(2);
    expect(slos).toHaveLength(7);
    const dns = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
    const annKey = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
    for (const d of docs) {
      expect(d['apiVersion']).toBe('openslo/v1');
      const meta = d['metadata'] as { name: string; annotations: Record<string, string> };
      expect(meta.name).toMatch(dns);
      for (const [k, v] of Object.entries(meta.annotations)) {
        expect(k).toMatch(annKey);
        expect(typeof v).toBe('string');
      }
    }
    expect(new Set(docs.map((d) => (d['metadata'] as { name: string }).name)).size).toBe(docs.length);
    const policies = cfg.services.flatMap((s) => s.sla.map((p) => ({ s: s.name, p })));
    slos.forEach((slo, i) => {
      const { p } = policies[i]!;
      expect(slo.spec.service).toMatch(dns);
      expect(slo.spec.description.length).toBeLessThanOrEqual(1050);
      expect(slo.spec.budgetingMethod).toBe('Timeslices');
      expect(slo.spec.objectives).toHaveLength(1);
      const o = slo.spec.objectives[0]!;
      expect(o.target).toBeGreaterThanOrEqual(0);
      expect(o.target).toBeLessThan(1);
      expect(o.target * 100).toBeCloseTo(p.target, 9);
      expect(o.timeSliceWindow).toBe('1m'); // one minute: the unit of account (UDESK-1.2)
      expect(o.timeSliceTarget).toBeGreaterThan(0);
      expect(o.timeSliceTarget).toBeLessThanOrEqual(1);
      expect(slo.spec.timeWindow).toHaveLength(1);
      const tw = slo.spec.timeWindow[0]!;
      expect(tw.duration).toMatch(/^\d+[mhdwMQY]$/);
      if (p.period === 'rolling_12_months') {
        expect(tw).toEqual({ duration: '12M', isRolling: true }); // EASYMEETING-avail
      } else {
        // 1M is a month (1m would be a minute); 1Y a year.
        expect(tw.duration).toBe(p.period === 'month' ? '1M' : '1Y');
        expect(tw.isRolling).toBe(false);
        expect(tw.calendar!.timeZone).toBe(p.time_zone);
        expect(tw.calendar!.startTime).toBe(p.period === 'month' ? '2026-11-01 00:00:00' : '2026-01-01 00:00:00');
      }
      expect(slo.spec.indicator.spec.ratioMetric.counter).toBe(true);
      expect(slo.metadata.annotations['slaprobe/min-outage']).toMatch(/^\d+(ms|s|m|h|d)$/);
    });
    const byName = (sla: string) => slos.find((s) => s.metadata.annotations['slaprobe/sla'] === sla)!;
    // The rules OpenSLO cannot say, as documented annotations.
    expect(byName('udesk').metadata.annotations).toMatchObject({
      'slaprobe/min-outage': '5m', 'slaprobe/unknown': 'excluded', 'slaprobe/rounding': 'up', 'slaprobe/exclusions': 'true',
      'slaprobe/recovery': 'L1=2h,L2=4h,L3=1d',
    });
    expect(JSON.parse(byName('udesk').metadata.annotations['slaprobe/credit']!)).toMatchObject({ type: 'equal_time' }); // UDESK-13.2
    expect(JSON.parse(byName('hedu').metadata.annotations['slaprobe/credit']!)).toMatchObject({ type: 'multiplier', factor: 10, cap: 'period' }); // HEDU-7.2
    expect(byName('udesk-shanghai').spec.timeWindow[0]!.calendar).toEqual({ startTime: '2026-11-01 00:00:00', timeZone: 'Asia/Shanghai' });
  });

  it('the SLI reads slaprobe_service_seconds_total; promtool evaluates it to the counted share', async () => {
    const m = createMetrics({ region: 'eu', version: 'test', defaultMetrics: false });
    const metric = await m.registry.getSingleMetric('slaprobe_service_seconds_total')!.get();
    expect(metric.type).toBe('counter');
    const labelNames = (m.registry.getSingleMetric('slaprobe_service_seconds_total') as unknown as { labelNames: string[] }).labelNames;
    expect(labelNames).toEqual(expect.arrayContaining(['service', 'sla', 'state']));
    const cfg = loadConfigFile(config);
    const udesk = sliQueries('Meet_EU', cfg.services[0]!.sla[0]!);
    const internal = sliQueries('portal', cfg.services[1]!.sla[0]!); // unknown: down
    // Five minutes: 4 up, then 1 counted down (Meet_EU) or 1 unknown minute that unknown: down
    // counts as down (portal), as the agent accounts them (test/sinks/availability-policies.test.ts
    // checks down_counted / counted against the report); the same service's counter under
    // another policy (hedu) must not leak in.
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, `groups:
  - name: sli
    rules:
      - { record: udesk_bad_ratio, expr: '(${udesk.bad.replace(/'/g, "''")}) / (${udesk.total.replace(/'/g, "''")})' }
      - { record: internal_bad_ratio, expr: '(${internal.bad.replace(/'/g, "''")}) / (${internal.total.replace(/'/g, "''")})' }
`);
    const series = (svc: string, state: string, values: string) => `      - { series: 'slaprobe_service_seconds_total{service="${svc}",sla="${svc === 'portal' ? 'internal' : 'udesk'}",state="${state}",region="eu"}', values: '${values}' }`;
    const t = join(dir, 'test.yaml');
    writeFileSync(t, `rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
${series('Meet_EU', 'up', '0 60 120 180 240 240')}
${series('Meet_EU', 'degraded', '0 0 0 0 0 0')}
${series('Meet_EU', 'down', '0 0 0 0 0 60')}
${series('Meet_EU', 'down_counted', '0 0 0 0 0 60')}
${series('Meet_EU', 'unknown', '0 0 0 0 0 0')}
${series('Meet_EU', 'counted', '0 60 120 180 240 300')}
      - { series: 'slaprobe_service_seconds_total{service="Meet_EU",sla="hedu",state="down_counted",region="eu"}', values: '0 60 120 180 240 300' }
      - { series: 'slaprobe_service_seconds_total{service="Meet_EU",sla="hedu",state="counted",region="eu"}', values: '0 60 120 180 240 250' }
${series('portal', 'up', '0 60 120 180 240 240')}
${series('portal', 'degraded', '0 0 0 0 0 0')}
${series('portal', 'down', '0 0 0 0 0 0')}
${series('portal', 'down_counted', '0 0 0 0 0 60')}
${series('portal', 'unknown', '0 0 0 0 0 60')}
${series('portal', 'counted', '0 60 120 180 240 300')}
    promql_expr_test:
      - { expr: udesk_bad_ratio, eval_time: 5m, exp_samples: [{ labels: 'udesk_bad_ratio', value: 0.2 }] }
      - { expr: internal_bad_ratio, eval_time: 5m, exp_samples: [{ labels: 'internal_bad_ratio', value: 0.2 }] }
`);
    const r = spawnSync(tool('promtool'), ['test', 'rules', t], { cwd: dir, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it.each([
    ['a target edited on one side only', (s: string) => s.replace('target: 0.999\n', 'target: 0.995\n'), 'disagrees with slaprobe/target'],
    ['a minute where a month was meant', (s: string) => s.replace('duration: 1M', 'duration: 1m'), 'is none of 1M calendar, 1Y calendar, 12M rolling'],
    ['a missing annotation', (s: string) => s.replace(/ {4}slaprobe\/min-outage: 5m\n/, ''), 'slaprobe/min-outage"] is missing'],
    ['another time zone in the calendar', (s: string) => s.replace('timeZone: Asia/Shanghai', 'timeZone: UTC'), 'disagrees with slaprobe/time-zone'],
    ['another apiVersion', (s: string) => s.replace('apiVersion: openslo/v1', 'apiVersion: openslo/v2alpha'), 'expected openslo/v1'],
  ])('refuses %s, naming the document', async (_what, edit, msg) => {
    const { text } = await exported();
    let err: unknown;
    try {
      parseOpenSlo(edit(text));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OpenSloError);
    expect((err as OpenSloError).messages.join('\n')).toContain(msg);
  });

  it.each([
    [['export'], 'say what to export: slaprobe export openslo'],
    [['export', 'sloth'], 'cannot export "sloth"; formats: openslo'],
    [['export', 'openslo', '--now', 'soon'], '--now "soon" is not an RFC 3339 time'],
  ])('%j exits 2: %s', async (args, msg) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });

  it('--out writes the file', async () => {
    const out = join(dir, 'slo.yaml');
    const r = await cli('export', 'openslo', '--config', config, '--now', NOW, '--out', out);
    expect(r.code).toBe(0);
    expect(parseOpenSlo(readFileSync(out, 'utf8'))).toHaveLength(7);
  });
});
