// The reflector's socket loop, in its own worker thread: a flood of junk keeps this thread
// busy, never the agent's main thread nor the packet worker that times the agent's own
// probes. Checks run cheapest first (size, return address, header, key id), then the HMAC,
// and only then anything that spends a budget: junk sent from a peer's (spoofable) address
// must never use up that peer's allowance and read as loss on a healthy path. Only an
// authenticated, fresh packet is answered, with a reply of exactly its own length.
// One packet's failure is counted, never thrown: an exception here would end the thread.
import dgram from 'node:dgram';
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { MAX_CLOCK_SKEW_S, TYPE_REQUEST, createMac, fillReply, parseHeader } from './wire.ts';
import { admit, createRateLimiter, createRecentSet, createSessionTable, fresh } from './guard.ts';

export interface ReflectorWorkerData {
  host: string;
  port: number;
  keys: Record<string, string>;
  rateLimit: number;
  maxPacketBytes: number;
}
export const REFLECTOR_RESULTS = ['reflected', 'unauthenticated', 'unverified', 'malformed', 'oversized', 'rate_limited', 'replayed', 'unanswerable', 'send_failed', 'error'] as const;
export type ReflectorResult = typeof REFLECTOR_RESULTS[number];
export type ReflectorMessage =
  | { type: 'listening'; address: string; port: number }
  | { type: 'error'; code: string }
  | { type: 'counts'; counts: Partial<Record<ReflectorResult, number>> };

// First, before any state: outside a worker thread (execTuned's compile-cache warm-up imports
// every module of src/) this module stops here.
const port = parentPort;
if (!port) throw new Error('the reflector worker must run in a worker thread (src/reflector/index.ts starts it)');
const cfg = workerData as ReflectorWorkerData;
const keys = new Map(Object.entries(cfg.keys).map(([id, k]) => [id, createMac(k)]));
// Authenticated packets: one budget per peer, i.e. key id and source address.
const limit = createRateLimiter(cfg.rateLimit);
// HMAC checks of packets from peers not authenticated lately share one bucket of the same
// rate: a flood of forgeries costs a bounded amount of hashing, and a peer that has
// authenticated in the last ten minutes never waits for it.
const unknownPeers = createRateLimiter(cfg.rateLimit, 1);
const peers = createRecentSet();
const sessions = createSessionTable();
let counts: Partial<Record<ReflectorResult, number>> = {};
const count = (r: ReflectorResult) => { counts[r] = (counts[r] ?? 0) + 1; };

// A reply goes to rinfo.address, always an IP literal: dgram's default lookup would still
// pass it through dns.lookup and send on the next tick, after the send time was stamped.
const literalLookup = ((host: string, family: number, cb: (err: Error | null, address: string, family: number) => void) => {
  if (isIP(host)) cb(null, host, family);
  else lookup(host, family, cb);
}) as unknown as dgram.SocketOptions['lookup'];
const sock = dgram.createSocket({ type: cfg.host.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup });
sock.on('error', (err: NodeJS.ErrnoException) => {
  port.postMessage({ type: 'error', code: err.code ?? 'error' } satisfies ReflectorMessage);
});

function reflect(buf: Buffer, rinfo: dgram.RemoteInfo, rx: bigint): ReflectorResult | undefined {
  if (buf.length > cfg.maxPacketBytes) return 'oversized';
  // Source port 0 cannot be answered (sendto fails; dgram throws ERR_SOCKET_BAD_PORT first).
  if (rinfo.port === 0) return 'unanswerable';
  const h = parseHeader(buf);
  if (!h || h.type !== TYPE_REQUEST) return 'malformed';
  const key = keys.get(h.keyId);
  if (!key) return 'unauthenticated';
  const now = Date.now();
  const peer = `${h.keyId}\0${rinfo.address}`;
  if (!peers.has(peer, now) && !unknownPeers('', now)) return 'unverified';
  if (!key.valid(buf)) return 'unauthenticated';
  peers.touch(peer, now);
  // A captured packet replayed after its session was forgotten is stale by the wall clock.
  if (Math.abs(now / 1000 - h.wallSeconds) > MAX_CLOCK_SKEW_S) return 'replayed';
  const s = sessions.get(`${h.keyId}/${h.session.toString('hex')}`, h.seq, now);
  // Replays are refused before they spend the budget, and a rate-limited packet is not
  // recorded as received: the ack vector would blame its loss on the way back.
  if (!fresh(s, h.seq)) return 'replayed';
  if (!limit(peer, now)) return 'rate_limited';
  const a = admit(s, h.seq);
  if (!a.ok) return 'replayed';
  fillReply(key, buf, { rxNs: rx, txNs: process.hrtime.bigint(), received: a.received, ackVector: a.ackVector });
  sock.send(buf, rinfo.port, rinfo.address, afterSend);
  return undefined;
}
const afterSend = (err: Error | null) => count(err ? 'send_failed' : 'reflected');

sock.on('message', (buf, rinfo) => {
  // The receive stamp first: the hold time taken out of the peer's RTT starts here.
  const rx = process.hrtime.bigint();
  let r: ReflectorResult | undefined;
  try {
    r = reflect(buf, rinfo, rx);
  } catch {
    r = 'error';
  }
  if (r) count(r);
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
