// The stun probe against a real coturn on 127.0.0.1: UDP, TCP and TLS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stunProbe } from '../../src/probes/stun.ts';
import { summarizeRun } from '../../src/quality/summary.ts';
import { type Coturn, startCoturn } from '../support/coturn.ts';
import { stunTarget } from '../support/targets.ts';

let turn: Coturn;
beforeAll(async () => { turn = await startCoturn({ tls: true }); });
afterAll(async () => { await turn?.stop(); });

describe('stun over UDP against coturn', () => {
  it('answers every Binding request and maps us to our own loopback address', async () => {
    const r = await stunProbe(stunTarget(turn.port, { packets: 20 }), AbortSignal.timeout(10_000));
    expect(r.success).toBe(true);
    const p = r.packets!;
    expect(p).toMatchObject({ sent: 20, received: 20, lost: 0, duplicated: 0, late: 0, lossBurstMax: 0 });
    expect(p.rtts).toHaveLength(20);
    expect(p.seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const rtt of p.rtts) expect(rtt).toBeGreaterThan(0);
    // XOR-MAPPED-ADDRESS decoded: on loopback, what the server sees is our own socket.
    expect(r.info?.['mapped_address']).toBe('127.0.0.1');
    expect(r.info?.['mapped_port']).toBe(r.info?.['local_port']);
    expect(r.info?.['mapped_family']).toBe(4);
    const lines = summarizeRun(stunTarget(turn.port), r);
    expect(lines.join('\n')).toMatch(/20 sent, 20 received, 0 lost/);
    expect(lines.join('\n')).toMatch(/verdict loss <= 0\.050 %: insufficient_data .*5970 more loss-free packets/);
  });

  it('honours the abort signal: packets still in flight are not counted', async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 300);
    const r = await stunProbe(stunTarget(turn.port, { packets: 100, spacing: 20 }), ctl.signal);
    const p = r.packets!;
    expect(p.sent).toBeGreaterThan(3);
    expect(p.sent).toBeLessThan(100);
    expect(p.received).toBe(p.sent);
  });
});

describe('stun over TCP and TLS against coturn', () => {
  it('tcp: reachability, connect time and an RTT per request', async () => {
    const r = await stunProbe(stunTarget(turn.port, { transport: 'tcp', packets: 5 }), AbortSignal.timeout(10_000));
    expect(r.success).toBe(true);
    expect(r.packets).toMatchObject({ sent: 5, received: 5, lost: 0 });
    expect(r.phases?.connect).toBeGreaterThan(0);
    expect(r.info?.['mapped_address']).toBe('127.0.0.1');
  });

  it('tls: verified against the test CA', async () => {
    const r = await stunProbe(stunTarget(turn.tlsPort, { transport: 'tls', packets: 3, tls: { insecure_skip_verify: false, ca_file: turn.certFile } }), AbortSignal.timeout(10_000));
    expect(r.success).toBe(true);
    expect(r.packets).toMatchObject({ sent: 3, received: 3 });
    expect(r.phases?.tls).toBeGreaterThan(0);
    expect(String(r.info?.['tls_version'])).toMatch(/^TLSv1\.[23]$/);
  });

  it('tls: an untrusted certificate fails with reason tls and its OpenSSL code', async () => {
    const r = await stunProbe(stunTarget(turn.tlsPort, { transport: 'tls', packets: 1 }), AbortSignal.timeout(10_000));
    expect(r).toMatchObject({ success: false, reason: 'tls', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('tcp: a closed port is refused', async () => {
    const { freePort } = await import('../support/coturn.ts');
    const r = await stunProbe(stunTarget(await freePort(), { transport: 'tcp', packets: 1 }), AbortSignal.timeout(5_000));
    expect(r).toMatchObject({ success: false, reason: 'refused', code: 'ECONNREFUSED' });
  });
});
