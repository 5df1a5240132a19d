// deploy/grafana, by structure (Grafana itself is not packaged for Debian): the dashboards are
// well-formed for provisioning, every panel queries through the datasource variable, uses only
// variables its dashboard defines and selects only series that exist. The PromQL itself is
// evaluated against a real Prometheus in e2e-promql.test.ts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentSeries, allRules, dashboards, panelsOf, selectors, type Panel } from './promql.ts';
import { DEPLOY, readYaml } from './tools.ts';

const boards = dashboards();

function overlaps(a: Panel['gridPos'], b: Panel['gridPos']): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

describe('deploy/grafana dashboards', () => {
  it('are the four the kit documents, with unique uids', () => {
    expect(boards.map((b) => b.json.uid).sort()).toEqual([
      'slaprobe-agent-health',
      'slaprobe-incidents',
      'slaprobe-network-quality',
      'slaprobe-sla-burn',
    ]);
    for (const b of boards) {
      expect(b.file).toBe(`${b.json.uid}.json`);
      expect(b.json.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(b.json.title).toMatch(/^slaprobe \/ /);
      // Provisioned dashboards must not carry a numeric id of another Grafana.
      expect(b.json).not.toHaveProperty('id');
    }
  });

  it.each(boards.map((b) => [b.file, b.json] as const))('%s: variables datasource, region and the ones its queries use', (_f, d) => {
    const names = d.templating.list.map((v) => v.name);
    expect(names.slice(0, 2)).toEqual(['datasource', 'region']);
    expect(d.templating.list[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const used = new Set(
      panelsOf(d).flatMap((p) => (p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\$\{?([a-z_]+)/g)].map((m) => m[1]!))),
    );
    for (const u of used) if (!u.startsWith('__')) expect(names, `variable $${u}`).toContain(u);
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      expect(v).toMatchObject({ includeAll: true, multi: true, allValue: '.*' });
    }
  });

  it('region, service and target are variables of every dashboard', () => {
    for (const b of boards) {
      const names = b.json.templating.list.map((v) => v.name);
      expect(names, b.file).toEqual(expect.arrayContaining(['region', 'service', 'target']));
    }
  });

  it.each(boards.map((b) => [b.file, b.json] as const))('%s: panels have unique ids, fit the 24-column grid and do not overlap', (_f, d) => {
    const panels = panelsOf(d);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.w * p.gridPos.h, p.title).toBeGreaterThan(0);
    }
    for (let i = 0; i < panels.length; i++) {
      for (let j = i + 1; j < panels.length; j++) {
        expect(overlaps(panels[i]!.gridPos, panels[j]!.gridPos), `${panels[i]!.title} / ${panels[j]!.title}`).toBe(false);
      }
    }
  });

  it.each(boards.map((b) => [b.file, b.json] as const))('%s: every panel queries Prometheus through ${datasource}', (_f, d) => {
    for (const p of panelsOf(d).filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.description, p.title).toBeTruthy();
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
      for (const t of p.targets!) expect(t.expr.trim(), p.title).not.toBe('');
    }
  });

  it('every series a panel selects is exposed by the agent or recorded by the shipped rules', async () => {
    const exposed = await agentSeries();
    const recorded = new Set(allRules().flatMap((r) => (r.record ? [r.record] : [])));
    const problems: string[] = [];
    for (const b of boards) {
      for (const p of panelsOf(b.json)) {
        for (const t of p.targets ?? []) {
          for (const s of selectors(t.expr)) {
            if (recorded.has(s.name) || s.name === 'ALERTS') continue;
            const labels = exposed.get(s.name);
            if (!labels) problems.push(`${b.file} "${p.title}": unknown series ${s.name}`);
            else for (const l of s.labels) if (!labels.has(l)) problems.push(`${b.file} "${p.title}": ${s.name} has no label ${l}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the target lines sit at the agreements\' targets (HEDU-5.4 / UMEET-5.4)', () => {
    const net = boards.find((b) => b.json.uid === 'slaprobe-network-quality')!.json;
    const redAt = (title: string) =>
      (panelsOf(net).find((p) => p.title === title)!.fieldConfig as { defaults: { thresholds: { steps: { color: string; value: number | null }[] } } })
        .defaults.thresholds.steps.find((s) => s.color === 'red')?.value;
    expect(redAt('Packet loss (15m)')).toBe(0.0005);
    expect(redAt('Jitter (RFC 3550)')).toBe(0.05);
    expect(redAt('RTT quantiles (15m)')).toBe(0.15);
  });
});

describe('deploy/grafana provisioning', () => {
  it('the dashboard provider reads the folder compose mounts the dashboards into', () => {
    const prov = readYaml<{ providers: { options: { path: string } }[] }>(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'slaprobe.yml'));
    const compose = readYaml<{ services: { grafana: { volumes: string[] } } }>(join(DEPLOY, 'compose', 'compose.yaml'));
    const mount = compose.services.grafana.volumes.find((v) => v.startsWith('../grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(prov.providers[0]!.options.path);
  });

  it('the data source is a Prometheus at the compose service name', () => {
    const ds = readYaml<{ datasources: { type: string; url: string }[] }>(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'));
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
  });
});
