// The command line as a user runs it: a real process, real exit codes, real output.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, closedPort, httpServer } from '../support/servers.ts';

const CLI = join(import.meta.dirname, '../../src/cli.ts');
// Asynchronous: the servers these commands probe live in this process's event loop.
const runEnv = (env: NodeJS.ProcessEnv, ...args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
  const c = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => { stdout += String(d); });
  c.stderr.on('data', (d) => { stderr += String(d); });
  c.on('close', (status) => resolve({ status, stdout, stderr }));
});
const run = (...args: string[]) => runEnv({}, ...args);

let web: Running;
let dir: string;
beforeAll(async () => {
  web = await httpServer();
  dir = mkdtempSync(join(tmpdir(), 'slaprobe-cli-'));
});
afterAll(async () => { await web?.close(); });

describe('slaprobe CLI', () => {
  it('--help and version exit 0; no command or an unknown one exits 2', async () => {
    const help = await run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('slaprobe run');
    expect((await run('version')).stdout).toMatch(/^slaprobe \d+\.\d+\.\d+ \(node v24\./);
    expect((await run()).status).toBe(2);
    const bad = await run('frobnicate');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown command "frobnicate"');
    for (const cmd of ['run', 'check-config', 'probe']) expect((await run(cmd, '--help')).status, cmd).toBe(0);
  });

  it('check-config: valid file exits 0 with a summary and a working ping', async () => {
    const r = await run('check-config', join(import.meta.dirname, '../../config/default.yaml'));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('target self-icmp: icmp every 30s, timeout 5s');
    expect(r.stdout).toMatch(/ping: \S+ works/);
  });

  it('check-config lists each service\'s SLA policies', async () => {
    const f = join(dir, 'sla.yaml');
    writeFileSync(f, 'targets:\n  - {name: api, kind: tcp, address: "127.0.0.1:9"}\nservices:\n  - {name: meeting, targets: [api], sla: [udesk, {preset: hedu, time_zone: Asia/Shanghai}]}\n');
    const r = await run('check-config', f);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('    sla udesk: 99.9 % per month in Asia/Shanghai, outages under 5m not counted, unknown time excluded\n');
    expect(r.stdout).toContain('    sla hedu: 99.968 % per month in Asia/Shanghai, every outage counted, unknown time excluded\n');
  });

  it('check-config prints every rule of each policy, so an override is seen to take (UDESK-13.2(1), HEDU-7.1, HEDU-7.2)', async () => {
    const f = join(dir, 'rules.yaml');
    writeFileSync(f, 'targets:\n  - {name: api, kind: tcp, address: "127.0.0.1:9"}\nservices:\n  - {name: meeting, targets: [api], sla: [udesk, {preset: hedu, name: flaps, merge_within: 5m, notify_within: 30m}]}\n  - {name: rooms, targets: [api]}\n');
    const r = await run('check-config', f);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const rulesOf = (sla: string) => lines[lines.findIndex((l) => l.startsWith(`    sla ${sla}`)) + 1];
    expect(rulesOf('udesk')).toBe('      merge_within 0s, rounding up per period, exclusions apply, excluded_time removed, unknown_in_outage down, partial_period from_first_sample, recovery L1 2h L2 4h L3 1d, notify_within none, credit equal_time, when missed, settlement period');
    expect(rulesOf('flaps')).toContain('merge_within 5m,');
    expect(rulesOf('flaps')).toContain('excluded_time available,');
    expect(rulesOf('flaps')).toContain('notify_within 30m,');
    expect(rulesOf('flaps')).toContain('credit multiplier 10x, cap period, when always,');
    // A service that names no policy is reported under the default one: check-config says which.
    expect(r.stdout).toContain('    sla default (the service names none): 99.9 % per month in UTC, every outage counted, unknown time excluded\n');
  });

  it('check-config: invalid file exits 2 with file:line:col and path', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'targets:\n  - name: a\n    kind: http\n    url: http://127.0.0.1/\n    intervall: 5s\n');
    const r = await run('check-config', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${f}:5:5: targets[0].intervall: unknown key "intervall"; did you mean "interval"? Allowed here: name, kind, interval, timeout, labels, url, method, headers, body, valid_status_codes, must_match, must_not_match, max_body_bytes, follow_redirects, max_redirects, ip_protocol, tls\n`);
  });

  it('run with an invalid config exits 2 and starts nothing', async () => {
    const f = join(dir, 'bad-run.yaml');
    writeFileSync(f, 'agent:\n  listen: 127.0.0.1:0\ntargets:\n  - {name: a, kind: tcp, address: "127.0.0.1"}\n');
    const r = await run('run', '--config', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('config rejected, nothing started');
    expect(r.stderr).toContain(`${f}:4:35: targets[0].address: "127.0.0.1" has no port`);
  });

  it('run with SLAPROBE_TZDATA neither system nor icu exits 2 and names both choices', async () => {
    const f = join(dir, 'tz.yaml');
    writeFileSync(f, 'agent:\n  listen: 127.0.0.1:0\ntargets:\n  - {name: a, kind: tcp, address: "127.0.0.1:9"}\n');
    const r = await runEnv({ SLAPROBE_TZDATA: 'tzdata' }, 'run', '--config', f, '--data-dir', join(dir, 'tz-data'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('SLAPROBE_TZDATA=tzdata: use "system"');
    expect(r.stderr).toContain('"icu"');
  });

  it('run refuses a corrupt store, exits 2 and leaves the file as it was', async () => {
    const data = join(dir, 'corrupt-data');
    mkdirSync(data, { recursive: true });
    const junk = 'this is not a database'.repeat(10);
    writeFileSync(join(data, 'slaprobe.db'), junk);
    const f = join(dir, 'ok.yaml');
    writeFileSync(f, `agent:\n  listen: 127.0.0.1:0\n  data_dir: ${data}\ntargets:\n  - {name: a, kind: tcp, address: "127.0.0.1:9"}\n`);
    const r = await run('run', '--config', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('slaprobe.db: is not an SQLite database');
    expect(readFileSync(join(data, 'slaprobe.db'), 'utf8')).toBe(junk);
  });

  it('probe http: prints every phase; exit 0 on success, 1 on failure', async () => {
    const ok = await run('probe', 'http', `${web.url}/ok`);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^http http:\/\/127\.0\.0\.1:\d+\/ok: SUCCESS/);
    for (const ph of ['dns', 'connect', 'ttfb', 'transfer']) expect(ok.stdout).toMatch(new RegExp(`\\n  ${ph}:\\s+\\d+\\.\\d{3} ms`));
    expect(ok.stdout).toContain('status=200');
    const bad = await run('probe', 'http', `${web.url}/status/503`, '--json');
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ success: false, reason: 'status', http: { status: 503 } });
  });

  it('probe tcp refused and probe icmp with packet times', async () => {
    const tcp = await run('probe', 'tcp', `127.0.0.1:${await closedPort()}`);
    expect(tcp.status).toBe(1);
    expect(tcp.stdout).toContain('FAILURE reason=refused code=ECONNREFUSED');
    const icmp = await run('probe', 'icmp', '127.0.0.1', '--packets', '3', '--spacing', '10ms');
    expect(icmp.status).toBe(0);
    expect(icmp.stdout).toContain('packets:  sent=3 received=3 lost=0');
    expect(icmp.stdout).toMatch(/rtt ms:\s+#1=\d+\.\d{3} #2=\d+\.\d{3} #3=\d+\.\d{3}/);
  });

  it('probe with a bad flag value names the flag and exits 2', async () => {
    const r = await run('probe', 'http', `${web.url}/ok`, '--timeout', 'soon');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--timeout: expected a duration such as "30s", got "soon"');
  });
});

describe('slaprobe run (a real agent process)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => { child?.kill('SIGKILL'); });

  it('serves metrics, reloads on SIGHUP (rejecting a bad file), stops on SIGTERM with exit 0', async () => {
    const cfg = join(dir, 'agent.yaml');
    const port = await closedPort();
    const write = (interval: string) => writeFileSync(cfg, `agent:\n  listen: 127.0.0.1:${port}\n  data_dir: ${dir}/data\ntargets:\n  - {name: web, kind: http, url: "${web.url}/ok", interval: ${interval}, timeout: 100ms}\n`);
    write('200ms');
    child = spawn(process.execPath, [CLI, 'run', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    const base = `http://127.0.0.1:${port}`;
    const metric = async (name: string) => {
      const t = await fetch(`${base}/metrics`).then((r) => r.text(), () => '');
      const line = t.split('\n').find((l) => l.startsWith(name));
      return line ? Number(line.split(' ').pop()) : undefined;
    };
    for (let i = 0; i < 100; i++) {
      if (((await metric('slaprobe_probes_total{target="web"')) ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await metric('slaprobe_probes_total{target="web"')).toBeGreaterThanOrEqual(2);

    write('not-a-duration');
    child.kill('SIGHUP');
    for (let i = 0; i < 50 && !stderr.includes('config reload rejected'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain('config reload rejected');
    expect(await metric('slaprobe_config_last_reload_success')).toBe(0);

    write('300ms');
    child.kill('SIGHUP');
    for (let i = 0; i < 50 && (await metric('slaprobe_config_last_reload_success')) !== 1; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await metric('slaprobe_config_last_reload_success')).toBe(1);

    const exit = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
