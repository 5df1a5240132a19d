// The first run, as a newcomer does it (issue 11, section 5): check-config on the example
// without its secrets, the embedded default on another port, a wrong udp-echo key, typos in
// the command line, an untrusted certificate, and the first log lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';
import { startReflector } from '../../src/reflector/index.ts';
import { makePki } from '../support/certs.ts';
import { closedPort, httpsServer } from '../support/servers.ts';

const CLI = join(import.meta.dirname, '../../src/cli.ts');
const EXAMPLE = join(import.meta.dirname, '../../config/example.yaml');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLAPROBE_')));
const cli = (...args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
  const c = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, env });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => { stdout += String(d); });
  c.stderr.on('data', (d) => { stderr += String(d); });
  c.on('close', (status) => resolve({ status, stdout, stderr }));
});

const children: ChildProcess[] = [];
afterAll(() => { for (const c of children) c.kill('SIGKILL'); });

describe('check-config on a fresh machine', () => {
  it('the example needs two secrets; --no-secrets checks its structure without them', async () => {
    const full = await cli('check-config', EXAMPLE);
    expect(full.status).toBe(2);
    expect(full.stderr).toContain('environment variable SLAPROBE_API_TOKEN is not set');
    const structural = await cli('check-config', '--no-secrets', EXAMPLE);
    expect(structural.stderr).toBe('');
    expect(structural.stdout).toContain('config/example.yaml: valid (structure only: secrets not resolved)');
    expect(structural.status).toBe(0);
  });
});

describe('slaprobe run with the embedded default', () => {
  it('with --listen elsewhere, its self-probes follow the listen address; the first lines say where /metrics is', async () => {
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-first-'));
    // As `npm start -- --listen ...` runs it: the default config named by a relative path.
    const c = spawn(process.execPath, [CLI, 'run', '--config', 'config/default.yaml', '--listen', `127.0.0.1:${port}`, '--data-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'], env, cwd: join(import.meta.dirname, '../..') });
    children.push(c);
    let stderr = '';
    c.stderr.on('data', (d) => { stderr += String(d); });
    // Self-probes run every 15 s at a stable offset: the first of each is at most 15 s away.
    let metrics = '';
    const deadline = Date.now() + 45_000;
    const ok = (t: string) => new RegExp(`slaprobe_probes_total\\{[^}]*target="${t}"[^}]*result="success"[^}]*\\} [1-9]`).test(metrics);
    while (Date.now() < deadline && !(ok('self-tcp') && ok('self-healthz'))) {
      await new Promise((r) => setTimeout(r, 500));
      metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
    }
    expect(ok('self-tcp'), 'self-tcp succeeded').toBe(true);
    expect(ok('self-healthz'), 'self-healthz succeeded').toBe(true);
    // Not a terminal: JSON lines, and one of the first says where the metrics are.
    const first = stderr.split('\n').filter((l) => l.startsWith('{')).slice(0, 3).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first.some((l) => l['metrics'] === `http://127.0.0.1:${port}/metrics` && String(l['msg']).includes(`metrics at http://127.0.0.1:${port}/metrics`))).toBe(true);
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }, 60_000);

  it('--log.format logfmt writes human-readable lines; a bad format is refused', async () => {
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-first-'));
    const c = spawn(process.execPath, [CLI, 'run', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--log.format', 'logfmt'], { stdio: ['ignore', 'ignore', 'pipe'], env });
    children.push(c);
    let stderr = '';
    c.stderr.on('data', (d) => { stderr += String(d); });
    while (!stderr.includes('metrics at')) await new Promise((r) => setTimeout(r, 100));
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
    expect(stderr).toMatch(new RegExp(`^ts=\\S+ level=info msg="config loaded" config=\\S+default\\.yaml targets=3`, 'm'));
    expect(stderr).toContain(`level=info msg="slaprobe agent started; metrics at http://127.0.0.1:${port}/metrics"`);
    const bad = await cli('run', '--log.format', 'pretty');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--log.format must be logfmt or json, got "pretty"');
  }, 60_000);
});

describe('slaprobe probe: messages that say what to do', () => {
  it('an unknown kind names the kinds; an unknown flag is slaprobe\'s message, not Node\'s', async () => {
    const dns = await cli('probe', 'dns', 'example.com');
    expect(dns.status).toBe(2);
    expect(dns.stderr).toContain('unknown kind dns; kinds are http, tcp, icmp, stun, udp-echo');
    const flag = await cli('probe', 'http', 'http://127.0.0.1/', '--retries', '3');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('slaprobe probe: unknown option --retries');
    expect(flag.stderr).not.toContain('To specify a positional argument');
    const missing = await cli('run', '--listen');
    expect(missing.stderr).toContain('slaprobe run: option --listen needs a value');
  });

  it('an untrusted certificate suggests --ca-file / --insecure, never Node\'s --use-system-ca', async () => {
    const pki = makePki();
    const s = await httpsServer(pki.valid.cert, pki.valid.key);
    try {
      const r = await cli('probe', 'http', `https://localhost:${s.port}/ok`);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('reason=tls');
      expect(r.stdout).toContain('hint:     the server\'s certificate is not trusted: pass --ca-file FILE with the CA that signs it, or --insecure');
      expect(r.stdout).not.toContain('--use-system-ca');
      const fixed = await cli('probe', 'http', `https://localhost:${s.port}/ok`, '--ca-file', pki.caFile);
      expect(fixed.status).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('udp-echo with a wrong key: not one answer, and the detail says the key or key_id may be wrong', async () => {
    const metrics = createMetrics({ region: 't', version: '0', defaultMetrics: false });
    const refl = await startReflector({ listen: '127.0.0.1:0', keys: { k1: 'right-key-0123456789abcdef' }, rate_limit: 5000, max_packet_bytes: 1472 }, { metrics, log: pino({ level: 'silent' }) });
    try {
      const addr = `127.0.0.1:${refl.address.port}`;
      const wrong = await cli('probe', 'udp-echo', addr, '--key', 'wrong-key-0123456789abcdef', '--key-id', 'k1', '--packets', '5', '--spacing', '20ms', '--json');
      expect(wrong.status).toBe(1);
      const r = JSON.parse(wrong.stdout) as { reason: string; detail: string };
      expect(r.reason).toBe('timeout');
      expect(r.detail).toContain('the key or key_id "k1" may be wrong');
      const right = await cli('probe', 'udp-echo', addr, '--key', 'right-key-0123456789abcdef', '--key-id', 'k1', '--packets', '5', '--spacing', '20ms', '--json');
      expect(right.status).toBe(0);
    } finally {
      await refl.close();
    }
  });
});
