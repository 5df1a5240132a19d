// Prometheus remote write 1.0: a protobuf WriteRequest (protobufjs, from the prompb schema
// below), compressed with snappy's block format (snappyjs), POSTed with the three headers the
// spec requires. One client per remote; it sends and classifies, the outbox decides.
//
// Spec: https://prometheus.io/docs/specs/remote_write_spec/ ("Retries & Backoff"): 5xx and
// 429 are retried, any other 4xx must not be, 2xx means every sample was written.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';
import type { RemoteWriteConfig } from '../config/types.ts';
import { http } from '../node-http.ts';
import { VERSION } from '../version.ts';

// The subset of prometheus/prompb (types.proto, remote.proto) a sample-only writer sends.
const PROMPB = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`;
const WriteRequest = protobuf.parse(PROMPB).root.lookupType('prometheus.WriteRequest');

export interface Series {
  /** Sorted by name, `__name__` included (the spec asks for sorted labels). */
  labels: readonly (readonly [string, string])[];
  /** Oldest first. */
  samples: readonly { ts: number; value: number }[];
}

export type SendOutcome =
  | { result: 'sent'; status: number }
  /** Try again later: 5xx, 429, a network error or a timeout. */
  | { result: 'retry'; status?: number; code?: string; detail: string; retryAfterMs?: number }
  /** The store refused the request for good (4xx other than 429): never sent again. */
  | { result: 'rejected'; status: number; detail: string };

export interface RemoteClient {
  send(series: readonly Series[], signal?: AbortSignal): Promise<SendOutcome>;
  close(): void;
}

/** The WriteRequest body, snappy-compressed, as it goes on the wire. */
export function encodeWriteRequest(series: readonly Series[]): Buffer {
  const msg = WriteRequest.fromObject({
    timeseries: series.map((s) => ({
      labels: s.labels.map(([name, value]) => ({ name, value })),
      samples: s.samples.map((x) => ({ value: x.value, timestamp: x.ts })),
    })),
  });
  return compress(Buffer.from(WriteRequest.encode(msg).finish()));
}

const MAX_ANSWER = 2048;

export function createRemoteClient(cfg: RemoteWriteConfig): RemoteClient {
  const url = new URL(cfg.url);
  const https = url.protocol === 'https:';
  const t = cfg.tls_config;
  const agent = https
    ? new HttpsAgent({
      keepAlive: true, maxSockets: 1,
      rejectUnauthorized: !t.insecure_skip_verify,
      ...(t.ca_file ? { ca: readFileSync(t.ca_file) } : {}),
      ...(t.cert_file ? { cert: readFileSync(t.cert_file) } : {}),
      ...(t.key_file ? { key: readFileSync(t.key_file) } : {}),
      ...(t.server_name ? { servername: t.server_name } : {}),
    })
    : new http.Agent({ keepAlive: true, maxSockets: 1 });

  // Files are read before every request, as Prometheus does, so a rotated secret is used
  // without a reload.
  const authorization = (): string | undefined => {
    const secret = (f: string) => readFileSync(f, 'utf8').trim();
    if (cfg.basic_auth) {
      const pw = cfg.basic_auth.password_file ? secret(cfg.basic_auth.password_file) : cfg.basic_auth.password ?? '';
      return `Basic ${Buffer.from(`${cfg.basic_auth.username}:${pw}`).toString('base64')}`;
    }
    if (cfg.bearer_token_file) return `Bearer ${secret(cfg.bearer_token_file)}`;
    if (cfg.bearer_token) return `Bearer ${cfg.bearer_token}`;
    return undefined;
  };

  return {
    send(series, signal) {
      const body = encodeWriteRequest(series);
      return new Promise<SendOutcome>((resolve) => {
        let auth: string | undefined;
        try {
          auth = authorization();
        } catch (e) {
          return resolve({ result: 'retry', code: (e as NodeJS.ErrnoException).code ?? 'SLAPROBE_SECRET_UNREADABLE', detail: 'cannot read the password_file / bearer_token_file' });
        }
        const req = (https ? httpsRequest : http.request)(url, {
          method: 'POST',
          agent,
          headers: {
            ...cfg.headers,
            'content-encoding': 'snappy',
            'content-type': 'application/x-protobuf',
            'x-prometheus-remote-write-version': '0.1.0',
            'user-agent': `slaprobe/${VERSION}`,
            'content-length': String(body.length),
            ...(auth ? { authorization: auth } : {}),
          },
          ...(signal ? { signal } : {}),
        });
        req.setTimeout(cfg.remote_timeout, () => req.destroy(Object.assign(new Error('remote_timeout elapsed'), { code: 'SLAPROBE_REMOTE_TIMEOUT' })));
        req.on('error', (e: NodeJS.ErrnoException) => resolve({ result: 'retry', code: e.code ?? (e.name === 'AbortError' ? 'ABORT_ERR' : 'ERR'), detail: e.code ?? e.name }));
        req.on('response', (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < MAX_ANSWER) chunks.push(c);
            size += c.length;
          });
          res.on('error', () => undefined);
          res.on('end', () => resolve(classify(res, Buffer.concat(chunks).subarray(0, MAX_ANSWER).toString('utf8'), cfg.queue_config.retry_on_http_429)));
        });
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

function classify(res: IncomingMessage, answer: string, retry429: boolean): SendOutcome {
  const status = res.statusCode ?? 0;
  const detail = answer.replace(/\s+/g, ' ').trim();
  if (status >= 200 && status < 300) return { result: 'sent', status };
  if (status >= 500 || (status === 429 && retry429)) {
    const ra = Number(res.headers['retry-after']);
    return { result: 'retry', status, detail, ...(Number.isFinite(ra) && ra > 0 ? { retryAfterMs: ra * 1000 } : {}) };
  }
  return { result: 'rejected', status, detail };
}
