// What the deploy kit's PromQL refers to: the rule files and dashboards, and the metric
// names and labels they select, checked against the agent's metric registry.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMetrics } from '../../src/metrics.ts';
import {
  DEGRADED_METRIC, INTERVAL_METRIC, LABEL_AGENT, LABEL_REGION, LABEL_SERVICE, LABEL_TARGET, OUTCOME_METRIC, SERVICE_INFO_METRIC,
} from '../../src/fleet/wire.ts';
import { DEPLOY, readYaml } from './tools.ts';

export const RULES_DIR = join(DEPLOY, 'prometheus', 'rules');
export const RULE_TESTS_DIR = join(DEPLOY, 'prometheus', 'tests');
export const DASHBOARDS_DIR = join(DEPLOY, 'grafana', 'dashboards');

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export const ruleFiles = (): string[] =>
  readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.rules.yml'))
    .sort()
    .map((f) => join(RULES_DIR, f));

export const ruleGroups = (): RuleGroup[] => ruleFiles().flatMap((f) => readYaml<{ groups: RuleGroup[] }>(f).groups);
export const allRules = (): Rule[] => ruleGroups().flatMap((g) => g.rules);

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
  [k: string]: unknown;
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; legendFormat?: string; instant?: boolean }[];
  panels?: Panel[];
  description?: string;
  [k: string]: unknown;
}
export interface Variable {
  name: string;
  type: string;
  query?: unknown;
  [k: string]: unknown;
}

export function dashboards(): { file: string; json: Dashboard }[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) as Dashboard }));
}

/** Every panel, rows' children included. */
export function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * Grafana's variables as a test substitutes them: every region/service/target (regex
 * matchers, as the dashboards use them), and the built-in intervals at values that work
 * with the short scrape intervals of the tests.
 */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?(region|service|target|sla|kind|instance)(:regex)?\}?/g, '.*');
}

/** Names that PromQL treats as series selectors, with the label names matched on them. */
export function selectors(expr: string): { name: string; labels: string[] }[] {
  const out: { name: string; labels: string[] }[] = [];
  // Strip strings first: label values, label_replace arguments and regexes are not names.
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const re = /(?<![\w:.$])([a-zA-Z_][a-zA-Z0-9_]*(?::[a-zA-Z0-9_]+)*)\s*(\{[^}]*\})?(?!\s*\()/g;
  for (const m of code.matchAll(re)) {
    const name = m[1]!;
    if (!/^(slaprobe_|nodejs_|process_|up$|ALERTS)|:/.test(name)) continue;
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!=|!~|=)/g)].map((l) => l[1]!);
    out.push({ name, labels });
  }
  return out;
}

/** The series the agent can expose: name -> label names (histograms expanded, region added). */
export async function agentSeries(): Promise<Map<string, Set<string>>> {
  const m = createMetrics({ region: 'test', version: '0.0.0' });
  // Our metrics declare their label names (a labelled metric may have no value yet); the
  // default process/nodejs ones are read off their values.
  const declared = new Map(
    m.registry.getMetricsAsArray().map((x) => [x.name, (x as unknown as { labelNames?: string[] }).labelNames ?? []]),
  );
  const out = new Map<string, Set<string>>();
  const add = (name: string, labels: string[]) => out.set(name, new Set([...labels, 'region', 'instance', 'job']));
  for (const metric of await m.registry.getMetricsAsJSON()) {
    const labels = [...(declared.get(metric.name) ?? []), ...metric.values.flatMap((v) => Object.keys(v.labels))];
    if (String(metric.type) === 'histogram') {
      add(`${metric.name}_bucket`, [...labels, 'le']);
      add(`${metric.name}_sum`, labels);
      add(`${metric.name}_count`, labels);
    } else if (String(metric.type) === 'summary') {
      // Summaries without quantiles: _sum and _count only.
      add(`${metric.name}_sum`, labels);
      add(`${metric.name}_count`, labels);
    } else {
      add(metric.name, labels);
    }
  }
  add('up', []);
  // What the agents push (remote_write, src/fleet/wire.ts), for the fleet rules of the store.
  for (const name of [OUTCOME_METRIC, DEGRADED_METRIC, INTERVAL_METRIC]) out.set(name, new Set([LABEL_TARGET, LABEL_REGION, LABEL_AGENT]));
  out.set(SERVICE_INFO_METRIC, new Set([LABEL_SERVICE, LABEL_TARGET, LABEL_REGION, LABEL_AGENT]));
  return out;
}
