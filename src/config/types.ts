// The validated, frozen configuration. Durations are milliseconds; everything has its
// default filled in (defaults live in src/config/defaults.ts).
import type { Maintenance } from '../availability/exclusions.ts';
import type { RegionPolicy, SlaPolicy } from '../availability/types.ts';
import type { ProbeKind } from '../probes/types.ts';

export type IpProtocol = 'auto' | 'ip4' | 'ip6';

export interface AgentConfig {
  region: string;
  /** host:port of the HTTP server for /metrics, /healthz, /readyz, /-/reload. */
  listen: string;
  data_dir: string;
  log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Most probe runs in flight at once, over all targets. */
  concurrency: number;
  /** This agent's name, the `agent` label of pushed samples (default: the host name). */
  name: string;
  /** Probe only the targets whose Prometheus hashmod falls in this shard (src/fleet/shard.ts). */
  shard?: { count: number; index: number };
}

export interface TlsClientOptions {
  insecure_skip_verify: boolean;
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  /** SNI and the name the certificate is checked against; defaults to the URL's host. */
  server_name?: string;
  min_version?: 'TLSv1.2' | 'TLSv1.3';
}

/** Thresholds of HEDU-5.4 / UMEET-5.4 by default; per target or per service. */
export interface QualityTargets {
  /** Loss ratio, e.g. 0.0005 for 0.05 %. */
  loss: number;
  /** RFC 3550 jitter, ms. */
  jitter_ms: number;
  /** Latency, ms; compared with RTT or RTT/2 per latency_mode. */
  latency_ms: number;
  latency_mode: 'rtt' | 'half_rtt';
  /** Rolling windows for verdicts, ms (the calendar month is always added). */
  windows: number[];
  /** Confidence of the loss verdict's Clopper-Pearson bound, e.g. 0.95. */
  confidence: number;
}

interface TargetBase {
  name: string;
  kind: ProbeKind;
  interval: number;
  timeout: number;
  labels: Record<string, string>;
  /** Verdict thresholds for the packet kinds (icmp, stun, udp-echo). */
  quality?: QualityTargets;
  /** Targets from service discovery: the entry as the SD source wrote it (Prometheus's __address__). */
  sd_address?: string;
}

export interface HttpTarget extends TargetBase {
  kind: 'http';
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Accepted status codes; empty = 200-299. */
  valid_status_codes: number[];
  /** RE2 patterns (src/config/pattern.ts), checked at load. */
  must_match: string[];
  must_not_match: string[];
  max_body_bytes: number;
  follow_redirects: boolean;
  max_redirects: number;
  ip_protocol: IpProtocol;
  tls: TlsClientOptions;
}

export interface TcpTarget extends TargetBase {
  kind: 'tcp';
  address: string;
  host: string;
  port: number;
  /** Do a TLS handshake after connecting. */
  tls_enabled: boolean;
  tls: TlsClientOptions;
  send?: string;
  /** RE2 pattern, checked at load. */
  expect?: string;
  ip_protocol: IpProtocol;
}

export interface IcmpTarget extends TargetBase {
  kind: 'icmp';
  address: string;
  host: string;
  /** Echo requests per run, all in one ping process. */
  packets: number;
  /** Time between echo requests, ms (iputils allows 200 ms and up without privileges). */
  spacing: number;
  /** ICMP payload bytes. */
  size: number;
  ip_protocol: IpProtocol;
}

export interface StunTarget extends TargetBase {
  kind: 'stun';
  address: string;
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  packets: number;
  spacing: number;
  /** Longest wait for each answer, ms. */
  packet_timeout: number;
  max_outstanding: number;
  ip_protocol: IpProtocol;
  tls: TlsClientOptions;
}

export interface UdpEchoTarget extends TargetBase {
  kind: 'udp-echo';
  address: string;
  host: string;
  port: number;
  /** Shared HMAC key (from ${ENV} or a file reference). */
  key: string;
  key_id: string;
  packets: number;
  spacing: number;
  packet_timeout: number;
  size: number;
  ip_protocol: IpProtocol;
}

export type Target = HttpTarget | TcpTarget | IcmpTarget | StunTarget | UdpEchoTarget;

export interface ReflectorConfig {
  listen: string;
  /** key id -> shared secret. */
  keys: Record<string, string>;
  /** Packets per second allowed from one source address. */
  rate_limit: number;
  max_packet_bytes: number;
}

export type ServiceRule = { type: 'all' } | { type: 'any' } | { type: 'at_least'; k: number };

export interface ServiceConfig {
  name: string;
  targets: string[];
  rule: ServiceRule;
  /** How the regions that probe it combine (default any_up, min_reporting 1). */
  regions: RegionPolicy;
  /** SLA policies, presets resolved and defaults filled (src/config/sla.ts). */
  sla: SlaPolicy[];
  quality?: QualityTargets;
  labels: Record<string, string>;
}

export interface Config {
  /** Absolute path of the file it was read from, or "<embedded>". */
  source: string;
  agent: AgentConfig;
  targets: Target[];
  services: ServiceConfig[];
  reflector?: ReflectorConfig;
  /** Planned maintenance, excluded from availability (src/config/sla.ts). */
  maintenance: Maintenance[];
  /** Stores the run outcomes are pushed to (src/config/remote-write.ts, src/fleet/). */
  remote_write: RemoteWriteConfig[];
  /** Targets from Prometheus service discovery (src/config/target-groups.ts, src/fleet/sd.ts). */
  target_groups: TargetGroup[];
}

/**
 * A kind and a template of target options (a blackbox "module") applied to every address
 * that file_sd / http_sd lists (a Prometheus scrape job's targets).
 */
export interface TargetGroup {
  name: string;
  kind: ProbeKind;
  /** Target keys every discovered target starts from, as written (validated at load). */
  template: Readonly<Record<string, unknown>>;
  /** The config's `defaults:` as written: discovered targets get them like inline ones. */
  defaults: Readonly<Record<string, unknown>>;
  file_sd_configs: { files: string[]; refresh_interval: number }[];
  http_sd_configs: { url: string; refresh_interval: number }[];
}

/** One Prometheus remote-write endpoint, in Prometheus's own config shape. */
export interface RemoteWriteConfig {
  /** The `remote` label of the slaprobe_remote_write_* metrics and the outbox cursor's key. */
  name: string;
  url: string;
  /** Longest wait for one request, ms. */
  remote_timeout: number;
  headers: Record<string, string>;
  basic_auth?: { username: string; password?: string; password_file?: string };
  bearer_token?: string;
  bearer_token_file?: string;
  tls_config: TlsClientOptions;
  queue_config: RemoteWriteQueue;
}

export interface RemoteWriteQueue {
  max_samples_per_send: number;
  /** A partial batch waits at most this long for more samples, ms. */
  batch_send_deadline: number;
  min_backoff: number;
  max_backoff: number;
  retry_on_http_429: boolean;
}
