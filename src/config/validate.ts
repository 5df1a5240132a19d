// From the parsed YAML value to a typed Config: strict (unknown keys are errors), every
// default from defaults.ts, every problem reported with its YAML path.
import { isIP } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { REGION_DEFAULTS } from '../availability/regions.ts';
import type { RegionPolicy } from '../availability/types.ts';
import { PROBE_KINDS, type ProbeKind } from '../probes/types.ts';
import {
  Ctx, type Obj, type Path, bool, describe, duration, int, isObj, list, mapping, num, oneOf, pattern, str, stringMap, url,
} from './check.ts';
import {
  AGENT_DEFAULTS, HTTP_DEFAULTS, ICMP_DEFAULTS, QUALITY_DEFAULTS, REFLECTOR_DEFAULTS, STUN_DEFAULTS, TARGET_DEFAULTS,
  UDP_ECHO_DEFAULTS,
} from './defaults.ts';
import { validateRemoteWrite } from './remote-write.ts';
import { validateShard, validateTargetGroups } from './target-groups.ts';
import { validateMaintenance, validateSla } from './sla.ts';
import type {
  AgentConfig, Config, HttpTarget, IcmpTarget, IpProtocol, QualityTargets, ReflectorConfig, ServiceConfig, ServiceRule,
  StunTarget, Target, TcpTarget, TlsClientOptions, UdpEchoTarget,
} from './types.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const NAME_HINT = 'letters, digits, "_", ".", ":" and "-", starting with a letter or digit, at most 100 characters';
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_HINT = 'a Prometheus label name: letters, digits and "_", not starting with a digit';
const RESERVED_LABELS = ['region', 'target', 'kind', 'result', 'reason', 'phase', 'direction', 'service', 'sla', 'le', 'job', 'instance'];
const IP_PROTOCOLS = ['auto', 'ip4', 'ip6'] as const;
/** Longest interval or timeout: a day (timers beyond 2^31 ms, about 24.8 days, fire at once). */
const MAX_INTERVAL = 86_400_000;
/** Prometheus has no limit of its own; this keeps /metrics and the store sane. */
const MAX_LABEL_VALUE = 1024;
/** Far beyond what one agent sustains (the capacity warning says where that is). */
export const MAX_TARGETS = 50_000;

const TOP_KEYS = ['agent', 'defaults', 'targets', 'services', 'reflector', 'maintenance', 'remote_write', 'target_groups'] as const;
const AGENT_KEYS = ['region', 'listen', 'data_dir', 'log_level', 'concurrency', 'name', 'shard'] as const;
const COMMON_KEYS = ['name', 'kind', 'interval', 'timeout', 'labels'] as const;
const KIND_KEYS: Record<ProbeKind, readonly string[]> = {
  http: ['url', 'method', 'headers', 'body', 'valid_status_codes', 'must_match', 'must_not_match', 'max_body_bytes',
    'follow_redirects', 'max_redirects', 'ip_protocol', 'tls'],
  tcp: ['address', 'tls', 'send', 'expect', 'ip_protocol'],
  icmp: ['address', 'packets', 'spacing', 'size', 'ip_protocol', 'quality'],
  stun: ['address', 'transport', 'packets', 'spacing', 'packet_timeout', 'max_outstanding', 'ip_protocol', 'tls', 'quality'],
  'udp-echo': ['address', 'key', 'key_id', 'packets', 'spacing', 'packet_timeout', 'size', 'ip_protocol', 'quality'],
};

export function validateConfig(raw: unknown, source: string, ctx: Ctx): Config | undefined {
  const top = mapping(ctx, raw, [], TOP_KEYS);
  if (!top) return undefined;
  const agent = validateAgent(ctx, top['agent']);
  const defaults = validateDefaults(ctx, top['defaults']);
  const targets = validateTargets(ctx, top['targets'], defaults);
  const baseDir = isAbsolute(source) ? dirname(source) : process.cwd();
  const groups = validateTargetGroups(ctx, top['target_groups'], {
    rawDefaults: isObj(top['defaults']) ? top['defaults'] : {}, baseDir, staticNames: new Set(targets.map((t) => t.name)),
    checkTemplate: (kind, template, path) => checkTemplate(ctx, kind, template, path, defaults),
  });
  const services = validateServices(ctx, top['services'], targets, defaults, groups.map((g) => g.name));
  inheritServiceQuality(ctx, top['targets'], targets, services);
  const reflector = top['reflector'] === undefined ? undefined : validateReflector(ctx, top['reflector'], ['reflector']);
  const maintenance = validateMaintenance(ctx, top['maintenance'], ['maintenance'], services.map((s) => s.name));
  const remoteWrite = validateRemoteWrite(ctx, top['remote_write'], baseDir);
  if (ctx.issues.length > 0) return undefined;
  const cfg: Config = { source, agent, targets, services, maintenance, remote_write: remoteWrite, target_groups: groups, ...(reflector ? { reflector } : {}) };
  return deepFreeze(cfg);
}

