// RFC 8489 message codec, as much of it as a Binding prober needs: the Binding request
// (optionally with FINGERPRINT, section 14.7), and the decoding of any answer into either a
// success (XOR-MAPPED-ADDRESS, section 14.2), an error response (ERROR-CODE, section 14.8) or
// the one word that says why the datagram is not a valid answer.
import { randomFillSync } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_BYTES = 20;
/** Section 6.1: a message over UDP without fragmentation stays under the path MTU; 548 bytes for IPv4 if unknown. Answers above this are counted as oversized. */
export const MAX_MESSAGE_BYTES = 1500;

export const BINDING_REQUEST = 0x0001;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;

const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_ERROR_CODE = 0x0009;
const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;

/** Why a datagram was not a valid answer; label values of slaprobe_packets_invalid_total. */
export type StunInvalid = 'malformed' | 'bad_cookie' | 'unknown_transaction' | 'oversized' | 'bad_fingerprint' | 'bad_address' | 'wrong_source';

export interface MappedAddress { family: 4 | 6; address: string; port: number }

export type StunDecoded =
  | { ok: true; type: number; txid: Buffer; mapped?: MappedAddress; errorCode?: number; errorReason?: string }
  | { ok: false; invalid: StunInvalid; txid?: Buffer };

export function newTransactionId(): Buffer {
  return randomFillSync(Buffer.alloc(12));
}

/** A Binding request with the given 96-bit transaction id; FINGERPRINT appended if asked. */
export function encodeBindingRequest(txid: Buffer, opts: { fingerprint?: boolean } = {}): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES + (opts.fingerprint ? 8 : 0));
  buf.writeUInt16BE(BINDING_REQUEST, 0);
  buf.writeUInt16BE(opts.fingerprint ? 8 : 0, 2);
  buf.writeUInt32BE(MAGIC_COOKIE, 4);
  txid.copy(buf, 8, 0, 12);
  if (opts.fingerprint) {
    buf.writeUInt16BE(ATTR_FINGERPRINT, 20);
    buf.writeUInt16BE(4, 22);
    buf.writeUInt32BE((crc32(buf.subarray(0, 20)) ^ FINGERPRINT_XOR) >>> 0, 24);
  }
  return buf;
}

/**
 * Decode one whole message. Checks, in order: size, the two zero top bits (section 5), the
 * length field against the datagram, the magic cookie, attribute framing (4-byte padding),
 * FINGERPRINT if present, and XOR-MAPPED-ADDRESS (falling back to MAPPED-ADDRESS, as
 * RFC 3489 servers send).
 */
export function decodeMessage(buf: Buffer): StunDecoded {
  if (buf.length > MAX_MESSAGE_BYTES) return { ok: false, invalid: 'oversized' };
  if (buf.length < HEADER_BYTES) return { ok: false, invalid: 'malformed' };
  const type = buf.readUInt16BE(0);
  const len = buf.readUInt16BE(2);
  const txid = Buffer.from(buf.subarray(8, 20));
  if ((type & 0xc000) !== 0 || len % 4 !== 0 || HEADER_BYTES + len !== buf.length) return { ok: false, invalid: 'malformed', txid };
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return { ok: false, invalid: 'bad_cookie', txid };
  let off = HEADER_BYTES;
  let mapped: MappedAddress | undefined;
  let legacy: MappedAddress | undefined;
  let errorCode: number | undefined;
  let errorReason: string | undefined;
  let badAddress = false;
  while (off < buf.length) {
    if (off + 4 > buf.length) return { ok: false, invalid: 'malformed', txid };
    const at = buf.readUInt16BE(off);
    const alen = buf.readUInt16BE(off + 2);
    const vstart = off + 4;
    const next = vstart + alen + ((4 - (alen % 4)) % 4);
    if (next > buf.length) return { ok: false, invalid: 'malformed', txid };
    const value = buf.subarray(vstart, vstart + alen);
    if (at === ATTR_XOR_MAPPED_ADDRESS) {
      mapped = decodeAddress(value, buf.subarray(4, 20));
      if (!mapped) badAddress = true;
    } else if (at === ATTR_MAPPED_ADDRESS) {
      legacy = decodeAddress(value);
    } else if (at === ATTR_ERROR_CODE) {
      if (alen < 4) return { ok: false, invalid: 'malformed', txid };
      errorCode = (value[2]! & 0x07) * 100 + value[3]!;
      errorReason = value.subarray(4).toString('utf8');
    } else if (at === ATTR_FINGERPRINT) {
      // Section 14.7: FINGERPRINT is the last attribute; CRC-32 of everything before it.
      if (alen !== 4 || next !== buf.length) return { ok: false, invalid: 'malformed', txid };
      const want = (crc32(buf.subarray(0, off)) ^ FINGERPRINT_XOR) >>> 0;
      if (value.readUInt32BE(0) !== want) return { ok: false, invalid: 'bad_fingerprint', txid };
    }
    off = next;
  }
  if (type === BINDING_ERROR) {
    if (errorCode === undefined) return { ok: false, invalid: 'malformed', txid };
    return { ok: true, type, txid, errorCode, ...(errorReason ? { errorReason } : {}) };
  }
  if (type !== BINDING_SUCCESS) return { ok: false, invalid: 'malformed', txid };
  if (badAddress) return { ok: false, invalid: 'bad_address', txid };
  const addr = mapped ?? legacy;
  if (!addr) return { ok: false, invalid: 'bad_address', txid };
  return { ok: true, type, txid, mapped: addr };
}

