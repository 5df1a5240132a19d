// The monitoring stack of the deploy kit, started for real on loopback by the tests: a webhook
// receiver, Alertmanager with the shipped config (receivers pointed at the test), Prometheus
// with the shipped rules. Every server listens on 127.0.0.1 and lives in a temp dir.
import { createServer, type IncomingMessage } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { ruleFiles } from './promql.ts';
import { DEPLOY, freePort, httpOk, NODE, readYaml, ROOT, sleep, startServer, tempDir, tool, waitFor, type Server } from './tools.ts';

export interface Notification {
  receiver: string;
  /** Date.now() when the webhook arrived. */
  at: number;
  body: {
    status: string;
    receiver: string;
    groupLabels: Record<string, string>;
    commonLabels: Record<string, string>;
    alerts: { status: string; labels: Record<string, string>; startsAt: string }[];
  };
}

export interface WebhookReceiver {
  url: string;
  received: Notification[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) s += String(chunk);
  return s;
}

/** Receives Alertmanager's webhooks at /<receiver name>. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Notification[] = [];
  const srv = createServer(async (req, res) => {
    const text = await body(req);
    received.push({ receiver: (req.url ?? '/').slice(1), at: Date.now(), body: JSON.parse(text) as Notification['body'] });
    res.writeHead(200).end();
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const addr = srv.address();
  if (!addr || typeof addr !== 'object') throw new Error('webhook receiver has no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    received,
    close: () => new Promise<void>((ok) => srv.close(() => ok())),
  };
}

interface Route {
  receiver?: string;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: Route[];
  [k: string]: unknown;
}
interface AmConfig {
  route: Route;
  receivers: { name: string; webhook_configs?: { url: string; send_resolved?: boolean }[] }[];
  [k: string]: unknown;
}

export const shippedAlertmanagerConfig = (): AmConfig => readYaml<AmConfig>(join(DEPLOY, 'alertmanager', 'alertmanager.yml'));

/**
 * The shipped Alertmanager config with every receiver sent to the test's webhook, routes and
 * inhibitions untouched. `groupWait` (if given) replaces every group_wait, to keep a test short;
 * `urls` sends the named receivers elsewhere instead (e.g. slaprobe-record to a real agent).
 */
export function alertmanagerConfigForTest(webhookUrl: string, groupWait?: string, urls: Record<string, string> = {}): AmConfig {
  const cfg = shippedAlertmanagerConfig();
  cfg.receivers = cfg.receivers.map((r) => ({ name: r.name, webhook_configs: [{ url: urls[r.name] ?? `${webhookUrl}/${r.name}`, send_resolved: true }] }));
  const walk = (r: Route) => {
    if (groupWait !== undefined && r.group_wait !== undefined) r.group_wait = groupWait;
    r.routes?.forEach(walk);
  };
  if (groupWait !== undefined) cfg.route.group_wait = groupWait;
  walk(cfg.route);
  return cfg;
}

export interface Alertmanager extends Server {
  url: string;
}

export async function startAlertmanager(config: object): Promise<Alertmanager> {
  const dir = tempDir('alertmanager');
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const srv = startServer(tool('prometheus-alertmanager'), [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // No gossip: one instance, and no listener on 0.0.0.0.
    '--cluster.listen-address=',
  ]);
  await waitFor(`Alertmanager on ${url}\n${srv.output()}`, async () => ((await httpOk(`${url}/-/ready`)) ? true : undefined), 30_000);
  return { ...srv, stop: stopAndRemove(srv, dir), url };
}

export interface Prometheus extends Server {
  url: string;
  dir: string;
  query(expr: string): Promise<PromResult>;
}

export interface PromResult {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/**
 * Prometheus with the given prometheus.yml text; `files` are written beside it (rule files).
 */
export async function startPrometheus(configText: string, files: Record<string, string> = {}): Promise<Prometheus> {
  const dir = tempDir('prometheus');
  writeFileSync(join(dir, 'prometheus.yml'), configText);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const srv = startServer(tool('prometheus'), [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
  ], { cwd: dir });
  await waitFor(`Prometheus on ${url}\n${srv.output()}`, async () => ((await httpOk(`${url}/-/ready`)) ? true : undefined), 60_000);
  const query = async (expr: string): Promise<PromResult> => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(10_000) });
    return (await r.json()) as PromResult;
  };
  return { ...srv, stop: stopAndRemove(srv, dir), url, dir, query };
}