function validateAgent(ctx: Ctx, v: unknown): AgentConfig {
  const p = ['agent'];
  const a = mapping(ctx, v, p, AGENT_KEYS) ?? {};
  return {
    region: str(ctx, a['region'], [...p, 'region'], { pattern: NAME, hint: NAME_HINT }) ?? AGENT_DEFAULTS.region,
    listen: hostPort(ctx, a['listen'], [...p, 'listen'], undefined, true) ?? AGENT_DEFAULTS.listen,
    data_dir: str(ctx, a['data_dir'], [...p, 'data_dir']) ?? AGENT_DEFAULTS.data_dir,
    log_level: oneOf(ctx, a['log_level'], [...p, 'log_level'], ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const, AGENT_DEFAULTS.log_level) ?? AGENT_DEFAULTS.log_level,
    concurrency: int(ctx, a['concurrency'], [...p, 'concurrency'], { min: 1, max: 10_000, dflt: AGENT_DEFAULTS.concurrency }) ?? AGENT_DEFAULTS.concurrency,
    name: str(ctx, a['name'], [...p, 'name'], { pattern: NAME, hint: NAME_HINT }) ?? AGENT_DEFAULTS.name,
    ...(a['shard'] !== undefined ? { shard: validateShard(ctx, a['shard'], [...p, 'shard']) } : {}),
  };
}

interface Defaults { interval: number; timeout: number; labels: Record<string, string>; quality: QualityTargets; intervalSet: boolean; timeoutSet: boolean }

function validateDefaults(ctx: Ctx, v: unknown): Defaults {
  const p = ['defaults'];
  const d = mapping(ctx, v, p, ['interval', 'timeout', 'labels', 'quality']) ?? {};
  return {
    interval: duration(ctx, d['interval'], [...p, 'interval'], { min: 100, max: MAX_INTERVAL }) ?? TARGET_DEFAULTS.interval,
    timeout: duration(ctx, d['timeout'], [...p, 'timeout'], { min: 1, max: MAX_INTERVAL }) ?? TARGET_DEFAULTS.timeout,
    labels: labels(ctx, d['labels'], [...p, 'labels']),
    quality: quality(ctx, d['quality'], [...p, 'quality'], QUALITY_DEFAULTS),
    intervalSet: d['interval'] !== undefined,
    timeoutSet: d['timeout'] !== undefined,
  };
}

function labels(ctx: Ctx, v: unknown, path: Path): Record<string, string> {
  const out = stringMap(ctx, v, path, LABEL, LABEL_HINT);
  for (const [k, val] of Object.entries(out)) {
    if (RESERVED_LABELS.includes(k)) ctx.add([...path, k], `label "${k}" is set by slaprobe itself; choose another name`, true);
    if (val.length > MAX_LABEL_VALUE) ctx.add([...path, k], `is ${val.length} characters long; a label value is at most ${MAX_LABEL_VALUE} (every series carries it)`);
  }
  return out;
}

/**
 * RFC 9110 section 5.5: a field value has no CR, LF or NUL. Caught here, once, rather than
 * as a failed run (and counted downtime) every interval; the value itself is not shown, it
 * is often a token.
 */
