// HTTP(S) probe on undici: one new connection per hop (our own timed connector gives the dns,
// connect and tls phases and the certificate chain), ttfb from connection ready to response
// headers, transfer from headers to the last body byte.
import { createRequire } from 'node:module';
import type { Dispatcher, Client as UndiciClient } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header.js';
import { patternMatches } from '../config/pattern.ts';
import type { HttpTarget } from '../config/types.ts';
import { ConnectError, type TimedConnection, connectTimed, hr, secondsSince } from './connect.ts';
import { classify, detailOf } from './errors.ts';
import { type HttpPhase, type ProbeFn, type ProbeResult, type TlsInfo, fail, maxRunMs } from './types.ts';

// undici's index loads fetch, WebSocket, EventSource, its caches and mocks: 5 MiB of heap in
// the engine worker, where the probe needs the Client alone (2.3 MiB with it). So the Client
// comes from undici's own module, driven through dispatch() (its request API is not loaded);
// an undici upgrade that moves it fails every http probe test at once.
const requireCjs = createRequire(import.meta.url);
const Client = requireCjs('undici/lib/dispatcher/client.js') as typeof UndiciClient;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** How much of a redirect's body is read before its connection is dropped (undici's dump() default). */
const REDIRECT_BODY_LIMIT = 64 * 1024;

/**
 * The run that is using a client: our connector reads the run's signal and leaves the timed
 * connection here for the probe.
 */
interface Slot { signal: AbortSignal; conn: TimedConnection | undefined }
interface Pooled { client: UndiciClient; slot: Slot }
const IDLE_SIGNAL = new AbortController().signal;

// Idle clients by connection settings (origin, address family, TLS options), least recently
// used first. Every run still opens its own connection (pipelining 0: undici closes it after
// the response); what is kept is the client object. A client made per run cost a fifth of a
// probe's CPU, and V8 allocates the closures undici's Client constructor assigns to its own
// properties in the old generation, so each run's client, socket and buffers outlived every
// young-generation collection until the next full one (docs/bench-core.md "A ninth look").
// An idle client holds no socket and no timer; at most POOL_MAX (1.5 KiB each) are kept.
const idle = new Map<string, Pooled>();
const POOL_MAX = 1024;
const tlsKeys = new WeakMap<object, string>();

let made = 0;
/** Idle clients kept now, and clients made since start (for tests). */
export const clientPool = (): { idle: number; made: number } => ({ idle: idle.size, made });

function keyOf(url: URL, t: HttpTarget): string {
  if (url.protocol !== 'https:') return `${url.origin} ${t.ip_protocol}`;
  let k = tlsKeys.get(t.tls);
  if (k === undefined) tlsKeys.set(t.tls, (k = JSON.stringify(t.tls)));
  return `${url.origin} ${t.ip_protocol} ${k}`;
}

function acquire(key: string, url: URL, t: HttpTarget): Pooled {
  const p = idle.get(key);
  if (p) {
    idle.delete(key);
    return p;
  }
  const slot: Slot = { signal: IDLE_SIGNAL, conn: undefined };
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const tls = url.protocol === 'https:' ? { ...t.tls, alpn: ['http/1.1'] } : undefined;
  const ip = t.ip_protocol;
  made++;
  const client = new Client(url.origin, {
    pipelining: 0,
    connect: (_o, cb) => {
      connectTimed({ host, port, ip, signal: slot.signal, ...(tls ? { tls } : {}) })
        .then((c) => { slot.conn = c; cb(null, c.socket); }, (e: Error) => cb(e, null));
    },
  });
  return { client, slot };
}

/** Back to the idle pool if the run left the client as it found it (no socket, nothing queued); torn down otherwise. */
function release(key: string, p: Pooled, reusable: boolean): void {
  const socket = p.slot.conn?.socket;
  p.slot.signal = IDLE_SIGNAL;
  p.slot.conn = undefined;
  if (!reusable || (socket && !socket.destroyed)) {
    // A request still in flight (abort, too_large) is torn down; an open socket is ended.
    p.client.destroy().catch(() => undefined);
    return;
  }
  if (idle.has(key)) return; // another run's client is already idle for these settings
  idle.set(key, p);
  if (idle.size > POOL_MAX) idle.delete(idle.keys().next().value!);
}

/**
 * One request and its response, read through undici's dispatch handler (no response stream,
 * no request object of undici's API): status, the time of the headers, a redirect's location, the body counted and
 * kept only when asked, never beyond `limit` (the request is then aborted and `overflow`
 * set). The signal aborts the request; its reason is the error.
 */
class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  headersAt = 0n;
  bytes = 0;
  readonly chunks: Buffer[] = [];
  /** The response was read to its end. */
  ended = false;
  /** The body passed the limit; the rest was not read. */
  overflow = false;
  /** Where a redirect to follow points (a 3xx with a location, follow_redirects on); its body is not kept. */
  location: string | undefined;
  private keep: boolean;
  private limit: number;
  private readonly follow: boolean;
  private readonly signal: AbortSignal;
  private controller: Dispatcher.DispatchController | undefined;
  private resolve: (() => void) | undefined;
  private reject: ((e: unknown) => void) | undefined;

  constructor(keep: boolean, limit: number, follow: boolean, signal: AbortSignal) {
    this.keep = keep;
    this.limit = limit;
    this.follow = follow;
    this.signal = signal;
  }

  run(client: UndiciClient, opts: Dispatcher.DispatchOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (this.signal.aborted) return reject(this.signal.reason);
      this.signal.addEventListener('abort', this);
      client.dispatch(opts, this);
    });
  }

  /** The signal's abort listener. */
  handleEvent(): void {
    this.controller?.abort(this.signal.reason as Error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(this.signal.reason as Error);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.headersAt = hr();
    this.status = statusCode;
    const location = headers['location'];
    if (this.follow && REDIRECTS.has(statusCode) && typeof location === 'string') {
      this.location = location;
      this.keep = false;
      this.limit = REDIRECT_BODY_LIMIT;
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.overflow) return;
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.overflow = true;
      controller.abort(new Error('body over limit'));
      return;
    }
    if (this.keep) this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.ended = true;
    this.settle(undefined);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.settle(this.overflow ? undefined : err);
  }

  private settle(err: unknown): void {
    this.signal.removeEventListener('abort', this);
    this.controller = undefined;
    if (err === undefined) this.resolve?.();
    else this.reject?.(err);
    this.resolve = this.reject = undefined;
  }
}

