// The receiving end of Alertmanager's webhook: the parser (every rejected payload with the
// message that names what is wrong), the agent's HTTP route on a real socket, and the store.
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, parseWebhook } from '../../src/alertmanager/webhook.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createAgentServer, listen, WEBHOOK_PATH } from '../../src/server.ts';
import { openStore, type Store } from '../../src/store/index.ts';

const AT = Date.UTC(2026, 10, 10, 8, 0, 0);

/** An Alertmanager v4 payload as its webhook notifier writes it. */
const payload = (alerts: unknown[], over: Record<string, unknown> = {}) => JSON.stringify({
  version: '4', groupKey: '{}:{alertname="SlaprobeErrorBudgetBurnFast"}', truncatedAlerts: 0, status: 'firing',
  receiver: 'slaprobe-record', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://127.0.0.1:9093',
  alerts, ...over,
});
const alert = (labels: Record<string, string>, status = 'firing') => ({
  status, labels, annotations: {}, startsAt: '2026-11-10T07:59:30.000Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'f00d',
});

describe('parseWebhook', () => {
  it('keeps every alert that names a service, and counts the others', () => {
    const r = parseWebhook(payload([
      alert({ alertname: 'SlaprobeErrorBudgetBurnFast', service: 'meet', sla: 'hedu', severity: 'page', region: 'eu' }),
      alert({ alertname: 'SlaprobeServiceDown', service: 'meet', level: 'L1', severity: 'page', region: 'eu' }, 'resolved'),
      alert({ alertname: 'SlaprobeAgentDown', severity: 'warning', instance: 'a:9917' }),
    ]), AT);
    expect(r).toEqual({
      ok: true, ignored: 1,
      records: [
        { at: AT, receiver: 'slaprobe-record', status: 'firing', alertname: 'SlaprobeErrorBudgetBurnFast', service: 'meet', sla: 'hedu', level: null, severity: 'page', region: 'eu', starts_at: Date.UTC(2026, 10, 10, 7, 59, 30), fingerprint: 'f00d' },
        { at: AT, receiver: 'slaprobe-record', status: 'resolved', alertname: 'SlaprobeServiceDown', service: 'meet', sla: null, level: 'L1', severity: 'page', region: 'eu', starts_at: Date.UTC(2026, 10, 10, 7, 59, 30), fingerprint: 'f00d' },
      ],
    });
  });

  it.each([
    ['{"version": "4",', 'the body is not JSON'],
    ['[1, 2]', 'expected the JSON object of an Alertmanager webhook notification'],
    [payload([], { version: '3' }), 'payload version "3" is not supported'],
    [payload([], { receiver: 7 }), 'receiver: expected the name of the Alertmanager receiver'],
    [payload([], { alerts: {} }), 'alerts: expected a list of alerts'],
    [payload(['x']), 'alerts[0]: expected an alert object'],
    [payload([{ ...alert({ alertname: 'A', service: 's' }), status: 'pending' }]), 'alerts[0].status: expected firing or resolved, got "pending"'],
    [payload([{ ...alert({ alertname: 'A' }), labels: { alertname: 'A', service: 3 } }]), 'alerts[0].labels: expected a mapping of label names to strings'],
    [payload([alert({ service: 's' })]), 'alerts[0].labels.alertname: missing'],
    [payload(Array.from({ length: 10_001 }, () => alert({ alertname: 'A', service: 's' }))), 'more than 10000'],
  ])('rejects %s', (body, message) => {
    const r = parseWebhook(body, AT);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(message);
  });
});

describe('POST /-/alertmanager/webhook on a real socket, into a real store', () => {
  let store: Store;
  let base: string;
  const server = (() => {
    const m = createMetrics({ region: 'eu', version: 't', defaultMetrics: false });
    return createAgentServer({
      registry: () => m.registry, ready: () => true, reload: async () => ({ ok: true, messages: [] }),
      webhook: (text) => {
        const r = parseWebhook(text, AT);
        if (!r.ok) return { status: 400, text: r.error };
        store.recordNotifications(r.records);
        return { status: 200, text: `stored ${r.records.length}` };
      },
    });
  })();

  beforeAll(async () => {
    store = openStore(mkdtempSync(join(tmpdir(), 'slaprobe-webhook-')));
    const a: AddressInfo = await listen(server, '127.0.0.1:0');
    base = `http://127.0.0.1:${a.port}${WEBHOOK_PATH}`;
  });
  afterAll(async () => {
    await new Promise<void>((ok) => { server.close(() => ok()); server.closeAllConnections(); });
    store.close();
  });

  it('stores a notification; the service\'s notifications read back in order', async () => {
    const r = await fetch(base, { method: 'POST', body: payload([alert({ alertname: 'SlaprobeServiceDown', service: 'meet', severity: 'page' })]) });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('stored 1\n');
    expect(store.notifications('meet', AT, AT + 1).map((n) => [n.alertname, n.status, n.at])).toEqual([['SlaprobeServiceDown', 'firing', AT]]);
    expect(store.notifications('meet', AT + 1, AT + 2)).toEqual([]);
    expect(store.notifications('rooms', 0, AT + 1)).toEqual([]);
  });

  it('answers 400 with the reason for a bad payload, 405 for GET, 413 for an oversized body', async () => {
    const bad = await fetch(base, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('payload version undefined is not supported');
    expect((await fetch(base)).status).toBe(405);
    const big = await fetch(base, { method: 'POST', body: 'x'.repeat(MAX_BODY_BYTES + 1) }).catch((e: unknown) => e);
    // The server answers 413 and closes; the client may see the answer or the closed socket.
    if (big instanceof Response) expect(big.status).toBe(413);
    else expect(big).toBeInstanceOf(Error);
  });
});