function headers(ctx: Ctx, v: unknown, p: Path): Record<string, string> {
  const out = stringMap(ctx, v, p, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name');
  for (const [k, val] of Object.entries(out)) {
    if (/[\r\n\0]/.test(val)) ctx.add([...p, k], 'contains a line break (CR or LF) or NUL, which no HTTP header may carry; remove it (a secret file\'s surrounding whitespace is trimmed, not a line break inside it)');
  }
  return out;
}

export function quality(ctx: Ctx, v: unknown, path: Path, base: QualityTargets): QualityTargets {
  const q = mapping(ctx, v, path, ['loss_percent', 'jitter', 'latency', 'latency_mode', 'windows', 'confidence']) ?? {};
  const lossPct = num(ctx, q['loss_percent'], [...path, 'loss_percent'], { min: 0, max: 100 });
  const windows = q['windows'] === undefined
    ? base.windows
    : (list(ctx, q['windows'], [...path, 'windows']) ?? []).flatMap((w, i) => duration(ctx, w, [...path, 'windows', i], { min: 60_000, max: 31 * 86_400_000 }) ?? []);
  return {
    loss: lossPct === undefined ? base.loss : lossPct / 100,
    jitter_ms: duration(ctx, q['jitter'], [...path, 'jitter'], { max: 60_000 }) ?? base.jitter_ms,
    latency_ms: duration(ctx, q['latency'], [...path, 'latency'], { max: 60_000 }) ?? base.latency_ms,
    latency_mode: oneOf(ctx, q['latency_mode'], [...path, 'latency_mode'], ['rtt', 'half_rtt'] as const, base.latency_mode) ?? base.latency_mode,
    windows,
    confidence: num(ctx, q['confidence'], [...path, 'confidence'], { min: 0.5, max: 0.9999 }) ?? base.confidence,
  };
}

function validateTargets(ctx: Ctx, v: unknown, d: Defaults): Target[] {
  const items = list(ctx, v, ['targets']) ?? [];
  if (items.length > MAX_TARGETS) {
    ctx.add(['targets'], `has ${items.length} targets; one agent runs at most ${MAX_TARGETS}: split them over several agents (shards)`);
    return [];
  }
  const out: Target[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const p = ['targets', i];
    if (!isObj(item)) {
      ctx.add(p, `expected a mapping with name, kind and url or address, got ${describe(item)}`);
      return;
    }
    const kind = oneOf(ctx, item['kind'], [...p, 'kind'], PROBE_KINDS);
    if (item['kind'] === undefined) ctx.add([...p, 'kind'], `is required: one of ${PROBE_KINDS.join(', ')}`);
    if (kind === undefined) return;
    mapping(ctx, item, p, [...COMMON_KEYS, ...KIND_KEYS[kind]]);
    const name = str(ctx, item['name'], [...p, 'name'], { required: true, pattern: NAME, hint: NAME_HINT });
    if (name !== undefined) {
      const first = seen.get(name);
      if (first !== undefined) ctx.add([...p, 'name'], `duplicate target name "${name}" (also targets[${first}]); target names must be unique`);
      else seen.set(name, i);
    }
    // udp-echo's stream runs back to back by default (UDP_ECHO_DEFAULTS); config defaults win.
    const echo = kind === 'udp-echo';
    const dInterval = echo && !d.intervalSet ? UDP_ECHO_DEFAULTS.interval : d.interval;
    const dTimeout = echo && !d.timeoutSet ? UDP_ECHO_DEFAULTS.timeout : d.timeout;
    const interval = duration(ctx, item['interval'], [...p, 'interval'], { min: 100, max: MAX_INTERVAL }) ?? dInterval;
    const timeout = duration(ctx, item['timeout'], [...p, 'timeout'], { min: 1, max: MAX_INTERVAL }) ?? Math.min(dTimeout, interval - 1);
    if (item['timeout'] !== undefined && timeout >= interval) {
      ctx.add([...p, 'timeout'], `must be shorter than the interval (${item['interval'] ?? 'default'} = ${interval} ms), got ${JSON.stringify(item['timeout'])}; lower the timeout or raise the interval`);
    }
    const base = { name: name ?? `#${i}`, interval, timeout, labels: { ...d.labels, ...labels(ctx, item['labels'], [...p, 'labels']) } };
    const t = KIND_VALIDATORS[kind](ctx, item, p, base, d);
    if (t) out.push(t);
  });
  return out;
}

type Base = { name: string; interval: number; timeout: number; labels: Record<string, string> };
type KindValidator = (ctx: Ctx, o: Obj, p: Path, base: Base, d: Defaults) => Target | undefined;

