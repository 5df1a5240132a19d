// ICMP in the agent: one long-lived system ping per icmp target, a line per packet
// (issue 13). A ping process per run cost about 5 ms of fork, exec and dynamic linking for
// 10 packets: 2.5x smokeping_prober's CPU per packet. Here the process starts once and
// sends `packets` echo requests per interval, evenly spread (one every interval / packets,
// never closer than `spacing`), and each run takes the packets whose fate became known since
// the run before: every packet's sequence number and RTT, as ping measured them.
//
// Why not the npm `ping` package: it runs ping to the end and parses the whole output once
// the process has exited, so it cannot stream. It still runs the one-shot trains of
// src/probes/icmp.ts (`slaprobe probe icmp`, `check-config`). The line format parsed here is
// the same iputils output that parsePingOutput reads.
//
// A packet's fate is decided by ping's own lines, in the order ping writes them, so a busy
// event loop can delay a decision but never change one:
//   "64 bytes from A: icmp_seq=N ttl=T time=X ms"       answered (a second one: duplicate,
//                                                        "(DUP!)" likewise)
//   "no answer yet for icmp_seq=N"  (-O)                 lost: ping prints it when it sends
//                                                        N+1 with N unanswered, so a packet
//                                                        waits one gap for its answer;
//                                                        an answer after that is late
//   "From A icmp_seq=N Destination Host Unreachable"     lost, with an ICMP error
// A run with no answer is "unreachable" when ICMP errors came back, else "timeout" (as the
// train). The process is restarted before its 16-bit sequence numbers wrap, and a ping whose
// agent died exits at its next line (SIGPIPE), so no ping outlives the agent for long.
import { type ChildProcess, spawn } from 'node:child_process';
import type { IcmpTarget } from '../config/types.ts';
import { detailOf } from '../probes/errors.ts';
import { pingAndAddress } from '../probes/icmp.ts';
import { type PacketTrain, type ProbeFn, type ProbeResult, STALL_MS, fail } from '../probes/types.ts';

/** Packets per ping process: iputils' icmp_seq is 16 bits; a new process starts before it wraps. */
export const PACKETS_PER_PROCESS = 60_000;
/** Decisions remembered per stream, to tell late and duplicate answers from new ones. */
const REMEMBERED = 512;
/**
 * Every packet waits at least this long for its answer (as the train's -W 1 at least), and
 * a gap at most: with gaps of a second or more, ping's "no answer yet" line decides.
 */
export const WAIT_MS = 1_000;

interface Fate { seq: number; rttMs?: number; error?: boolean }

interface Stream {
  key: string;
  address: string;
  child: ChildProcess;
  /** Fates decided since the last run took them. */
  fates: Fate[];
  /** seq -> answered (true) or counted lost (false); insertion order is seq order. */
  decided: Map<number, boolean>;
  duplicated: number;
  late: number;
  /** Unanswered when ping sent the next one, still within their wait (gaps under WAIT_MS). */
  outstanding: { seq: number; until: number }[];
  timer?: NodeJS.Timeout;
  /** Set once ping exited: its first line of complaint, if it never ran. */
  exited?: { code: number | null; output: string; ran: boolean };
  output: string;
  partial: string;
  wake?: () => void;
}

const streams = new Map<string, Stream>();

/** The gap between two packets of a stream, ms. */
export const gapOf = (t: IcmpTarget): number => Math.max(t.spacing, Math.floor(t.interval / t.packets));

