// --web.config.file: TLS and basic auth for every endpoint of the agent, in the
// exporter-toolkit format that Prometheus and blackbox_exporter read (so one file serves
// them all): tls_server_config (cert/key, optional client CA and client_auth_type) and
// basic_auth_users (user -> bcrypt hash). A bad file at start is a config error; the file and
// the PEM files it names are read again when they change (certificate rotation, new users),
// as exporter-toolkit does, and a bad new version leaves the running one in force.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'node:https';
import { dirname, resolve } from 'node:path';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { type Ctx, type Path, isObj, mapping, oneOf, str, stringMap } from './config/check.ts';
import { ConfigError, parseYaml } from './config/load.ts';

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface WebConfig {
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; clientAuth: ClientAuthType; minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3' };
  /** user -> bcrypt hash; empty: no basic auth. */
  users: Record<string, string>;
  /** The files it was read from (the web config, then its PEM files): watched for changes. */
  files?: string[];
}

const TLS_VERSIONS = { TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** Reads and checks a web config file; throws ConfigError (file:line: path: message). */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`${file}: cannot read web config (${(e as NodeJS.ErrnoException).code}); pass an existing file with --web.config.file`]);
  }
  const base = dirname(resolve(file));
  const files = [resolve(file)];
  const web = parseYaml(text, file, (raw, ctx) => validateWebConfig(raw, ctx, base, files));
  return { ...web, files };
}

function validateWebConfig(raw: unknown, ctx: Ctx, base: string, files: string[]): WebConfig | undefined {
  const top = mapping(ctx, raw, [], ['tls_server_config', 'basic_auth_users']);
  if (!top) return undefined;
  const users = stringMap(ctx, top['basic_auth_users'], ['basic_auth_users']);
  for (const [u, h] of Object.entries(users)) {
    if (!BCRYPT.test(h)) ctx.add(['basic_auth_users', u], 'is not a bcrypt hash ($2y$10$... , 60 characters); make one with `htpasswd -nBC 10 "" | tr -d \':\\n\'`');
    if (u.includes(':')) ctx.add(['basic_auth_users', u], 'a user name cannot contain ":" (basic auth separates user and password with it)', true);
  }
  const tls = top['tls_server_config'] === undefined ? undefined : tlsServer(ctx, top['tls_server_config'], ['tls_server_config'], base, files);
  if (ctx.issues.length > 0) return undefined;
  return { users, ...(tls ? { tls } : {}) };
}

function tlsServer(ctx: Ctx, v: unknown, p: Path, base: string, files: string[]): WebConfig['tls'] {
  const t = mapping(ctx, v, p, ['cert_file', 'key_file', 'cert', 'key', 'client_ca_file', 'client_auth_type', 'min_version', 'max_version']);
  if (!t || !isObj(v)) return undefined;
  const pem = (fileKey: string, inlineKey: string | undefined, required: boolean): Buffer | undefined => {
    if (inlineKey && t[fileKey] !== undefined && t[inlineKey] !== undefined) return ctx.add([...p, inlineKey], `give ${fileKey} or ${inlineKey}, not both`);
    if (inlineKey && t[inlineKey] !== undefined) {
      const s = str(ctx, t[inlineKey], [...p, inlineKey]);
      return s === undefined ? undefined : Buffer.from(s);
    }
    const f = str(ctx, t[fileKey], [...p, fileKey], { required, hint: 'a PEM file, relative to the web config\'s folder' });
    if (f === undefined) return undefined;
    files.push(resolve(base, f));
    try {
      return readFileSync(resolve(base, f));
    } catch (e) {
      return ctx.add([...p, fileKey], `cannot read ${resolve(base, f)} (${(e as NodeJS.ErrnoException).code}); check the path and its permissions`);
    }
  };
  const cert = pem('cert_file', 'cert', t['cert'] === undefined);
  const key = pem('key_file', 'key', t['key'] === undefined);
  const ca = t['client_ca_file'] === undefined ? undefined : pem('client_ca_file', undefined, false);
  const clientAuth = oneOf(ctx, t['client_auth_type'], [...p, 'client_auth_type'], CLIENT_AUTH_TYPES, 'NoClientCert') ?? 'NoClientCert';
  const verifies = clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert';
  if (verifies && t['client_ca_file'] === undefined) ctx.add([...p, 'client_auth_type'], `${clientAuth} verifies client certificates: give client_ca_file, the CA that signs them`);
  if (!verifies && t['client_ca_file'] !== undefined) ctx.add([...p, 'client_ca_file'], `is set but client_auth_type is ${clientAuth}, which verifies nothing; set client_auth_type: RequireAndVerifyClientCert`);
  const version = (k: string) => {
    const s = oneOf(ctx, t[k], [...p, k], ['TLS12', 'TLS13'] as const);
    return s === undefined ? undefined : TLS_VERSIONS[s];
  };
  const minVersion = version('min_version');
  const maxVersion = version('max_version');
  if (!cert || !key) return undefined;
  return { cert, key, clientAuth, ...(ca ? { ca } : {}), ...(minVersion ? { minVersion } : {}), ...(maxVersion ? { maxVersion } : {}) };
}

/** The secure-context part of a web config's TLS section: what a rotation replaces on the running server. */
export function secureContextOptions(tls: NonNullable<WebConfig['tls']>): SecureContextOptions {
  return {
    cert: tls.cert, key: tls.key,
    ...(tls.ca ? { ca: tls.ca } : {}),
    minVersion: tls.minVersion ?? 'TLSv1.2',
    ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}),
  };
}

