// HTTP(S) probe on undici: one new connection per hop (our own timed connector gives the dns,
// connect and tls phases and the certificate chain), ttfb from connection ready to response
// headers, transfer from headers to the last body byte.
import { createRequire } from 'node:module';
import type { Client as UndiciClient } from 'undici';
import { patternMatches } from '../config/pattern.ts';
import type { HttpTarget } from '../config/types.ts';
import { ConnectError, type TimedConnection, connectTimed, hr, secondsSince } from './connect.ts';
import { classify, detailOf } from './errors.ts';
import { type HttpPhase, type ProbeFn, type ProbeResult, type TlsInfo, fail } from './types.ts';

// undici's index loads fetch, WebSocket, EventSource, its caches and mocks: 5 MiB of heap in
// the engine worker, where the probe needs the Client alone (2.3 MiB with it). So the Client
// and the request API come from undici's own modules, joined as its index joins them
// (Object.assign(Dispatcher.prototype, api)); an undici upgrade that moves them fails every
// http probe test at once.
const requireCjs = createRequire(import.meta.url);
const Client = requireCjs('undici/lib/dispatcher/client.js') as typeof UndiciClient;
Object.assign((requireCjs('undici/lib/dispatcher/dispatcher.js') as { prototype: object }).prototype, requireCjs('undici/lib/api/index.js'));

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export const httpProbe: ProbeFn = async (target, signal) => {
  const t = target as HttpTarget;
  const phases: Partial<Record<HttpPhase, number>> = {};
  const add = (k: HttpPhase, v: number | undefined) => { if (v !== undefined) phases[k] = (phases[k] ?? 0) + v; };
  let url = new URL(t.url);
  let method = t.method;
  let body = t.body;
  let tls: TlsInfo | undefined;
  let remoteAddress: string | undefined;

  for (let hop = 0; ; hop++) {
    let conn: TimedConnection | undefined;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const client = new Client(url.origin, {
      pipelining: 0,
      headersTimeout: t.timeout,
      bodyTimeout: t.timeout,
      connect: (_o, cb) => {
        connectTimed({
          host, port, ip: t.ip_protocol, signal,
          ...(url.protocol === 'https:' ? { tls: { ...t.tls, alpn: ['http/1.1'] } } : {}),
        }).then((c) => { conn = c; cb(null, c.socket); }, (e: Error) => cb(e, null));
      },
    });
    // Set once the response was read to its end: the connection can then be closed quietly.
    let clean = false;
    try {
      let res;
      try {
        res = await client.request({
          path: `${url.pathname}${url.search}`,
          method,
          headers: { 'user-agent': 'slaprobe', ...t.headers },
          ...(body !== undefined ? { body } : {}),
          signal,
        });
      } catch (e) {
        const c = e instanceof ConnectError ? e : undefined;
        add('dns', conn?.dns ?? c?.phases.dns);
        add('connect', conn?.connect ?? c?.phases.connect);
        const { reason, code } = classify(e);
        return fail(reason, detailOf(e), { code, phases });
      }
      const tHeaders = hr();
      if (!conn) return fail('error', 'no connection record', { phases });
      add('dns', conn.dns);
      add('connect', conn.connect);
      add('tls', conn.tls);
      // ttfb: connection ready to response headers (request write + server time + first byte).
      add('ttfb', secondsSince(conn.readyAt, tHeaders));
      tls = conn.tlsInfo ?? tls;
      remoteAddress = conn.address;

      const location = res.headers['location'];
      if (REDIRECTS.has(res.statusCode) && t.follow_redirects && typeof location === 'string') {
        await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
        clean = true;
        add('transfer', secondsSince(tHeaders));
        if (hop + 1 > t.max_redirects) {
          return fail('redirects', `more than ${t.max_redirects} redirects (last to ${redactUrl(new URL(location, url))})`, { phases, ...(tls ? { tls } : {}), http: { status: res.statusCode, redirects: hop } });
        }
        url = new URL(location, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('redirects', `redirect to unsupported scheme ${url.protocol}`, { phases });
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) { method = 'GET'; body = undefined; }
        continue;
      }

      // Body: counted, kept only when a regex needs it, never beyond max_body_bytes.
      const keep = t.must_match.length > 0 || t.must_not_match.length > 0;
      const chunks: Buffer[] = [];
      let bytes = 0;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (bytes > t.max_body_bytes) {
            res.body.destroy();
            add('transfer', secondsSince(tHeaders));
            return fail('too_large', `body larger than max_body_bytes (${t.max_body_bytes})`, { phases, ...(tls ? { tls } : {}), http: { status: res.statusCode, redirects: hop, bodyBytes: bytes } });
          }
          if (keep) chunks.push(chunk);
        }
      } catch (e) {
        add('transfer', secondsSince(tHeaders));
        const { reason, code } = classify(e);
        return fail(reason, `body: ${detailOf(e)}`, { code, phases, ...(tls ? { tls } : {}), http: { status: res.statusCode, bodyBytes: bytes } });
      }
      clean = true;
      add('transfer', secondsSince(tHeaders));
      const http = { status: res.statusCode, redirects: hop, bodyBytes: bytes, ...(remoteAddress ? { remoteAddress } : {}) };
      const base: Partial<ProbeResult> = { phases, http, ...(tls ? { tls } : {}) };

      const okStatus = t.valid_status_codes.length > 0 ? t.valid_status_codes.includes(res.statusCode) : res.statusCode >= 200 && res.statusCode < 300;
      if (!okStatus) return fail('status', `status ${res.statusCode} not in ${t.valid_status_codes.length ? t.valid_status_codes.join(',') : '200-299'}`, base);
      if (keep) {
        const text = Buffer.concat(chunks).toString('utf8');
        const missing = t.must_match.find((r) => !patternMatches(r, text));
        if (missing !== undefined) return fail('body_mismatch', `body does not match /${missing}/`, base);
        const bad = t.must_not_match.find((r) => patternMatches(r, text));
        if (bad !== undefined) return fail('body_mismatch', `body matches /${bad}/`, base);
      }
      return { success: true, ...base };
    } finally {
      // After a response read to its end undici has already destroyed the connection
      // (pipelining 0 resets every socket after its response), so the client holds nothing
      // and is left to the garbage collector: close() would build promises and an error
      // (ClientDestroyedError) to say so, about a tenth of a probe's CPU. Should the socket
      // still be open, close() ends it quietly. A request still in flight (abort, too_large)
      // is torn down by destroy().
      if (!clean) client.destroy().catch(() => undefined);
      else if (conn && !conn.socket.destroyed) client.close().catch(() => undefined);
    }
  }
};

/** A URL for logs and messages: no userinfo, no query (it may carry tokens). */
export function redactUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
}