export const httpProbe: ProbeFn = async (target, signal) => {
  const t = target as HttpTarget;
  const phases: Partial<Record<HttpPhase, number>> = {};
  const add = (k: HttpPhase, v: number | undefined) => { if (v !== undefined) phases[k] = (phases[k] ?? 0) + v; };
  let url = new URL(t.url);
  let method = t.method;
  let body = t.body;
  let tls: TlsInfo | undefined;
  let remoteAddress: string | undefined;
  const headers = { 'user-agent': 'slaprobe', ...t.headers };
  // Body: counted, kept only when a regex needs it, never beyond max_body_bytes.
  const keep = t.must_match.length > 0 || t.must_not_match.length > 0;

  for (let hop = 0; ; hop++) {
    const key = keyOf(url, t);
    const p = acquire(key, url, t);
    p.slot.signal = signal;
    const ex = new Exchange(keep, t.max_body_bytes, t.follow_redirects, signal);
    try {
      // An error after the response's headers is the body's: reported with the connection's phases.
      let bodyError: { e: unknown } | undefined;
      try {
        await ex.run(p.client, {
          path: `${url.pathname}${url.search}`,
          method,
          headers,
          // The run's deadline (src/runner.ts) ends the exchange through `signal`, and gives
          // back a stall of the agent; these only back it up.
          headersTimeout: maxRunMs(t.timeout),
          bodyTimeout: maxRunMs(t.timeout),
          ...(body !== undefined ? { body } : {}),
        });
      } catch (e) {
        if (ex.status === 0) {
          const conn = p.slot.conn;
          const c = e instanceof ConnectError ? e : undefined;
          add('dns', conn?.dns ?? c?.phases.dns);
          add('connect', conn?.connect ?? c?.phases.connect);
          const { reason, code } = classify(e);
          return fail(reason, detailOf(e), { code, phases });
        }
        bodyError = { e };
      }
      const conn = p.slot.conn;
      if (conn) {
        // dns, connect and tls of the hop's connection; ttfb from connection ready to response
        // headers (request write + server time + first byte).
        add('dns', conn.dns);
        add('connect', conn.connect);
        add('tls', conn.tls);
        add('ttfb', secondsSince(conn.readyAt, ex.headersAt));
        tls = conn.tlsInfo ?? tls;
        remoteAddress = conn.address;
      }
      if (bodyError) {
        add('transfer', secondsSince(ex.headersAt));
        const { reason, code } = classify(bodyError.e);
        return fail(reason, `body: ${detailOf(bodyError.e)}`, { code, phases, ...(tls ? { tls } : {}), http: { status: ex.status, bodyBytes: ex.bytes } });
      }
      if (!conn) return fail('error', 'no connection record', { phases });
      add('transfer', secondsSince(ex.headersAt));

      const location = ex.location;
      if (location !== undefined) {
        if (hop + 1 > t.max_redirects) {
          return fail('redirects', `more than ${t.max_redirects} redirects (last to ${redactUrl(new URL(location, url))})`, { phases, ...(tls ? { tls } : {}), http: { status: ex.status, redirects: hop } });
        }
        url = new URL(location, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('redirects', `redirect to unsupported scheme ${url.protocol}`, { phases });
        if (ex.status === 303 || ((ex.status === 301 || ex.status === 302) && method === 'POST')) { method = 'GET'; body = undefined; }
        continue;
      }
      if (ex.overflow) {
        return fail('too_large', `body larger than max_body_bytes (${t.max_body_bytes})`, { phases, ...(tls ? { tls } : {}), http: { status: ex.status, redirects: hop, bodyBytes: ex.bytes } });
      }

      const http = { status: ex.status, redirects: hop, bodyBytes: ex.bytes, ...(remoteAddress ? { remoteAddress } : {}) };
      const base: Partial<ProbeResult> = { phases, http, ...(tls ? { tls } : {}) };

      const okStatus = t.valid_status_codes.length > 0 ? t.valid_status_codes.includes(ex.status) : ex.status >= 200 && ex.status < 300;
      if (!okStatus) return fail('status', `status ${ex.status} not in ${t.valid_status_codes.length ? t.valid_status_codes.join(',') : '200-299'}`, base);
      if (keep) {
        const text = Buffer.concat(ex.chunks).toString('utf8');
        const missing = t.must_match.find((r) => !patternMatches(r, text));
        if (missing !== undefined) return fail('body_mismatch', `body does not match /${missing}/`, base);
        const bad = t.must_not_match.find((r) => patternMatches(r, text));
        if (bad !== undefined) return fail('body_mismatch', `body matches /${bad}/`, base);
      }
      return { success: true, ...base };
    } finally {
      release(key, p, ex.ended);
    }
  }
};

/** A URL for logs and messages: no userinfo, no query (it may carry tokens). */
export function redactUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
}