/** MAPPED-ADDRESS, or XOR-MAPPED-ADDRESS when `xorKey` (cookie + transaction id) is given. */
function decodeAddress(v: Buffer, xorKey?: Buffer): MappedAddress | undefined {
  if (v.length < 4) return undefined;
  const fam = v[1];
  const port = v.readUInt16BE(2) ^ (xorKey ? MAGIC_COOKIE >>> 16 : 0);
  const raw = v.subarray(4);
  if (fam === 0x01 && raw.length === 4) {
    const b = xorKey ? raw.map((x, i) => x ^ xorKey[i]!) : raw;
    return { family: 4, address: [...b].join('.'), port };
  }
  if (fam === 0x02 && raw.length === 16) {
    const b = Buffer.from(xorKey ? raw.map((x, i) => x ^ xorKey[i]!) : raw);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return { family: 6, address: compressV6(groups), port };
  }
  return undefined;
}

function compressV6(groups: string[]): string {
  // Longest run of zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Encode a Binding success or error response; used by test servers and the codec's own tests. */
export function encodeResponse(txid: Buffer, r: { mapped?: MappedAddress; errorCode?: number; fingerprint?: boolean }): Buffer {
  const attrs: Buffer[] = [];
  if (r.mapped) {
    const fam = r.mapped.family;
    const v = Buffer.alloc(fam === 4 ? 8 : 20);
    v[1] = fam === 4 ? 1 : 2;
    v.writeUInt16BE(r.mapped.port ^ (MAGIC_COOKIE >>> 16), 2);
    const key = Buffer.alloc(16);
    key.writeUInt32BE(MAGIC_COOKIE, 0);
    txid.copy(key, 4);
    const raw = fam === 4 ? Buffer.from(r.mapped.address.split('.').map(Number)) : v6Bytes(r.mapped.address);
    raw.forEach((x, i) => { v[4 + i] = x ^ key[i]!; });
    attrs.push(attr(ATTR_XOR_MAPPED_ADDRESS, v));
  }
  if (r.errorCode !== undefined) {
    const reason = Buffer.from('Unauthorized');
    const v = Buffer.alloc(4 + reason.length);
    v[2] = Math.floor(r.errorCode / 100);
    v[3] = r.errorCode % 100;
    reason.copy(v, 4);
    attrs.push(attr(ATTR_ERROR_CODE, v));
  }
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt16BE(r.errorCode !== undefined ? BINDING_ERROR : BINDING_SUCCESS, 0);
  head.writeUInt16BE(body.length + (r.fingerprint ? 8 : 0), 2);
  head.writeUInt32BE(MAGIC_COOKIE, 4);
  txid.copy(head, 8);
  const msg = Buffer.concat([head, body]);
  if (!r.fingerprint) return msg;
  const fp = Buffer.alloc(8);
  fp.writeUInt16BE(ATTR_FINGERPRINT, 0);
  fp.writeUInt16BE(4, 2);
  fp.writeUInt32BE((crc32(msg) ^ FINGERPRINT_XOR) >>> 0, 4);
  return Buffer.concat([msg, fp]);
}

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function v6Bytes(addr: string): Buffer {
  const [head = '', tail = ''] = addr.includes('::') ? addr.split('::') : [addr, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/**
 * RFC 8489 section 6.2.2 framing over TCP and TLS: messages back to back, each one's length
 * given by its header. Returns a push function that yields every whole message received.
 */
export function createStreamDeframer(onMessage: (msg: Buffer) => void, onError: (invalid: StunInvalid) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= HEADER_BYTES) {
      const total = HEADER_BYTES + pending.readUInt16BE(2);
      if (total > MAX_MESSAGE_BYTES || (pending[0]! & 0xc0) !== 0) {
        pending = Buffer.alloc(0);
        onError(total > MAX_MESSAGE_BYTES ? 'oversized' : 'malformed');
        return;
      }
      if (pending.length < total) return;
      onMessage(pending.subarray(0, total));
      pending = pending.subarray(total);
    }
  };
}
