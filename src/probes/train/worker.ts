// The packet-timing worker: every UDP packet train (stun, udp-echo) is sent and received
// here, off the main event loop, so that a main thread busy with config reloads, HTTP
// probes or metrics scrapes does not delay a send or a receive stamp. Stamps are
// process.hrtime.bigint(): the send stamp just before socket.send() (the packet built and
// signed first), the receive stamp first thing in the 'message' handler.
//
// Sends are due at start + i x spacing. One loop serves every train: a heap of the trains'
// next due sends, another of their next expiry or end, and each turn sends every packet
// that is due, of all trains, in one pass (a turn costs O(log trains), not O(trains)).
// Node timers have 1 ms granularity and fire up to a few milliseconds late, so the loop
// sleeps on one timer until 4 ms before the next send, then alternates short naps
// (Atomics.wait) with setImmediate turns of the event loop, which take in received
// datagrams, until the send is due; the last nap ends at the due time and the send follows
// in the same turn. Polling without the naps would burn a core and, on a busy machine, get
// the thread preempted: worse timing, not better. A send that falls due while received
// datagrams are being taken in goes out between two of them (sendDue).
//
// A stall of this thread (a GC pause, the thread preempted, the process stopped or throttled)
// leaves answers waiting in the kernel, and after it Node runs due timers before it polls
// the sockets: without care, a packet whose answer came in time was expired as lost, and an
// answer read after the stall carried the stall in its RTT. Measured: an agent stopped for
// 800 ms in the middle of a train over a 100 ms path lost 4-5 of 100 packets that the
// reflector had answered (a 0.05 % target is one packet in 2,000). Every wake-up that comes
// more than STALL_MS later than planned, and every callback of ours that ran that long, is a
// stall: until the loop has read the sockets since (a full turn after it), no packet expires.
// An answer read meanwhile carries the stall in its stamp: within the packet timeout it is
// counted as it was measured (an upper bound, as with any stall too short to see, and as
// every prober that stamps in user space does); past the timeout it is `unobserved`: it came
// back, maybe in time, maybe not. An unobserved packet is counted neither sent nor lost and
// has no RTT, so the loss ratio, the jitter and the latency hold only what was measured; the
// train reports how many there were and the longest stall (slaprobe_packets_unobserved_total,
// the run's worker_stall_ms).
import dgram from 'node:dgram';
import { randomFillSync } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { type PacketTrain, STALL_MS } from '../types.ts';
import { decodeMessage, encodeBindingRequest, newTransactionId, type MappedAddress } from '../../stun/codec.ts';
import { AT, FIXED_BYTES, TYPE_REPLY, createMac, encodeRequest, headerKeyIdBytes, refillRequest, type Mac } from '../../reflector/wire.ts';
import type { EchoJob, FromWorker, StunJob, ToWorker, TrainReport } from './protocol.ts';
import { runStreamTrain } from './stream.ts';

// First, before any state: outside a worker thread (execTuned's compile-cache warm-up imports
// every module of src/) this module stops here.
if (!parentPort) throw new Error('the packet worker must run in a worker thread (src/probes/train/index.ts starts it)');

const BASE = process.hrtime.bigint();
const nowNs = (): number => Number(process.hrtime.bigint() - BASE);
const MS = 1e6;
/**
 * Nap instead of sleeping on a timer once the next send is this close. Measured in this
 * worker on the 2-vCPU VM of docs/quality.md: a setTimeout fired 0.7-1.1 ms late at the
 * median, 1.3 ms at p99 and up to 3.3 ms; with 2 ms here, every timer later than that made
 * its send late.
 */
const SPIN_NS = 4 * MS;
const NAP = new Int32Array(new SharedArrayBuffer(4));
/** A datagram that arrives during a nap is stamped at most this late. */
const NAP_NS = 0.1 * MS;

