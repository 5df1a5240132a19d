// A timed connection: name lookup, TCP connect and TLS handshake as separate phases, shared
// by the http and tcp probes. Every probe run opens its own connection (no pooling), so
// each run measures what a new client would see.
import { readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP, Socket, connect as netConnect } from 'node:net';
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { IpProtocol, TlsClientOptions } from '../config/types.ts';
import type { TlsInfo } from './types.ts';

export const hr = (): bigint => process.hrtime.bigint();
export const secondsSince = (t0: bigint, t1: bigint = hr()): number => Number(t1 - t0) / 1e9;

export interface TimedConnection {
  socket: Socket | TLSSocket;
  address: string;
  dns: number;
  connect: number;
  tls?: number;
  tlsInfo?: TlsInfo;
  /** Monotonic time at which the connection (and TLS) was ready. */
  readyAt: bigint;
}

/** A failure inside connectTimed, with the phases measured before it. */
export class ConnectError extends Error {
  readonly phases: { dns?: number; connect?: number };
  readonly code: string | undefined;
  constructor(cause: unknown, phases: { dns?: number; connect?: number }) {
    super('connection failed', { cause });
    this.phases = phases;
    this.code = (cause as { code?: string } | undefined)?.code;
  }
}

export async function resolveHost(host: string, ip: IpProtocol): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return bare;
  const all = await lookup(bare, { all: true, family: ip === 'ip4' ? 4 : ip === 'ip6' ? 6 : 0 });
  // "auto" prefers IPv4, as blackbox_exporter does, falling back to IPv6.
  const pick = all.find((a) => a.family === 4) ?? all[0];
  if (!pick) throw Object.assign(new Error('no address'), { code: 'ENOTFOUND' });
  return pick.address;
}

export async function connectTimed(opts: {
  host: string;
  port: number;
  ip: IpProtocol;
  signal: AbortSignal;
  tls?: TlsClientOptions & { alpn?: string[] };
}): Promise<TimedConnection> {
  const t0 = hr();
  let address: string;
  try {
    address = await abortable(resolveHost(opts.host, opts.ip), opts.signal);
  } catch (e) {
    throw new ConnectError(e, {});
  }
  const dns = secondsSince(t0);
  const t1 = hr();
  const socket = await ready(netConnect({ host: address, port: opts.port, noDelay: true }), 'connect', opts.signal, { dns });
  const connect = secondsSince(t1);
  if (!opts.tls) return { socket, address, dns, connect, readyAt: hr() };

  const t2 = hr();
  const tlsOpts = opts.tls;
  // SNI carries names only (RFC 6066 3): an IP literal, given or configured, sends none.
  const sniName = (tlsOpts.server_name ?? opts.host).replace(/^\[|\]$/g, '');
  const servername = isIP(sniName) ? undefined : sniName;
  let files: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  try {
    files = {
      ...(tlsOpts.ca_file ? { ca: readFileSync(tlsOpts.ca_file) } : {}),
      ...(tlsOpts.cert_file ? { cert: readFileSync(tlsOpts.cert_file) } : {}),
      ...(tlsOpts.key_file ? { key: readFileSync(tlsOpts.key_file) } : {}),
    };
  } catch (e) {
    socket.destroy();
    throw new ConnectError(Object.assign(new Error('TLS file unreadable'), { code: 'ERR_TLS_FILE', cause: e }), { dns, connect });
  }
  const tsock = await ready(tlsConnect({
    socket,
    // `host` is what the certificate is checked against when there is no SNI name (an IP
    // literal): without it Node checks against "localhost".
    host: tlsOpts.server_name ?? opts.host.replace(/^\[|\]$/g, ''),
    ...(servername ? { servername } : {}),
    // Verification is on unless the target opts out; the check is then ours to report.
    rejectUnauthorized: !tlsOpts.insecure_skip_verify,
    ...files,
    ...(tlsOpts.min_version ? { minVersion: tlsOpts.min_version } : {}),
    ...(tlsOpts.alpn ? { ALPNProtocols: tlsOpts.alpn } : {}),
  }), 'secureConnect', opts.signal, { dns, connect });
  const tls = secondsSince(t2);
  return { socket: tsock, address, dns, connect, tls, tlsInfo: tlsInfoOf(tsock), readyAt: hr() };
}

/** Resolves with the socket on its ready event; an error or the signal rejects with the phases so far. */
function ready<S extends Socket>(s: S, event: 'connect' | 'secureConnect', signal: AbortSignal, phases: { dns?: number; connect?: number }): Promise<S> {
  return new Promise<S>((resolve, reject) => {
    const onAbort = () => s.destroy(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    s.once(event, () => {
      signal.removeEventListener('abort', onAbort);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(new ConnectError(e, phases));
    });
  });
}

export function tlsInfoOf(s: TLSSocket): TlsInfo {
  const info: TlsInfo = { authorized: s.authorized };
  const v = s.getProtocol();
  if (v) info.version = v;
  const c = s.getCipher();
  if (c) info.cipher = c.name;
  const leaf = s.getPeerCertificate(true);
  if (leaf && Object.keys(leaf).length > 0) {
    info.certNotAfter = earliestExpiry(leaf);
    if (leaf.subject?.CN) info.subject = String(leaf.subject.CN);
    if (leaf.issuer?.CN) info.issuer = String(leaf.issuer.CN);
  }
  return info;
}

/** The earliest notAfter in the presented chain, Unix seconds. */
export function earliestExpiry(leaf: PeerCertificate & { issuerCertificate?: PeerCertificate }): number {
  let min = Infinity;
  const seen = new Set<string>();
  let c: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = leaf;
  while (c && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    const t = Date.parse(c.valid_to) / 1000;
    if (Number.isFinite(t)) min = Math.min(min, t);
    c = c.issuerCertificate as typeof c;
  }
  return min;
}

export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}
