// deploy/prometheus: the rules pass promtool's checks and unit tests; every alert has a case
// that fires and one that must not; every series the rules select is one the agent exposes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentSeries, allRules, RULE_TESTS_DIR, ruleFiles, ruleGroups, selectors } from './promql.ts';
import { DEPLOY, readYaml, run, tool } from './tools.ts';

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string> }[];
}
interface TestFile {
  rule_files: string[];
  tests: { alert_rule_test?: AlertTest[]; promql_expr_test?: { expr: string }[] }[];
}

const testFiles = readdirSync(RULE_TESTS_DIR)
  .filter((f) => f.endsWith('.test.yml'))
  .sort()
  .map((f) => join(RULE_TESTS_DIR, f));

describe('deploy/prometheus', () => {
  it('promtool check rules accepts every rule file', () => {
    const r = run(tool('promtool'), ['check', 'rules', ...ruleFiles()]);
    expect(r.stderr + r.stdout).not.toContain('FAILED');
    expect(r.code).toBe(0);
  });

  it('promtool check config accepts the example prometheus.yml and finds its rule files', () => {
    const r = run(tool('promtool'), ['check', 'config', join(DEPLOY, 'prometheus', 'prometheus.yml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${ruleFiles().length} rule files found`);
  });

  it('promtool test rules passes every unit test file', { timeout: 120_000 }, () => {
    expect(testFiles.length).toBeGreaterThanOrEqual(3);
    const r = run(tool('promtool'), ['test', 'rules', ...testFiles]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/SUCCESS/g)?.length).toBe(testFiles.length);
  });

  it('every unit test file loads every rule file it needs, from the shipped rules', () => {
    for (const f of testFiles) {
      const t = readYaml<TestFile>(f);
      for (const rf of t.rule_files) expect(rf).toMatch(/^\.\.\/rules\/slaprobe-[a-z]+\.rules\.yml$/);
    }
  });

  it('every alert (and every fault level of it) has a firing and a non-firing test case', () => {
    const alerts = allRules().filter((r) => r.alert);
    const cases = testFiles.flatMap((f) => readYaml<TestFile>(f).tests.flatMap((t) => t.alert_rule_test ?? []));
    const missing: string[] = [];
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      const level = a.labels?.level;
      const fires = mine.some((c) =>
        (c.exp_alerts ?? []).some((e) => level === undefined || e.exp_labels?.level === level),
      );
      const silent = mine.some((c) => (c.exp_alerts ?? []).length === 0);
      if (!fires) missing.push(`${a.alert}${level ? ` (${level})` : ''}: no firing case`);
      if (!silent) missing.push(`${a.alert}: no non-firing case`);
    }
    expect(alerts.length).toBeGreaterThanOrEqual(12);
    expect(missing).toEqual([]);
  });

  it('alerts carry a severity the Alertmanager routes know, and a runbook', () => {
    for (const a of allRules().filter((r) => r.alert)) {
      expect(['page', 'ticket', 'warning', 'none'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.runbook, a.alert).toMatch(/^docs\/deploy\.md#[a-z0-9-]+$/);
    }
  });

  it('runbook anchors exist in docs/deploy.md', () => {
    const doc = readFileSync(join(DEPLOY, '..', 'docs', 'deploy.md'), 'utf8');
    // GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes.
    const anchors = new Set(
      [...doc.matchAll(/^#+\s+(.*)$/gm)].map((m) =>
        m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-'),
      ),
    );
    for (const a of allRules().filter((r) => r.alert)) {
      const anchor = a.annotations!.runbook!.split('#')[1]!;
      expect(anchors, `${a.alert}: #${anchor}`).toContain(anchor);
    }
  });

  it('group names are unique across the files (the PrometheusRule holds them all in one list)', () => {
    const names = ruleGroups().map((g) => g.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('recording rules are named level:metric:operations', () => {
    for (const r of allRules().filter((x) => x.record)) {
      expect(r.record).toMatch(/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
    }
  });

  it('every series the rules select is exposed by the agent (src/metrics.ts) or recorded here', async () => {
    const exposed = await agentSeries();
    const recorded = new Set(allRules().flatMap((r) => (r.record ? [r.record] : [])));
    const problems: string[] = [];
    for (const r of allRules()) {
      for (const s of selectors(r.expr)) {
        if (recorded.has(s.name)) continue;
        const labels = exposed.get(s.name);
        if (!labels) {
          problems.push(`${r.alert ?? r.record}: unknown series ${s.name}`);
          continue;
        }
        for (const l of s.labels) if (!labels.has(l)) problems.push(`${r.alert ?? r.record}: ${s.name} has no label ${l}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the objectives table holds the five agreements of SLA-TERMS.md and the fallback policy', () => {
    const objectives = allRules()
      .filter((r) => r.record === 'slaprobe:sla_objective:ratio')
      .map((r) => [r.labels?.sla, Number(/vector\(([\d.]+)\)/.exec(r.expr)?.[1])]);
    expect(Object.fromEntries(objectives)).toEqual({
      hedu: 0.99968,
      umeet: 0.999,
      udesk: 0.999,
      contract: 0.999,
      easymeeting: 0.99,
      // services without `sla:` (DEFAULT_POLICY of src/config/sla.ts)
      default: 0.999,
    });
  });
});