const KIND_VALIDATORS = {
  http(ctx, o, p, base): HttpTarget | undefined {
    const url = httpUrl(ctx, o['url'], [...p, 'url']);
    const codes = (list(ctx, o['valid_status_codes'], [...p, 'valid_status_codes']) ?? [])
      .flatMap((c, i) => int(ctx, c, [...p, 'valid_status_codes', i], { min: 100, max: 599 }) ?? []);
    const method = str(ctx, o['method'], [...p, 'method'], { pattern: /^[A-Z]+$/, hint: 'an HTTP method in capitals, e.g. GET, HEAD, POST' }) ?? HTTP_DEFAULTS.method;
    const patterns = (key: string) => (list(ctx, o[key], [...p, key]) ?? []).flatMap((r, i) => pattern(ctx, r, [...p, key, i]) ?? []);
    const body = o['body'] === undefined ? undefined : str(ctx, o['body'], [...p, 'body']);
    if (url === undefined) return undefined;
    return {
      ...base, kind: 'http', url, method,
      headers: headers(ctx, o['headers'], [...p, 'headers']),
      ...(body !== undefined ? { body } : {}),
      valid_status_codes: codes,
      must_match: patterns('must_match'),
      must_not_match: patterns('must_not_match'),
      max_body_bytes: int(ctx, o['max_body_bytes'], [...p, 'max_body_bytes'], { min: 0, dflt: HTTP_DEFAULTS.max_body_bytes }) ?? HTTP_DEFAULTS.max_body_bytes,
      follow_redirects: bool(ctx, o['follow_redirects'], [...p, 'follow_redirects'], HTTP_DEFAULTS.follow_redirects),
      max_redirects: int(ctx, o['max_redirects'], [...p, 'max_redirects'], { min: 0, max: 100, dflt: HTTP_DEFAULTS.max_redirects }) ?? HTTP_DEFAULTS.max_redirects,
      ip_protocol: ipProtocol(ctx, o, p),
      tls: tlsOptions(ctx, o['tls'], [...p, 'tls']),
    };
  },
  tcp(ctx, o, p, base): TcpTarget | undefined {
    const hp = hostPort(ctx, o['address'], [...p, 'address'], undefined, false, true);
    const tlsRaw = o['tls'];
    const tlsEnabled = tlsRaw === true || isObj(tlsRaw);
    if (tlsRaw !== undefined && typeof tlsRaw !== 'boolean' && !isObj(tlsRaw)) ctx.add([...p, 'tls'], `expected true, false or a mapping of TLS options, got ${describe(tlsRaw)}`);
    const send = o['send'] === undefined ? undefined : str(ctx, o['send'], [...p, 'send']);
    const expect = o['expect'] === undefined ? undefined : pattern(ctx, o['expect'], [...p, 'expect']);
    if (hp === undefined) return undefined;
    const [host, port] = splitHostPort(hp);
    return {
      ...base, kind: 'tcp', address: hp, host, port: port!,
      tls_enabled: tlsEnabled,
      tls: tlsOptions(ctx, isObj(tlsRaw) ? tlsRaw : undefined, [...p, 'tls']),
      ...(send !== undefined ? { send } : {}),
      ...(expect !== undefined ? { expect } : {}),
      ip_protocol: ipProtocol(ctx, o, p),
    };
  },
  icmp(ctx, o, p, base, d): IcmpTarget | undefined {
    const host = hostOnly(ctx, o['address'], [...p, 'address']);
    const packets = int(ctx, o['packets'], [...p, 'packets'], { min: 1, max: 10_000, dflt: ICMP_DEFAULTS.packets }) ?? ICMP_DEFAULTS.packets;
    const spacing = duration(ctx, o['spacing'], [...p, 'spacing'], { min: 2, max: 60_000, dflt: ICMP_DEFAULTS.spacing }) ?? ICMP_DEFAULTS.spacing;
    trainFits(ctx, p, base, packets, spacing, 1000);
    if (host === undefined) return undefined;
    return {
      ...base, kind: 'icmp', address: host, host, packets, spacing,
      size: int(ctx, o['size'], [...p, 'size'], { min: 0, max: 65_000, dflt: ICMP_DEFAULTS.size }) ?? ICMP_DEFAULTS.size,
      ip_protocol: ipProtocol(ctx, o, p),
      quality: quality(ctx, o['quality'], [...p, 'quality'], d.quality),
    };
  },
  stun(ctx, o, p, base, d): StunTarget | undefined {
    const transport = oneOf(ctx, o['transport'], [...p, 'transport'], ['udp', 'tcp', 'tls'] as const, 'udp') ?? 'udp';
    const dfltPort = transport === 'tls' ? STUN_DEFAULTS.tls_port : STUN_DEFAULTS.port;
    const hp = hostPort(ctx, o['address'], [...p, 'address'], dfltPort);
    const packets = int(ctx, o['packets'], [...p, 'packets'], { min: 1, max: 100_000, dflt: STUN_DEFAULTS.packets }) ?? STUN_DEFAULTS.packets;
    const spacing = duration(ctx, o['spacing'], [...p, 'spacing'], { min: 1, max: 60_000, dflt: STUN_DEFAULTS.spacing }) ?? STUN_DEFAULTS.spacing;
    const packetTimeout = duration(ctx, o['packet_timeout'], [...p, 'packet_timeout'], { min: 1, max: 60_000, dflt: STUN_DEFAULTS.packet_timeout }) ?? STUN_DEFAULTS.packet_timeout;
    trainFits(ctx, p, base, packets, spacing, packetTimeout);
    if (hp === undefined) return undefined;
    const [host, port] = splitHostPort(hp);
    return {
      ...base, kind: 'stun', address: hp, host, port: port!, transport, packets, spacing,
      packet_timeout: packetTimeout,
      max_outstanding: int(ctx, o['max_outstanding'], [...p, 'max_outstanding'], { min: 1, max: 10_000, dflt: STUN_DEFAULTS.max_outstanding }) ?? STUN_DEFAULTS.max_outstanding,
      ip_protocol: ipProtocol(ctx, o, p),
      tls: tlsOptions(ctx, o['tls'], [...p, 'tls']),
      quality: quality(ctx, o['quality'], [...p, 'quality'], d.quality),
    };
  },
  'udp-echo'(ctx, o, p, base, d): UdpEchoTarget | undefined {
    const hp = hostPort(ctx, o['address'], [...p, 'address'], UDP_ECHO_DEFAULTS.port);
    const key = str(ctx, o['key'], [...p, 'key'], { required: true, hint: 'the shared secret of the reflector, e.g. key: ${SLAPROBE_ECHO_KEY} or key: ${file:/etc/slaprobe/echo.key}' });
    if (key !== undefined && key.length < 16) ctx.add([...p, 'key'], 'is too short: use at least 16 characters of secret (e.g. `openssl rand -hex 32`)');
    const packets = int(ctx, o['packets'], [...p, 'packets'], { min: 1, max: 1_000_000, dflt: UDP_ECHO_DEFAULTS.packets }) ?? UDP_ECHO_DEFAULTS.packets;
    const spacing = duration(ctx, o['spacing'], [...p, 'spacing'], { min: 1, max: 60_000, dflt: UDP_ECHO_DEFAULTS.spacing }) ?? UDP_ECHO_DEFAULTS.spacing;
    const packetTimeout = duration(ctx, o['packet_timeout'], [...p, 'packet_timeout'], { min: 1, max: 60_000, dflt: UDP_ECHO_DEFAULTS.packet_timeout }) ?? UDP_ECHO_DEFAULTS.packet_timeout;
    trainFits(ctx, p, base, packets, spacing, packetTimeout);
    if (hp === undefined || key === undefined) return undefined;
    const [host, port] = splitHostPort(hp);
    return {
      ...base, kind: 'udp-echo', address: hp, host, port: port!, key,
      key_id: str(ctx, o['key_id'], [...p, 'key_id'], { pattern: /^[A-Za-z0-9_-]{1,32}$/, hint: 'letters, digits, "_" and "-", at most 32' }) ?? 'default',
      packets, spacing, packet_timeout: packetTimeout,
      // 112 bytes hold the echo header, the longest key id and the MAC (src/reflector/wire.ts).
      size: int(ctx, o['size'], [...p, 'size'], { min: 112, max: 1472, dflt: UDP_ECHO_DEFAULTS.size }) ?? UDP_ECHO_DEFAULTS.size,
      ip_protocol: ipProtocol(ctx, o, p),
      quality: quality(ctx, o['quality'], [...p, 'quality'], d.quality),
    };
  },
} satisfies Record<ProbeKind, KindValidator>;

