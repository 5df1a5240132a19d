// The live SLA chain, end to end, as it runs: the real agent probes local HTTP servers; a real
// Prometheus loads the SHIPPED rule files unchanged (only its scrape and evaluation intervals
// are scaled, to 1 s); a real Alertmanager with the shipped routes sends every receiver to
// this test's webhook, except slaprobe-record, which goes to the agent itself
// (POST /-/alertmanager/webhook). Policies are scaled instead of the rules: UDESK with a
// 20-second minimum outage in place of 5 minutes, HEDU as shipped (no minimum).
//
//   meet  [udesk 20s, hedu]  down for longer than 20 s: the fast burn of EACH policy reaches
//                            the webhook before the target comes back (HEDU within seconds,
//                            UDESK once the outage reaches 20 s and counts whole), and the
//                            slow burn fires in Prometheus meanwhile;
//   rooms [udesk 20s, hedu]  down 8 s: HEDU counts it and pages, UDESK does not count it and
//                            never burns;
//   lab   [udesk 20s]        the same 8 s: no burn alert at all, and the report says the
//                            incident was not notified.
// Then `slaprobe report` shows meet's incident notified through the real Alertmanager, and an
// exclusion recorded over meet's outage moves slaprobe_availability_ratio back to 1 in
// Prometheus while the counters stay where they were. The measured delays are logged (they
// are quoted in docs/deploy.md); nothing asserts a wall-clock bound.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { WEBHOOK_PATH } from '../../src/server.ts';
import {
  alertmanagerConfigForTest, prometheusConfigForTest, shippedRuleFiles, startAlertmanager, startCleanAgent, startPrometheus,
  startWebhookReceiver, type Agent, type Alertmanager, type Notification, type Prometheus, type WebhookReceiver,
} from './stack.ts';
import { NODE, ROOT, sleep, waitFor } from './tools.ts';

const exec = promisify(execFile);

const MIN_OUTAGE_S = 20;
const SHORT_OUTAGE_S = 8;
const UDESK = { preset: 'udesk', min_outage: `${MIN_OUTAGE_S}s` };

