// Servers that misbehave, each counted under its own outcome; and a closed UDP port.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { stunProbe } from '../../src/probes/stun.ts';
import { encodeResponse, newTransactionId } from '../../src/stun/codec.ts';
import { freePort } from '../support/coturn.ts';
import { stunTarget } from '../support/targets.ts';

type Answer = (req: Buffer, rinfo: dgram.RemoteInfo) => Buffer[];
const servers: dgram.Socket[] = [];
afterEach(() => { for (const s of servers.splice(0)) s.close(); });

function fakeServer(answer: Answer): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    servers.push(s);
    s.on('message', (req, rinfo) => { for (const b of answer(req, rinfo)) s.send(b, rinfo.port, rinfo.address); });
    s.bind(0, '127.0.0.1', () => resolve(s.address().port));
  });
}

const txidOf = (req: Buffer) => Buffer.from(req.subarray(8, 20));
const ok = (req: Buffer, r: dgram.RemoteInfo) => encodeResponse(txidOf(req), { mapped: { family: 4, address: r.address, port: r.port } });
const run = async (port: number, packets = 10) => stunProbe(stunTarget(port, { packets, spacing: 10, packet_timeout: 200 }), AbortSignal.timeout(10_000));

describe('stun: bad answers', () => {
  it('garbage: every answer counted malformed, the run fails with protocol', async () => {
    const port = await fakeServer(() => [Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')]);
    const r = await run(port);
    expect(r).toMatchObject({ success: false, reason: 'protocol' });
    expect(r.packets).toMatchObject({ sent: 10, received: 0, lost: 10, invalid: { malformed: 10 } });
  });

  it('wrong transaction id: unknown_transaction, and the packet is lost', async () => {
    const port = await fakeServer((req, ri) => [encodeResponse(newTransactionId(), { mapped: { family: 4, address: ri.address, port: ri.port } })]);
    const r = await run(port);
    expect(r.packets).toMatchObject({ sent: 10, received: 0, lost: 10, invalid: { unknown_transaction: 10 } });
  });

  it('bad magic cookie: bad_cookie', async () => {
    const port = await fakeServer((req, ri) => { const b = ok(req, ri); b.writeUInt32BE(0xdeadbeef, 4); return [b]; });
    const r = await run(port);
    expect(r.packets).toMatchObject({ received: 0, invalid: { bad_cookie: 10 } });
  });

  it('truncated messages: malformed', async () => {
    const port = await fakeServer((req, ri) => [ok(req, ri).subarray(0, 26)]);
    const r = await run(port);
    expect(r.packets).toMatchObject({ received: 0, invalid: { malformed: 10 } });
  });

  it('oversized messages: oversized', async () => {
    const port = await fakeServer((req, ri) => {
      const big = Buffer.concat([ok(req, ri), Buffer.alloc(2000)]);
      big.writeUInt16BE(big.length - 20, 2);
      return [big];
    });
    const r = await run(port);
    expect(r.packets).toMatchObject({ received: 0, invalid: { oversized: 10 } });
  });

  it('a 401 error response: the packet was answered, the run fails with auth', async () => {
    const port = await fakeServer((req) => [encodeResponse(txidOf(req), { errorCode: 401 })]);
    const r = await run(port);
    expect(r).toMatchObject({ success: false, reason: 'auth', code: 'STUN_401' });
    expect(r.packets).toMatchObject({ sent: 10, received: 10, lost: 0, invalid: { error_response: 10 } });
  });

  it('every packet answered twice: duplicated, not received twice', async () => {
    const port = await fakeServer((req, ri) => [ok(req, ri), ok(req, ri)]);
    const r = await run(port);
    expect(r.success).toBe(true);
    expect(r.packets).toMatchObject({ sent: 10, received: 10, lost: 0, duplicated: 10 });
  });

  it('answers after the timeout: lost, then counted late', async () => {
    const port = await fakeServer(() => []);
    const s = servers[servers.length - 1]!;
    s.removeAllListeners('message');
    s.on('message', (req, ri) => setTimeout(() => { try { s.send(ok(req, ri), ri.port, ri.address); } catch { /* closed after the test */ } }, 120));
    const r = await stunProbe(stunTarget(port, { packets: 10, spacing: 30, packet_timeout: 60 }), AbortSignal.timeout(10_000));
    const p = r.packets!;
    expect(p.received).toBe(0);
    expect(p.lost).toBe(10);
    // The last packets' answers come after the train has ended; the earlier ones are seen late.
    expect(p.late).toBeGreaterThanOrEqual(7);
  });

  it('answers in reverse order: reordered', async () => {
    const port = await fakeServer(() => []);
    const s = servers[servers.length - 1]!;
    s.removeAllListeners('message');
    const held: Array<[Buffer, dgram.RemoteInfo]> = [];
    s.on('message', (req, ri) => {
      held.push([req, ri]);
      if (held.length === 2) for (const [q, r] of held.splice(0).reverse()) s.send(ok(q, r), r.port, r.address);
    });
    const r = await run(port, 10);
    expect(r.packets).toMatchObject({ sent: 10, received: 10, reordered: 5 });
  });

  it('a garbage server does not disturb a train to a good one running at the same time', async () => {
    const bad = await fakeServer(() => [Buffer.alloc(100, 0xff)]);
    const good = await fakeServer((req, ri) => [ok(req, ri)]);
    const [rb, rg] = await Promise.all([run(bad, 50), run(good, 50)]);
    expect(rb.packets).toMatchObject({ received: 0, invalid: { malformed: 50 } });
    expect(rg.packets).toMatchObject({ sent: 50, received: 50, lost: 0 });
  });
});

describe('stun: closed UDP port', () => {
  it('ICMP port unreachable surfaces as ECONNREFUSED on the connected socket: reason refused', async () => {
    const r = await run(await freePort());
    expect(r).toMatchObject({ success: false, reason: 'refused', code: 'ECONNREFUSED' });
    expect(r.packets).toMatchObject({ received: 0 });
    expect(Number(r.info?.['icmp_port_unreachable'])).toBeGreaterThan(0);
  });
});
