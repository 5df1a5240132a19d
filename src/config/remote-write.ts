// `remote_write:` in Prometheus's own shape, so a team can paste the block it already uses
// for Prometheus or vmagent. Keys slaprobe would silently ignore are refused instead, with
// the reason (e.g. one request per remote is in flight, so there are no shards to size).
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { type Ctx, type Path, bool, duration, int, isObj, list, mapping, str, stringMap, url } from './check.ts';
import { REMOTE_WRITE_DEFAULTS, REMOTE_WRITE_QUEUE_DEFAULTS } from './defaults.ts';
import type { RemoteWriteConfig, RemoteWriteQueue, TlsClientOptions } from './types.ts';

const KEYS = ['name', 'url', 'remote_timeout', 'headers', 'basic_auth', 'bearer_token', 'bearer_token_file', 'tls_config', 'queue_config'] as const;
const QUEUE_KEYS = ['max_samples_per_send', 'batch_send_deadline', 'min_backoff', 'max_backoff', 'retry_on_http_429'] as const;
/** Prometheus queue keys that have no meaning here, and why. */
const QUEUE_NOT_HERE: Record<string, string> = {
  capacity: 'samples wait in the durable outbox (the sqlite store), not in a memory buffer',
  max_shards: 'one request per remote is in flight, so that every series arrives in order',
  min_shards: 'one request per remote is in flight, so that every series arrives in order',
  sample_age_limit: 'no sample is dropped for its age: the backlog of an outage is the evidence',
};
const NOT_HERE: Record<string, string> = {
  write_relabel_configs: 'the pushed series are a fixed contract (src/fleet/wire.ts); filter on the store side',
  authorization: 'use bearer_token / bearer_token_file, or basic_auth',
  oauth2: 'use bearer_token_file with a token refreshed by a side process',
  sigv4: 'not supported; put a signing proxy (e.g. aws-sigv4-proxy) on loopback in front of the store',
  azuread: 'not supported; put an authenticating proxy on loopback in front of the store',
  proxy_url: 'not supported; reach the store directly, or through a proxy on the route',
  metadata_config: 'slaprobe sends samples only',
  send_exemplars: 'slaprobe sends samples only',
  send_native_histograms: 'slaprobe sends samples only',
};
/** Headers the protocol or the auth options set; Prometheus refuses them in `headers` too. */
const RESERVED_HEADERS = ['authorization', 'content-encoding', 'content-type', 'content-length', 'user-agent', 'x-prometheus-remote-write-version', 'host'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function validateRemoteWrite(ctx: Ctx, v: unknown, baseDir: string): RemoteWriteConfig[] {
  const p = ['remote_write'];
  const names = new Map<string, number>();
  return (list(ctx, v, p) ?? []).flatMap((item, i): RemoteWriteConfig[] => {
    const ip = [...p, i];
    if (!isObj(item)) {
      ctx.add(ip, 'expected a mapping with at least url, e.g. - url: http://127.0.0.1:8428/api/v1/write');
      return [];
    }
    for (const [k, why] of Object.entries(NOT_HERE)) if (k in item) ctx.add([...ip, k], `is not supported by slaprobe: ${why}`, true);
    const known = Object.fromEntries(Object.entries(item).filter(([k]) => !(k in NOT_HERE)));
    const o = mapping(ctx, known, ip, KEYS) ?? {};
    const endpoint = storeUrl(ctx, o['url'], [...ip, 'url']);
    // Prometheus names an unnamed remote by a hash of its config; a readable default is the
    // host:port, which is what an operator recognises in a metric label.
    const name = str(ctx, o['name'], [...ip, 'name'], { pattern: NAME, hint: 'letters, digits, "_", ".", ":" and "-", at most 64 characters' }) ?? (endpoint ? new URL(endpoint).host : `#${i}`);
    const first = names.get(name);
    if (first !== undefined) ctx.add([...ip, o['name'] === undefined ? 'url' : 'name'], `two remotes are named "${name}" (also remote_write[${first}]); give each a distinct name (it keys the outbox's progress and the metrics' remote label)`);
    else names.set(name, i);
    const headers = stringMap(ctx, o['headers'], [...ip, 'headers'], /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name');
    for (const h of Object.keys(headers)) {
      if (RESERVED_HEADERS.includes(h.toLowerCase())) ctx.add([...ip, 'headers', h], `header "${h}" is set by slaprobe itself (protocol or auth); use basic_auth or bearer_token for credentials`, true);
    }
    const basic = basicAuth(ctx, o['basic_auth'], [...ip, 'basic_auth'], baseDir);
    const bearer = o['bearer_token'] === undefined ? undefined : str(ctx, o['bearer_token'], [...ip, 'bearer_token'], { hint: 'a token, e.g. bearer_token: ${VM_TOKEN}' });
    const bearerFile = secretFile(ctx, o['bearer_token_file'], [...ip, 'bearer_token_file'], baseDir);
    const auths = [o['basic_auth'] !== undefined, o['bearer_token'] !== undefined, o['bearer_token_file'] !== undefined].filter(Boolean).length;
    if (auths > 1) ctx.add(ip, 'basic_auth, bearer_token and bearer_token_file are exclusive: set one of them');
    if (endpoint === undefined) return [];
    return [{
      name, url: endpoint,
      remote_timeout: duration(ctx, o['remote_timeout'], [...ip, 'remote_timeout'], { min: 100, max: 600_000 }) ?? REMOTE_WRITE_DEFAULTS.remote_timeout,
      headers,
      ...(basic ? { basic_auth: basic } : {}),
      ...(bearer !== undefined ? { bearer_token: bearer } : {}),
      ...(bearerFile !== undefined ? { bearer_token_file: bearerFile } : {}),
      tls_config: tlsConfig(ctx, o['tls_config'], [...ip, 'tls_config'], baseDir),
      queue_config: queue(ctx, o['queue_config'], [...ip, 'queue_config']),
    }];
  });
}

function storeUrl(ctx: Ctx, v: unknown, p: Path): string | undefined {
  return url(ctx, v, p, {
    hint: 'the store\'s remote-write endpoint, e.g. http://127.0.0.1:8428/api/v1/write (VictoriaMetrics) or http://127.0.0.1:9090/api/v1/write (Prometheus)',
    example: 'http://127.0.0.1:8428/api/v1/write',
    credentials: 'they would show in logs and metrics; use basic_auth with password_file or ${ENV}',
  });
}

function secretFile(ctx: Ctx, v: unknown, p: Path, baseDir: string): string | undefined {
  if (v === undefined) return undefined;
  const f = str(ctx, v, p);
  if (f === undefined) return undefined;
  const abs = resolve(baseDir, f);
  try {
    accessSync(abs, constants.R_OK);
  } catch (e) {
    return ctx.add(p, `cannot read ${abs} (${(e as NodeJS.ErrnoException).code}); check the path and its permissions (it is read again before every request, so a rotated secret is picked up)`);
  }
  return abs;
}

function basicAuth(ctx: Ctx, v: unknown, p: Path, baseDir: string): RemoteWriteConfig['basic_auth'] {
  if (v === undefined) return undefined;
  const b = mapping(ctx, v, p, ['username', 'password', 'password_file']);
  if (!b) return undefined;
  const username = str(ctx, b['username'], [...p, 'username'], { required: true });
  const password = b['password'] === undefined ? undefined : str(ctx, b['password'], [...p, 'password'], { hint: 'e.g. password: ${VM_PASSWORD}' });
  const passwordFile = secretFile(ctx, b['password_file'], [...p, 'password_file'], baseDir);
  if (b['password'] !== undefined && b['password_file'] !== undefined) ctx.add(p, 'password and password_file are exclusive: set one of them');
  if (username === undefined) return undefined;
  return { username, ...(password !== undefined ? { password } : {}), ...(passwordFile !== undefined ? { password_file: passwordFile } : {}) };
}

function tlsConfig(ctx: Ctx, v: unknown, p: Path, baseDir: string): TlsClientOptions {
  const t = mapping(ctx, v, p, ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify']) ?? {};
  const file = (k: string) => secretFile(ctx, t[k], [...p, k], baseDir);
  const ca = file('ca_file');
  const cert = file('cert_file');
  const key = file('key_file');
  if ((t['cert_file'] === undefined) !== (t['key_file'] === undefined)) ctx.add(p, 'cert_file and key_file go together: give both for a client certificate, or neither');
  const sn = t['server_name'] === undefined ? undefined : str(ctx, t['server_name'], [...p, 'server_name']);
  return {
    insecure_skip_verify: bool(ctx, t['insecure_skip_verify'], [...p, 'insecure_skip_verify'], false),
    ...(ca !== undefined ? { ca_file: ca } : {}),
    ...(cert !== undefined ? { cert_file: cert } : {}),
    ...(key !== undefined ? { key_file: key } : {}),
    ...(sn !== undefined ? { server_name: sn } : {}),
  };
}

function queue(ctx: Ctx, v: unknown, p: Path): RemoteWriteQueue {
  const d = REMOTE_WRITE_QUEUE_DEFAULTS;
  if (isObj(v)) for (const [k, why] of Object.entries(QUEUE_NOT_HERE)) if (k in v) ctx.add([...p, k], `does not apply to slaprobe: ${why}`, true);
  const raw = isObj(v) ? Object.fromEntries(Object.entries(v).filter(([k]) => !(k in QUEUE_NOT_HERE))) : v;
  const q = mapping(ctx, raw, p, QUEUE_KEYS) ?? {};
  const min = duration(ctx, q['min_backoff'], [...p, 'min_backoff'], { min: 1, max: 600_000 }) ?? d.min_backoff;
  const max = duration(ctx, q['max_backoff'], [...p, 'max_backoff'], { min: 1, max: 3_600_000 }) ?? d.max_backoff;
  if (max < min) ctx.add([...p, 'max_backoff'], `is shorter than min_backoff (${min} ms); raise max_backoff or lower min_backoff`);
  return {
    max_samples_per_send: int(ctx, q['max_samples_per_send'], [...p, 'max_samples_per_send'], { min: 1, max: 100_000 }) ?? d.max_samples_per_send,
    batch_send_deadline: duration(ctx, q['batch_send_deadline'], [...p, 'batch_send_deadline'], { min: 0, max: 600_000 }) ?? d.batch_send_deadline,
    min_backoff: min,
    max_backoff: Math.max(min, max),
    retry_on_http_429: bool(ctx, q['retry_on_http_429'], [...p, 'retry_on_http_429'], d.retry_on_http_429),
  };
}