/** A packet train must fit in the run's timeout: (packets - 1) x spacing + the last answer's wait. */
function trainFits(ctx: Ctx, p: Path, base: Base, packets: number, spacing: number, lastWait: number): void {
  const need = (packets - 1) * spacing + lastWait;
  if (need > base.timeout) {
    ctx.add([...p, 'timeout'], `is ${base.timeout} ms but ${packets} packets at ${spacing} ms spacing need at least ${need} ms; raise timeout (and interval), or send fewer packets`);
  }
}

function ipProtocol(ctx: Ctx, o: Obj, p: Path): IpProtocol {
  return oneOf(ctx, o['ip_protocol'], [...p, 'ip_protocol'], IP_PROTOCOLS, 'auto') ?? 'auto';
}

function tlsOptions(ctx: Ctx, v: unknown, p: Path): TlsClientOptions {
  const t = mapping(ctx, v, p, ['insecure_skip_verify', 'ca_file', 'cert_file', 'key_file', 'server_name', 'min_version']) ?? {};
  const cert = t['cert_file'] === undefined ? undefined : str(ctx, t['cert_file'], [...p, 'cert_file']);
  const key = t['key_file'] === undefined ? undefined : str(ctx, t['key_file'], [...p, 'key_file']);
  if ((cert === undefined) !== (key === undefined) && (t['cert_file'] !== undefined || t['key_file'] !== undefined)) {
    ctx.add(p, 'cert_file and key_file go together: give both for a client certificate, or neither');
  }
  const opt = (k: string) => (t[k] === undefined ? undefined : str(ctx, t[k], [...p, k]));
  const ca = opt('ca_file');
  const sn = opt('server_name');
  const mv = oneOf(ctx, t['min_version'], [...p, 'min_version'], ['TLSv1.2', 'TLSv1.3'] as const);
  return {
    insecure_skip_verify: bool(ctx, t['insecure_skip_verify'], [...p, 'insecure_skip_verify'], false),
    ...(ca !== undefined ? { ca_file: ca } : {}),
    ...(cert !== undefined ? { cert_file: cert } : {}),
    ...(key !== undefined ? { key_file: key } : {}),
    ...(sn !== undefined ? { server_name: sn } : {}),
    ...(mv !== undefined ? { min_version: mv } : {}),
  };
}

