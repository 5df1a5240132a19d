// Reads a YAML config file once, at the edge: parse, expand ${ENV} and ${file:...} secrets,
// validate strictly, and report every problem as "file:line:column: yaml.path: message".
import { type Stats, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node } from 'yaml';
import { Ctx, type Issue, type Path, pathString } from './check.ts';
import { AGENT_DEFAULTS } from './defaults.ts';
import type { Config } from './types.ts';
import { validateConfig } from './validate.ts';

export const EMBEDDED_DEFAULT = resolve(dirname(fileURLToPath(import.meta.url)), '../../config/default.yaml');

/** Config rejected: `messages` are one line each, ready to print. Exit code 2 at the CLI. */
export class ConfigError extends Error {
  readonly code = 'SLAPROBE_CONFIG_INVALID';
  readonly messages: string[];
  constructor(messages: string[]) {
    super(messages.join('\n'));
    this.name = 'ConfigError';
    this.messages = messages;
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Name to show in messages; defaults to the path given. */
  displayName?: string;
  /**
   * Structural check only (check-config --no-secrets): ${ENV} and ${file:} references are
   * not resolved; each stands for a placeholder that passes the checks a secret must pass.
   */
  noSecrets?: boolean;
  /**
   * host:port the embedded default config's self-probes aim at, in place of the default
   * listen address (run --listen with the embedded config).
   */
  selfAddress?: string;
}

/** Largest config file read: far above any real one, far below what hurts the agent. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** Largest secret file read (a key, a token, a certificate-sized blob). */
export const MAX_SECRET_BYTES = 64 * 1024;
/** Aliases the YAML parser expands before refusing (billion-laughs documents). */
const MAX_ALIASES = 100;

/** Synchronous load, for tools and tests; the agent uses loadConfig, which never blocks. */
export function loadConfigFile(file: string, opts: LoadOptions = {}): Config {
  const r = readCappedSync(file, MAX_CONFIG_BYTES);
  if (typeof r !== 'string') throw new ConfigError([unreadable(opts.displayName ?? file, r)]);
  const prep = prepare(r, opts.displayName ?? file, { ...opts, baseDir: dirname(resolve(file)), source: resolve(file) });
  return finish(prep, new Map(prep.files.map((f) => [f, readCappedSync(f, MAX_SECRET_BYTES)])));
}

/**
 * Loads a config without blocking the event loop: the file and every ${file:} secret are
 * read asynchronously with a size cap, so a FIFO, /dev/zero or a huge file cannot stall
 * /healthz or eat memory during a reload.
 */
export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<Config> {
  const r = await readCapped(file, MAX_CONFIG_BYTES);
  if (typeof r !== 'string') throw new ConfigError([unreadable(opts.displayName ?? file, r)]);
  const prep = prepare(r, opts.displayName ?? file, { ...opts, baseDir: dirname(resolve(file)), source: resolve(file) });
  const read = await Promise.all(prep.files.map(async (f) => [f, await readCapped(f, MAX_SECRET_BYTES)] as const));
  return finish(prep, new Map(read));
}

function unreadable(file: string, r: ReadFailure): string {
  const why = r.code === 'ENOENT' ? 'no such file' : r.code === 'EACCES' ? 'permission denied' : r.code === 'EISDIR' ? 'is a directory'
    : r.code === 'ENOTREG' ? 'not a regular file' : r.code === 'EFBIG' ? `larger than ${MAX_CONFIG_BYTES} bytes` : String(r.code);
  return `${file}: cannot read config (${why}); pass an existing YAML file with --config, e.g. --config config/default.yaml`;
}

export function parseConfig(text: string, name: string, opts: LoadOptions & { baseDir?: string; source?: string } = {}): Config {
  const prep = prepare(text, name, opts);
  return finish(prep, new Map(prep.files.map((f) => [f, readCappedSync(f, MAX_SECRET_BYTES)])));
}

interface Prepared {
  name: string;
  doc: Document;
  at: (offset: number) => string;
  raw: unknown;
  /** Absolute paths of the ${file:} secrets the document refers to. */
  files: string[];
  opts: LoadOptions & { baseDir?: string; source?: string };
}

/** Parses the YAML (sync, no I/O) and lists the secret files it needs. */
function prepare(text: string, name: string, opts: LoadOptions & { baseDir?: string; source?: string }): Prepared {
  if (opts.selfAddress) text = text.replaceAll(AGENT_DEFAULTS.listen, opts.selfAddress);
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new ConfigError([`${name}:1: config is larger than ${MAX_CONFIG_BYTES} bytes; split it or remove unused targets`]);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: false });
  const at = (offset: number) => {
    const { line, col } = lc.linePos(offset);
    return `${name}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${at(e.pos[0])}: YAML syntax error: ${e.message.split('\n')[0]} (${e.code}); fix the YAML at this position`));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    // The parser refuses a document whose aliases expand past maxAliasCount (or point
    // nowhere): name the first alias, the place to look.
    let first: number | undefined;
    visit(doc, { Alias(_k, n) { first ??= n.range?.[0]; return visit.BREAK; } });
    throw new ConfigError([`${first === undefined ? `${name}:1:1` : at(first)}: YAML aliases: ${(e as Error).message.split('\n')[0]}; expand at most ${MAX_ALIASES} aliases, or write the values out`]);
  }
  const baseDir = opts.baseDir ?? process.cwd();
  const files = new Set<string>();
  walkStrings(raw, (v) => {
    for (const m of v.matchAll(REF)) if (!m[0].startsWith('$$') && m[1]!.startsWith('file:')) files.add(resolve(baseDir, m[1]!.slice(5)));
  });
  return { name, doc, at, raw, files: opts.noSecrets ? [] : [...files], opts };
}

