// The udp-echo wire format, shared by the probe (src/probes/udp-echo.ts) and the reflector.
// Request and reply have the same layout and the same length: the reflector fills its own
// fields in place and signs again, so a reply is never larger than its request (no
// amplification). All integers big-endian.
//
//   0  magic "SLPE"            4
//   4  version = 1             1
//   5  type: 1 request, 2 reply 1
//   6  key id length k (1-32)  1
//   7  reserved, 0             1
//   8  session id              8   random per train; replay window is per (key id, session)
//  16  sequence number         4
//  20  sender unix seconds     4   wall clock; the reflector rejects packets > 300 s off
//  24  sender send time        8   sender's monotonic clock, ns (echoed untouched)
//  32  reflector receive time  8   reflector's monotonic clock, ns (0 in a request)
//  40  reflector send time     8   reflector's monotonic clock, ns (0 in a request)
//  48  reflector received      4   distinct packets of this session received so far
//  52  reserved, 0             4
//  56  ack vector              8   bit i (0-62) set: the reflector had received seq - 1 - i
//  64  key id                  k
//  64+k padding, zero          to length - 16
//  len-16 HMAC-SHA256 over bytes [0, len - 16), first 16 bytes
import { createHash, hash, timingSafeEqual } from 'node:crypto';

export const ECHO_MAGIC = 0x534c5045;
export const ECHO_VERSION = 1;
export const TYPE_REQUEST = 1;
export const TYPE_REPLY = 2;
export const FIXED_BYTES = 64;
export const MAC_BYTES = 16;
export const MAX_KEY_ID_BYTES = 32;
/** Smallest packet that holds the longest key id: the config's lower bound for udp-echo size. */
export const MIN_PACKET_BYTES = FIXED_BYTES + MAX_KEY_ID_BYTES + MAC_BYTES;
/** Wall-clock tolerance between sender and reflector, seconds. */
export const MAX_CLOCK_SKEW_S = 300;
/** Where the fixed header's fields start (the table above), for every reader and writer of it. */
export const AT = { magic: 0, version: 4, type: 5, keyIdBytes: 6, session: 8, seq: 16, wallSeconds: 20, sendNs: 24, reflRxNs: 32, reflTxNs: 40, reflReceived: 48, ackVector: 56 } as const;

export interface EchoHeader {
  type: number;
  keyId: string;
  session: Buffer;
  seq: number;
  wallSeconds: number;
  sendNs: bigint;
  reflRxNs: bigint;
  reflTxNs: bigint;
  reflReceived: number;
  ackVector: bigint;
}

export type EchoInvalid = 'malformed' | 'bad_mac' | 'unknown_key';

export function minPacketBytes(keyId: string): number {
  return FIXED_BYTES + Buffer.byteLength(keyId) + MAC_BYTES;
}

/** A signed request of `size` bytes (at least minPacketBytes(keyId)). */
export function encodeRequest(key: string | Mac, h: { keyId: string; session: Buffer; seq: number; wallSeconds: number; sendNs: bigint }, size: number): Buffer {
  const kid = Buffer.from(h.keyId);
  const buf = Buffer.alloc(Math.max(size, FIXED_BYTES + kid.length + MAC_BYTES));
  buf.writeUInt32BE(ECHO_MAGIC, AT.magic);
  buf[AT.version] = ECHO_VERSION;
  buf[AT.type] = TYPE_REQUEST;
  buf[AT.keyIdBytes] = kid.length;
  h.session.copy(buf, AT.session, 0, 8);
  buf.writeUInt32BE(h.seq >>> 0, AT.seq);
  buf.writeUInt32BE(h.wallSeconds >>> 0, AT.wallSeconds);
  buf.writeBigUInt64BE(h.sendNs, AT.sendNs);
  kid.copy(buf, FIXED_BYTES);
  (typeof key === 'string' ? createMac(key) : key).sign(buf);
  return buf;
}

/** A key's HMAC-SHA256 (RFC 2104), truncated to MAC_BYTES (test/reflector/guard.test.ts checks it against createHmac). */
export interface Mac {
  /** Sign `buf` in place: its last MAC_BYTES get the MAC of the bytes before them. */
  sign(buf: Buffer): void;
  valid(buf: Buffer): boolean;
}

const BLOCK = 64;

/**
 * The per-packet MAC of the prober and the reflector. createHmac() builds a key object and
 * hashes both pads again for every packet (measured in the reflector's CPU profile at 15,000
 * packets/s: a quarter of its time in crypto's key handling); here the pads are laid out
 * once per key and each MAC is two one-shot hashes over scratch space, nothing kept per
 * packet. Not re-entrant, which a single-threaded socket loop never needs.
 */
