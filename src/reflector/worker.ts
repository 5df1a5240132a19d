// The reflector's socket loop, in its own worker thread: a flood of junk keeps this thread
// busy, never the agent's main thread nor the packet worker that times the agent's own
// probes. Checks run cheapest first (size, header, rate, then HMAC), and only an
// authenticated, fresh packet is answered, with a reply of exactly its own length.
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { MAX_CLOCK_SKEW_S, TYPE_REQUEST, fillReply, macValid, parseHeader } from './wire.ts';
import { admit, createRateLimiter, createSessionTable } from './guard.ts';

export interface ReflectorWorkerData {
  host: string;
  port: number;
  keys: Record<string, string>;
  rateLimit: number;
  maxPacketBytes: number;
}
export type ReflectorResult = 'reflected' | 'unauthenticated' | 'malformed' | 'oversized' | 'rate_limited' | 'replayed';
export type ReflectorMessage =
  | { type: 'listening'; address: string; port: number }
  | { type: 'error'; code: string }
  | { type: 'counts'; counts: Partial<Record<ReflectorResult, number>> };

const cfg = workerData as ReflectorWorkerData;
const port = parentPort!;
const keys = new Map(Object.entries(cfg.keys).map(([id, k]) => [id, Buffer.from(k)]));
const limit = createRateLimiter(cfg.rateLimit);
const sessions = createSessionTable();
let counts: Partial<Record<ReflectorResult, number>> = {};
const count = (r: ReflectorResult) => { counts[r] = (counts[r] ?? 0) + 1; };

const sock = dgram.createSocket({ type: cfg.host.includes(':') ? 'udp6' : 'udp4' });
sock.on('error', (err: NodeJS.ErrnoException) => {
  port.postMessage({ type: 'error', code: err.code ?? 'error' } satisfies ReflectorMessage);
});
sock.on('message', (buf, rinfo) => {
  const rx = process.hrtime.bigint();
  if (buf.length > cfg.maxPacketBytes) return count('oversized');
  const h = parseHeader(buf);
  if (!h || h.type !== TYPE_REQUEST) return count('malformed');
  const now = Date.now();
  if (!limit(rinfo.address, now)) return count('rate_limited');
  const key = keys.get(h.keyId);
  if (!key || !macValid(key, buf)) return count('unauthenticated');
  // A captured packet replayed after its session was forgotten is stale by the wall clock.
  if (Math.abs(now / 1000 - h.wallSeconds) > MAX_CLOCK_SKEW_S) return count('replayed');
  const s = sessions.get(`${h.keyId}/${h.session.toString('hex')}`, h.seq, now);
  const a = admit(s, h.seq);
  if (!a.ok) return count('replayed');
  fillReply(key, buf, { rxNs: rx, txNs: process.hrtime.bigint(), received: a.received, ackVector: a.ackVector });
  sock.send(buf, rinfo.port, rinfo.address);
  count('reflected');
});
sock.bind(cfg.port, cfg.host, () => {
  const a = sock.address();
  port.postMessage({ type: 'listening', address: a.address, port: a.port } satisfies ReflectorMessage);
});

const flush = () => {
  if (Object.keys(counts).length === 0) return;
  port.postMessage({ type: 'counts', counts } satisfies ReflectorMessage);
  counts = {};
};
const tick = setInterval(() => { flush(); sessions.sweep(Date.now()); }, 1000);
port.on('message', (m: { type: 'close' }) => {
  if (m.type !== 'close') return;
  clearInterval(tick);
  sock.close(() => { flush(); port.close(); });
});
