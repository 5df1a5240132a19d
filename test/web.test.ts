// The agent's endpoints behind --web.config.file (TLS, client certificates, basic auth) and
// the lifecycle rules of POST /-/reload, against a real agent and a real TLS client
// (issue 11, section 3; docs/security.md).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../src/agent.ts';
import { ConfigError } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { createReloader } from '../src/reload.ts';
import { loadWebConfig } from '../src/web.ts';
import { type TestPki, makePki } from './support/certs.ts';

interface Answer { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function get(port: number, path: string, o: { tls?: { ca: Buffer; cert?: Buffer; key?: Buffer }; auth?: string; method?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.auth ? { authorization: `Basic ${Buffer.from(o.auth).toString('base64')}` } : {} };
    const req = o.tls
      ? httpsRequest({ ...opts, servername: 'localhost', ca: o.tls.ca, ...(o.tls.cert ? { cert: o.tls.cert, key: o.tls.key } : {}) })
      : httpRequest(opts);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => { body += String(d); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const quietLog = () => createLogger('silent');
let pki: TestPki;
let dir: string;
const agents: Agent[] = [];

async function agentWith(web: string | undefined, lifecycle = false): Promise<Agent> {
  const d = mkdtempSync(join(dir, 'a-'));
  writeFileSync(join(d, 'config.yaml'), 'agent: {listen: "127.0.0.1:0"}\ntargets: []\n');
  const a = await startAgent({
    configFile: join(d, 'config.yaml'), dataDir: join(d, 'data'), logger: quietLog(),
    ...(web === undefined ? {} : { web: loadWebConfig(writeWeb(d, web)) }), ...(lifecycle ? { lifecycle } : {}),
  });
  agents.push(a);
  return a;
}

function writeWeb(d: string, text: string): string {
  writeFileSync(join(d, 'web.yml'), text);
  return join(d, 'web.yml');
}

beforeAll(() => {
  pki = makePki();
  dir = mkdtempSync(join(tmpdir(), 'slaprobe-web-'));
});
afterAll(async () => {
  for (const a of agents) await a.stop();
});

const ENDPOINTS = ['/metrics', '/healthz', '/-/healthy', '/readyz', '/-/ready', '/status', '/'];

describe('--web.config.file', () => {
  it('TLS and basic auth on every endpoint, checked by a real TLS client', async () => {
    const hash = bcrypt.hashSync('s3cret-pass', 10);
    const a = await agentWith(`tls_server_config:\n  cert_file: ${pki.dir}/server.pem\n  key_file: ${pki.dir}/server.key\nbasic_auth_users:\n  prometheus: ${hash}\n`);
    const port = a.address().port;
    const tls = { ca: pki.ca };
    for (const p of ENDPOINTS) {
      const none = await get(port, p, { tls });
      expect(none.status, p).toBe(401);
      expect(none.headers['www-authenticate'], p).toMatch(/^Basic realm="slaprobe"/);
      expect((await get(port, p, { tls, auth: 'prometheus:wrong' })).status, p).toBe(401);
      expect((await get(port, p, { tls, auth: 'nobody:s3cret-pass' })).status, p).toBe(401);
    }
    expect((await get(port, '/-/reload', { tls, method: 'POST' })).status).toBe(401);
    const ok = await get(port, '/metrics', { tls, auth: 'prometheus:s3cret-pass' });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('slaprobe_build_info');
    expect((await get(port, '/-/healthy', { tls, auth: 'prometheus:s3cret-pass' })).body).toBe('ok\n');
    // Plain HTTP on the TLS port never reaches the agent's handlers.
    expect(await get(port, '/metrics', { auth: 'prometheus:s3cret-pass' }).then((r) => r.status, () => 'no answer')).not.toBe(200);
  });

  it('client_auth_type RequireAndVerifyClientCert: no certificate, no handshake', async () => {
    const a = await agentWith(`tls_server_config:\n  cert_file: ${pki.dir}/server.pem\n  key_file: ${pki.dir}/server.key\n  client_ca_file: ${pki.caFile}\n  client_auth_type: RequireAndVerifyClientCert\n`);
    const port = a.address().port;
    await expect(get(port, '/metrics', { tls: { ca: pki.ca } })).rejects.toThrow();
    const withCert = await get(port, '/metrics', { tls: { ca: pki.ca, cert: readFileSync(pki.client.certFile), key: readFileSync(pki.client.keyFile) } });
    expect(withCert.status).toBe(200);
    // A certificate from another CA (self-signed) is refused in the handshake too.
    await expect(get(port, '/metrics', { tls: { ca: pki.ca, cert: pki.selfSigned.cert, key: pki.selfSigned.key } })).rejects.toThrow();
  });

  it('a bad web config is a file:line error naming the key, and `run` exits 2', async () => {
    const d = mkdtempSync(join(dir, 'bad-'));
    const f = writeWeb(d, 'tls_server_config:\n  cert_file: server.pem\n  client_auth_type: RequireAndVerifyClientCert\nbasic_auth_users:\n  alice: plaintext\n');
    let messages: string[] = [];
    try {
      loadWebConfig(f);
    } catch (e) {
      if (e instanceof ConfigError) messages = e.messages;
    }
    expect(messages).toEqual([
      `${f}:2:3: tls_server_config.key_file: is required: a PEM file, relative to the web config's folder`,
      `${f}:2:14: tls_server_config.cert_file: cannot read ${join(d, 'server.pem')} (ENOENT); check the path and its permissions`,
      `${f}:3:21: tls_server_config.client_auth_type: RequireAndVerifyClientCert verifies client certificates: give client_ca_file, the CA that signs them`,
      `${f}:5:10: basic_auth_users.alice: is not a bcrypt hash ($2y$10$... , 60 characters); make one with \`htpasswd -nBC 10 "" | tr -d ':\\n'\``,
    ]);
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [join(import.meta.dirname, '../src/cli.ts'), 'run', '--listen', '127.0.0.1:0', '--data-dir', join(d, 'data'), '--web.config.file', f], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
      let stderr = '';
      c.stderr.on('data', (x) => { stderr += String(x); });
      c.on('close', (status) => resolve({ status, stderr }));
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('basic_auth_users.alice: is not a bcrypt hash');
  });
});

describe('--web.config.file is read again when it or its PEM files change', () => {
  it('a rotated certificate and new users take effect without a restart; a bad or incompatible new file leaves the running one in force', async () => {
    const d = mkdtempSync(join(dir, 'rot-'));
    const put = (cert: Buffer, key: Buffer) => {
      writeFileSync(join(d, 'tls.pem'), cert);
      writeFileSync(join(d, 'tls.key'), key);
    };
    const webYaml = (users: string, extra = '') => `tls_server_config:\n  cert_file: tls.pem\n  key_file: tls.key\n${extra}basic_auth_users:\n${users}`;
    put(pki.selfSigned.cert, pki.selfSigned.key);
    const one = bcrypt.hashSync('one', 4);
    const two = bcrypt.hashSync('two', 4);
    const file = writeWeb(d, webYaml(`  alice: ${one}\n`));
    writeFileSync(join(d, 'config.yaml'), 'agent: {listen: "127.0.0.1:0"}\ntargets: []\n');
    const lines: string[] = [];
    const a = await startAgent({ configFile: join(d, 'config.yaml'), dataDir: join(d, 'data'), webFile: file, logger: createLogger('info', { write: (l: string) => { lines.push(l); } }) });
    agents.push(a);
    const port = a.address().port;
    const success = async () => (await a.metrics.registry.getSingleMetric('slaprobe_web_config_last_reload_success')?.get())?.values[0]?.value;
    const status = (ca: Buffer, auth: string) => get(port, '/-/healthy', { tls: { ca }, auth }).then((r) => r.status, () => 'handshake refused');
    expect(await status(pki.selfSigned.cert, 'alice:one')).toBe(200);
    expect(await status(pki.ca, 'alice:one')).toBe('handshake refused');
    expect(await success()).toBe(1);

    // cert-manager's way: the certificate, its key and the users change on disk; nothing is signalled.
    put(pki.valid.cert, pki.valid.key);
    writeWeb(d, webYaml(`  bob: ${two}\n`));
    const until = async (fn: () => Promise<boolean>) => {
      for (const end = Date.now() + 20_000; Date.now() < end;) {
        if (await fn()) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('timed out');
    };
    await until(async () => (await status(pki.ca, 'bob:two')) === 200);
    expect(await status(pki.selfSigned.cert, 'bob:two')).toBe('handshake refused');
    expect(await status(pki.ca, 'alice:one')).toBe(401);
    expect(lines.some((l) => l.includes('"msg":"web config reloaded"'))).toBe(true);

    // A broken new version (a plaintext password) is refused with its file:line error; bob still gets in.
    writeWeb(d, webYaml('  carol: plaintext\n'));
    await until(async () => (await success()) === 0);
    expect(lines.some((l) => l.includes('web config changed but was refused') && l.includes('basic_auth_users.carol: is not a bcrypt hash'))).toBe(true);
    expect(await status(pki.ca, 'bob:two')).toBe(200);

    // A new client-certificate mode needs a new listening socket: refused, saying so; a SIGHUP-style reload reads it at once.
    writeWeb(d, webYaml(`  bob: ${two}\n`, `  client_ca_file: ${pki.caFile}\n  client_auth_type: RequireAndVerifyClientCert\n`));
    await a.reload();
    expect(await success()).toBe(0);
    expect(lines.some((l) => l.includes('client_auth_type changed from NoClientCert to RequireAndVerifyClientCert: it takes a restart of slaprobe'))).toBe(true);
    expect(await status(pki.ca, 'bob:two')).toBe(200);

    // Fixed: taken again.
    writeWeb(d, webYaml(`  bob: ${two}\n  dave: ${one}\n`));
    await a.reload();
    expect(await success()).toBe(1);
    expect(await status(pki.ca, 'dave:one')).toBe(200);
  }, 60_000);
});

describe('POST /-/reload', () => {
  it('is refused (403) without --web.enable-lifecycle', async () => {
    const a = await agentWith(undefined);
    const r = await get(a.address().port, '/-/reload', { method: 'POST' });
    expect(r.status).toBe(403);
    expect(r.body).toContain('--web.enable-lifecycle');
  });

  it('with it: a rejected config answers 400 without the details; a burst is refused with 429', async () => {
    const a = await agentWith(undefined, true);
    const port = a.address().port;
    const first = await get(port, '/-/reload', { method: 'POST' });
    expect(first.status).toBe(200);
    const burst = [];
    for (let i = 0; i < 5; i++) burst.push((await get(port, '/-/reload', { method: 'POST' })).status);
    expect(burst.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    const d = mkdtempSync(join(dir, 'secret-'));
    writeFileSync(join(d, 'addr'), 'db-primary internal.corp:6379\n');
    writeFileSync(a.config().source, 'agent: {listen: "127.0.0.1:0"}\ntargets:\n  - {name: db, kind: tcp, address: "${file:' + join(d, 'addr') + '}"}\n');
    let bad = await get(port, '/-/reload', { method: 'POST' });
    while (bad.status === 429) {
      await new Promise((res) => setTimeout(res, 300));
      bad = await get(port, '/-/reload', { method: 'POST' });
    }
    expect(bad.status).toBe(400);
    expect(bad.body).not.toContain('internal.corp');
    expect(bad.body).not.toContain('address');
  });
});

describe('reloads are serialized and rate-limited', () => {
  it('never two at once; asks during one are queued once; HTTP asks too soon are refused', async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    const r = createReloader(async () => {
      runs++;
      active++;
      most = Math.max(most, active);
      await new Promise((res) => setTimeout(res, 50));
      active--;
      return { ok: true, messages: [] };
    }, 200);
    const all = await Promise.all([r.request(), r.request(), r.request(), r.request()]);
    expect(all.every((o) => o.ok)).toBe(true);
    expect(most).toBe(1);
    // The first ran at once; the three that came during it share one more run.
    expect(runs).toBe(2);
    expect(r.tryRequest()).toBe('too-soon');
  });
});