const PENDING = 1;
const ANSWERED = 2;
const LOST = 3;
/** Answered, but read after a stall of this worker: its RTT is not known (see the top). */
const UNOBSERVED = 4;
const STALL_NS = STALL_MS * MS;

interface Train {
  job: StunJob | EchoJob;
  sock: dgram.Socket;
  start: number;
  next: number;
  outstanding: number;
  expireIdx: number;
  state: Uint8Array;
  sentAt: Float64Array;
  lag: Float64Array;
  rttBySeq: Float64Array;
  upBySeq: Float64Array;
  downBySeq: Float64Array;
  /** The reflector's ack vector of each answer, as its high and low 32 bits. */
  ackHi: Uint32Array;
  ackLo: Uint32Array;
  maxAnswered: number;
  late: number;
  unobserved: number;
  /** The longest stall of this worker seen while the train ran, ns. */
  stallNs: number;
  duplicated: number;
  reordered: number;
  invalid: Record<string, number>;
  refused: number;
  socketErrors: Record<string, number>;
  errorResponses: Record<string, number>;
  mapped?: MappedAddress;
  mappedChanged: boolean;
  reflectorReceived: number;
  /** stun: transaction id (hex) -> seq; every id of the train, to tell late from unknown. */
  txids: Map<string, number>;
  session: Buffer;
  /** udp-echo: the key's MAC, and request buffers reused from packet to packet. */
  mac?: Mac;
  keyId: Buffer;
  free: Buffer[];
  /** Buffers handed to socket.send() and not yet completed, oldest first (a socket completes sends in order). */
  inflight: Buffer[];
  onSent: (err: Error | null) => void;
  /** Once every fate is known: when to stop listening for duplicates and late answers. */
  endAt: number;
  /** Where the train sits in the send heap and the lazy heap (expiry, end); Infinity: not there. */
  sendAt: number;
  lazyAt: number;
  done: boolean;
}

const trains = new Map<number, Train>();
let timer: NodeJS.Timeout | undefined;
let immediate: NodeJS.Immediate | undefined;

const port = parentPort!;
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') {
    const t = trains.get(msg.id);
    if (t) finish(t, 'aborted');
    else cancelStream.get(msg.id)?.();
    return;
  }
  const job = msg.job;
  if (job.proto === 'stun-stream') {
    const ctl = new AbortController();
    cancelStream.set(job.id, () => ctl.abort());
    runStreamTrain(job, ctl.signal, nowNs).then(
      (report) => post({ type: 'done', report }),
      (err: unknown) => post({ type: 'failed', id: job.id, message: String(err) }),
    ).finally(() => cancelStream.delete(job.id));
    return;
  }
  try {
    startTrain(job);
  } catch (err) {
    post({ type: 'failed', id: job.id, message: String(err) });
  }
});
const cancelStream = new Map<number, () => void>();

function post(m: FromWorker): void {
  port.postMessage(m);
}

function startTrain(job: StunJob | EchoJob): void {
  const n = job.packets;
  const sock = dgram.createSocket({ type: job.family === 6 ? 'udp6' : 'udp4' });
  const t: Train = {
    job, sock, start: 0, next: 0, outstanding: 0, expireIdx: 0,
    state: new Uint8Array(n), sentAt: new Float64Array(n), lag: new Float64Array(n),
    rttBySeq: new Float64Array(n), upBySeq: new Float64Array(n), downBySeq: new Float64Array(n),
    ackHi: new Uint32Array(n), ackLo: new Uint32Array(n),
    maxAnswered: -1, late: 0, unobserved: 0, stallNs: 0, duplicated: 0, reordered: 0, invalid: {}, refused: 0, socketErrors: {}, errorResponses: {},
    mappedChanged: false, reflectorReceived: 0, txids: new Map(), session: randomFillSync(Buffer.alloc(8)), keyId: Buffer.from(job.proto === 'echo' ? job.keyId : ''),
    free: [], inflight: [], endAt: 0, sendAt: Infinity, lazyAt: Infinity, done: false,
    // A function written in the literal, not assigned to t afterwards: V8 allocates a
    // function literal assigned to a property in the old generation, where it would keep
    // the finished train alive until the next full GC (docs/bench-core.md "A ninth look").
    onSent: (err) => {
      const b = t.inflight.shift();
      if (b) t.free.push(b);
      if (err) onSocketError(t, err as NodeJS.ErrnoException);
    },
  };
  if (job.proto === 'echo') t.mac = createMac(job.key);
  trains.set(job.id, t);
  sock.on('message', (buf) => {
    const rx = nowNs();
    attend(rx);
    onMessage(t, buf, rx);
    const after = nowNs();
    if (after - rx > STALL_NS) stalled(after, after - rx);
    if (!pumping && heapTop(sendHeap, 'sendAt') <= after) sendDue();
  });
  sock.on('error', (err: NodeJS.ErrnoException) => onSocketError(t, err));
  sock.connect(job.port, job.host, () => {
    if (t.done) return;
    t.start = nowNs();
    place(t);
    pump();
  });
}

