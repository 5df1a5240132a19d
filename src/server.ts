// The agent's HTTP endpoints: /metrics, /healthz (alive), /readyz (config loaded, first
// round of probes done, reflector listening, store writable), POST /-/reload.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { renderStatus } from './status/html.ts';
import { type StatusModel, statusJson } from './status/model.ts';

export interface ServerDeps {
  registry: () => Registry;
  ready: () => boolean;
  /** Why the agent is not ready (the 503 body); default: the first round is not finished. */
  readyDetail?: () => string;
  reload: () => Promise<{ ok: boolean; messages: string[] }>;
  /** The status page's data as of now (GET /status, /status.json). */
  status?: () => StatusModel;
}

export function createAgentServer(deps: ServerDeps): Server {
  return createServer((req, res) => {
    handle(deps, req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${(e as Error).message}\n`);
      else res.destroy();
    });
  });
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics': {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'use GET\n', { allow: 'GET, HEAD' });
      const reg = deps.registry();
      const body = await reg.metrics();
      return send(res, 200, body, { 'content-type': reg.contentType });
    }
    case '/healthz':
      return send(res, 200, 'ok\n');
    case '/readyz':
      return deps.ready() ? send(res, 200, 'ready\n') : send(res, 503, `not ready: ${deps.readyDetail?.() ?? 'first round of probes not finished'}\n`);
    case '/-/reload': {
      if (req.method !== 'POST' && req.method !== 'PUT') return send(res, 405, 'use POST to reload the configuration\n', { allow: 'POST, PUT' });
      req.resume();
      const r = await deps.reload();
      return send(res, r.ok ? 200 : 400, r.ok ? 'reloaded\n' : `config rejected; the running config is unchanged:\n${r.messages.join('\n')}\n`);
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
    case '/':
      return send(res, 200, '<html><head><title>slaprobe</title></head><body><h1>slaprobe</h1><p><a href="/status">status</a> · <a href="/metrics">metrics</a> · <a href="/healthz">healthz</a> · <a href="/readyz">readyz</a></p></body></html>\n', { 'content-type': 'text/html; charset=utf-8' });
    default:
      return send(res, 404, 'not found; endpoints: /status /status.json /metrics /healthz /readyz POST /-/reload\n');
  }
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