/** Posts alerts to Alertmanager's v2 API, as Prometheus would. */
export async function postAlerts(amUrl: string, alerts: { labels: Record<string, string>; annotations?: Record<string, string> }[]): Promise<void> {
  const r = await fetch(`${amUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts.map((a) => ({ ...a, startsAt: new Date().toISOString() }))),
  });
  if (!r.ok) throw new Error(`POST /api/v2/alerts: ${r.status} ${await r.text()}`);
}

export interface Agent extends Server {
  url: string;
  dir: string;
}

/** The real agent (src/cli.ts on the project's Node 24) with `config` (agent.listen and data_dir are set here). */
export async function startAgent(config: { agent: Record<string, unknown>; [k: string]: unknown }): Promise<Agent> {
  const dir = tempDir('agent');
  const port = await freePort();
  const full = { ...config, agent: { ...config.agent, listen: `127.0.0.1:${port}`, data_dir: join(dir, 'data') } };
  writeFileSync(join(dir, 'config.yaml'), stringify(full));
  const srv = startServer(NODE, [join(ROOT, 'src', 'cli.ts'), 'run', '--config', join(dir, 'config.yaml')]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`the agent's /readyz on ${url}`, async () => {
    if (srv.child.exitCode !== null) throw new Error(`agent exited ${srv.child.exitCode}:\n${srv.output()}`);
    return (await httpOk(`${url}/readyz`)) ? true : undefined;
  }, 60_000);
  return { ...srv, stop: stopAndRemove(srv, dir), url, dir };
}

/**
 * startAgent, for a test that needs its month clean: every target up from the first run.
 * Under load a target's first run can fail (its timeout passes while the machine is busy):
 * a real incident of the agent's start, before Prometheus first scrapes it, that a policy
 * counts in whole minutes of the period (HEDU-5.1: rounded once per period), so a later
 * outage moves `down_counted` only when the period's sum passes the next minute, and a
 * short one perhaps never. Such an agent is stopped (its store with it) and started again.
 */
export async function startCleanAgent(config: { agent: Record<string, unknown>; [k: string]: unknown }, attempts = 3): Promise<Agent> {
  for (let i = 1; ; i++) {
    const agent = await startAgent(config);
    // The first round is done (/readyz); one recomputation (1 s) puts it in the counters.
    await sleep(2_000);
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    const down = text.split('\n').filter((l) => l.startsWith('slaprobe_service_seconds_total{') && l.includes('state="down"') && Number(l.slice(l.lastIndexOf(' ') + 1)) > 0);
    if (down.length === 0) return agent;
    await agent.stop();
    const why = `a run failed at the agent's start (${down.join('; ')})`;
    if (i >= attempts) throw new Error(`${why}, in each of ${attempts} starts: is the machine overloaded?`);
    console.log(`${why}: starting it again, with a new store`);
  }
}

/** stop() that also removes the server's temp dir (config, TSDB, store). */
function stopAndRemove(srv: Server, dir: string): () => Promise<void> {
  return async () => {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * prometheus.yml for a test: the shipped scrape settings of the slaprobe job (honor_labels,
 * region label) pointed at one agent, with short intervals, and the rule files beside it.
 */
export function prometheusConfigForTest(o: { agent: string; region: string; alertmanager?: string; interval: string; ruleFiles: string[] }): string {
  const shipped = readYaml<{ scrape_configs: Record<string, unknown>[] }>(join(DEPLOY, 'prometheus', 'prometheus.yml'));
  const job = shipped.scrape_configs.find((j) => j.job_name === 'slaprobe')!;
  return stringify({
    global: { scrape_interval: o.interval, scrape_timeout: o.interval, evaluation_interval: o.interval },
    rule_files: o.ruleFiles,
    ...(o.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(o.alertmanager).host] }] }] } } : {}),
    scrape_configs: [
      {
        ...job,
        scrape_interval: o.interval,
        scrape_timeout: o.interval,
        static_configs: [{ targets: [new URL(o.agent).host], labels: { region: o.region } }],
      },
    ],
  });
}

/** The shipped rule files' text, by file name; `edit` may change a parsed file before it is written. */
export function shippedRuleFiles(edit?: (name: string, doc: { groups: { name: string; rules: Record<string, unknown>[] }[] }) => void): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ruleFiles()) {
    const name = basename(f);
    const doc = readYaml<{ groups: { name: string; rules: Record<string, unknown>[] }[] }>(f);
    edit?.(name, doc);
    out[name] = stringify(doc);
  }
  return out;
}