function onSocketError(t: Train, err: NodeJS.ErrnoException): void {
  // ECONNREFUSED on a connected socket is the kernel reporting an ICMP port unreachable.
  if (err.code === 'ECONNREFUSED') t.refused++;
  else t.socketErrors[err.code ?? 'unknown'] = (t.socketErrors[err.code ?? 'unknown'] ?? 0) + 1;
  if (err.syscall === 'connect' || err.syscall === 'bind') finish(t, err.code ?? 'error');
}

function countInvalid(t: Train, why: string): void {
  t.invalid[why] = (t.invalid[why] ?? 0) + 1;
}

function onMessage(t: Train, buf: Buffer, rxNs: number): void {
  if (t.done) return;
  let seq: number;
  let rtt: number;
  if (t.job.proto === 'stun') {
    const d = decodeMessage(buf);
    const s = d.txid ? t.txids.get(d.txid.toString('hex')) : undefined;
    if (!d.ok) {
      // A bad message that carries one of our ids is counted by its defect; one without is
      // malformed or bad_cookie all the same: what matters is that it answered nothing.
      countInvalid(t, d.invalid);
      return;
    }
    if (s === undefined) return countInvalid(t, 'unknown_transaction');
    seq = s;
    rtt = rxNs - t.sentAt[seq]!;
    if (d.errorCode !== undefined) {
      countInvalid(t, 'error_response');
      t.errorResponses[String(d.errorCode)] = (t.errorResponses[String(d.errorCode)] ?? 0) + 1;
    } else if (d.mapped) {
      if (t.mapped && (t.mapped.address !== d.mapped.address || t.mapped.port !== d.mapped.port)) t.mappedChanged = true;
      t.mapped = d.mapped;
    }
  } else {
    const job = t.job;
    // Read in place (wire layout in src/reflector/wire.ts): at thousands of answers a second,
    // an object and five BigInts per answer were most of the worker's young garbage.
    const k = headerKeyIdBytes(buf);
    if (k === 0 || buf[AT.type] !== TYPE_REPLY) return countInvalid(t, 'malformed');
    if (buf.length > job.size) return countInvalid(t, 'oversized');
    if (k !== t.keyId.length || buf.compare(t.keyId, 0, k, FIXED_BYTES, FIXED_BYTES + k) !== 0 || !t.mac!.valid(buf)) return countInvalid(t, 'bad_mac');
    const s = buf.readUInt32BE(AT.seq);
    if (buf.compare(t.session, 0, 8, AT.session, AT.session + 8) !== 0 || s >= job.packets || t.state[s] === 0) return countInvalid(t, 'unknown_transaction');
    seq = s;
    // The 64-bit clocks as two 32-bit halves each: no BigInt per answer.
    const rxHi = buf.readUInt32BE(AT.reflRxNs), rxLo = buf.readUInt32BE(AT.reflRxNs + 4);
    const txHi = buf.readUInt32BE(AT.reflTxNs), txLo = buf.readUInt32BE(AT.reflTxNs + 4);
    const held = (txHi - rxHi) * 2 ** 32 + (txLo - rxLo);
    // The reflector's processing time is taken out of the round trip; a negative or absurd
    // hold time (a broken reflector clock) is not.
    const hold = held >= 0 && held < rxNs - t.sentAt[seq]! ? held : 0;
    rtt = rxNs - t.sentAt[seq]! - hold;
    // One-way delays on two unsynchronised monotonic clocks: only their variation means
    // anything; the constant offset is removed at the end of the train.
    t.upBySeq[seq] = rxHi * 2 ** 32 + rxLo - t.sentAt[seq]!;
    t.downBySeq[seq] = rxNs - (txHi * 2 ** 32 + txLo);
    t.ackHi[seq] = buf.readUInt32BE(AT.ackVector);
    t.ackLo[seq] = buf.readUInt32BE(AT.ackVector + 4);
    const received = buf.readUInt32BE(AT.reflReceived);
    if (received > t.reflectorReceived) t.reflectorReceived = received;
  }
  const st = t.state[seq];
  if (st === ANSWERED || st === UNOBSERVED) { t.duplicated++; return; }
  if (st === LOST) { t.late++; return; }
  t.outstanding--;
  if (clouded !== 0 && rtt > t.job.packetTimeoutMs * MS) {
    // Read after a stall, and later than the timeout by its stamp: it may have come in time or
    // not, the stall is in the stamp.
    t.state[seq] = UNOBSERVED;
    t.unobserved++;
  } else {
    t.state[seq] = ANSWERED;
    t.rttBySeq[seq] = rtt;
  }
  if (seq < t.maxAnswered) t.reordered++;
  else t.maxAnswered = seq;
  // A freed slot lets a held-back send go now; the last answer starts the linger.
  if (t.outstanding + 1 === t.job.maxOutstanding || (t.next >= t.job.packets && t.outstanding === 0)) { place(t); pump(); }
}