function finish(prep: Prepared, files: Map<string, string | ReadFailure>): Config {
  const { opts } = prep;
  const ctx = new Ctx();
  const secrets: Secret[] = [];
  const raw = expandSecrets(prep.raw, [], { ctx, env: opts.env ?? process.env, baseDir: opts.baseDir ?? process.cwd(), files, secrets, noSecrets: opts.noSecrets ?? false });
  const cfg = ctx.issues.length === 0 ? validateConfig(raw, opts.source ?? prep.name, ctx) : undefined;
  if (!cfg) throw new ConfigError(located(prep, ctx.issues, secrets));
  for (const sec of secrets) {
    const t = sec.path[0] === 'targets' && typeof sec.path[1] === 'number' ? cfg.targets[sec.path[1]] : undefined;
    if (t) TARGET_SECRETS.set(t, [...(TARGET_SECRETS.get(t) ?? []), sec.value]);
  }
  return cfg;
}

/** The values a target took from ${...} references, longest first (for redaction). */
const TARGET_SECRETS = new WeakMap<object, string[]>();

/**
 * `text` (a probe's failure detail, on its way to a log line) with every value the target
 * took from a ${...} reference replaced by [secret]: an address or host name from a secret
 * file shows up in errors such as ECONNREFUSED 10.1.2.3:6379.
 */
export function redactTargetSecrets(target: object, text: string): string {
  const values = TARGET_SECRETS.get(target);
  if (!values) return text;
  let out = text;
  // An address also shows up as its host alone (getaddrinfo ENOTFOUND db.internal).
  const all = values.flatMap((v) => [v, v.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')]);
  for (const v of all.sort((a, b) => b.length - a.length)) if (v.length >= 3) out = out.split(v).join('[secret]');
  return out;
}

/** Issues as "file:line:col: path: message", in file order, so they read like the file. */
function located({ name, doc, at }: Prepared, issues: Issue[], secrets: Secret[]): string[] {
  const withPos = issues.map((i) => ({ i, offset: locate(doc, i.path, i.atKey ?? false)?.range?.[0] }));
  withPos.sort((a, b) => (a.offset ?? -1) - (b.offset ?? -1));
  return withPos.map(({ i, offset }) => `${offset === undefined ? `${name}:1` : at(offset)}: ${pathString(i.path)}: ${redact(i, secrets)}`);
}

/**
 * Another YAML file of the agent (the web config) through the same parser, limits and
 * file:line messages; no ${...} expansion.
 */
export function parseYaml<T>(text: string, name: string, validate: (raw: unknown, ctx: Ctx) => T | undefined): T {
  const prep = prepare(text, name, { noSecrets: true });
  const ctx = new Ctx();
  const out = validate(prep.raw, ctx);
  if (out === undefined || ctx.issues.length > 0) throw new ConfigError(located(prep, ctx.issues, []));
  return out;
}

/** The YAML node at `path` (or its key), else the nearest ancestor that exists. */
function locate(doc: Document, path: Path, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let best = node as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === seg);
      if (!pair) return best;
      if (last && atKey) return pair.key as Node;
      node = pair.value;
      // A key with no value (`interval:`) has no value node: point at the key.
      best = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) return best;
      best = node as Node;
    } else {
      return best;
    }
  }
  return best;
}

const REF = /\$?\$\{([^}]*)\}/g;

interface Secret { path: Path; value: string }

interface Expand {
  ctx: Ctx;
  env: NodeJS.ProcessEnv;
  baseDir: string;
  files: Map<string, string | ReadFailure>;
  /** Every value that came from a reference, to be kept out of messages. */
  secrets: Secret[];
  noSecrets: boolean;
}

/** A placeholder for an unresolved secret (--no-secrets): long enough for a key's minimum. */
const PLACEHOLDER = 'placeholder-secret-0123456789';

/**
 * Values published as metric labels (names, region, labels) take no references: a secret
 * there would be on /metrics for anyone who can scrape it.
 */
function published(path: Path): boolean {
  return path.includes('labels') || (path[0] === 'agent' && path[1] === 'region')
    || ((path[0] === 'targets' || path[0] === 'services') && path.length === 3 && path[2] === 'name')
    || (path[0] === 'services' && path[2] === 'targets');
}

/**
 * "${NAME}" takes an environment variable, "${file:/path}" a file's contents (surrounding
 * whitespace trimmed, as prometheus/common does; relative paths from the config's folder);
 * "$${" is a literal "${". The values are never logged nor put in a message: the agent logs
 * names, kinds and intervals only, and a rejected value from a reference is shown as [secret].
 */
