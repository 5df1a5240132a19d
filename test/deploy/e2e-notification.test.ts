// The 15-minute notification chain (HEDU-5.7 / UMEET-5.7), end to end: the real agent probes
// a local HTTP server; a real Prometheus with the shipped rules scrapes it; a real
// Alertmanager with the shipped routes sends to this test's webhook. The test stops the HTTP
// server and measures the seconds until the L1 notification arrives, then checks them against
// the chain's arithmetic (never a bare wall-clock bound). Intervals are short; the chain is
// the shipped one. docs/deploy.md "The 15-minute notification chain" gives the shipped values,
// which the last test recomputes from the shipped files.
import { createServer, type Server as HttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TARGET_DEFAULTS } from '../../src/config/defaults.ts';
import { allRules } from './promql.ts';
import {
  alertmanagerConfigForTest, prometheusConfigForTest, shippedAlertmanagerConfig, shippedRuleFiles,
  startAgent, startAlertmanager, startPrometheus, startWebhookReceiver,
  type Agent, type Alertmanager, type Notification, type Prometheus, type WebhookReceiver,
} from './stack.ts';
import { DEPLOY, readYaml, sleep, waitFor } from './tools.ts';

// The test's chain, seconds. Only these differ from the shipped defaults.
const PROBE_INTERVAL = 1;
const PROBE_TIMEOUT = 0.5;
const FAILURES_NEEDED = 1; // the agent's downtime window starts with the first failed run
const SCRAPE = 1;
const EVAL = 1;
const FOR = 5;
const GROUP_WAIT = 2;
// Process scheduling, Prometheus' notifier queue, Alertmanager's dispatch and the webhook
// round trip on a loaded 2-core machine: generous, and still far below any `for:`.
const SLACK = 10;

const seconds = (d: string): number => {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`unexpected duration ${d}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
};

describe('the notification chain, end to end', () => {
  let web: HttpServer;
  let hook: WebhookReceiver;
  let am: Alertmanager;
  let agent: Agent;
  let prom: Prometheus;

  beforeAll(async () => {
    web = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((ok) => web.listen(0, '127.0.0.1', ok));
    const webPort = (web.address() as { port: number }).port;

    hook = await startWebhookReceiver();
    am = await startAlertmanager(alertmanagerConfigForTest(hook.url, `${GROUP_WAIT}s`));
    agent = await startAgent({
      agent: { region: 'e2e', log_level: 'warn' },
      targets: [{ name: 'portal-web', kind: 'http', url: `http://127.0.0.1:${webPort}/`, interval: `${PROBE_INTERVAL}s`, timeout: `${PROBE_TIMEOUT * 1000}ms` }],
      services: [{ name: 'portal', targets: ['portal-web'], rule: 'all', sla: ['udesk'] }],
    });
    // The shipped rules, but SlaprobeServiceDown's `for:` shortened: its expression untouched.
    const rules = shippedRuleFiles((_name, doc) => {
      for (const g of doc.groups) for (const r of g.rules) if (r.alert === 'SlaprobeServiceDown') r.for = `${FOR}s`;
    });
    prom = await startPrometheus(
      prometheusConfigForTest({ agent: agent.url, region: 'e2e', alertmanager: am.url, interval: `${SCRAPE}s`, ruleFiles: Object.keys(rules) }),
      rules,
    );
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await agent?.stop();
    await am?.stop();
    await hook?.close();
    web?.closeAllConnections();
    await new Promise<void>((ok) => (web?.listening ? web.close(() => ok()) : ok()));
  });

  it(`notifies the status page and on-call of an L1 outage within probe + scrape + eval + for + group_wait`, async () => {
    // The service is seen up first, and nothing has been sent.
    await waitFor('Prometheus to see portal up', async () => {
      const r = await prom.query('slaprobe_service_up{service="portal",region="e2e"} == 1');
      return r.data?.result.length === 1 ? true : undefined;
    }, 60_000);
    await sleep((FOR + GROUP_WAIT) * 1000);
    expect(hook.received.filter((n) => n.body.commonLabels.alertname === 'SlaprobeServiceDown')).toEqual([]);

    const t0 = Date.now();
    web.closeAllConnections();
    await new Promise<void>((ok) => web.close(() => ok()));

    const l1 = (receiver: string) => (n: Notification) =>
      n.receiver === receiver && n.body.status === 'firing' && n.body.alerts.some((a) => a.labels.alertname === 'SlaprobeServiceDown');
    const statusPage = await waitFor('the status-page notification', async () => hook.received.find(l1('status-page')), 120_000);
    const oncall = await waitFor('the on-call notification', async () => hook.received.find(l1('oncall-pager')), 30_000);

    const alert = statusPage.body.alerts.find((a) => a.labels.alertname === 'SlaprobeServiceDown')!;
    expect(alert.labels).toMatchObject({ severity: 'page', level: 'L1', region: 'e2e', service: 'portal' });

    const delay = (statusPage.at - t0) / 1000;
    const lower = FOR + GROUP_WAIT;
    const upper = PROBE_INTERVAL * FAILURES_NEEDED + PROBE_TIMEOUT + SCRAPE + EVAL + FOR + EVAL + GROUP_WAIT + SLACK;
    console.log(`notification chain: ${delay.toFixed(2)} s (bounds ${lower} .. ${upper} s)`);
    // Not before `for:` and group_wait: both were applied.
    expect(delay).toBeGreaterThanOrEqual(lower - 0.5);
    expect(delay).toBeLessThanOrEqual(upper);
    // Both receivers of the L1 route get it from the same flush.
    expect(Math.abs(oncall.at - statusPage.at)).toBeLessThan(GROUP_WAIT * 1000);
  }, 240_000);

  it('with the shipped defaults the chain takes at most 3 min 35 s, well inside 15 minutes', () => {
    const prometheus = readYaml<{ global: { scrape_interval: string; evaluation_interval: string }; scrape_configs: { job_name: string; scrape_interval?: string }[] }>(
      join(DEPLOY, 'prometheus', 'prometheus.yml'),
    );
    const job = prometheus.scrape_configs.find((j) => j.job_name === 'slaprobe')!;
    const scrape = seconds(job.scrape_interval ?? prometheus.global.scrape_interval);
    const evaluation = seconds(prometheus.global.evaluation_interval);
    const rule = allRules().find((r) => r.alert === 'SlaprobeServiceDown')!;
    const am = shippedAlertmanagerConfig();
    const page = am.route.routes!.find((r) => JSON.stringify(r['matchers']).includes('severity=\\"page\\"'))!;
    const groupWait = seconds(page.group_wait ?? am.route.group_wait!);
    const chain = TARGET_DEFAULTS.interval / 1000 * FAILURES_NEEDED + TARGET_DEFAULTS.timeout / 1000 + scrape + evaluation + seconds(rule.for!) + groupWait;
    expect(chain).toBe(215);
    expect(chain).toBeLessThan(15 * 60 / 3);
    // The documented table says the same.
    expect(readFileSync(join(DEPLOY, '..', 'docs', 'deploy.md'), 'utf8')).toContain('| **total** | | **3 min 35 s** |');
  });
});
