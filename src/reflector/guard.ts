// The reflector's defences, kept pure so they are table-tested: a per-source token bucket and
// a per-session anti-replay window (the 64-packet sliding window of RFC 4303 section 3.4.3,
// which doubles as the acknowledgement vector the probe uses to split loss by direction).

/** Token bucket per source address: `rate` packets/s, bursts up to `rate` (one second's worth). */
export function createRateLimiter(rate: number, maxSources = 10_000) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (source: string, nowMs: number): boolean => {
    let b = buckets.get(source);
    if (!b) {
      // Bounded memory under a spoofed-source flood: forget the least recently seen source.
      if (buckets.size >= maxSources) buckets.delete(buckets.keys().next().value!);
      b = { tokens: rate, at: nowMs };
    } else {
      buckets.delete(source);
      b.tokens = Math.min(rate, b.tokens + ((nowMs - b.at) / 1000) * rate);
      b.at = nowMs;
    }
    buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
}

export const WINDOW = 64;
const MASK = (1n << 64n) - 1n;

export interface Session { top: number; win: bigint; received: number; lastMs: number }

export type Admit = { ok: true; received: number; ackVector: bigint } | { ok: false };

/**
 * Admit sequence number `seq` of a session: false if it was seen already or is older than
 * the window (a replay, or reordering deeper than 64 packets). On success returns the
 * session's distinct-packet count and the ack vector for the reply (bit i: seq - 1 - i was
 * received).
 */
export function admit(s: Session, seq: number): Admit {
  const d = seq - s.top;
  let j = 0;
  if (d > 0) {
    s.win = d >= WINDOW ? 1n : ((s.win << BigInt(d)) | 1n) & MASK;
    s.top = seq;
  } else {
    j = -d;
    if (j >= WINDOW || ((s.win >> BigInt(j)) & 1n) === 1n) return { ok: false };
    s.win |= 1n << BigInt(j);
  }
  s.received++;
  return { ok: true, received: s.received, ackVector: s.win >> BigInt(j + 1) };
}

/** Sessions by key id and session id, least recently used first; idle ones are forgotten. */
export function createSessionTable(maxSessions = 10_000, idleMs = 600_000) {
  const sessions = new Map<string, Session>();
  return {
    get(id: string, seq: number, nowMs: number): Session {
      let s = sessions.get(id);
      if (s) sessions.delete(id);
      else {
        if (sessions.size >= maxSessions) sessions.delete(sessions.keys().next().value!);
        // A new session starts with nothing received below its first packet.
        s = { top: seq, win: 0n, received: 0, lastMs: nowMs };
      }
      s.lastMs = nowMs;
      sessions.set(id, s);
      return s;
    },
    sweep(nowMs: number): void {
      for (const [id, s] of sessions) {
        if (nowMs - s.lastMs < idleMs) break;
        sessions.delete(id);
      }
    },
    get size(): number { return sessions.size; },
  };
}