/** After the last fate is known, listen a little longer (within the last packet's timeout) for duplicates and late answers. */
const LINGER_NS = 100 * MS;

function send(t: Train): void {
  const i = t.next++;
  const job = t.job;
  let pkt: Buffer;
  if (job.proto === 'stun') {
    const txid = newTransactionId();
    t.txids.set(txid.toString('hex'), i);
    pkt = encodeBindingRequest(txid, { fingerprint: job.fingerprint });
  } else {
    const wall = Math.floor(Date.now() / 1000);
    const b = t.free.pop();
    if (b) refillRequest(t.mac!, b, i, wall, nowNs());
    pkt = b ?? encodeRequest(t.mac!, { keyId: job.keyId, session: t.session, seq: i, wallSeconds: wall, sendNs: BigInt(nowNs()) }, job.size);
    t.inflight.push(pkt);
  }
  // Stamped before the send, never after: on loopback the peer can have the datagram (and
  // stamp it) before socket.send() returns, and an RTT must never come out shorter than the
  // path (test/probes/accuracy.test.ts holds every packet to that).
  const at = nowNs();
  t.sock.send(pkt, t.onSent);
  t.state[i] = PENDING;
  t.sentAt[i] = at;
  t.lag[i] = at - (t.start + i * job.spacingMs * MS);
  t.outstanding++;
}

/** Expire answers that are overdue: a packet's fate is known once its timeout passes (and the sockets were read since any stall). */
function expire(t: Train, now: number): void {
  if (clouded !== 0) return;
  const to = t.job.packetTimeoutMs * MS;
  while (t.expireIdx < t.next && (t.state[t.expireIdx] !== PENDING || t.sentAt[t.expireIdx]! + to <= now)) {
    if (t.state[t.expireIdx] === PENDING) {
      t.state[t.expireIdx] = LOST;
      t.outstanding--;
    }
    t.expireIdx++;
  }
}