/** node:https options for a web config's TLS section. */
export function httpsOptions(tls: NonNullable<WebConfig['tls']>): ServerOptions {
  return {
    ...secureContextOptions(tls),
    requestCert: tls.clientAuth !== 'NoClientCert',
    // Only RequireAndVerify is enforced in the handshake; the others are checked per request.
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
  };
}

/**
 * Why `next` cannot replace `running` on a live server (undefined: it can). TLS on or off and
 * the client-certificate mode are the listening socket's own settings, fixed when it opened.
 */
function needsRestart(running: WebConfig, next: WebConfig): string | undefined {
  if (!running.tls !== !next.tls) return `tls_server_config ${next.tls ? 'added' : 'removed'}: TLS is turned on or off only by a restart of slaprobe`;
  if (running.tls && next.tls && running.tls.clientAuth !== next.tls.clientAuth) {
    return `tls_server_config.client_auth_type changed from ${running.tls.clientAuth} to ${next.tls.clientAuth}: it takes a restart of slaprobe`;
  }
  return undefined;
}

export interface WebConfigSource {
  /** The web config in force. */
  current(): WebConfig;
  /** Reads the files again if any changed since the last look (or `force`); called every few seconds and on SIGHUP. */
  check(force?: boolean): void;
  stop(): void;
}

export interface WatchWebDeps {
  log: { info(o: object, msg: string): void; error(o: object, msg: string): void };
  /** A new config took effect. */
  onChange(next: WebConfig): void;
  /** 1 the last read was taken, 0 it was refused. */
  onResult?(ok: boolean): void;
  /** How often the files are looked at, ms (default 5 s). */
  every?: number;
}

/** stat of each file: a change in any of them (a renamed-in certificate too) is a change. */
function fingerprint(files: readonly string[]): string {
  return files.map((f) => {
    try {
      const s = statSync(f);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'error';
    }
  }).join('|');
}

/** Keeps a web config current with its files; a bad or incompatible new version is logged and refused, the running one stays. */
export function watchWebConfig(file: string, initial: WebConfig, deps: WatchWebDeps): WebConfigSource {
  let running = initial;
  let seen = fingerprint(initial.files ?? [file]);
  const refuse = (errors: string[]) => {
    deps.onResult?.(false);
    deps.log.error({ web_config: file, errors }, 'web config changed but was refused; the running TLS and basic auth settings stay in force');
  };
  const check = (force = false) => {
    const now = fingerprint(running.files ?? [file]);
    if (now === seen && !force) return;
    seen = now;
    let next: WebConfig;
    try {
      next = loadWebConfig(file);
    } catch (e) {
      return refuse(e instanceof ConfigError ? e.messages : [String(e)]);
    }
    // Files the new version names are the ones to watch from now on.
    seen = fingerprint(next.files ?? [file]);
    const why = needsRestart(running, next);
    if (why) return refuse([`${file}: ${why}`]);
    running = next;
    deps.onResult?.(true);
    deps.onChange(next);
    deps.log.info({ web_config: file, tls: !!next.tls, users: Object.keys(next.users).length }, 'web config reloaded');
  };
  const timer = setInterval(() => check(), deps.every ?? 5000);
  timer.unref();
  return { current: () => running, check, stop: () => clearInterval(timer) };
}

// A hash to compare against for unknown users, so a wrong user name costs what a wrong
// password does (no user enumeration by timing).
// Made on first use: hashing costs ~0.6 s of CPU, which an agent without basic auth never pays.
let dummy: string | undefined;
// Imported on first use, like the hash: an agent without basic_auth_users never loads it.
const bcryptjs = async () => (await import('bcryptjs')).default;
const dummyHash = async () => (dummy ??= (await bcryptjs()).hashSync('slaprobe-no-such-user', 10));

/**
 * Checks a request against the web config: 'ok', or the status and reason to answer with.
 * bcrypt costs ~100 ms per check, so verified credentials are remembered (by a SHA-256 of
 * user, password and hash) and a scrape every few seconds does not pay it again.
 */
export function createAuthorizer(source: () => WebConfig): (req: IncomingMessage) => Promise<'ok' | { status: 401 | 403; reason: string }> {
  const good = new Set<string>();
  return async (req) => {
    const web = source();
    if (web.tls && (web.tls.clientAuth === 'RequireAnyClientCert' || web.tls.clientAuth === 'VerifyClientCertIfGiven')) {
      const sock = req.socket as TLSSocket;
      const cert = sock.getPeerCertificate?.();
      const has = cert !== undefined && Object.keys(cert).length > 0;
      if (web.tls.clientAuth === 'RequireAnyClientCert' && !has) return { status: 403, reason: 'a client certificate is required' };
      if (web.tls.clientAuth === 'VerifyClientCertIfGiven' && has && !sock.authorized) return { status: 403, reason: 'the client certificate is not signed by client_ca_file' };
    }
    const users = Object.keys(web.users);
    if (users.length === 0) return 'ok';
    const h = req.headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
    if (!m) return { status: 401, reason: 'basic auth required' };
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return { status: 401, reason: 'basic auth required' };
    const user = decoded.slice(0, i);
    const pass = decoded.slice(i + 1);
    const hash = Object.hasOwn(web.users, user) ? web.users[user]! : undefined;
    const id = createHash('sha256').update(`${user}\0${pass}\0${hash ?? ''}`).digest('hex');
    if (hash !== undefined && good.has(id)) return 'ok';
    const ok = await (await bcryptjs()).compare(pass, hash ?? await dummyHash());
    if (ok && hash !== undefined) {
      if (good.size > 1000) good.clear();
      good.add(id);
      return 'ok';
    }
    return { status: 401, reason: 'wrong user or password' };
  };
}
