// Every default of the configuration, in one place.
import { hostname } from 'node:os';
import type { AgentConfig, QualityTargets, RemoteWriteQueue } from './types.ts';

export const AGENT_DEFAULTS: AgentConfig = {
  region: 'local',
  listen: '127.0.0.1:9917',
  data_dir: './data',
  log_level: 'info',
  concurrency: 64,
  // A StatefulSet pod's host name (slaprobe-3) is unique and stable: a good agent label.
  name: hostname(),
};

/** Prometheus's own remote-write defaults (v2.42+ docs), except that one request is in flight. */
export const REMOTE_WRITE_QUEUE_DEFAULTS: RemoteWriteQueue = {
  max_samples_per_send: 2000,
  batch_send_deadline: 5_000,
  min_backoff: 30,
  max_backoff: 5_000,
  retry_on_http_429: true,
};

export const REMOTE_WRITE_DEFAULTS = {
  remote_timeout: 30_000,
};

export const TARGET_DEFAULTS = {
  interval: 30_000,
  timeout: 5_000,
};

export const HTTP_DEFAULTS = {
  method: 'GET',
  max_body_bytes: 10 * 1024 * 1024,
  follow_redirects: true,
  max_redirects: 10,
};

export const ICMP_DEFAULTS = {
  packets: 10,
  spacing: 200,
  size: 56,
};

/** RFC 8489 section 6.2: a few requests a second to servers you do not own. */
export const STUN_DEFAULTS = {
  port: 3478,
  tls_port: 5349,
  packets: 10,
  spacing: 250,
  packet_timeout: 1_000,
  max_outstanding: 10,
};

/** An audio stream's cadence: 50 packets/s of 172 bytes (20 ms of G.711 plus RTP/UDP/IP). */
export const UDP_ECHO_DEFAULTS = {
  port: 8622,
  packets: 250,
  spacing: 20,
  // Beyond 500 ms a reply is useless to a conversation: the packet is lost, and counted late.
  packet_timeout: 500,
  size: 172,
  // Runs back to back: 5 s of stream (250 x 20 ms) in every 6 s, the last packet's wait
  // inside the run's 5.5 s deadline. Used when neither the target nor `defaults` sets them.
  interval: 6_000,
  timeout: 5_500,
};

export const REFLECTOR_DEFAULTS = {
  rate_limit: 200,
  max_packet_bytes: 1472,
};

/** HEDU-5.4 / UMEET-5.4. */
export const QUALITY_DEFAULTS: QualityTargets = {
  loss: 0.0005,
  jitter_ms: 50,
  latency_ms: 150,
  latency_mode: 'rtt',
  windows: [15 * 60_000, 60 * 60_000],
  confidence: 0.95,
};