function httpUrl(ctx: Ctx, v: unknown, p: Path): string | undefined {
  return url(ctx, v, p, {
    hint: 'the URL to probe, e.g. https://meet.example.com/api/health',
    example: 'https://meet.example.com/health',
    credentials: 'put them in headers (Authorization: ${ENV_VAR}) instead',
  });
}

/** "host:port", "[v6]:port"; port required unless a default is given. */
function hostPort(ctx: Ctx, v: unknown, p: Path, dfltPort?: number, isListen = false, portRequired = false): string | undefined {
  const example = isListen ? '127.0.0.1:9917' : 'turn.example.com:3478';
  const s = str(ctx, v, p, { required: !isListen, hint: `host:port, e.g. ${example}` });
  if (s === undefined) return undefined;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)|([0-9A-Fa-f:]+:[0-9A-Fa-f:.]*))(?::(\d{1,5}))?$/.exec(s);
  const host = m?.[1] ?? m?.[2] ?? m?.[3];
  const bareV6 = m?.[3] !== undefined;
  let portStr = m?.[4];
  if (bareV6) portStr = undefined; // a bare IPv6 address has no port part
  if (!m || host === undefined || (bareV6 && isIP(s) !== 6)) return ctx.add(p, `${JSON.stringify(s)} is not a valid address; write host:port, e.g. ${example} (IPv6 as [::1]:${isListen ? 9917 : 3478})`);
  if (portStr === undefined && (portRequired || (dfltPort === undefined))) {
    return ctx.add(p, `${JSON.stringify(s)} has no port; write host:port, e.g. ${example}`);
  }
  const port = portStr === undefined ? dfltPort! : Number(portStr);
  if (port < (isListen ? 0 : 1) || port > 65_535) return ctx.add(p, `port ${port} is out of range 1-65535`);
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function hostOnly(ctx: Ctx, v: unknown, p: Path): string | undefined {
  const s = str(ctx, v, p, { required: true, hint: 'a host name or IP address, e.g. 127.0.0.1' });
  if (s === undefined) return undefined;
  if (isIP(s) === 0 && !/^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/.test(s)) {
    return ctx.add(p, `${JSON.stringify(s)} is not a host name or IP address (no port, no scheme), e.g. 127.0.0.1 or turn.example.com`);
  }
  return s;
}

