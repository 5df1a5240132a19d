// The reflector's defences, kept pure so they are table-tested: token buckets, a table of
// recently authenticated peers, and a per-session anti-replay window (the 64-packet sliding window of RFC 4303 section 3.4.3,
// which doubles as the acknowledgement vector the probe uses to split loss by direction).

/** Token bucket per key (a peer, or one shared key): `rate` packets/s, bursts up to `rate` (one second's worth). */
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

/**
 * Keys seen recently (least recently seen first), forgotten after `idleMs` or when more than
 * `max` are held: the reflector's peers that authenticated lately.
 */
export function createRecentSet(max = 10_000, idleMs = 600_000) {
  const seen = new Map<string, number>();
  return {
    has(key: string, nowMs: number): boolean {
      const t = seen.get(key);
      return t !== undefined && nowMs - t < idleMs;
    },
    touch(key: string, nowMs: number): void {
      seen.delete(key);
      if (seen.size >= max) seen.delete(seen.keys().next().value!);
      seen.set(key, nowMs);
    },
    get size(): number { return seen.size; },
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

/** Whether admit(s, seq) would accept `seq`, without recording it. */
export function fresh(s: Session, seq: number): boolean {
  const d = seq - s.top;
  if (d > 0) return true;
  return -d < WINDOW && ((s.win >> BigInt(-d)) & 1n) === 0n;
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
