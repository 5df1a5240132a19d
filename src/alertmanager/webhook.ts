// The receiving end of Alertmanager's webhook (webhook_config, payload version 4): which
// alert of which service was delivered, and when. The agent stores these so `slaprobe report`
// can show, per incident, the time from its start to the first notification (HEDU-5.7 /
// UMEET-5.7: within 15 minutes). Pure: the caller supplies the arrival time.
import type { NotificationRecord } from '../store/index.ts';

/** Alertmanager batches at most a group's alerts; far more than this is not Alertmanager. */
export const MAX_ALERTS = 10_000;
/** The request body limit of the route, bytes. */
export const MAX_BODY_BYTES = 1 << 20;

export type WebhookResult =
  | { ok: true; records: NotificationRecord[]; ignored: number }
  | { ok: false; error: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The alerts of one webhook body as rows to store. An alert without a `service` label (agent
 * or certificate alerts) is about no incident: it is counted in `ignored`, not stored.
 */
export function parseWebhook(text: string, receivedAt: number): WebhookResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `the body is not JSON (${(e as Error).message}); point an Alertmanager webhook_config at this URL` };
  }
  if (!isObj(body)) return { ok: false, error: 'expected the JSON object of an Alertmanager webhook notification' };
  if (body['version'] !== '4') {
    return { ok: false, error: `payload version ${JSON.stringify(body['version'])} is not supported; slaprobe reads Alertmanager's webhook version "4"` };
  }
  const receiver = body['receiver'];
  if (typeof receiver !== 'string' || receiver === '') return { ok: false, error: 'receiver: expected the name of the Alertmanager receiver (a string)' };
  const alerts = body['alerts'];
  if (!Array.isArray(alerts)) return { ok: false, error: 'alerts: expected a list of alerts' };
  if (alerts.length > MAX_ALERTS) return { ok: false, error: `alerts: ${alerts.length} alerts in one notification, more than ${MAX_ALERTS}; this is not an Alertmanager notification` };
  const records: NotificationRecord[] = [];
  let ignored = 0;
  for (const [i, a] of alerts.entries()) {
    if (!isObj(a)) return { ok: false, error: `alerts[${i}]: expected an alert object` };
    const status = a['status'];
    if (status !== 'firing' && status !== 'resolved') return { ok: false, error: `alerts[${i}].status: expected firing or resolved, got ${JSON.stringify(status)}` };
    const labels = a['labels'];
    if (!isObj(labels) || !Object.values(labels).every((v) => typeof v === 'string')) return { ok: false, error: `alerts[${i}].labels: expected a mapping of label names to strings` };
    const l = labels as Record<string, string>;
    if (!l['alertname']) return { ok: false, error: `alerts[${i}].labels.alertname: missing; every Prometheus alert has one` };
    if (!l['service']) {
      ignored++;
      continue;
    }
    const startsAt = typeof a['startsAt'] === 'string' ? Date.parse(a['startsAt']) : NaN;
    records.push({
      at: receivedAt, receiver, status, alertname: l['alertname'], service: l['service'],
      sla: l['sla'] ?? null, level: l['level'] ?? null, severity: l['severity'] ?? null, region: l['region'] ?? null,
      starts_at: Number.isFinite(startsAt) ? startsAt : null,
      fingerprint: typeof a['fingerprint'] === 'string' ? a['fingerprint'] : null,
    });
  }
  return { ok: true, records, ignored };
}
