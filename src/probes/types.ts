// The one function type every probe kind implements, and the result it returns.
// Probes return data only: the runner (src/runner.ts) applies the timeout, times the run and
// hands the result to the sinks (metrics, logs, store).
import type { Target } from '../config/types.ts';

export const PROBE_KINDS = ['http', 'tcp', 'icmp', 'stun', 'udp-echo'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/**
 * Why a run failed: one word from this closed set, derived from stable codes (errno, undici
 * `code`, ping exit status, STUN error class), never from message text. Used as a label value.
 */
export const FAILURE_REASONS = [
  'dns', // name did not resolve (ENOTFOUND, EAI_AGAIN)
  'refused', // ECONNREFUSED, or ICMP port unreachable on a connected UDP socket
  'unreachable', // EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ICMP host/net unreachable
  'reset', // ECONNRESET, EPIPE, socket closed before the answer was complete
  'timeout', // the run's deadline passed, or no echo answered
  'tls', // handshake failed, certificate invalid, expired, or not trusted
  'status', // HTTP status not among the expected ones
  'body_mismatch', // body failed must_match / must_not_match
  'too_large', // body larger than max_body_bytes
  'redirects', // too many redirects, or a redirect when following is off
  'protocol', // the peer spoke something else (malformed HTTP, STUN, echo answer)
  'expect', // tcp send/expect: the expected answer did not come
  'loss', // some packets of a train were lost beyond the run's allowance
  'auth', // the peer demanded credentials (STUN 401) or rejected ours
  'ping_unavailable', // the system ping binary is missing or not permitted
  'error', // anything not classified above (kept small by design)
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export const HTTP_PHASES = ['dns', 'connect', 'tls', 'ttfb', 'transfer'] as const;
export type HttpPhase = (typeof HTTP_PHASES)[number];

/** Per-packet outcomes of one run of a packet train (icmp, stun, udp-echo). */
export interface PacketTrain {
  /** Packets whose fate is known (answered or timed out) in this run. */
  sent: number;
  /** First answers within the timeout. */
  received: number;
  /** Round-trip time of each answered packet, seconds, in send order. */
  rtts: number[];
  /** Send order index of each rtt (same length as rtts), to find loss bursts and IPDV pairs. */
  seqs?: number[];
  lost?: number;
  /** Lost packets split by direction where the peer says which way (udp-echo). */
  lostUpstream?: number;
  lostDownstream?: number;
  late?: number;
  /**
   * Answered, but read after a stall of the agent's packet worker later than the packet
   * timeout: whether it came in time is not known. Counted neither in `sent` nor lost, no RTT
   * (src/probes/train/worker.ts).
   */
  unobserved?: number;
  duplicated?: number;
  reordered?: number;
  /** Datagrams that were not a valid answer, by reason (malformed, bad_cookie ...). */
  invalid?: Partial<Record<string, number>>;
  /** Longest run of consecutive losses. */
  lossBurstMax?: number;
  /** One-way delays when the peer reports its own timestamps (udp-echo), seconds. */
  upstreamDelays?: number[];
  downstreamDelays?: number[];
}

export interface TlsInfo {
  version?: string;
  cipher?: string;
  /** Unix seconds at which the earliest-expiring certificate of the chain expires. */
  certNotAfter?: number;
  subject?: string;
  issuer?: string;
  authorized?: boolean;
}

export interface ProbeResult {
  success: boolean;
  /** Set when success is false. */
  reason?: FailureReason;
  /** Human-readable detail for logs and the CLI; never a metric label. */
  detail?: string;
  /** Stable code the reason was derived from (errno, undici code ...), for logs and the CLI. */
  code?: string;
  /** Phase durations in seconds (http; tcp uses connect and tls). */
  phases?: Partial<Record<HttpPhase, number>>;
  tls?: TlsInfo;
  packets?: PacketTrain;
  http?: { status?: number; version?: string; redirects?: number; bodyBytes?: number; remoteAddress?: string };
  /** Peer-reported facts (STUN mapped address, reflector id ...). */
  info?: Record<string, string | number | boolean>;
}

/**
 * A deadline timer that fires more than this late found the engine's event loop busy across
 * the deadline (a long task, a GC pause, the agent's own start). Answers that came meanwhile
 * wait in the kernel, and Node runs due timers before it polls for them: aborting then
 * would charge the agent's stall to the target (measured: 5 of 36 runs of a healthy server
 * answering in 150 ms, with a 700 ms task in the engine every 1.3 s). The deadline is then
 * moved by the time it was late, so the target gets its timeout of the agent's attention,
 * up to one more timeout in all: a run ends by 2 x timeout (+ grace). The packet worker and
 * the ping streams use the same figure for their per-packet waits (src/probes/train/worker.ts,
 * src/engine/ping-stream.ts).
 */
export const STALL_MS = 20;

/** How long past its deadline a probe may take to wind down before it is abandoned (src/runner.ts). */
export const ABANDON_GRACE_MS = 1_000;

/** The longest a run can take before it is abandoned: its timeout, stalls of the agent given back (STALL_MS), and the grace. */
export const maxRunMs = (timeout: number): number => 2 * timeout + ABANDON_GRACE_MS;

/**
 * A probe kind. It must honour `signal` (abort = the run's deadline passed) and resolve, not
 * reject, for every failure of the target: rejecting is reserved for bugs, and the runner
 * turns it into reason "error".
 */
export type ProbeFn = (target: Target, signal: AbortSignal) => Promise<ProbeResult>;

export function fail(reason: FailureReason, detail?: string, extra: Partial<ProbeResult> = {}): ProbeResult {
  return { ...extra, success: false, reason, ...(detail !== undefined ? { detail } : {}) };
}
