import { describe, expect, it } from 'vitest';
import { admit, createRateLimiter, createRecentSet, createSessionTable, fresh } from '../../src/reflector/guard.ts';
import { FIXED_BYTES, MAC_BYTES, encodeRequest, fillReply, macValid, parseHeader } from '../../src/reflector/wire.ts';

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
    fillReply(key, rep, { rxNs: 10n, txNs: 12n, received: 5, ackVector: 0b1011n });
    expect(rep.length).toBe(req.length);
    expect(macValid(key, rep)).toBe(true);
    expect(parseHeader(rep)).toMatchObject({ type: 2, keyId: 'kid', seq: 7, sendNs: 123n, reflRxNs: 10n, reflTxNs: 12n, reflReceived: 5, ackVector: 0b1011n });
  });
  it.each([
    ['too short', Buffer.alloc(FIXED_BYTES + MAC_BYTES)],
    ['wrong magic', Buffer.alloc(172)],
  ])('%s is not a header', (_n, b) => {
    expect(parseHeader(b)).toBeUndefined();
  });
});
