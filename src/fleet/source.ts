// `slaprobe report --source URL`: the fleet's evidence read back from any store that speaks
// the Prometheus HTTP query API (Prometheus, VictoriaMetrics, Mimir, Thanos, Cortex), as raw
// samples, and folded into the same evidence as a samples file (availability/evidence.ts).
//
// Raw samples come from range-vector selectors evaluated as instant queries
// (`slaprobe_run_success{...}[6h]` at the chunk's end): the answer is every sample in the
// window with its own timestamp, the run's start (src/fleet/wire.ts), never a value
// re-sampled on a step as /api/v1/query_range would give. The read is chunked by time so
// each answer stays small (and under the store's sample limits: Prometheus
// --query.max-samples, VictoriaMetrics -search.maxSamplesPerQuery). Prometheus 2.x
// includes both ends of a range and later versions only the end: each chunk keeps exactly
// (start, end], so a sample on a boundary is read once.
import { readFileSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import { createEvidence, type Evidence } from '../availability/evidence.ts';
import { DEGRADED_METRIC, INTERVAL_METRIC, LABEL_AGENT, LABEL_REGION, LABEL_TARGET, OUTCOME_METRIC } from './wire.ts';

export type SourceErrorCode =
  | 'SLAPROBE_SOURCE_USAGE' | 'SLAPROBE_SOURCE_UNREACHABLE' | 'SLAPROBE_SOURCE_AUTH' | 'SLAPROBE_SOURCE_QUERY'
  | 'SLAPROBE_SOURCE_PROTOCOL' | 'SLAPROBE_SOURCE_DATA';

export class SourceError extends Error {
  readonly code: SourceErrorCode;
  constructor(code: SourceErrorCode, message: string) {
    super(message);
    this.name = 'SourceError';
    this.code = code;
  }
}

export interface SourceAuth {
  /** File holding a bearer token (Authorization: Bearer ...), trimmed. */
  bearerTokenFile?: string;
  basicAuthUser?: string;
  /** File holding the basic-auth password, trimmed. */
  basicAuthPasswordFile?: string;
  /** PEM CA bundle to verify the store's certificate. */
  caFile?: string;
  /** Client certificate and key (mutual TLS). */
  certFile?: string;
  keyFile?: string;
  insecureSkipVerify?: boolean;
}

export interface ReadSourceOptions extends SourceAuth {
  /** The query API root: the part before /api/v1, e.g. http://127.0.0.1:8428. */
  url: string;
  /** Runs with from <= start < to are read, Unix ms. */
  from: number;
  to: number;
  /** Length of one query's window, ms (default 6 h). */
  chunk?: number;
  /** Only these targets (a regex matcher on `target`); default every target in the store. */
  targets?: readonly string[];
  /** More label matchers, PromQL syntax without braces: job="slaprobe",env="prod". */
  match?: string;
  /** Interval of a target's runs when the store has no interval sample for it (config). */
  intervalOf: (target: string) => number | undefined;
  /** Interval assumed (with a warning) when neither the store nor the config has one, ms. */
  defaultInterval: number;
  /** One query's deadline, ms (default 120 s). */
  timeout?: number;
  onWarning?: (msg: string) => void;
}

export interface SourceTimeline extends Evidence {
  /** Queries sent and samples read (outcomes, intervals, quality verdicts). */
  queries: number;
  samples: number;
}

const DEFAULT_CHUNK = 6 * 3_600_000;

/** The report command's options for a source (parseArgs shape) and their help. */
export const SOURCE_OPTIONS = {
  source: { type: 'string' },
  'source.bearer-token-file': { type: 'string' },
  'source.basic-auth-user': { type: 'string' },
  'source.basic-auth-password-file': { type: 'string' },
  'source.ca-file': { type: 'string' },
  'source.cert-file': { type: 'string' },
  'source.key-file': { type: 'string' },
  'source.insecure-skip-verify': { type: 'boolean' },
  'source.match': { type: 'string' },
  'source.chunk': { type: 'string' },
  'source.timeout': { type: 'string' },
} as const;

export const SOURCE_HELP = `  --source URL       read the fleet's evidence (pushed by remote write) from a Prometheus-
                     compatible query API: the root before /api/v1, e.g.
                     http://127.0.0.1:8428 (VictoriaMetrics), http://127.0.0.1:9090 (Prometheus).
                     Raw samples of ${OUTCOME_METRIC}, ${INTERVAL_METRIC} and
                     ${DEGRADED_METRIC}, by target and region; see docs/fleet.md
  --source.bearer-token-file F    Authorization: Bearer <the file's content>
  --source.basic-auth-user U      basic auth, with --source.basic-auth-password-file F
  --source.ca-file F              CA bundle (PEM) for an https store; --source.cert-file and
                                  --source.key-file for a client certificate;
                                  --source.insecure-skip-verify to skip verification
  --source.match M                more label matchers, e.g. 'env="prod"'
  --source.chunk D                time window of one query (default 6h); smaller if the store
                                  refuses a query for its sample limit
  --source.timeout D              one query's deadline (default 2m)
`;

const AUTH_FLAGS = [
  ['bearerTokenFile', 'source.bearer-token-file'], ['basicAuthUser', 'source.basic-auth-user'],
  ['basicAuthPasswordFile', 'source.basic-auth-password-file'], ['caFile', 'source.ca-file'],
  ['certFile', 'source.cert-file'], ['keyFile', 'source.key-file'],
] as const;

/** The auth and TLS options out of parsed command-line values. */
export function sourceAuth(v: Record<string, string | boolean | undefined>): SourceAuth {
  const out: SourceAuth = {};
  for (const [key, flag] of AUTH_FLAGS) {
    const x = v[flag];
    if (typeof x === 'string') out[key] = x;
  }
  if (v['source.insecure-skip-verify'] === true) out.insecureSkipVerify = true;
  return out;
}

interface Series {
  metric: Record<string, string>;
  values: [number, string][];
}

/** RE2 metacharacters escaped, then the PromQL string's own backslashes. */
function regexOf(names: readonly string[]): string {
  return names.map((n) => n.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')).join('|').replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

function dispatcherFor(o: SourceAuth, Agent: typeof import('undici').Agent): Dispatcher | undefined {
  if (!o.caFile && !o.certFile && !o.insecureSkipVerify) return undefined;
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f);
    } catch (e) {
      throw new SourceError('SLAPROBE_SOURCE_USAGE', `${what} ${f}: cannot read (${(e as NodeJS.ErrnoException).code}); give a readable PEM file`);
    }
  };
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    throw new SourceError('SLAPROBE_SOURCE_USAGE', '--source.cert-file and --source.key-file go together: give both for a client certificate, or neither');
  }
  return new Agent({
    connect: {
      ...(o.caFile ? { ca: read(o.caFile, '--source.ca-file') } : {}),
      ...(o.certFile ? { cert: read(o.certFile, '--source.cert-file'), key: read(o.keyFile!, '--source.key-file') } : {}),
      rejectUnauthorized: !o.insecureSkipVerify,
    },
  });
}

