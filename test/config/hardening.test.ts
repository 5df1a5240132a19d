// Hostile and careless config, as an attacker or a hurried operator writes it (issue 11,
// section 2; docs/security.md lists each case). Each test reproduces the attack against the
// real loader, scheduler, probes and CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_SECRET_BYTES, loadConfig, loadConfigFile, parseConfig } from '../../src/config/load.ts';
import type { HttpTarget, Target } from '../../src/config/types.ts';
import { MAX_TARGETS, validateConfig } from '../../src/config/validate.ts';
import { Ctx } from '../../src/config/check.ts';
import { createScheduler, wallClock } from '../../src/scheduler.ts';
import { closedPort, tcpServer } from '../support/servers.ts';
import { tcpProbe } from '../../src/probes/tcp.ts';
import { createLogSink } from '../../src/sinks/log.ts';
import { createLogger } from '../../src/log.ts';
import { messagesOf } from '../support/config.ts';
import { makeTarget } from '../support/targets.ts';

const CLI = join(import.meta.dirname, '../../src/cli.ts');
const cli = (args: string[], timeout = 15_000) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
  const c = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => { stdout += String(d); });
  c.stderr.on('data', (d) => { stderr += String(d); });
  c.on('close', (status) => resolve({ status, stdout, stderr }));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = () => mkdtempSync(join(tmpdir(), 'slaprobe-hard-'));

describe('durations and the scheduler', () => {
  it('a target whose interval overflows setTimeout never runs before it is due', async () => {
    // Built past the validator (which now refuses 1000d): the scheduler must hold on its own.
    const t = { ...makeTarget({ kind: 'tcp', address: '127.0.0.1:1', interval: '1d', timeout: '1s' }), interval: 1000 * 86_400_000 } as Target;
    let runs = 0;
    const s = createScheduler({ concurrency: 4, run: async () => { runs++; }, onSkip: () => undefined, onLateness: () => undefined });
    s.set([t]);
    await sleep(300);
    await s.stop();
    expect(runs).toBe(0);
  });

  it('a wall clock stepped back does not start runs before their due time', async () => {
    const t = makeTarget({ kind: 'tcp', address: '127.0.0.1:1', interval: '200ms', timeout: '100ms' });
    let step = 0;
    const starts: { dueAt: number; startedAt: number }[] = [];
    const s = createScheduler({
      concurrency: 4, now: () => wallClock() - step,
      run: async (_t, dueAt, startedAt) => { starts.push({ dueAt, startedAt }); },
      onSkip: () => undefined, onLateness: () => undefined,
    });
    s.set([t]);
    step = 5_000; // NTP steps the clock 5 s back right after the first due time was set
    await sleep(600);
    await s.stop();
    for (const r of starts) expect(r.startedAt).toBeGreaterThanOrEqual(r.dueAt - 1);
  });
});

describe('patterns are RE2: linear time whatever the pattern', () => {
  // ^(a+)+$ against "aaa...ab" backtracks 2^n ways in JavaScript's RegExp: the process
  // freezes (hours at n = 34) and the CLI's 15 s kill is what ends it.
  const evil = `${'a'.repeat(34)}b`;

  it('http must_match ^(a+)+$ on a hostile body is a plain mismatch, not a frozen engine', async () => {
    const server = createServer((_req, res) => res.end(evil));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as AddressInfo).port;
      const r = await cli(['probe', 'http', `http://127.0.0.1:${port}/`, '--must-match', '^(a+)+$', '--json']);
      expect(r.status).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ success: false, reason: 'body_mismatch' });
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('tcp expect ^(a+)+$ on a hostile banner runs into the timeout, not a frozen engine', async () => {
    const s = await tcpServer((sock) => sock.write(evil));
    try {
      const r = await cli(['probe', 'tcp', `127.0.0.1:${s.port}`, '--expect', '^(a+)+$', '--timeout', '1s', '--json']);
      expect(r.status).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ success: false, reason: 'timeout' });
    } finally {
      await s.close();
    }
  });
});

describe('every config failure is file:line and exit 2', () => {
  it('a YAML alias bomb: check-config and run exit 2 with file:line', async () => {
    const f = join(import.meta.dirname, 'testdata/invalid-alias-bomb.yml');
    for (const args of [['check-config', f], ['run', '--config', f, '--listen', '127.0.0.1:0', '--data-dir', tmp()]]) {
      const r = await cli(args);
      expect(r.status, args[0]).toBe(2);
      expect(r.stderr).toMatch(/invalid-alias-bomb\.yml:3:8: YAML aliases: /);
      expect(r.stderr).not.toContain('unexpected error');
    }
  });

  it('a config larger than the cap, and more targets than the limit, are refused with a reason', () => {
    const ctx = new Ctx();
    const many = Array.from({ length: MAX_TARGETS + 1 }, (_, i) => ({ name: `t${i}`, kind: 'tcp', address: '127.0.0.1:1' }));
    expect(validateConfig({ targets: many }, 'many.yaml', ctx)).toBeUndefined();
    expect(ctx.issues).toEqual([{ path: ['targets'], message: `has ${MAX_TARGETS + 1} targets; one agent runs at most ${MAX_TARGETS}: split them over several agents (shards)` }]);
    const huge = `# ${'x'.repeat(16 * 1024 * 1024)}\n`;
    expect(messagesOf(() => parseConfig(huge, 'huge.yaml'))[0]).toMatch(/^huge\.yaml:1: config is larger than 16777216 bytes/);
  });

  it('a label value longer than the limit is refused', () => {
    const m = messagesOf(() => parseConfig(`targets:\n  - {name: a, kind: tcp, address: "127.0.0.1:1", labels: {team: "${'x'.repeat(1025)}"}}\n`, 'l.yaml'));
    expect(m).toEqual(['l.yaml:2:65: targets[0].labels.team: is 1025 characters long; a label value is at most 1024 (every series carries it)']);
  });
});

