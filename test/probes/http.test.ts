import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpTarget } from '../../src/config/types.ts';
import { clientPool, httpProbe } from '../../src/probes/http.ts';
import { makePki, type TestPki } from '../support/certs.ts';
import { type Running, closedPort, http10Server, httpServer, httpsServer, tcpServer } from '../support/servers.ts';
import { makeTarget } from '../support/targets.ts';

const probe = (raw: Record<string, unknown>, timeoutMs = 5000) => {
  const t = makeTarget<HttpTarget>({ kind: 'http', timeout: `${timeoutMs}ms`, ...raw });
  return httpProbe(t, AbortSignal.timeout(t.timeout));
};

let pki: TestPki;
let plain: Running;
let tls: Running;
let expired: Running;
let selfSigned: Running;
let mtls: Running;

beforeAll(async () => {
  pki = makePki();
  plain = await httpServer();
  tls = await httpsServer(pki.valid.cert, pki.valid.key);
  expired = await httpsServer(pki.expired.cert, pki.expired.key);
  selfSigned = await httpsServer(pki.selfSigned.cert, pki.selfSigned.key);
  mtls = await httpsServer(pki.valid.cert, pki.valid.key, { requestCert: true, ca: pki.ca });
});
afterAll(async () => {
  await Promise.all([plain, tls, expired, selfSigned, mtls].map((s) => s?.close()));
});