export function splitHostPort(hp: string): [string, number] {
  const i = hp.lastIndexOf(':');
  const host = hp.slice(0, i).replace(/^\[|\]$/g, '');
  return [host, Number(hp.slice(i + 1))];
}

/**
 * A service's `quality` is the verdict thresholds of its packet targets that set none of
 * their own. A target in two services with different thresholds must set its own.
 */
function inheritServiceQuality(ctx: Ctx, raw: unknown, targets: Target[], services: ServiceConfig[]): void {
  const rawList = Array.isArray(raw) ? raw : [];
  const explicit = new Set(rawList.filter((t) => isObj(t) && t['quality'] !== undefined).map((t) => (t as Obj)['name']));
  for (const [i, t] of targets.entries()) {
    if (t.quality === undefined || explicit.has(t.name)) continue;
    const from = services.filter((s) => s.quality && s.targets.includes(t.name));
    const first = from[0];
    if (!first?.quality) continue;
    const other = from.find((s) => JSON.stringify(s.quality) !== JSON.stringify(first.quality));
    if (other) {
      const idx = rawList.findIndex((r) => isObj(r) && r['name'] === t.name);
      ctx.add(['targets', idx >= 0 ? idx : i, 'name'], `target "${t.name}" is in services "${first.name}" and "${other.name}", whose quality thresholds differ; set quality on the target itself`);
      continue;
    }
    targets[i] = { ...t, quality: first.quality };
  }
}

/** A target group's template, as a target of its kind at a placeholder address. */
function checkTemplate(ctx: Ctx, kind: ProbeKind, template: Obj, path: Path, d: Defaults): void {
  const at = kind === 'http' ? { url: 'http://127.0.0.1/' } : kind === 'icmp' ? { address: '127.0.0.1' } : { address: '127.0.0.1:1' };
  const own = new Ctx();
  validateTargets(own, [{ ...template, ...at, name: 'template', kind }], d);
  for (const i of own.issues) ctx.add([...path, ...i.path.slice(2)], i.message, i.atKey ?? false);
}

function validateServices(ctx: Ctx, v: unknown, targets: Target[], d: Defaults, groups: readonly string[] = []): ServiceConfig[] {
  // A target group's name stands for every target it discovers (src/fleet/sd.ts expands it).
  const names = new Set([...targets.map((t) => t.name), ...groups]);
  const seen = new Set<string>();
  return (list(ctx, v, ['services']) ?? []).flatMap((item, i): ServiceConfig[] => {
    const p = ['services', i];
    const s = mapping(ctx, item, p, ['name', 'targets', 'rule', 'regions', 'sla', 'quality', 'labels']);
    if (!s) return [];
    const name = str(ctx, s['name'], [...p, 'name'], { required: true, pattern: NAME, hint: NAME_HINT });
    if (name !== undefined) {
      if (seen.has(name)) ctx.add([...p, 'name'], `duplicate service name "${name}"; service names must be unique`);
      seen.add(name);
    }
    const ts = (list(ctx, s['targets'], [...p, 'targets']) ?? []).flatMap((t, j) => {
      const tn = str(ctx, t, [...p, 'targets', j]);
      if (tn !== undefined && !names.has(tn)) {
        ctx.add([...p, 'targets', j], `unknown target "${tn}"; a service lists names from targets[].name (known: ${[...names].slice(0, 10).join(', ') || 'none'})`);
        return [];
      }
      return tn === undefined ? [] : [tn];
    });
    if (s['targets'] === undefined || (Array.isArray(s['targets']) && s['targets'].length === 0)) ctx.add([...p, 'targets'], 'is required: list at least one target name');
    const rule = serviceRule(ctx, s['rule'], [...p, 'rule'], ts.some((t) => groups.includes(t)) ? 0 : ts.length);
    const sla = validateSla(ctx, s['sla'], [...p, 'sla']);
    const q = s['quality'] === undefined ? undefined : quality(ctx, s['quality'], [...p, 'quality'], d.quality);
    const regions = regionPolicy(ctx, s['regions'], [...p, 'regions']);
    return [{ name: name ?? `#${i}`, targets: ts, rule, regions, sla, labels: labels(ctx, s['labels'], [...p, 'labels']), ...(q ? { quality: q } : {}) }];
  });
}

