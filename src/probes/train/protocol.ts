// Messages between the main thread (src/probes/train/index.ts) and the packet-timing worker
// (src/probes/train/worker.ts). Plain structured-clonable data only.
import type { PacketTrain } from '../types.ts';

interface JobBase {
  id: number;
  /** An IP literal: names are resolved on the main thread before the job is posted. */
  host: string;
  port: number;
  family: 4 | 6;
  packets: number;
  spacingMs: number;
  packetTimeoutMs: number;
}

export interface StunJob extends JobBase {
  proto: 'stun';
  maxOutstanding: number;
  fingerprint: boolean;
}

export interface EchoJob extends JobBase {
  proto: 'echo';
  maxOutstanding: number;
  key: string;
  keyId: string;
  size: number;
}

export interface StunStreamJob extends JobBase {
  proto: 'stun-stream';
  tls: boolean;
  servername?: string;
  rejectUnauthorized: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export type Job = StunJob | EchoJob | StunStreamJob;

export interface SendLag {
  /** Sends measured. */
  count: number;
  /** Lateness of each send after its due time (start + i x spacing), seconds. */
  p50: number;
  p99: number;
  max: number;
}

export interface TrainReport {
  id: number;
  packets: PacketTrain;
  sendLag: SendLag;
  /** The longest stall of the packet worker seen while the train ran, seconds (absent: none over STALL_MS). */
  stallSeconds?: number;
  /** ECONNREFUSED seen on the connected socket (ICMP port unreachable). */
  refused: number;
  /** Other socket errors by errno code. */
  socketErrors: Record<string, number>;
  /** STUN error responses by error code (401, 420 ...). */
  errorResponses: Record<string, number>;
  mapped?: { family: 4 | 6; address: string; port: number };
  /** The mapped address changed within the train (NAT rebinding, or a bad server). */
  mappedChanged?: boolean;
  local?: { address: string; port: number };
  /** Stream transports: seconds to connect and to finish the TLS handshake. */
  connectSeconds?: number;
  tlsSeconds?: number;
  tlsVersion?: string;
  /** Set when the train stopped early: the errno code or 'aborted'. */
  stoppedBy?: string;
  /** Reflector id facts (udp-echo): the reflector's own count of this session's packets. */
  reflectorReceived?: number;
}

export type ToWorker = { type: 'start'; job: Job } | { type: 'cancel'; id: number };
export type FromWorker = { type: 'done'; report: TrainReport } | { type: 'failed'; id: number; message: string };