describe('secrets stay secret', () => {
  it('a bad value from a secret file is shown as [secret], never echoed', () => {
    const d = tmp();
    writeFileSync(join(d, 'addr'), 'db-primary internal.corp:6379\n');
    writeFileSync(join(d, 'c.yaml'), 'targets:\n  - name: db\n    kind: tcp\n    address: "${file:addr}"\n');
    const m = messagesOf(() => loadConfigFile(join(d, 'c.yaml'), { displayName: 'c.yaml' }));
    expect(m).toEqual(['c.yaml:4:14: targets[0].address: [secret] is not a valid address; write host:port, e.g. turn.example.com:3478 (IPv6 as [::1]:3478)']);
    expect(m.join('\n')).not.toContain('internal.corp');
  });

  it('an address from a secret file never reaches a log line, even in a probe\'s error', async () => {
    const d = tmp();
    const port = await closedPort();
    writeFileSync(join(d, 'addr'), `127.0.0.1:${port}\n`);
    writeFileSync(join(d, 'c.yaml'), 'targets:\n  - {name: db, kind: tcp, address: "${file:addr}", timeout: 2s}\n');
    const t = (await loadConfig(join(d, 'c.yaml'))).targets[0]!;
    const r = await tcpProbe(t, AbortSignal.timeout(2_000));
    expect(r.detail).toContain(`127.0.0.1:${port}`); // the probe itself sees it, as it must
    const lines: string[] = [];
    const sink = createLogSink(createLogger('info', { write: (l: string) => { lines.push(l); } }));
    sink.onResult(t, r, { dueAt: 0, startedAt: 0, finishedAt: 0, durationSeconds: 0 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('[secret]');
    expect(lines[0]).not.toContain('127.0.0.1');
  });

  it('a region from an environment variable (a Kubernetes overlay) is plain config and stays allowed', () => {
    const c = parseConfig('agent: {region: "${SLAPROBE_REGION}"}\ntargets: []\n', 'r.yaml', { env: { SLAPROBE_REGION: 'ap-east' } });
    expect(c.agent.region).toBe('ap-east');
  });

  it('secret files: whitespace around the value is trimmed as prometheus/common does', async () => {
    const d = tmp();
    writeFileSync(join(d, 'tok'), 'tok-123\r\n\n');
    writeFileSync(join(d, 'c.yaml'), 'targets:\n  - {name: a, kind: http, url: "http://127.0.0.1/", headers: {Authorization: "Bearer ${file:tok}"}}\n');
    expect((loadConfigFile(join(d, 'c.yaml')).targets[0] as HttpTarget).headers['Authorization']).toBe('Bearer tok-123');
    expect(((await loadConfig(join(d, 'c.yaml'))).targets[0] as HttpTarget).headers['Authorization']).toBe('Bearer tok-123');
  });

  it('a secret file larger than the cap is refused, not read whole', async () => {
    const d = tmp();
    writeFileSync(join(d, 'big'), 'x'.repeat(MAX_SECRET_BYTES + 1));
    writeFileSync(join(d, 'c.yaml'), 'targets:\n  - {name: a, kind: http, url: "http://127.0.0.1/", headers: {X-K: "${file:big}"}}\n');
    await expect(loadConfig(join(d, 'c.yaml'), { displayName: 'c.yaml' })).rejects.toThrow(`c.yaml:2:68: targets[0].headers.X-K: cannot read secret file ${join(d, 'big')} (larger than ${MAX_SECRET_BYTES} bytes); check the path and its permissions`);
  });

  it('a FIFO or /dev/zero as a secret file: refused at once, the process neither hangs nor grows', async () => {
    const d = tmp();
    await new Promise<void>((resolve, reject) => spawn('mkfifo', [join(d, 'fifo')]).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`mkfifo ${c}`)))));
    for (const secret of [join(d, 'fifo'), '/dev/zero']) {
      writeFileSync(join(d, 'c.yaml'), `targets:\n  - {name: a, kind: http, url: "http://127.0.0.1/", headers: {X-K: "\${file:${secret}}"}}\n`);
      const r = await cli(['check-config', join(d, 'c.yaml')], 10_000);
      expect(r.status, secret).toBe(2);
      expect(r.stderr).toContain(`cannot read secret file ${secret} (not a regular file: a FIFO or device is never read)`);
    }
  });
});