describe('http probe against real loopback servers', () => {
  it('succeeds on 200 and measures every phase', async () => {
    const r = await probe({ url: `${plain.url}/ok`, must_match: ['all good'] });
    expect(r.success).toBe(true);
    expect(r.http?.status).toBe(200);
    expect(r.http?.bodyBytes).toBe('ok all good\n'.length);
    for (const ph of ['dns', 'connect', 'ttfb', 'transfer'] as const) {
      expect(r.phases?.[ph]).toBeGreaterThanOrEqual(0);
      expect(r.phases?.[ph]).toBeLessThan(5);
    }
    expect(r.phases?.tls).toBeUndefined();
  });

  it.each([
    ['status not expected', { url: '/status/503' }, 'status'],
    ['status listed as valid', { url: '/status/503', valid_status_codes: [503] }, undefined],
    ['must_match fails', { url: '/ok', must_match: ['^nope'] }, 'body_mismatch'],
    ['must_not_match hits', { url: '/ok', must_not_match: ['good'] }, 'body_mismatch'],
    ['redirect chain within limit', { url: '/chain/3', max_redirects: 3 }, undefined],
    ['redirect chain over limit', { url: '/chain/3', max_redirects: 2 }, 'redirects'],
    ['redirect loop', { url: '/loop' }, 'redirects'],
    ['redirect not followed: 302 is not 2xx', { url: '/chain/1', follow_redirects: false }, 'status'],
    ['1 GB body over max_body_bytes', { url: '/big', max_body_bytes: 1_000_000 }, 'too_large'],
  ])('%s', async (_name, raw, reason) => {
    const r = await probe({ ...raw, url: `${plain.url}${raw.url}` });
    expect(r.reason).toBe(reason);
    expect(r.success).toBe(reason === undefined);
  });

  it('counts redirects it followed', async () => {
    const r = await probe({ url: `${plain.url}/chain/2` });
    expect(r.success).toBe(true);
    expect(r.http?.redirects).toBe(2);
  });

  it('sends method, headers and body', async () => {
    const r = await probe({ url: `${plain.url}/headers`, headers: { 'X-Probe': 'abc' }, must_match: ['"x-probe":"abc"'] });
    expect(r.success).toBe(true);
    const m = await probe({ url: `${plain.url}/echo-method`, method: 'POST', body: 'x', must_match: ['^POST'] });
    expect(m.success).toBe(true);
  });

  it('connection refused is "refused" with code ECONNREFUSED', async () => {
    const r = await probe({ url: `http://127.0.0.1:${await closedPort()}/` });
    expect(r).toMatchObject({ success: false, reason: 'refused', code: 'ECONNREFUSED' });
  });

  it('NXDOMAIN is "dns"', async () => {
    // .invalid is reserved (RFC 6761): the resolver answers NXDOMAIN without any traffic.
    const r = await probe({ url: 'http://nonexistent.invalid/' });
    expect(r.success).toBe(false);
    expect(r.reason).toBe('dns');
  });

  it('a server that accepts and never answers is "timeout"', async () => {
    const r = await probe({ url: `${plain.url}/hang` }, 400);
    expect(r).toMatchObject({ success: false, reason: 'timeout' });
  });

  it('headers then a stalled body is "timeout", with ttfb measured', async () => {
    const r = await probe({ url: `${plain.url}/stall-body` }, 400);
    expect(r).toMatchObject({ success: false, reason: 'timeout' });
    expect(r.http?.status).toBe(200);
    expect(r.phases?.ttfb).toBeGreaterThan(0);
  });

  it('a TCP server that never speaks is "timeout"', async () => {
    const silent = await tcpServer(() => undefined);
    try {
      const r = await probe({ url: `http://127.0.0.1:${silent.port}/` }, 300);
      expect(r.reason).toBe('timeout');
    } finally { await silent.close(); }
  });

  it('a peer that answers garbage is "protocol"', async () => {
    const junk = await tcpServer((s) => s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\nnot http at all\r\n\r\n')));
    try {
      const r = await probe({ url: `http://127.0.0.1:${junk.port}/` });
      expect(r.reason).toBe('protocol');
      expect(r.code).toMatch(/^(HPE_|UND_ERR_HTTP_PARSER)/);
    } finally { await junk.close(); }
  });

  it('reads a close-delimited HTTP/1.0 body', async () => {
    const s = await http10Server('hello from 1.0');
    try {
      const r = await probe({ url: `${s.url.replace('tcp', 'http')}/`, must_match: ['from 1\\.0$'] });
      expect(r.success).toBe(true);
      expect(r.http?.bodyBytes).toBe('hello from 1.0'.length);
    } finally { await s.close(); }
  });

  it('https with a trusted CA: tls phase, version and earliest expiry', async () => {
    const r = await probe({ url: `${tls.url.replace('127.0.0.1', 'localhost')}/ok`, tls: { ca_file: pki.caFile } });
    expect(r.success).toBe(true);
    expect(r.phases?.tls).toBeGreaterThan(0);
    expect(r.tls?.version).toMatch(/^TLSv1\.[23]$/);
    // The chain is leaf (20 days) + CA (30 days): the earliest is the leaf's notAfter.
    expect(r.tls?.certNotAfter).toBe(pki.valid.notAfter);
  });

  it('https to an IP literal checks the certificate against the IP (IP SAN)', async () => {
    const ok = await probe({ url: `${tls.url}/ok`, tls: { ca_file: pki.caFile } });
    expect(ok.success).toBe(true);
    // Checked against another IP (not in the certificate's SANs), the same server fails.
    const wrong = await probe({ url: `${tls.url}/ok`, tls: { ca_file: pki.caFile, server_name: '127.0.0.2' } });
    expect(wrong).toMatchObject({ success: false, reason: 'tls', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it.each([
    ['expired certificate', () => expired, 'CERT_HAS_EXPIRED'],
    ['self-signed certificate', () => selfSigned, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['CA not trusted (no ca_file)', () => tls, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  ])('%s is "tls" with its OpenSSL code', async (_n, server, code) => {
    const r = await probe({ url: `${server().url}/ok`, tls: code === 'CERT_HAS_EXPIRED' ? { ca_file: pki.caFile } : {} });
    expect(r).toMatchObject({ success: false, reason: 'tls', code });
  });

  it('insecure_skip_verify accepts the self-signed certificate', async () => {
    const r = await probe({ url: `${selfSigned.url}/ok`, tls: { insecure_skip_verify: true } });
    expect(r.success).toBe(true);
    expect(r.tls?.authorized).toBe(false);
  });

  it('server_name is checked against the certificate', async () => {
    const r = await probe({ url: `${tls.url}/ok`, tls: { ca_file: pki.caFile, server_name: 'wrong.example' } });
    expect(r).toMatchObject({ success: false, reason: 'tls', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('client certificate: refused without, accepted with', async () => {
    const without = await probe({ url: `${mtls.url}/ok`, tls: { ca_file: pki.caFile } });
    expect(without.success).toBe(false);
    const withCert = await probe({ url: `${mtls.url}/ok`, tls: { ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile } });
    expect(withCert.success).toBe(true);
  });

  it('IPv6 loopback', async () => {
    const s6 = await httpServer('::1');
    try {
      const r = await probe({ url: `${s6.url}/ok` });
      expect(r.success).toBe(true);
      expect(r.http?.remoteAddress).toBe('::1');
    } finally { await s6.close(); }
  });

  it('runs at the same time share no client and no connection; one idle client is kept per connection settings', async () => {
    // A server that holds every answer 100 ms, so that the runs overlap.
    let accepted = 0;
    const slow = createServer((req, res) => { setTimeout(() => res.end(`ok ${req.url}`), 100); });
    slow.on('connection', () => { accepted++; });
    const port = await new Promise<number>((r) => slow.listen(0, '127.0.0.1', () => r((slow.address() as AddressInfo).port)));
    try {
      const before = clientPool();
      const results = await Promise.all([1, 2, 3, 4, 5].map((i) => probe({ url: `http://127.0.0.1:${port}/r${i}`, must_match: [`^ok /r${i}$`] })));
      expect(results.map((r) => r.success)).toEqual([true, true, true, true, true]);
      for (const r of results) expect(r.phases?.ttfb).toBeGreaterThan(0.09);
      expect(accepted).toBe(5);
      // Five clients for five runs at once; one of them kept idle.
      expect(clientPool()).toEqual({ idle: before.idle + 1, made: before.made + 5 });
      // The next runs take the idle client (none made) and each still opens its own connection.
      for (const i of [6, 7]) expect(await probe({ url: `http://127.0.0.1:${port}/r${i}`, must_match: [`^ok /r${i}$`] })).toMatchObject({ success: true });
      expect(accepted).toBe(7);
      expect(clientPool()).toEqual({ idle: before.idle + 1, made: before.made + 5 });
    } finally { slow.closeAllConnections(); slow.close(); }
  });

  it('a run cut short (timeout, too_large, refused) leaves no client behind, and the next run to the same origin succeeds', async () => {
    const before = clientPool().idle;
    expect(await probe({ url: `${plain.url}/stall-body` }, 300)).toMatchObject({ success: false, reason: 'timeout' });
    expect(await probe({ url: `${plain.url}/big`, max_body_bytes: 100_000 })).toMatchObject({ success: false, reason: 'too_large', http: { status: 200 } });
    const refusedPort = await closedPort();
    expect(await probe({ url: `http://127.0.0.1:${refusedPort}/` })).toMatchObject({ success: false, reason: 'refused' });
    // Only clean runs return a client: the plain server's settings may already have one idle.
    expect(clientPool().idle - before).toBeLessThanOrEqual(0);
    expect(await probe({ url: `${plain.url}/ok`, must_match: ['all good'] })).toMatchObject({ success: true, http: { status: 200 } });
    expect(await probe({ url: `${plain.url}/stall-body` }, 300)).toMatchObject({ success: false, reason: 'timeout', http: { status: 200 } });
    expect(await probe({ url: `${plain.url}/ok`, must_match: ['all good'] })).toMatchObject({ success: true });
  });

  it('TLS settings are part of what a client is kept for: a verified and an unverified target to one origin never share one', async () => {
    const url = `${selfSigned.url}/ok`;
    for (let i = 0; i < 2; i++) {
      expect(await probe({ url, tls: { insecure_skip_verify: true } })).toMatchObject({ success: true, tls: { authorized: false } });
      expect(await probe({ url })).toMatchObject({ success: false, reason: 'tls' });
    }
  });

  it('leaves no connection open: every run\'s connection is closed when it returns, kept-alive or not', async () => {
    // Servers that keep every connection alive (5 s), so a connection the probe left open
    // would still be counted here.
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/redirect') { res.writeHead(302, { location: '/ok' }); return res.end(); }
      if (req.url === '/status/500') { res.writeHead(500); return res.end('no'); }
      res.writeHead(200, { connection: 'keep-alive' });
      res.end('ok');
    };
    const servers: Server[] = [createServer({ keepAliveTimeout: 5_000 }, handler), createHttpsServer({ cert: pki.valid.cert, key: pki.valid.key, keepAliveTimeout: 5_000 }, handler)];
    const ports = await Promise.all(servers.map((s) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)))));
    let accepted = 0;
    for (const s of servers) s.on('connection', () => { accepted++; });
    const open = () => Promise.all(servers.map((s) => new Promise<number>((r) => s.getConnections((_e, n) => r(n))))).then((n) => n[0]! + n[1]!);
    try {
      const results = [];
      for (const [scheme, port] of [['http', ports[0]], ['https', ports[1]]] as const) {
        const base = `${scheme}://127.0.0.1:${port}`;
        const tlsOpt = scheme === 'https' ? { tls: { ca_file: pki.caFile } } : {};
        for (let i = 0; i < 3; i++) results.push(await probe({ url: `${base}/ok`, ...tlsOpt }));
        results.push(await probe({ url: `${base}/redirect`, ...tlsOpt }));
        results.push(await probe({ url: `${base}/status/500`, ...tlsOpt }));
      }
      expect(results.map((r) => r.success)).toEqual([true, true, true, true, false, true, true, true, true, false]);
      expect(results.map((r) => r.http?.status)).toEqual([200, 200, 200, 200, 500, 200, 200, 200, 200, 500]);
      // One connection per run and per redirect hop.
      expect(accepted).toBe(12);
      const deadline = Date.now() + 3_000;
      while ((await open()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await open()).toBe(0);
    } finally {
      for (const s of servers) { s.closeAllConnections(); s.close(); }
    }
  });
});