function start(bin: string, t: IcmpTarget, address: string, key: string): Stream {
  const v6 = address.includes(':');
  const args = ['-n', '-O', v6 ? '-6' : '-4', '-i', (gapOf(t) / 1000).toFixed(3), '-s', String(t.size), '-c', String(PACKETS_PER_PROCESS), address];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const s: Stream = { key, address, child, fates: [], decided: new Map(), duplicated: 0, late: 0, outstanding: [], output: '', partial: '' };
  const gap = gapOf(t);
  const wake = () => { const w = s.wake; s.wake = undefined; w?.(); };
  child.stdout!.setEncoding('latin1');
  child.stdout!.on('data', (chunk: string) => {
    const text = s.partial + chunk;
    const lines = text.split('\n');
    s.partial = lines.pop()!;
    for (const line of lines) onLine(s, line, gap);
    settle(s);
    wake();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => { if (s.output.length < 500) s.output += chunk; });
  child.on('error', (e) => { s.output ||= detailOf(e); });
  // An exited stream stays in the map until a run has taken its last fates (see the probe).
  child.on('close', (code) => {
    s.exited = { code, output: s.output, ran: s.decided.size > 0 };
    if (s.timer) clearTimeout(s.timer);
    wake();
  });
  streams.set(t.name, s);
  return s;
}

const REPLY = /icmp_seq=(\d+) .*time=([\d.]+) ms/;
const NO_ANSWER = /^no answer yet for icmp_seq=(\d+)/;
const ERROR = /^From \S+ icmp_seq=(\d+) /;

function decide(s: Stream, seq: number, answered: boolean): void {
  s.decided.set(seq, answered);
  if (s.decided.size > REMEMBERED) s.decided.delete(s.decided.keys().next().value!);
}

/** Decides the outstanding packets whose wait is over; arms a timer for the next one. */
function settle(s: Stream): void {
  const now = performance.now();
  while (s.outstanding.length > 0 && s.outstanding[0]!.until <= now) {
    const { seq } = s.outstanding.shift()!;
    if (!s.decided.has(seq)) {
      decide(s, seq, false);
      s.fates.push({ seq });
    }
  }
  if (s.timer) clearTimeout(s.timer);
  s.timer = undefined;
  const next = s.outstanding[0];
  if (next && !s.exited) {
    s.timer = setTimeout(() => {
      // Late by a stall of the engine (a long task, the process stopped): ping kept writing,
      // and Node runs due timers before it reads the pipe. Read it first, once, so an answer
      // ping printed in time is not counted lost (its RTT is ping's own, the stall is not in it).
      if (performance.now() - next.until > STALL_MS) setImmediate(() => { if (!s.exited) { settle(s); s.wake?.(); } });
      else { settle(s); s.wake?.(); }
    }, next.until - now);
    s.timer.unref();
  }
}

function onLine(s: Stream, line: string, gap: number): void {
  let m = REPLY.exec(line);
  if (m) {
    const seq = Number(m[1]);
    const before = s.decided.get(seq);
    if (line.includes('DUP!') || before === true) s.duplicated++;
    else if (before === false) s.late++;
    else {
      decide(s, seq, true);
      s.fates.push({ seq, rttMs: Number(m[2]) });
    }
    return;
  }
  m = NO_ANSWER.exec(line);
  if (m) {
    const seq = Number(m[1]);
    if (s.decided.has(seq)) return;
    // Printed as ping sends seq + 1, one gap after seq left.
    if (gap >= WAIT_MS) {
      decide(s, seq, false);
      s.fates.push({ seq });
    } else s.outstanding.push({ seq, until: performance.now() - gap + WAIT_MS });
    return;
  }
  m = ERROR.exec(line);
  if (m) {
    const seq = Number(m[1]);
    if (!s.decided.has(seq)) {
      decide(s, seq, false);
      s.fates.push({ seq, error: true });
    }
  }
}

function stopStream(s: Stream): void {
  if (s.timer) clearTimeout(s.timer);
  if (!s.exited) s.child.kill('SIGTERM');
}

/** Stops the streams of targets no longer configured (the engine calls it on every set). */
export function retainStreams(names: ReadonlySet<string>): void {
  for (const [name, s] of streams) if (!names.has(name)) { streams.delete(name); stopStream(s); }
}

/** Stops every stream (engine shutdown). */
export function stopStreams(): void {
  for (const s of streams.values()) stopStream(s);
  streams.clear();
}

/**
 * A run of an icmp target in the agent: takes the fates decided since the last run (the
 * first run starts the stream and takes its first packet).
 */
export const icmpStreamProbe: ProbeFn = async (target, signal) => {
  const t = target as IcmpTarget;
  const found = await pingAndAddress(t);
  if (!('address' in found)) return found;
  const { bin, address } = found;
  const key = `${address}|${gapOf(t)}|${t.size}`;
  let s = streams.get(t.name);
  if (s?.exited) {
    // ping ended (its packet count, or it could not run): this run takes what it left, the
    // next run starts a new one.
    streams.delete(t.name);
    return resultOf(s);
  }
  if (s && s.key !== key) {
    streams.delete(t.name);
    stopStream(s);
    s = undefined;
  }
  // A run takes what was decided since the run before, waiting (until its deadline at most)
  // only while nothing was: the first run of a new stream returns with its first packet.
  // Waiting for a count would hold a concurrency slot for most of the timeout (a thousand
  // new streams at once would queue for a minute) and leave every later run waiting out
  // the part of the interval the one before took.
  s ??= start(bin, t, address, key);
  const stream = s;
  const enough = 1;
  await new Promise<void>((resolve) => {
    const check = () => {
      if (signal.aborted || stream.exited || stream.fates.length >= enough) {
        signal.removeEventListener('abort', check);
        stream.wake = undefined;
        resolve();
      } else stream.wake = check;
    };
    signal.addEventListener('abort', check, { once: true });
    check();
  });
  return resultOf(stream);
};

function resultOf(s: Stream): ProbeResult {
  const fates = s.fates.sort((a, b) => a.seq - b.seq);
  s.fates = [];
  const info = { address: s.address };
  if (fates.length === 0 && s.exited && !s.exited.ran) {
    // ping never got to send: a bad option, no permission, an interval too small without
    // privileges. iputils exits with status 2 in these cases.
    const first = s.exited.output.trim().split('\n')[0]?.slice(0, 200) ?? '';
    return fail('ping_unavailable', `ping exited (${s.exited.code}) before sending: ${first}`, { code: `PING_EXIT_${s.exited.code ?? 'SIGNAL'}`, info });
  }
  const rtts: number[] = [];
  const seqs: number[] = [];
  let errors = 0;
  let burst = 0;
  let lossBurstMax = 0;
  for (const f of fates) {
    if (f.rttMs !== undefined) {
      rtts.push(f.rttMs / 1000);
      seqs.push(f.seq);
      burst = 0;
    } else {
      if (f.error) errors++;
      lossBurstMax = Math.max(lossBurstMax, ++burst);
    }
  }
  const sent = fates.length;
  const received = rtts.length;
  const packets: PacketTrain = { sent, received, rtts, seqs, lost: sent - received, duplicated: s.duplicated, late: s.late, lossBurstMax };
  s.duplicated = 0;
  s.late = 0;
  if (received > 0) return { success: true, packets, info };
  if (errors > 0) return fail('unreachable', `${sent} echo requests, ${errors} ICMP errors (destination unreachable)`, { code: 'ICMP_UNREACH', packets, info });
  return fail('timeout', sent > 0 ? `${sent} echo requests, no reply` : 'no echo request answered or timed out yet', { code: 'PING_EXIT_1', packets, info });
}
