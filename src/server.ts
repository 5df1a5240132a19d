// The agent's HTTP endpoints: /metrics, /healthz and /-/healthy (alive), /readyz and /-/ready
// (config loaded, first round of probes done, reflector listening, store writable), POST
// /-/reload (with --web.enable-lifecycle), GET /status, POST /-/alertmanager/webhook
// (notifications on the record); TLS and basic auth from --web.config.file.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { isLean } from './metric-family.ts';
import { http } from './node-http.ts';
import type { ReloadOutcome } from './reload.ts';
import { type WebConfig, createAuthorizer, httpsOptions } from './web.ts';
import { renderStatus } from './status/html.ts';
import { type StatusModel, statusJson } from './status/model.ts';
import { MAX_BODY_BYTES } from './alertmanager/webhook.ts';

/** Where Alertmanager delivers notifications to the agent (deploy/alertmanager/alertmanager.yml). */
export const WEBHOOK_PATH = '/-/alertmanager/webhook';

export interface ServerDeps {
  registry: () => Registry;
  ready: () => boolean;
  /** Why the agent is not ready (the 503 body); default: the first round is not finished. */
  readyDetail?: () => string;
  /** POST /-/reload; 'too-soon' answers 429. Only served with `lifecycle`. */
  reload: () => Promise<ReloadOutcome> | 'too-soon';
  /** --web.enable-lifecycle: POST /-/reload is served (SIGHUP always reloads). */
  lifecycle?: boolean;
  /** --web.config.file: TLS and basic auth for every endpoint, as in force now (it is re-read when its files change). */
  web?: () => WebConfig;
  /** The status page's data as of now (GET /status, /status.json). */
  status?: () => StatusModel;
  /** Takes an Alertmanager webhook body; answers with the HTTP status and text to send. */
  webhook?: (body: string) => { status: number; text: string };
}

/** The body of a webhook request, at most `limit` bytes; undefined when over it. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createAgentServer(deps: ServerDeps): Server {
  const authorize = deps.web ? createAuthorizer(deps.web) : undefined;
  const tls = deps.web?.().tls;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    (async () => {
      if (authorize) {
        const a = await authorize(req);
        if (a !== 'ok') return send(res, a.status, `${a.reason}\n`, a.status === 401 ? { 'www-authenticate': 'Basic realm="slaprobe", charset="UTF-8"' } : {});
      }
      return handle(deps, req, res);
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${(e as Error).message}\n`);
      else res.destroy();
    });
  };
  return tls ? createHttpsServer(httpsOptions(tls), onRequest) : http.createServer(onRequest);
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics': {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'use GET\n', { allow: 'GET, HEAD' });
      return sendMetrics(deps.registry(), res);
    }
    // /-/healthy and /-/ready are Prometheus's names for the same two checks.
    case '/healthz':
    case '/-/healthy':
      return send(res, 200, 'ok\n');
    case '/readyz':
    case '/-/ready':
      return deps.ready() ? send(res, 200, 'ready\n') : send(res, 503, `not ready: ${deps.readyDetail?.() ?? 'first round of probes not finished'}\n`);
    case '/-/reload': {
      if (req.method !== 'POST' && req.method !== 'PUT') return send(res, 405, 'use POST to reload the configuration\n', { allow: 'POST, PUT' });
      req.resume();
      if (!deps.lifecycle) return send(res, 403, 'lifecycle API is not enabled: start slaprobe run with --web.enable-lifecycle, or send SIGHUP to reload\n');
      const p = deps.reload();
      if (p === 'too-soon') return send(res, 429, 'a reload ran or is queued within the last second; try again shortly\n', { 'retry-after': '1' });
      const r = await p;
      // The errors go to the agent's log only: they name files and values the caller of an
      // HTTP endpoint has no business reading.
      return send(res, r.ok ? 200 : 400, r.ok ? 'reloaded\n' : 'config rejected; the running config is unchanged; the errors are in the agent\'s log (or run slaprobe check-config)\n');
    }
    case '/status':
    case '/status.json': {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'use GET\n', { allow: 'GET, HEAD' });
      if (!deps.status) return send(res, 404, 'no status page on this server\n');
      const m = deps.status();
      // The live page reloads itself once a minute; with JavaScript off it still does.
      return path === '/status'
        ? send(res, 200, renderStatus(m, { refresh: 60 }), { 'content-type': 'text/html; charset=utf-8' })
        : send(res, 200, `${JSON.stringify(statusJson(m), null, 2)}\n`, { 'content-type': 'application/json; charset=utf-8' });
    }
    case WEBHOOK_PATH: {
      if (!deps.webhook) return send(res, 404, 'not found\n');
      if (req.method !== 'POST') return send(res, 405, 'use POST: this is the receiving end of an Alertmanager webhook_config\n', { allow: 'POST' });
      const text = await readBody(req, MAX_BODY_BYTES);
      if (text === undefined) {
        res.setHeader('connection', 'close');
        return send(res, 413, `body over ${MAX_BODY_BYTES} bytes; this is not an Alertmanager notification\n`);
      }
      const r = deps.webhook(text);
      return send(res, r.status, `${r.text}\n`);
    }
    case '/':
      return send(res, 200, '<html><head><title>slaprobe</title></head><body><h1>slaprobe</h1><p><a href="/status">status</a> · <a href="/metrics">metrics</a> · <a href="/healthz">healthz</a> · <a href="/readyz">readyz</a></p></body></html>\n', { 'content-type': 'text/html; charset=utf-8' });
    default:
      return send(res, 404, `not found; endpoints: /status /status.json /metrics /healthz /readyz /-/healthy /-/ready POST /-/reload${deps.webhook ? ` POST ${WEBHOOK_PATH}` : ''}\n`);
  }
}

/**
 * The exposition, one metric at a time, each written as soon as it is formatted (waiting
 * for the socket to drain): the same bytes as registry.metrics(), which formats every metric
 * at once and joins them into one string, a transient of several times the body. At 10,000
 * targets the body is 25 MB and that transient was the largest part of the main thread's
 * peak (issue 13, docs/scale.md). The per-target families (src/metric-family.ts) are written
 * in chunks of about 64 KiB, so no part of a scrape is a string of megabytes.
 */
async function sendMetrics(reg: Registry, res: ServerResponse): Promise<void> {
  if (reg.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return send(res, 200, await reg.metrics(), { 'content-type': reg.contentType });
  res.writeHead(200, { 'content-type': reg.contentType, 'cache-control': 'no-store' });
  const all = reg.getMetricsAsArray();
  const write = async (text: string): Promise<boolean> => {
    if (!res.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    return !res.destroyed;
  };
  for (let i = 0; i < all.length; i++) {
    const metric: object = all[i]!;
    if (i > 0 && !(await write('\n\n'))) return;
    if (isLean(metric)) {
      for (const chunk of metric.chunks()) if (!(await write(chunk))) return;
    } else if (!(await write(await reg.getSingleMetricAsString(all[i]!.name)))) return;
  }
  res.end('\n');
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

export function listen(server: Server, hostPort: string): Promise<AddressInfo> {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(i + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