function serviceRule(ctx: Ctx, v: unknown, p: Path, n: number): ServiceRule {
  if (v === undefined || v === null || v === 'all') return { type: 'all' };
  if (v === 'any') return { type: 'any' };
  if (isObj(v)) {
    const o = mapping(ctx, v, p, ['at_least']);
    const k = int(ctx, o?.['at_least'], [...p, 'at_least'], { min: 1 });
    if (k !== undefined && n > 0 && k > n) ctx.add([...p, 'at_least'], `is ${k} but the service has only ${n} target${n === 1 ? '' : 's'}`);
    return k === undefined ? { type: 'all' } : { type: 'at_least', k };
  }
  ctx.add(p, `expected "all" (down when every target is down), "any" (down when any target is down) or {at_least: K} (down when K or more are down), got ${describe(v)}`);
  return { type: 'all' };
}

const REGION_RULE_HINT = 'any_up (down where every reporting region sees it down), all_down (... and every region probing it reports), {at_least_down: K} or {fraction_down: F} (0 < F <= 1)';

function regionPolicy(ctx: Ctx, v: unknown, p: Path): RegionPolicy {
  const o = mapping(ctx, v, p, ['rule', 'min_reporting']);
  if (!o) return REGION_DEFAULTS;
  const min = int(ctx, o['min_reporting'], [...p, 'min_reporting'], { min: 1, max: 1000, dflt: REGION_DEFAULTS.min_reporting }) ?? REGION_DEFAULTS.min_reporting;
  const r = o['rule'];
  const rp = [...p, 'rule'];
  let rule: RegionPolicy['rule'] = REGION_DEFAULTS.rule;
  if (r === 'any_up' || r === 'all_down') rule = { type: r };
  else if (isObj(r) && Object.keys(r).length === 1 && 'at_least_down' in r) {
    const k = int(ctx, r['at_least_down'], [...rp, 'at_least_down'], { min: 1, max: 1000 });
    if (k !== undefined) {
      rule = { type: 'at_least_down', k };
      if (k > min) ctx.add([...rp, 'at_least_down'], `is ${k} but min_reporting is ${min}: with fewer than ${k} regions reporting the service could never be down, yet would count as up; set min_reporting: ${k} (or more)`);
    }
  } else if (isObj(r) && Object.keys(r).length === 1 && 'fraction_down' in r) {
    const f = num(ctx, r['fraction_down'], [...rp, 'fraction_down'], { max: 1 });
    if (f !== undefined && f <= 0) ctx.add([...rp, 'fraction_down'], `must be above 0 (a share of the reporting regions, e.g. 0.5), got ${f}`);
    else if (f !== undefined) rule = { type: 'fraction_down', f };
  } else if (r !== undefined && r !== null) {
    ctx.add(rp, `expected ${REGION_RULE_HINT}, got ${describe(r)}`);
  }
  return { rule, min_reporting: min };
}

function validateReflector(ctx: Ctx, v: unknown, p: Path): ReflectorConfig | undefined {
  const r = mapping(ctx, v, p, ['listen', 'keys', 'rate_limit', 'max_packet_bytes']);
  if (!r) return undefined;
  const listen = hostPort(ctx, r['listen'], [...p, 'listen'], UDP_ECHO_DEFAULTS.port);
  const keys = stringMap(ctx, r['keys'], [...p, 'keys'], /^[A-Za-z0-9_-]{1,32}$/, 'a key id: letters, digits, "_" and "-", at most 32');
  if (Object.keys(keys).length === 0) ctx.add([...p, 'keys'], 'is required: at least one key id and secret, e.g. keys: {default: ${SLAPROBE_ECHO_KEY}}; the reflector answers only authenticated packets');
  for (const [k, s] of Object.entries(keys)) if (s.length < 16) ctx.add([...p, 'keys', k], 'is too short: use at least 16 characters of secret (e.g. `openssl rand -hex 32`)');
  const out = {
    listen: listen ?? '',
    keys,
    rate_limit: int(ctx, r['rate_limit'], [...p, 'rate_limit'], { min: 1, max: 1_000_000, dflt: REFLECTOR_DEFAULTS.rate_limit }) ?? REFLECTOR_DEFAULTS.rate_limit,
    max_packet_bytes: int(ctx, r['max_packet_bytes'], [...p, 'max_packet_bytes'], { min: 64, max: 65_507, dflt: REFLECTOR_DEFAULTS.max_packet_bytes }) ?? REFLECTOR_DEFAULTS.max_packet_bytes,
  };
  return listen === undefined ? undefined : out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