function secret(file: string, what: string): string {
  let s: string;
  try {
    s = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new SourceError('SLAPROBE_SOURCE_USAGE', `${what} ${file}: cannot read (${(e as NodeJS.ErrnoException).code}); give a file holding only the secret`);
  }
  if (s === '') throw new SourceError('SLAPROBE_SOURCE_USAGE', `${what} ${file}: is empty; put the secret in it`);
  return s;
}

function authHeader(o: SourceAuth): string | undefined {
  if (o.bearerTokenFile !== undefined && (o.basicAuthUser !== undefined || o.basicAuthPasswordFile !== undefined)) {
    throw new SourceError('SLAPROBE_SOURCE_USAGE', 'give --source.bearer-token-file or basic auth (--source.basic-auth-user, --source.basic-auth-password-file), not both');
  }
  if (o.bearerTokenFile !== undefined) return `Bearer ${secret(o.bearerTokenFile, '--source.bearer-token-file')}`;
  if (o.basicAuthUser !== undefined || o.basicAuthPasswordFile !== undefined) {
    if (o.basicAuthUser === undefined || o.basicAuthPasswordFile === undefined) {
      throw new SourceError('SLAPROBE_SOURCE_USAGE', '--source.basic-auth-user and --source.basic-auth-password-file go together');
    }
    return `Basic ${Buffer.from(`${o.basicAuthUser}:${secret(o.basicAuthPasswordFile, '--source.basic-auth-password-file')}`).toString('base64')}`;
  }
  return undefined;
}

