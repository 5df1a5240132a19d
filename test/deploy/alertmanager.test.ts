// deploy/alertmanager: amtool accepts the config, the route tree sends each alert where the
// docs say, and a real Alertmanager applies the inhibitions.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRules } from './promql.ts';
import { alertmanagerConfigForTest, postAlerts, startAlertmanager, startWebhookReceiver, type Alertmanager, type WebhookReceiver } from './stack.ts';
import { DEPLOY, run, sleep, tool, waitFor } from './tools.ts';

const CONFIG = join(DEPLOY, 'alertmanager', 'alertmanager.yml');

function receiversFor(labels: Record<string, string>): string[] {
  const args = ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
  const r = run(tool('amtool'), args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split(',');
}

describe('deploy/alertmanager', () => {
  it('amtool check-config accepts it', () => {
    const r = run(tool('amtool'), ['check-config', CONFIG]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it.each([
    // An L1 outage reaches the status page (customers, HEDU-5.7) and on-call.
    [{ alertname: 'SlaprobeServiceDown', severity: 'page', level: 'L1', service: 'portal' }, ['slaprobe-record', 'status-page', 'oncall-pager']],
    // ... and the owning team instead of general on-call where one is routed.
    [{ alertname: 'SlaprobeServiceDown', severity: 'page', level: 'L1', service: 'meetings' }, ['slaprobe-record', 'status-page', 'meetings-oncall']],
    [{ alertname: 'SlaprobeErrorBudgetBurnFast', severity: 'page', service: 'portal', sla: 'hedu' }, ['slaprobe-record', 'oncall-pager']],
    [{ alertname: 'SlaprobeErrorBudgetBurnSlow', severity: 'ticket', service: 'portal', sla: 'hedu' }, ['slaprobe-record', 'tickets']],
    // Every notifying alert about a service is also delivered to the agent, for the record
    // (HEDU-5.7); one about no service (a target in none, the agent itself) is not.
    [{ alertname: 'SlaprobeQualityBreached', severity: 'warning', target: 'turn' }, ['ops-chat']],
    [{ alertname: 'SlaprobeQualityBreached', severity: 'warning', target: 'turn', service: 'portal' }, ['slaprobe-record', 'ops-chat']],
    [{ alertname: 'SlaprobeAgentDown', severity: 'warning', instance: 'a:9917' }, ['ops-chat']],
    [{ alertname: 'SlaprobeMaintenance', severity: 'none', service: 'portal' }, ['blackhole']],
    [{ alertname: 'Unrelated' }, ['ops-chat']],
  ])('routes %o to %o', (labels, receivers) => {
    expect(receiversFor(labels)).toEqual(receivers);
  });

  it('every slaprobe alert is routed by its severity, none falls to the default route by accident', () => {
    const bySeverity: Record<string, string> = { page: 'oncall-pager', ticket: 'tickets', warning: 'ops-chat', none: 'blackhole' };
    for (const a of allRules().filter((r) => r.alert)) {
      const severity = a.labels!.severity!;
      const got = receiversFor({ alertname: a.alert!, service: 'portal', ...a.labels });
      expect(got, a.alert).toContain(bySeverity[severity]);
    }
  });

  describe('a real Alertmanager with the shipped routes and inhibitions', () => {
    let hook: WebhookReceiver;
    let am: Alertmanager;
    beforeAll(async () => {
      hook = await startWebhookReceiver();
      am = await startAlertmanager(alertmanagerConfigForTest(hook.url, '1s'));
    });
    afterAll(async () => {
      await am?.stop();
      await hook?.close();
    });

    it('delivers what it should and inhibits the rest', async () => {
      const down = (region: string, service: string) => ({
        labels: { alertname: 'SlaprobeServiceDown', severity: 'page', level: 'L1', region, service },
      });
      await postAlerts(am.url, [
        // eu: meetings is down -> its burn page and its targets' quality warnings are inhibited;
        // the same target's warning for rooms (not down) goes out.
        down('eu', 'meetings'),
        { labels: { alertname: 'SlaprobeErrorBudgetBurnFast', severity: 'page', region: 'eu', service: 'meetings', sla: 'hedu' } },
        { labels: { alertname: 'SlaprobeQualityBreached', severity: 'warning', level: 'L2', region: 'eu', service: 'meetings', target: 'turn-eu', quantity: 'loss', window: '15m' } },
        { labels: { alertname: 'SlaprobeQualityBreached', severity: 'warning', level: 'L2', region: 'eu', service: 'rooms', target: 'turn-eu', quantity: 'loss', window: '15m' } },
        // ap: nothing is down, its quality warning goes out.
        { labels: { alertname: 'SlaprobeQualityBreached', severity: 'warning', level: 'L2', region: 'ap', target: 'turn-ap', quantity: 'loss', window: '15m' } },
        // us: portal is in maintenance -> its outage is silenced; rooms' is not.
        { labels: { alertname: 'SlaprobeMaintenance', severity: 'none', region: 'us', service: 'portal' } },
        down('us', 'portal'),
        down('us', 'rooms'),
        // fast burn inhibits the slow one for the same service and policy only.
        { labels: { alertname: 'SlaprobeErrorBudgetBurnFast', severity: 'page', region: 'ap', service: 'portal', sla: 'udesk' } },
        { labels: { alertname: 'SlaprobeErrorBudgetBurnSlow', severity: 'ticket', region: 'ap', service: 'portal', sla: 'udesk' } },
        { labels: { alertname: 'SlaprobeErrorBudgetBurnSlow', severity: 'ticket', region: 'ap', service: 'portal', sla: 'easymeeting' } },
      ]);
      const key = (n: (typeof hook.received)[number]) =>
        n.body.alerts
          .map((a) => `${n.receiver} ${a.labels.alertname} ${a.labels.region} ${a.labels.service ?? a.labels.target}${a.labels.sla ? ` ${a.labels.sla}` : ''}`)
          .join();
      const expected = [
        'blackhole SlaprobeMaintenance us portal',
        'meetings-oncall SlaprobeServiceDown eu meetings',
        'meetings-oncall SlaprobeServiceDown us rooms',
        'ops-chat SlaprobeQualityBreached ap turn-ap',
        'ops-chat SlaprobeQualityBreached eu rooms',
        'oncall-pager SlaprobeErrorBudgetBurnFast ap portal udesk',
        'status-page SlaprobeServiceDown eu meetings',
        'status-page SlaprobeServiceDown us rooms',
        'tickets SlaprobeErrorBudgetBurnSlow ap portal easymeeting',
        // What was delivered about a service also went to the agent's record; nothing inhibited.
        'slaprobe-record SlaprobeServiceDown eu meetings',
        'slaprobe-record SlaprobeServiceDown us rooms',
        'slaprobe-record SlaprobeQualityBreached eu rooms',
        'slaprobe-record SlaprobeErrorBudgetBurnFast ap portal udesk',
        'slaprobe-record SlaprobeErrorBudgetBurnSlow ap portal easymeeting',
      ];
      await waitFor('the expected notifications', async () => (hook.received.length >= expected.length ? true : undefined), 60_000);
      // Anything inhibited would have gone out with the same group_wait: give it time to show.
      await sleep(4_000);
      expect(hook.received.map(key).sort()).toEqual(expected.sort());
    });
  });
});