// Min-heaps of trains by time. An entry is current while its time equals the train's
// sendAt (lazyAt); a train that moves gets a new entry and the old one is dropped when it
// surfaces, so no search is ever needed.
interface Heap { at: number[]; tr: Train[] }
const sendHeap: Heap = { at: [], tr: [] };
const lazyHeap: Heap = { at: [], tr: [] };

function heapPush(h: Heap, at: number, t: Train): void {
  let i = h.at.length;
  h.at.push(at);
  h.tr.push(t);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h.at[p]! <= at) break;
    h.at[i] = h.at[p]!; h.tr[i] = h.tr[p]!;
    i = p;
  }
  h.at[i] = at; h.tr[i] = t;
}

function heapPop(h: Heap): void {
  const at = h.at.pop()!;
  const t = h.tr.pop()!;
  const n = h.at.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && h.at[c + 1]! < h.at[c]!) c++;
    if (h.at[c]! >= at) break;
    h.at[i] = h.at[c]!; h.tr[i] = h.tr[c]!;
    i = c;
  }
  h.at[i] = at; h.tr[i] = t;
}

/** The earliest current entry's time (stale ones are dropped on the way), or Infinity. */
function heapTop(h: Heap, key: 'sendAt' | 'lazyAt'): number {
  while (h.at.length) {
    const t = h.tr[0]!;
    if (!t.done && t[key] === h.at[0]) return h.at[0]!;
    heapPop(h);
  }
  return Infinity;
}

/** Files the train under its next due send and its next expiry or end. */
function place(t: Train): void {
  if (t.done || t.start === 0) return;
  const send = t.next < t.job.packets && t.outstanding < t.job.maxOutstanding ? t.start + t.next * t.job.spacingMs * MS : Infinity;
  let lazy = Infinity;
  if (t.endAt) lazy = t.endAt;
  else if (t.next >= t.job.packets && t.outstanding === 0) lazy = 0; // every fate known: start the linger now
  else if (t.expireIdx < t.next) lazy = t.sentAt[t.expireIdx]! + t.job.packetTimeoutMs * MS;
  if (send !== t.sendAt) { t.sendAt = send; if (send !== Infinity) heapPush(sendHeap, send, t); }
  if (lazy !== t.lazyAt) { t.lazyAt = lazy; if (lazy !== Infinity) heapPush(lazyHeap, lazy, t); }
}

/** Everything that is due for one train: expiries, sends, the end of its linger. */
function serve(t: Train): void {
  const now = nowNs();
  expire(t, now);
  const spacing = t.job.spacingMs * MS;
  while (t.next < t.job.packets && t.outstanding < t.job.maxOutstanding && t.start + t.next * spacing <= nowNs()) send(t);
  if (t.next >= t.job.packets && t.outstanding === 0) {
    if (t.endAt === 0) t.endAt = Math.min(now + LINGER_NS, t.sentAt[t.job.packets - 1]! + t.job.packetTimeoutMs * MS);
    if (now >= t.endAt) { finish(t); return; }
  }
  place(t);
}

let pumping = false;

// Stalls (see the top). `plannedWake`: when the armed timer should fire (Infinity: none).
// `clouded`: when the latest stall was seen (0: none since the sockets were read), and
// `cloudSince` the first of a run of them. `clearing`: a check-phase turn has seen the cloud;
// the next one comes after a full poll phase of the event loop, which read the sockets, and
// lifts it. Stalls one after another hold the expiries for at most MAX_CLOUD_NS.
let plannedWake = Infinity;
let clouded = 0;
let cloudSince = 0;
let clearing = false;
const MAX_CLOUD_NS = 1_000 * MS;

/** A stall of `ns` ended at `now`: hold expiries, and judge answers by their stamps, until a full turn has passed. */
function stalled(now: number, ns: number): void {
  if (clouded === 0) cloudSince = now;
  clouded = now;
  clearing = false;
  for (const t of trains.values()) if (ns > t.stallNs) t.stallNs = ns;
}

