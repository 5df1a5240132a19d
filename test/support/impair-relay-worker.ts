// The relay's socket loop, in a worker so the test's own thread cannot delay a forward.
// Each direction: drop with probability `loss`, then hold for delay + U(0, jitter) ms, then
// forward (twice if `duplicate`). Forwards are timed like the probe's sends: a timer until
// 2 ms before, then setImmediate polling, so the applied delay is accurate to ~0.1 ms.
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';

export interface Impairment { delayMs: number; jitterMs: number; loss: number; duplicate: boolean }
export interface RelayData {
  upstreamHost: string; upstreamPort: number; seed: number; up: Impairment; down: Impairment;
  /** Offset of a big-endian u32 that identifies a request and its answer (16 in udp-echo: the sequence number; 8 in STUN: the first word of the transaction id): per-packet path times are then recorded. */
  seqAt?: number;
}
export interface RelayStats { upForwarded: number; upDropped: number; downForwarded: number; downDropped: number; appliedUpMs: number[]; appliedDownMs: number[];
  /** With seqAt: by sequence number, ms from the request reaching the relay to its reply leaving it (the path as the relay saw it). */
  pathMs: Record<number, number>;
  /** With seqAt: the keys of pathMs in the order the requests reached the relay (the send order, on loopback). */
  arrivals: number[];
  /** With seqAt: by key, when the answer left the relay (process.hrtime, ms: the clock of every thread of the process). */
  replyAtMs: Record<number, number> }

const cfg = workerData as RelayData;
const port = parentPort!;

// mulberry32: small, seeded, good enough for test impairments.
let seed = cfg.seed >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const now = () => Number(process.hrtime.bigint()) / 1e6;
const stats: RelayStats = { upForwarded: 0, upDropped: 0, downForwarded: 0, downDropped: 0, appliedUpMs: [], appliedDownMs: [], pathMs: {}, arrivals: [], replyAtMs: {} };
const upArrival = new Map<number, number>();
const front = dgram.createSocket('udp4');
const back = dgram.createSocket('udp4');
let client: { address: string; port: number } | undefined;
const queue: Array<{ due: number; at: number; buf: Buffer; up: boolean }> = [];
let timer: NodeJS.Timeout | undefined;
let imm: NodeJS.Immediate | undefined;
const NAP = new Int32Array(new SharedArrayBuffer(4));

function schedule(): void {
  if (timer) clearTimeout(timer);
  if (imm) clearImmediate(imm);
  timer = undefined; imm = undefined;
  if (!queue.length) return;
  const wait = queue[0]!.due - now();
  if (wait <= 2) {
    // Nap 0.1 ms between event-loop turns, like the probe's packet worker: precise, not a busy spin.
    Atomics.wait(NAP, 0, 0, Math.max(0, Math.min(0.1, wait)));
    imm = setImmediate(pump);
  }
  else timer = setTimeout(pump, Math.floor(wait - 2));
}

function pump(): void {
  const t = now();
  while (queue.length && queue[0]!.due <= t) {
    const q = queue.shift()!;
    const sent = now();
    if (q.up) { back.send(q.buf); stats.appliedUpMs.push(sent - q.at); }
    else if (client) {
      front.send(q.buf, client.port, client.address);
      stats.appliedDownMs.push(sent - q.at);
      if (cfg.seqAt !== undefined && q.buf.length >= cfg.seqAt + 4) {
        const seq = q.buf.readUInt32BE(cfg.seqAt);
        const a = upArrival.get(seq);
        if (a !== undefined && stats.pathMs[seq] === undefined) {
          stats.pathMs[seq] = sent - a;
          stats.replyAtMs[seq] = sent;
        }
      }
    }
  }
  schedule();
}

function enqueue(buf: Buffer, up: boolean): void {
  const at = now();
  const imp = up ? cfg.up : cfg.down;
  if (up && cfg.seqAt !== undefined && buf.length >= cfg.seqAt + 4) {
    const key = buf.readUInt32BE(cfg.seqAt);
    upArrival.set(key, at);
    stats.arrivals.push(key);
  }
  if (rand() < imp.loss) {
    if (up) stats.upDropped++; else stats.downDropped++;
    return;
  }
  const copies = imp.duplicate ? 2 : 1;
  for (let c = 0; c < copies; c++) {
    const due = at + imp.delayMs + rand() * imp.jitterMs;
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.due > due) i--;
    queue.splice(i, 0, { due, at, buf, up });
    if (up) stats.upForwarded++; else stats.downForwarded++;
  }
  schedule();
}

front.on('message', (buf, rinfo) => { client = { address: rinfo.address, port: rinfo.port }; enqueue(buf, true); });
back.on('message', (buf) => enqueue(buf, false));
back.on('error', () => { /* ICMP unreachable from a closed upstream: the test counts what the probe saw */ });
back.connect(cfg.upstreamPort, cfg.upstreamHost, () => {
  front.bind(0, '127.0.0.1', () => port.postMessage({ type: 'ready', port: front.address().port }));
});
port.on('message', (m: { type: string }) => {
  if (m.type === 'stats') port.postMessage({ type: 'stats', stats });
  if (m.type === 'close') { front.close(); back.close(); port.close(); }
});
