import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { admit, createRateLimiter, createRecentSet, createSessionTable, fresh } from '../../src/reflector/guard.ts';
import { FIXED_BYTES, MAC_BYTES, createMac, encodeRequest, fillReply, parseHeader, refillRequest } from '../../src/reflector/wire.ts';

/** The reference: node's createHmac (RFC 2104), truncated to MAC_BYTES, over all bytes before the MAC. */
const macValid = (key: string, buf: Buffer) => timingSafeEqual(
  createHmac('sha256', key).update(buf.subarray(0, buf.length - MAC_BYTES)).digest().subarray(0, MAC_BYTES),
  buf.subarray(buf.length - MAC_BYTES),
);

describe('anti-replay window and ack vector', () => {
  it.each([
    // [sequence of seqs, admitted?, ack vector of the last admitted, in binary]
    [[0, 1, 2], [true, true, true], '11'],
    [[0, 1, 1], [true, true, false], '1'],
    [[0, 2, 1], [true, true, true], '1'], // 1 late: ack of 1 says 0 was received
    [[0, 3], [true, true], '100'], // 1 and 2 missing
    [[100, 30], [true, false], '0'], // 70 behind: outside the window, treated as replay
    [[100, 37], [true, true], '0'], // 63 behind: inside
    [[0, 200, 0], [true, true, false], '0'],
  ])('%j', (seqs, want, ack) => {
    const s = createSessionTable().get('k/s', seqs[0]!, 0);
    let last = 0n;
    const got = seqs.map((q) => {
      const a = admit(s, q);
      if (a.ok) last = a.ackVector;
      return a.ok;
    });
    expect(got).toEqual(want);
    expect(last.toString(2)).toBe(ack);
  });
});

describe('fresh: admit without recording', () => {
  it.each([
    [[0, 1], 2, true],
    [[0, 1], 1, false],
    [[0, 5], 3, true],
    [[100], 30, false],
  ])('after %j, %i is fresh: %s', (seqs, q, want) => {
    const s = createSessionTable().get('k/s', seqs[0]!, 0);
    for (const x of seqs) admit(s, x);
    const before = { ...s };
    expect(fresh(s, q)).toBe(want);
    expect(s).toEqual(before);
    expect(admit(s, q).ok).toBe(want);
  });
});

describe('recently authenticated peers', () => {
  it('forgets a peer after idleMs, and the oldest beyond max', () => {
    const peers = createRecentSet(2, 1000);
    peers.touch('a', 0);
    expect(peers.has('a', 999)).toBe(true);
    expect(peers.has('a', 1000)).toBe(false);
    peers.touch('b', 0); peers.touch('c', 0);
    expect([peers.has('a', 0), peers.has('b', 0), peers.has('c', 0)]).toEqual([false, true, true]);
  });
});

describe('per-peer rate limit', () => {
  it('allows a burst of one second, then the rate', () => {
    const allow = createRateLimiter(10);
    const first = Array.from({ length: 15 }, () => allow('a', 0)).filter(Boolean).length;
    expect(first).toBe(10);
    expect(allow('b', 0)).toBe(true); // another source has its own bucket
    expect(allow('a', 100)).toBe(true); // 100 ms = one token
    expect(allow('a', 100)).toBe(false);
  });
  it('keeps at most maxSources buckets', () => {
    const allow = createRateLimiter(1, 2);
    allow('a', 0); allow('b', 0); allow('c', 0);
    expect(allow('a', 0)).toBe(true); // 'a' was forgotten: a fresh bucket
  });
});

describe('wire format', () => {
  const key = 'k'.repeat(20);
  const req = encodeRequest(key, { keyId: 'kid', session: Buffer.alloc(8, 1), seq: 7, wallSeconds: 1000, sendNs: 123n }, 172);
  it('signs requests of the asked size; a flipped bit breaks the MAC', () => {
    expect(req.length).toBe(172);
    expect(macValid(key, req)).toBe(true);
    const bad = Buffer.from(req);
    bad[20]! ^= 1;
    expect(macValid(key, bad)).toBe(false);
    expect(macValid('x'.repeat(20), req)).toBe(false);
  });
  it('a reply is the same length as its request and carries the reflector fields', () => {
    const rep = Buffer.from(req);
    fillReply(createMac(key), rep, { rxNs: 10n, txNs: 12n, received: 5, ackVector: 0b1011n });
    expect(rep.length).toBe(req.length);
    expect(macValid(key, rep)).toBe(true);
    expect(parseHeader(rep)).toMatchObject({ type: 2, keyId: 'kid', seq: 7, sendNs: 123n, reflRxNs: 10n, reflTxNs: 12n, reflReceived: 5, ackVector: 0b1011n });
  });
  // The per-key MAC of the prober and the reflector against createHmac (macValid): keys
  // shorter than, equal to and longer than SHA-256's 64-byte block (RFC 2104 hashes a long
  // key first), packets up to a jumbo datagram (its scratch space grows).
  it.each([
    ['a 20-byte key, 172 bytes', 'k'.repeat(20), 172],
    ['a 64-byte key, 112 bytes', 'b'.repeat(64), 112],
    ['a 100-byte key, 1472 bytes', 'l'.repeat(100), 1472],
    ['a 1-byte key, 9000 bytes', 'x', 9000],
  ])('createMac: %s signs and checks as HMAC-SHA256 does', (_n, k, size) => {
    const m = createMac(k);
    const b = encodeRequest(k, { keyId: 'kid', session: Buffer.alloc(8, 2), seq: 1, wallSeconds: 1000, sendNs: 5n }, size);
    expect(m.valid(b)).toBe(true);
    const flipped = Buffer.from(b);
    flipped[size - MAC_BYTES - 1]! ^= 0x80;
    expect(m.valid(flipped)).toBe(false);
    expect(createMac(k + 'x').valid(b)).toBe(false);
    // The same buffer refilled for a later packet: the reference MAC accepts it, fields read back.
    refillRequest(m, b, 4_000_000_000, 1_700_000_000, 2 ** 52 + 3);
    expect(macValid(k, b)).toBe(true);
    expect(parseHeader(b)).toMatchObject({ type: 1, keyId: 'kid', seq: 4_000_000_000, wallSeconds: 1_700_000_000, sendNs: 2n ** 52n + 3n });
    const rep = Buffer.from(b);
    fillReply(m, rep, { rxNs: 10n, txNs: 12n, received: 5, ackVector: 1n });
    expect(macValid(k, rep)).toBe(true);
  });
  it.each([
    ['too short', Buffer.alloc(FIXED_BYTES + MAC_BYTES)],
    ['wrong magic', Buffer.alloc(172)],
  ])('%s is not a header', (_n, b) => {
    expect(parseHeader(b)).toBeUndefined();
  });
});