/** At each entry into the worker: a timer overdue by more than STALL_NS means a stall. */
function attend(now: number): void {
  if (now - plannedWake > STALL_NS) stalled(now, now - plannedWake);
}

function onTimer(): void {
  timer = undefined;
  attend(nowNs());
  plannedWake = Infinity;
  pump();
}

/** setImmediate callbacks run after the poll phase: the second one since the latest stall lifts the cloud. */
function onImmediate(): void {
  immediate = undefined;
  if (clouded !== 0) {
    if (clearing || nowNs() - cloudSince > MAX_CLOUD_NS) { clouded = 0; clearing = false; } else clearing = true;
  }
  pump();
}

/**
 * The sends that are due, from inside the event loop's poll phase. One poll phase reads every
 * socket that has datagrams waiting (up to 32 each), and with hundreds of trains a stall of
 * a few milliseconds (a GC pause, the thread preempted) leaves hundreds waiting: taking them
 * in held every send due meanwhile until the phase ended, and the backlog grew the stall it
 * came from. Each received datagram is followed by this check (one heap look-up), so a send
 * waits at most for one datagram's handling. Timers and naps stay with loop(): nothing here
 * waits, and a train moved to a later send is already after the wake-up loop() planned.
 */
function sendDue(): void {
  pumping = true;
  try {
    serveDue(sendHeap, 'sendAt');
  } finally {
    pumping = false;
  }
}

/** Serves every train whose entry in `h` is due by `now` (by the clock at each look, if not given); true if there was one. */
function serveDue(h: Heap, key: 'sendAt' | 'lazyAt', now?: number): boolean {
  let served = false;
  while (heapTop(h, key) <= (now ?? nowNs())) { const t = h.tr[0]!; heapPop(h); t[key] = Infinity; serve(t); served = true; }
  return served;
}

function pump(): void {
  if (pumping) return;
  pumping = true;
  try {
    loop();
  } finally {
    pumping = false;
  }
}

function loop(): void {
  if (timer) { clearTimeout(timer); timer = undefined; }
  if (immediate) { clearImmediate(immediate); immediate = undefined; }
  plannedWake = Infinity;
  const entered = nowNs();
  for (;;) {
    // While clouded nothing expires: the lazy entries wait for the turn that lifts it.
    const servedLazy = clouded === 0 && serveDue(lazyHeap, 'lazyAt', nowNs());
    const served = serveDue(sendHeap, 'sendAt') || servedLazy;
    const wakeSend = heapTop(sendHeap, 'sendAt');
    const after = nowNs();
    // This loop ran (or was stalled in) too long: what came meanwhile waits in the kernel.
    if (after - entered > STALL_NS) stalled(after, after - entered);
    const wait = wakeSend - after;
    if (wait <= NAP_NS && !served) {
      // The send is due within one nap: wait for exactly that long and send in this turn (a
      // preemption in it counts in the loop's time, below).
      if (wait > 0) Atomics.wait(NAP, 0, 0, wait / MS);
      continue;
    }
    if (wait <= SPIN_NS || clouded !== 0) {
      // Close to a send: nap (a blocking wait, no CPU burnt), then let the loop take in any
      // received datagram (its stamp is at most NAP_NS late) and look again. After a stall,
      // the next turns come at once, to read the sockets and lift the cloud.
      const nap = wait <= SPIN_NS ? Math.min(NAP_NS, Math.max(0, wait - NAP_NS)) : 0;
      if (nap > 0) {
        Atomics.wait(NAP, 0, 0, nap / MS);
        const overrun = nowNs() - after - nap; // preempted in the nap
        if (overrun > STALL_NS) stalled(after + nap + overrun, overrun);
      }
      immediate = setImmediate(onImmediate);
      return;
    }
    const wake = Math.min(wakeSend - SPIN_NS, heapTop(lazyHeap, 'lazyAt'));
    if (wake === Infinity) return;
    const ms = Math.max(0, Math.floor((wake - after) / MS));
    plannedWake = after + ms * MS;
    timer = setTimeout(onTimer, ms);
    return;
  }
}

