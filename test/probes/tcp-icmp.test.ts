import { describe, expect, it } from 'vitest';
import type { IcmpTarget, TcpTarget } from '../../src/config/types.ts';
import { icmpProbe, parsePingOutput } from '../../src/probes/icmp.ts';
import { tcpProbe } from '../../src/probes/tcp.ts';
import { makePki } from '../support/certs.ts';
import { closedPort, httpsServer, tcpServer } from '../support/servers.ts';
import { makeTarget } from '../support/targets.ts';

const tcp = (raw: Record<string, unknown>) => {
  const t = makeTarget<TcpTarget>({ kind: 'tcp', ...raw });
  return tcpProbe(t, AbortSignal.timeout(t.timeout));
};
const icmp = (raw: Record<string, unknown>) => {
  const t = makeTarget<IcmpTarget>({ kind: 'icmp', ...raw });
  return icmpProbe(t, AbortSignal.timeout(t.timeout));
};

describe('tcp probe', () => {
  it('connects and measures connect time', async () => {
    const s = await tcpServer(() => undefined);
    try {
      const r = await tcp({ address: `127.0.0.1:${s.port}` });
      expect(r.success).toBe(true);
      expect(r.phases?.connect).toBeGreaterThan(0);
      expect(r.phases?.connect).toBeLessThan(1);
    } finally { await s.close(); }
  });

  it('refused', async () => {
    expect(await tcp({ address: `127.0.0.1:${await closedPort()}` })).toMatchObject({ success: false, reason: 'refused', code: 'ECONNREFUSED' });
  });

  it('send / expect: matches a banner; a wrong one or silence runs into the timeout', async () => {
    const s = await tcpServer((c) => c.on('data', (d) => c.write(d.toString().includes('PING') ? '+PONG\r\n' : '-ERR\r\n')));
    try {
      expect((await tcp({ address: `127.0.0.1:${s.port}`, send: 'PING\\r\\n', expect: '^\\+PONG' })).success).toBe(true);
      expect(await tcp({ address: `127.0.0.1:${s.port}`, send: 'HELLO\\r\\n', expect: '^\\+PONG', timeout: '300ms' })).toMatchObject({ success: false, reason: 'timeout' });
      expect(await tcp({ address: `127.0.0.1:${s.port}`, expect: 'anything', timeout: '300ms' })).toMatchObject({ success: false, reason: 'timeout' });
    } finally { await s.close(); }
  });

  it('expect fails when the server closes first', async () => {
    const s = await tcpServer((c) => c.end('bye\r\n'));
    try {
      expect(await tcp({ address: `127.0.0.1:${s.port}`, expect: '^hello' })).toMatchObject({ success: false, reason: 'expect' });
    } finally { await s.close(); }
  });

  it('TLS handshake with verification, and its failure', async () => {
    const pki = makePki();
    const s = await httpsServer(pki.valid.cert, pki.valid.key);
    try {
      const ok = await tcp({ address: `localhost:${s.port}`, tls: { ca_file: pki.caFile } });
      expect(ok.success).toBe(true);
      expect(ok.phases?.tls).toBeGreaterThan(0);
      expect(ok.tls?.certNotAfter).toBe(pki.valid.notAfter);
      expect(await tcp({ address: `localhost:${s.port}`, tls: true })).toMatchObject({ success: false, reason: 'tls', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    } finally { await s.close(); }
  });
});

describe('icmp probe (system ping)', () => {
  it('10 echo requests to 127.0.0.1: every reply kept with its sequence number', async () => {
    const r = await icmp({ address: '127.0.0.1', packets: 10, spacing: '20ms' });
    expect(r.success).toBe(true);
    expect(r.packets?.sent).toBe(10);
    expect(r.packets?.received).toBe(10);
    expect(r.packets?.lost).toBe(0);
    expect(r.packets?.seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.packets?.rtts).toHaveLength(10);
    for (const rtt of r.packets!.rtts) {
      expect(rtt).toBeGreaterThan(0);
      expect(rtt).toBeLessThan(0.05);
    }
  });

  it('IPv6 loopback', async () => {
    const r = await icmp({ address: '::1', packets: 3, spacing: '20ms' });
    expect(r.success).toBe(true);
    expect(r.packets?.received).toBe(3);
  });

  it('NXDOMAIN is "dns" before ping is started', async () => {
    expect(await icmp({ address: 'nonexistent.invalid' })).toMatchObject({ success: false, reason: 'dns' });
  });

  it('the ping binary missing is "ping_unavailable", with the fix in the detail', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      const r = await icmp({ address: '127.0.0.1' });
      expect(r).toMatchObject({ success: false, reason: 'ping_unavailable' });
      expect(r.detail).toContain('iputils-ping');
    } finally { process.env['PATH'] = path; }
  });

  it.each([
    ['all answered', 'PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.\n64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=1.50 ms\n64 bytes from 10.0.0.1: icmp_seq=2 ttl=64 time=2.25 ms\n\n--- 10.0.0.1 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 1001ms\n', { transmitted: 2, received: 2, errors: 0, duplicates: 0, replies: [{ seq: 1, rttMs: 1.5 }, { seq: 2, rttMs: 2.25 }] }],
    ['loss, a duplicate and errors', '64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=1.0 ms\n64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=1.2 ms (DUP!)\nFrom 10.0.0.9 icmp_seq=3 Destination Host Unreachable\n64 bytes from 10.0.0.1: icmp_seq=4 ttl=64 time=3.0 ms\n4 packets transmitted, 2 received, +1 duplicates, +1 errors, 50% packet loss, time 3003ms\n', { transmitted: 4, received: 2, errors: 1, duplicates: 1, replies: [{ seq: 1, rttMs: 1 }, { seq: 4, rttMs: 3 }] }],
    ['no statistics (ping refused to run)', 'ping: cannot flood; minimal interval allowed for user is 200ms\n', { errors: 0, duplicates: 0, replies: [] }],
  ])('parses iputils output: %s', (_n, out, expected) => {
    expect(parsePingOutput(out)).toEqual(expected);
  });
});