function expandSecrets(v: unknown, path: Path, x: Expand): unknown {
  if (typeof v === 'string') {
    if (!v.includes('${')) return v;
    // A secret file holds a secret; an environment variable may hold plain config (the
    // region of a Kubernetes overlay), so only ${file:} is refused where values are published.
    const pub = published(path);
    if (pub && [...v.matchAll(REF)].some((m) => !m[0].startsWith('$$') && m[1]!.startsWith('file:'))) {
      x.ctx.add(path, 'is published as a metric label, so it cannot take a ${file:...} secret; write the value itself (or use ${ENV_VAR} for plain config)');
      return '';
    }
    // Each referenced value on its own: it is what may show up in a message or an error.
    const keep = (value: string) => {
      if (value !== '' && !pub) x.secrets.push({ path, value });
      return value;
    };
    return v.replace(REF, (whole, ref: string) => {
      if (whole.startsWith('$$')) return whole.slice(1);
      if (ref.startsWith('file:')) {
        const f = resolve(x.baseDir, ref.slice(5));
        if (x.noSecrets) return PLACEHOLDER;
        const r = x.files.get(f);
        if (typeof r === 'string') return keep(r.trim());
        const why = r === undefined ? 'not read' : r.code === 'ENOTREG' ? 'not a regular file: a FIFO or device is never read'
          : r.code === 'EFBIG' ? `larger than ${MAX_SECRET_BYTES} bytes` : r.code;
        x.ctx.add(path, `cannot read secret file ${f} (${why}); check the path and its permissions`);
        return '';
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref)) {
        x.ctx.add(path, `"\${${ref}}" is not a valid reference; use \${ENV_VAR_NAME} or \${file:/path/to/secret}`);
        return '';
      }
      if (x.noSecrets) return PLACEHOLDER;
      const val = x.env[ref];
      if (val === undefined) {
        x.ctx.add(path, `environment variable ${ref} is not set; export it before starting slaprobe, or use \${file:/path} instead (check-config --no-secrets checks the structure without it)`);
        return '';
      }
      return keep(val);
    });
  }
  if (Array.isArray(v)) return v.map((el, i) => expandSecrets(el, [...path, i], x));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, el]) => [k, expandSecrets(el, [...path, k], x)]));
  }
  return v;
}

/** An issue's message with every value from a reference replaced by [secret]. */
function redact(i: Issue, secrets: Secret[]): string {
  let m = i.message;
  const related = (a: Path, b: Path) => a.every((s, k) => b[k] === s) || b.every((s, k) => a[k] === s);
  // Longest first, so a secret containing another is removed whole.
  for (const s of [...secrets].sort((a, b) => b.value.length - a.value.length)) {
    // Messages about the value's own path can quote it whole or in part; elsewhere only a
    // value long enough to be unmistakable is looked for.
    if (!related(s.path, i.path) && s.value.length < 6) continue;
    m = m.split(JSON.stringify(s.value)).join('[secret]').split(s.value).join('[secret]');
  }
  return m;
}

function walkStrings(v: unknown, f: (s: string) => void): void {
  if (typeof v === 'string') f(v);
  else if (Array.isArray(v)) for (const el of v) walkStrings(el, f);
  else if (v && typeof v === 'object') for (const el of Object.values(v)) walkStrings(el, f);
}

interface ReadFailure { code: string }

function openFlags(): number {
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
  return constants.O_RDONLY | constants.O_NONBLOCK;
}

function refuse(st: Stats, cap: number): ReadFailure | undefined {
  if (st.isDirectory()) return { code: 'EISDIR' };
  if (!st.isFile()) return { code: 'ENOTREG' };
  if (st.size > cap) return { code: 'EFBIG' };
  return undefined;
}

/** The bytes read; a buffer filled to its last byte means the file grew while it was read. */
function text(buf: Buffer, n: number, cap: number): string | ReadFailure {
  if (n === buf.length) return { code: n > cap ? 'EFBIG' : 'EAGAIN' };
  return buf.subarray(0, n).toString('utf8');
}

/** A regular file's text, at most `cap` bytes; anything else (FIFO, device, too big) fails. */
async function readCapped(file: string, cap: number): Promise<string | ReadFailure> {
  let fh;
  try {
    fh = await open(file, openFlags());
    const st = await fh.stat();
    const refused = refuse(st, cap);
    if (refused) return refused;
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = (await fh.read(buf, n, buf.length - n, null)).bytesRead;
    return text(buf, n, cap);
  } catch (e) {
    return { code: String((e as NodeJS.ErrnoException).code) };
  } finally {
    await fh?.close();
  }
}

function readCappedSync(file: string, cap: number): string | ReadFailure {
  let fd: number | undefined;
  try {
    fd = openSync(file, openFlags());
    const st = fstatSync(fd);
    const refused = refuse(st, cap);
    if (refused) return refused;
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    return text(buf, n, cap);
  } catch (e) {
    return { code: String((e as NodeJS.ErrnoException).code) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