export function createMac(key: string | Buffer): Mac {
  let k = Buffer.from(key);
  if (k.length > BLOCK) k = createHash('sha256').update(k).digest();
  let inner = Buffer.alloc(BLOCK + 256);
  const outer = Buffer.alloc(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (k[i] ?? 0) ^ 0x36;
    outer[i] = (k[i] ?? 0) ^ 0x5c;
  }
  const compute = (buf: Buffer): Buffer => {
    const n = buf.length - MAC_BYTES;
    if (BLOCK + n > inner.length) {
      const grown = Buffer.alloc(BLOCK + n);
      inner.copy(grown, 0, 0, BLOCK);
      inner = grown;
    }
    buf.copy(inner, BLOCK, 0, n);
    hash('sha256', inner.subarray(0, BLOCK + n), 'buffer').copy(outer, BLOCK);
    return hash('sha256', outer, 'buffer');
  };
  return {
    sign: (buf) => { compute(buf).copy(buf, buf.length - MAC_BYTES, 0, MAC_BYTES); },
    valid: (buf) => buf.length > MAC_BYTES && timingSafeEqual(compute(buf).subarray(0, MAC_BYTES), buf.subarray(buf.length - MAC_BYTES)),
  };
}

/** Rewrite a request built by encodeRequest for its next packet, in place, and sign it. */
export function refillRequest(m: Mac, buf: Buffer, seq: number, wallSeconds: number, sendNs: number): void {
  buf.writeUInt32BE(seq >>> 0, AT.seq);
  buf.writeUInt32BE(wallSeconds >>> 0, AT.wallSeconds);
  // Two 32-bit halves: a BigInt per packet only to write a monotonic clock below 2^53 ns.
  buf.writeUInt32BE(Math.floor(sendNs / 2 ** 32) >>> 0, AT.sendNs);
  buf.writeUInt32BE(sendNs >>> 0, AT.sendNs + 4);
  m.sign(buf);
}

/**
 * The key id's length in bytes if `buf` holds a well-formed header (magic, version, type,
 * key id within the packet), else 0. The prober reads a reply's fields in place after this,
 * with no object per packet.
 */
export function headerKeyIdBytes(buf: Buffer): number {
  if (buf.length < FIXED_BYTES + 1 + MAC_BYTES) return 0;
  if (buf.readUInt32BE(AT.magic) !== ECHO_MAGIC || buf[AT.version] !== ECHO_VERSION) return 0;
  const type = buf[AT.type]!;
  const k = buf[AT.keyIdBytes]!;
  if ((type !== TYPE_REQUEST && type !== TYPE_REPLY) || k < 1 || k > MAX_KEY_ID_BYTES) return 0;
  if (FIXED_BYTES + k + MAC_BYTES > buf.length) return 0;
  return k;
}

/** Header fields without checking the MAC (the key id says which key to check it with). */
export function parseHeader(buf: Buffer): EchoHeader | undefined {
  const k = headerKeyIdBytes(buf);
  if (k === 0) return undefined;
  return {
    type: buf[AT.type]!,
    keyId: buf.toString('latin1', FIXED_BYTES, FIXED_BYTES + k),
    session: buf.subarray(AT.session, AT.session + 8),
    seq: buf.readUInt32BE(AT.seq),
    wallSeconds: buf.readUInt32BE(AT.wallSeconds),
    sendNs: buf.readBigUInt64BE(AT.sendNs),
    reflRxNs: buf.readBigUInt64BE(AT.reflRxNs),
    reflTxNs: buf.readBigUInt64BE(AT.reflTxNs),
    reflReceived: buf.readUInt32BE(AT.reflReceived),
    ackVector: buf.readBigUInt64BE(AT.ackVector),
  };
}

/** Turn a verified request into its reply, in place, and sign it. */
export function fillReply(key: Mac, buf: Buffer, r: { rxNs: bigint; txNs: bigint; received: number; ackVector: bigint }): void {
  buf[AT.type] = TYPE_REPLY;
  buf.writeBigUInt64BE(r.rxNs, AT.reflRxNs);
  buf.writeBigUInt64BE(r.txNs, AT.reflTxNs);
  buf.writeUInt32BE(r.received >>> 0, AT.reflReceived);
  buf.writeBigUInt64BE(BigInt.asUintN(64, r.ackVector), AT.ackVector);
  key.sign(buf);
}