/** The query endpoint from the API root the user gave; refuses what is not one. */
export function queryEndpoint(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new SourceError('SLAPROBE_SOURCE_USAGE', `--source ${JSON.stringify(raw)} is not a URL; give the query API root, e.g. http://127.0.0.1:8428 (VictoriaMetrics) or http://127.0.0.1:9090 (Prometheus)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SourceError('SLAPROBE_SOURCE_USAGE', `--source: scheme ${JSON.stringify(u.protocol.slice(0, -1))} is not supported; use http:// or https://`);
  if (u.username || u.password) throw new SourceError('SLAPROBE_SOURCE_USAGE', '--source: no credentials in the URL (they would show in process lists); use --source.basic-auth-user and --source.basic-auth-password-file, or --source.bearer-token-file');
  if (/\/api\/v1(\/|$)/.test(u.pathname)) throw new SourceError('SLAPROBE_SOURCE_USAGE', `--source ${raw}: give the API root, the part before /api/v1 (e.g. ${u.origin}${u.pathname.replace(/\/api\/v1.*$/, '')})`);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v1/query`;
  return u;
}

/** How many times a query whose answer broke off is asked again before the read is refused. */
export const CUT_SHORT_RETRIES = 2;
/** The start of a query API answer that says it succeeded. */
const CUT_SHORT = /^\s*\{\s*"status"\s*:\s*"success"/;

export async function readSource(o: ReadSourceOptions): Promise<SourceTimeline> {
  const endpoint = queryEndpoint(o.url);
  const chunk = o.chunk ?? DEFAULT_CHUNK;
  if (!(chunk >= 1000)) throw new SourceError('SLAPROBE_SOURCE_USAGE', '--source.chunk must be 1s or more, e.g. 6h');
  const auth = authHeader(o);
  // Loaded here: a report from the store or a samples file does not need an HTTP client.
  const { Agent, request } = await import('undici');
  const dispatcher = dispatcherFor(o, Agent);
  const timeout = o.timeout ?? 120_000;
  const matchers = [
    ...(o.targets ? [`${LABEL_TARGET}=~"${regexOf(o.targets)}"`] : []),
    ...(o.match ? [o.match] : []),
  ].join(',');
  const warn = o.onWarning ?? (() => {});
  const ev = createEvidence();
  const out: SourceTimeline = Object.assign(ev, { queries: 0, samples: 0 });

  const query = async (expr: string, at: number): Promise<Series[]> => {
    // nocache: VictoriaMetrics otherwise moves an instant query within -search.latencyOffset
    // (30 s) of now back to now - 30 s, and the newest runs would be missing; others ignore it.
    const body = new URLSearchParams({ query: expr, time: (at / 1000).toFixed(3), nocache: '1' }).toString();
    const where = `${endpoint.origin}${endpoint.pathname} query ${expr} at ${new Date(at).toISOString()}`;
    for (let attempt = 0; ; attempt++) {
      let status: number;
      let text: string;
      try {
        const res = await request(endpoint, {
          method: 'POST', body, ...(dispatcher ? { dispatcher } : {}),
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...(auth ? { authorization: auth } : {}) },
          headersTimeout: timeout, bodyTimeout: timeout,
        });
        status = res.statusCode;
        text = await res.body.text();
      } catch (e) {
        const code = (e as { code?: string }).code ?? (e as Error).name;
        throw new SourceError('SLAPROBE_SOURCE_UNREACHABLE', `${endpoint.origin}: cannot read from the store (${code}: ${(e as Error).message}); check --source, that the store is up, and the TLS options`);
      }
      out.queries++;
      if (status === 401 || status === 403) {
        throw new SourceError('SLAPROBE_SOURCE_AUTH', `${where}: the store answered ${status} (${text.slice(0, 200).trim()}); check --source.bearer-token-file or --source.basic-auth-*`);
      }
      let j: { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
      try {
        j = JSON.parse(text) as typeof j;
      } catch {
        // An answer that begins as a successful one and breaks off was cut short on its way:
        // vmauth 1.79, when its read from the store fails, ends the answer to us as if it were
        // complete (seen at 32,768 bytes). Asked again, at most CUT_SHORT_RETRIES times, with
        // a warning; never parsed as far as it goes.
        if (status === 200 && attempt < CUT_SHORT_RETRIES && CUT_SHORT.test(text)) {
          warn(`${where}: the answer broke off after ${text.length} bytes (a proxy between slaprobe and the store ended it early); asked again`);
          continue;
        }
        if (status === 200 || status === 404) {
          throw new SourceError('SLAPROBE_SOURCE_PROTOCOL', `${where}: answered ${status} with something that is not a Prometheus query API answer (${JSON.stringify(text.slice(0, 120))}); --source is the API root, e.g. http://127.0.0.1:8428`);
        }
        throw new SourceError('SLAPROBE_SOURCE_QUERY', `${where}: the store answered ${status} (${JSON.stringify(text.slice(0, 200).trim())}); check --source and its auth options`);
      }
      if (status !== 200 || j.status !== 'success') {
        throw new SourceError('SLAPROBE_SOURCE_QUERY', `${where}: the store refused the query (${status} ${j.errorType ?? ''}: ${j.error ?? text.slice(0, 200)}); if it names a sample limit, give a smaller --source.chunk`);
      }
      if (j.data?.resultType !== 'matrix' || !Array.isArray(j.data.result)) {
        throw new SourceError('SLAPROBE_SOURCE_PROTOCOL', `${where}: expected a matrix of raw samples, got ${JSON.stringify(j.data?.resultType)}; is this a Prometheus-compatible query API?`);
      }
      return j.data.result as Series[];
    }
  };

  const bad = (msg: string): never => {
    throw new SourceError('SLAPROBE_SOURCE_DATA', msg);
  };
  const seriesName = (m: Record<string, string>) => `${m['__name__'] ?? ''}{${Object.entries(m).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
  /** Samples of the chunk (a, b] per key target\0region\0agent, in time order, duplicates dropped. */
  const group = (series: Series[], a: number, b: number, metric: string) => {
    const by = new Map<string, { target: string; region: string; agent: string; ts: number[]; vs: number[]; name: string }>();
    for (const s of series) {
      const target = s.metric[LABEL_TARGET];
      if (!target) bad(`${seriesName(s.metric)}: has no "${LABEL_TARGET}" label; every ${metric} series names its target (src/fleet/wire.ts). Fix the series' labels (relabelling) or exclude them with --source.match`);
      const region = s.metric[LABEL_REGION] ?? '';
      const agent = s.metric[LABEL_AGENT] ?? '';
      const key = `${target}\0${region}\0${agent}`;
      let g = by.get(key);
      const fresh = !g;
      if (!g) by.set(key, (g = { target: target!, region, agent, ts: [], vs: [], name: seriesName(s.metric) }));
      const pairs: [number, number][] = [];
      for (const [sec, raw] of s.values) {
        const t = Math.round(sec * 1000);
        if (t <= a || t > b) continue;
        const v = Number(raw);
        if (!Number.isFinite(v)) bad(`${seriesName(s.metric)} at ${new Date(t).toISOString()}: value ${JSON.stringify(raw)} is not a number`);
        pairs.push([t, v]);
      }
      if (fresh) for (const [t, v] of pairs) { g.ts.push(t); g.vs.push(v); }
      else {
        // The same target, region and agent in two series (labels added by relabelling or
        // external_labels): one stream in time order.
        const all = g.ts.map((t, i): [number, number] => [t, g!.vs[i]!]).concat(pairs).sort((x, y) => x[0] - y[0]);
        g.ts = all.map((p) => p[0]);
        g.vs = all.map((p) => p[1]);
      }
    }
    for (const g of by.values()) {
      let w = 0;
      for (let i = 0; i < g.ts.length; i++) {
        if (w > 0 && g.ts[w - 1] === g.ts[i]) {
          if (g.vs[w - 1] !== g.vs[i]) {
            warn(`${g.name} at ${new Date(g.ts[i]!).toISOString()}: two different values at one instant; the failed one is taken`);
            g.vs[w - 1] = Math.min(g.vs[w - 1]!, g.vs[i]!);
          }
          continue; // the same sample sent twice (a retried push): once
        }
        g.ts[w] = g.ts[i]!;
        g.vs[w] = g.vs[i]!;
        w++;
      }
      g.ts.length = w;
      g.vs.length = w;
      out.samples += w;
    }
    return by;
  };

  // Per target, region and agent: the last interval seen, carried across chunks.
  const lastInterval = new Map<string, number>();
  const warnedInterval = new Set<string>();
  const sel = `{${matchers}}`;
  for (let a = o.from - 1; a < o.to - 1; a += chunk) {
    const b = Math.min(a + chunk, o.to - 1);
    const range = `[${b - a}ms]`;
    const [oc, iv, dg] = await Promise.all([OUTCOME_METRIC, INTERVAL_METRIC, DEGRADED_METRIC].map((m) => query(`${m}${sel}${range}`, b)));
    const outcomes = group(oc!, a, b, OUTCOME_METRIC);
    const intervals = group(iv!, a, b, INTERVAL_METRIC);
    const verdicts = group(dg!, a, b, DEGRADED_METRIC);
    /**
     * Walks a key's interval samples alongside its runs: the latest at or before t, else
     * the last one of an earlier chunk, else the config's.
     */
    const intervalAt = (key: string, target: string, name: string) => {
      const g = intervals.get(key);
      let j = 0;
      let cur = lastInterval.get(key);
      return (t: number): number => {
        if (g) while (j < g.ts.length && g.ts[j]! <= t) {
          cur = g.vs[j]! * 1000;
          if (!(cur > 0)) bad(`${g.name} at ${new Date(g.ts[j]!).toISOString()}: interval ${g.vs[j]} s is not positive`);
          j++;
        }
        const known = cur ?? o.intervalOf(target);
        if (known !== undefined) return known;
        if (!warnedInterval.has(key)) {
          warnedInterval.add(key);
          warn(`${name}: no ${INTERVAL_METRIC} sample and no interval in the config for target "${target}"; assumed ${o.defaultInterval / 1000}s (--interval)`);
        }
        return o.defaultInterval;
      };
    };
    /** Folds each key's 0/1 samples into the evidence; `means` names what 1 and 0 say, for the refusal. */
    const fold = (groups: typeof outcomes, means: string, add: typeof ev.add) => {
      for (const [key, g] of groups) {
        const iat = intervalAt(key, g.target, g.name);
        for (let i = 0; i < g.ts.length; i++) {
          const v = g.vs[i]!;
          if (v !== 0 && v !== 1) bad(`${g.name} at ${new Date(g.ts[i]!).toISOString()}: value ${v} is not ${means}`);
          add(g.target, g.region, g.ts[i]!, v === 1, iat(g.ts[i]!), g.agent);
        }
      }
    };
    fold(outcomes, '1 (run succeeded) or 0 (failed)', ev.add.bind(ev));
    fold(verdicts, '1 (quality breached) or 0 (met)', ev.addDegraded.bind(ev));
    for (const [key, g] of intervals) if (g.vs.length > 0) lastInterval.set(key, g.vs[g.vs.length - 1]! * 1000);
  }
  await dispatcher?.close();
  return out;
}