/** A local HTTP server whose answer the test flips between 200 and 503. */
async function flippable(): Promise<{ server: HttpServer; port: number; fail(on: boolean): void }> {
  let failing = false;
  const server = createServer((_req, res) => {
    res.statusCode = failing ? 503 : 200;
    res.end(failing ? 'down\n' : 'ok\n');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, port: (server.address() as { port: number }).port, fail: (on) => { failing = on; } };
}

const burn = (service: string, sla: string, alertname = 'SlaprobeErrorBudgetBurnFast') => (n: Notification) =>
  n.body.status === 'firing' && n.body.alerts.some((a) => a.status === 'firing' && a.labels.alertname === alertname && a.labels.service === service && a.labels.sla === sla);

describe('the live SLA chain: agent -> shipped rules -> Alertmanager -> webhook and the agent\'s record', () => {
  let meetWeb: Awaited<ReturnType<typeof flippable>>;
  let roomsWeb: Awaited<ReturnType<typeof flippable>>;
  let hook: WebhookReceiver;
  let agent: Agent;
  let am: Alertmanager;
  let prom: Prometheus;
  const config = () => join(agent.dir, 'config.yaml');
  const cli = async (...args: string[]) => {
    try {
      const r = await exec(NODE, [join(ROOT, 'src', 'cli.ts'), ...args, '--config', config()], { cwd: ROOT, timeout: 60_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: x.code ?? -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
    }
  };
  const values = async (expr: string): Promise<Record<string, number>> => {
    const r = await prom.query(expr);
    if (r.status !== 'success') throw new Error(`${expr}: ${r.error}`);
    return Object.fromEntries(r.data!.result.map((x) => [`${x.metric.service}/${x.metric.sla}`, Number(x.value[1])]));
  };

  /**
   * Writes the series the rules read, as Prometheus scraped them from the agent over
   * [from, to), as promtool input_series (1 s apart, "_" where a scrape is missing): the
   * source of deploy/prometheus/tests/captured.test.yml.
   */
  const capture = async (file: string, from: number, to: number) => {
    const q = 'slaprobe_service_seconds_total{service="meet"} or slaprobe_service_up{service="meet"}';
    const r = await fetch(`${prom.url}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${from / 1000}&end=${to / 1000}&step=1`);
    const body = (await r.json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
    const steps = Math.floor((to - from) / 1000);
    const input_series = body.data.result.map((x) => {
      const at = new Map(x.values.map(([t, v]) => [Math.round(t - from / 1000), v]));
      const { __name__: name, ...labels } = x.metric;
      return {
        series: `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}="${v}"`).join(',')}}`,
        values: Array.from({ length: steps + 1 }, (_, i) => at.get(i) ?? '_').join(' '),
      };
    }).sort((a, b) => a.series.localeCompare(b.series));
    writeFileSync(file, stringify({ captured_from: new Date(from).toISOString(), outage_starts_at_s: Math.round((t0Capture - from) / 1000), input_series }, { lineWidth: 0 }));
  };
  let t0Capture = 0;

  beforeAll(async () => {
    meetWeb = await flippable();
    roomsWeb = await flippable();
    hook = await startWebhookReceiver();
    agent = await startCleanAgent({
      agent: { region: 'e2e', log_level: 'warn' },
      targets: [
        { name: 'meet-web', kind: 'http', url: `http://127.0.0.1:${meetWeb.port}/`, interval: '1s', timeout: '500ms' },
        { name: 'rooms-web', kind: 'http', url: `http://127.0.0.1:${roomsWeb.port}/`, interval: '1s', timeout: '500ms' },
      ],
      services: [
        { name: 'meet', targets: ['meet-web'], sla: [UDESK, 'hedu'] },
        { name: 'rooms', targets: ['rooms-web'], sla: [UDESK, 'hedu'] },
        { name: 'lab', targets: ['rooms-web'], sla: [UDESK] },
      ],
    });
    am = await startAlertmanager(alertmanagerConfigForTest(hook.url, '1s', { 'slaprobe-record': `${agent.url}${WEBHOOK_PATH}` }));
    const rules = shippedRuleFiles();
    prom = await startPrometheus(
      prometheusConfigForTest({ agent: agent.url, region: 'e2e', alertmanager: am.url, interval: '1s', ruleFiles: Object.keys(rules) }),
      rules,
    );
  }, 180_000);

  afterAll(async () => {
    await prom?.stop();
    await am?.stop();
    await agent?.stop();
    await hook?.close();
    for (const w of [meetWeb, roomsWeb]) {
      w?.server.closeAllConnections();
      await new Promise<void>((ok) => (w?.server.listening ? w.server.close(() => ok()) : ok()));
    }
  });

  it('pages per policy during the outage, never for an outage under the minimum, puts the notification in the report, and takes an exclusion back', async () => {
    // Every (service, policy) has a burn rate from the first scrapes, 0 while all is up.
    await waitFor('a burn rate of 0 for every service and policy', async () => {
      const b = await values('slo:burn_rate:ratio_rate5m{region="e2e"}');
      return Object.keys(b).length === 5 && Object.values(b).every((x) => x === 0) ? b : undefined;
    }, 90_000, 1_000);
    expect(hook.received.filter((n) => n.body.alerts.some((a) => /Burn/.test(a.labels.alertname ?? '')))).toEqual([]);

    // Both outages start together; rooms (and lab) come back after 8 s.
    const t0 = Date.now();
    t0Capture = t0;
    meetWeb.fail(true);
    roomsWeb.fail(true);
    const shortOutage = sleep(SHORT_OUTAGE_S * 1000).then(() => { roomsWeb.fail(false); return Date.now(); });

    // meet stays down until the fast burn of each of its policies has reached the webhook.
    const hedu = await waitFor('meet\'s HEDU fast-burn page', async () => hook.received.find(burn('meet', 'hedu')), 100_000, 200);
    const udesk = await waitFor('meet\'s UDESK fast-burn page', async () => hook.received.find(burn('meet', 'udesk')), 100_000, 200);
    // The slow burn fires too while the outage lasts (in Prometheus; Alertmanager inhibits it under the fast one).
    await waitFor('meet\'s slow burn firing for both policies', async () => {
      const a = await values('ALERTS{alertname="SlaprobeErrorBudgetBurnSlow",alertstate="firing",region="e2e",service="meet"}');
      return a['meet/hedu'] === 1 && a['meet/udesk'] === 1 ? true : undefined;
    }, 30_000, 200);
    const tBack = Date.now();
    meetWeb.fail(false);
    const shortBack = await shortOutage;

    // Before the target came back, and UDESK's not before its outage could count.
    expect(hedu.at).toBeLessThan(tBack);
    expect(udesk.at).toBeLessThan(tBack);
    expect(udesk.at - t0).toBeGreaterThanOrEqual(MIN_OUTAGE_S * 1000);
    // The agent's own record has them, from the same Alertmanager.
    console.log(`e2e chain: HEDU fast burn at +${((hedu.at - t0) / 1000).toFixed(1)} s, UDESK (min_outage ${MIN_OUTAGE_S} s) at +${((udesk.at - t0) / 1000).toFixed(1)} s, target back at +${((tBack - t0) / 1000).toFixed(1)} s`);

    // The short outage: counted under HEDU (it pages), never under UDESK (20 s minimum).
    const roomsHedu = await waitFor('rooms\' HEDU fast-burn page', async () => hook.received.find(burn('rooms', 'hedu')), 30_000, 200).catch(async (e: Error) => {
      // Seen once in CI (2026-12-01); a failed first run of the agent does this (an 8 s outage
      // fits in the minute it counted), which startCleanAgent now rules out. Say what the chain held.
      const alerts = await prom.query('ALERTS{region="e2e",service="rooms"}').then((r) => r.data?.result.map((x) => `${x.metric.alertname}/${x.metric.sla}/${x.metric.alertstate}`), () => []);
      const burn5m = await values('slo:burn_rate:ratio_rate5m{region="e2e",service="rooms"}').catch(() => ({}));
      const burn1h = await values('slo:burn_rate:ratio_rate1h{region="e2e",service="rooms"}').catch(() => ({}));
      const got = hook.received.map((n) => `${n.body.status}: ${n.body.alerts.map((a) => `${a.labels.alertname}/${a.labels.service}/${a.labels.sla}/${a.status}`).join(',')}`);
      throw new Error(`${e.message}; ALERTS ${JSON.stringify(alerts)}, burn 5m ${JSON.stringify(burn5m)}, 1h ${JSON.stringify(burn1h)}; webhook got ${JSON.stringify(got)}`);
    });
    expect(roomsHedu.at).toBeGreaterThan(t0);
    // Give a counted 20 s outage every chance to show: the minimum plus the chain, after the end.
    await sleep(Math.max(0, shortBack + (MIN_OUTAGE_S + 10) * 1000 - Date.now()));
    const counted = await values('slaprobe_service_seconds_total{region="e2e",state="down_counted"}');
    expect(counted['rooms/udesk']).toBe(0);
    expect(counted['lab/udesk']).toBe(0);
    expect(counted['rooms/hedu']).toBeGreaterThan(0);
    expect(counted['meet/udesk']).toBeGreaterThan(0);
    const everBurning = await values('max_over_time(ALERTS{alertname=~"SlaprobeErrorBudgetBurn.*",region="e2e"}[10m])');
    expect(Object.keys(everBurning).filter((k) => k.startsWith('rooms/udesk') || k.startsWith('lab/'))).toEqual([]);
    expect(hook.received.filter((n) => n.body.alerts.some((a) => /Burn/.test(a.labels.alertname ?? '') && (a.labels.service === 'lab' || (a.labels.service === 'rooms' && a.labels.sla === 'udesk'))))).toEqual([]);

    // (Scraped samples only: a range query past the last scrape would repeat it.)
    if (process.env['SLAPROBE_CAPTURE_SERIES']) await capture(process.env['SLAPROBE_CAPTURE_SERIES'], t0 - 20_000, Date.now() - 2_000);

    // The report: meet's incident was notified (through the real Alertmanager, to the agent),
    // within HEDU's 15 minutes; lab's was not notified at all.
    const rep = await cli('report', '--format', 'json');
    expect(rep.stderr).toBe('');
    type Inc = { level: string; start: string; notified_at: string | null; notify_ms: number | null; notify_met: boolean | null };
    const reports = (JSON.parse(rep.stdout) as { reports: { service: string; sla: string; incidents: Inc[] }[] }).reports;
    // The incidents of the outages: a run that failed before them (a timeout on a loaded
    // machine) would be an incident of its own, whose notice window ends where the outage's
    // begins. Such a one is shown, not hidden, and the outage's own incident is the one checked.
    const incidentsOf = (service: string, sla: string) => {
      const all = reports.find((r) => r.service === service && r.sla === sla)!.incidents;
      const before = all.filter((i) => Date.parse(i.start) < t0 - 1_000);
      if (before.length > 0) console.log(`e2e chain: ${service}/${sla} had incidents before the outage: ${JSON.stringify(before)}`);
      return all.filter((i) => Date.parse(i.start) >= t0 - 1_000);
    };
    const meetHedu = incidentsOf('meet', 'hedu');
    const [meetL1] = meetHedu;
    expect(meetL1, `meet/hedu incidents ${JSON.stringify(meetHedu)}; the agent said:\n${agent.output().slice(-4_000)}\nAlertmanager said:\n${am.output().slice(-4_000)}`).toMatchObject({ level: 'L1', notify_met: true });
    expect(meetL1!.notify_ms).toBeGreaterThan(0);
    // The first notification of the incident is the first one the agent received, which is
    // the HEDU page's (or an earlier one of the same flush).
    expect(Date.parse(meetL1!.notified_at!)).toBeLessThanOrEqual(hedu.at + 2000);
    expect(incidentsOf('meet', 'udesk')[0]).toMatchObject({ level: 'L1', notified_at: meetL1!.notified_at, notify_met: null });
    expect(incidentsOf('lab', 'udesk')).toEqual([expect.objectContaining({ level: 'L1', notified_at: null })]);
    const table = await cli('report', '--service', 'lab');
    expect(table.stdout).toContain('not notified');
    console.log(`e2e chain: meet's incident notified +${(meetL1!.notify_ms! / 1000).toFixed(1)} s after its start (report, HEDU notify_within 15m: met)`);

    // An exclusion over meet's past outage: the availability gauges move back to 1 in
    // Prometheus; the monotonic counter does not move back.
    const before = await values('slaprobe_availability_ratio{region="e2e",service="meet"}');
    expect(before['meet/udesk']).toBeLessThan(1);
    expect(before['meet/hedu']).toBeLessThan(1);
    const countedBefore = (await values('slaprobe_service_seconds_total{region="e2e",service="meet",state="down_counted"}'));
    const iso = (t: number) => new Date(t).toISOString();
    const ex = await cli('exclude', '--service', 'meet', '--from', iso(t0 - 5_000), '--to', iso(tBack + 5_000), '--reason', 'e2e: carrier fault');
    const tExcluded = Date.now();
    expect(ex.code, ex.stderr).toBe(0);
    const after = await waitFor('availability of meet back to 1 in Prometheus', async () => {
      const a = await values('slaprobe_availability_ratio{region="e2e",service="meet"}');
      return a['meet/udesk'] === 1 && a['meet/hedu'] === 1 ? a : undefined;
    }, 30_000, 500);
    expect(after).toEqual({ 'meet/udesk': 1, 'meet/hedu': 1 });
    console.log(`e2e chain: availability back to 1 in Prometheus ${((Date.now() - tExcluded) / 1000).toFixed(1)} s after slaprobe exclude returned`);
    expect(await values('slaprobe_period_unavailable_seconds{region="e2e",service="meet"}')).toEqual({ 'meet/udesk': 0, 'meet/hedu': 0 });
    expect(await values('slaprobe_service_seconds_total{region="e2e",service="meet",state="down_counted"}')).toEqual(countedBefore);
  }, 360_000);
});