function finish(t: Train, stoppedBy?: string): void {
  if (t.done) return;
  t.done = true;
  trains.delete(t.job.id);
  const r = report(t, stoppedBy);
  t.sock.close();
  post({ type: 'done', report: r });
  if (!pumping) pump();
}

function report(t: Train, stoppedBy?: string): TrainReport {
  const n = t.next;
  const rtts: number[] = [];
  const seqs: number[] = [];
  const ups: number[] = [];
  const downs: number[] = [];
  let sent = 0;
  let lost = 0;
  let burst = 0;
  let burstMax = 0;
  let lostUp = 0;
  let lostDown = 0;
  for (let i = 0; i < n; i++) {
    const st = t.state[i];
    if (st === PENDING) continue; // fate unknown (the run was stopped): not counted
    if (st === UNOBSERVED) { burst = 0; continue; } // came back, when unknown: not counted (t.unobserved)
    sent++;
    if (st === ANSWERED) {
      burst = 0;
      rtts.push(t.rttBySeq[i]! / 1e9);
      seqs.push(i);
      if (t.job.proto === 'echo') { ups.push(t.upBySeq[i]!); downs.push(t.downBySeq[i]!); }
      continue;
    }
    lost++;
    burstMax = Math.max(burstMax, ++burst);
    if (t.job.proto === 'echo') {
      // The latest answered packet within 63 after this one says whether the reflector got it
      // (the ack vector carries the 63 sequence numbers below the one it answers).
      for (let j = Math.min(n - 1, i + 63); j > i; j--) {
        if (t.state[j] !== ANSWERED && t.state[j] !== UNOBSERVED) continue;
        const b = j - 1 - i;
        if (((b < 32 ? t.ackLo[j]! >>> b : t.ackHi[j]! >>> (b - 32)) & 1) === 1) lostDown++;
        else lostUp++;
        break;
      }
    }
  }
  const lagSorted = Array.from(t.lag.subarray(0, n)).sort((a, b) => a - b);
  const q = (p: number) => (lagSorted.length ? lagSorted[Math.min(lagSorted.length - 1, Math.ceil(p * lagSorted.length) - 1)]! / 1e9 : 0);
  const packets: PacketTrain = {
    sent, received: rtts.length, rtts, seqs, lost,
    late: t.late, duplicated: t.duplicated, reordered: t.reordered, invalid: t.invalid, lossBurstMax: burstMax,
  };
  if (t.unobserved) packets.unobserved = t.unobserved;
  if (t.job.proto === 'echo') {
    packets.lostUpstream = lostUp;
    packets.lostDownstream = lostDown;
    const minUp = Math.min(...ups);
    const minDown = Math.min(...downs);
    packets.upstreamDelays = ups.map((u) => (u - minUp) / 1e9);
    packets.downstreamDelays = downs.map((d) => (d - minDown) / 1e9);
  }
  const addr = safeAddress(t.sock);
  return {
    id: t.job.id, packets,
    sendLag: { count: n, p50: q(0.5), p99: q(0.99), max: q(1) },
    ...(t.stallNs ? { stallSeconds: t.stallNs / 1e9 } : {}),
    refused: t.refused, socketErrors: t.socketErrors, errorResponses: t.errorResponses,
    ...(t.mapped ? { mapped: t.mapped, mappedChanged: t.mappedChanged } : {}),
    ...(addr ? { local: addr } : {}),
    ...(stoppedBy ? { stoppedBy } : {}),
    ...(t.job.proto === 'echo' ? { reflectorReceived: t.reflectorReceived } : {}),
  };
}

function safeAddress(s: dgram.Socket): { address: string; port: number } | undefined {
  try {
    const a = s.address();
    return { address: a.address, port: a.port };
  } catch {
    return undefined;
  }
}
