// The whole agent on loopback: config file -> scheduler -> probes -> /metrics, reload, and
// the promise that one broken target never stalls the others.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../src/agent.ts';
import { timeZoneData } from '../src/availability/calendar.ts';
import { createLogger } from '../src/log.ts';
import { type Running, closedPort, freeUdpPort, httpServer, tcpServer } from './support/servers.ts';
import { jsonLineStream } from './support/log-lines.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Value of one series in a Prometheus text exposition, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function until<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

let web: Running;
let silent: Running;
let refusedPort: number;
let echoPort: number;
let dir: string;
let agent: Agent;
const logLines: Record<string, unknown>[] = [];
const logStream = jsonLineStream(logLines);

const configText = (extra = '') => `
agent:
  region: test-region
  listen: 127.0.0.1:0
  data_dir: ${dir}/data
  concurrency: 8
targets:
  - name: web-ok
    kind: http
    url: ${web.url}/ok
    interval: 200ms
    timeout: 150ms
    headers:
      Authorization: "Bearer \${SLAPROBE_TEST_SECRET}"
  - name: web-hang
    labels: {team: media}
    kind: http
    url: ${web.url}/hang
    interval: 200ms
    timeout: 150ms
  - name: silent-tcp
    kind: tcp
    address: 127.0.0.1:${silent.port}
    expect: "^never"
    interval: 200ms
    timeout: 150ms
  - name: refused
    kind: tcp
    address: 127.0.0.1:${refusedPort}
    interval: 200ms
    timeout: 150ms
  - name: self-icmp
    kind: icmp
    address: 127.0.0.1
    packets: 3
    spacing: 10ms
    interval: 2s
    timeout: 1500ms
  - name: echo
    kind: udp-echo
    address: 127.0.0.1:${echoPort}
    key: "0123456789abcdef0123"
    packets: 20
    spacing: 10ms
    packet_timeout: 200ms
    interval: 1s
    timeout: 800ms
${extra}services:
  - name: meeting
    targets: [web-ok, web-hang]
    sla: [udesk, hedu]
reflector:
  listen: 127.0.0.1:${echoPort}
  keys: {default: "0123456789abcdef0123"}
`;

const metricsText = async () => (await fetch(`http://127.0.0.1:${agent.address().port}/metrics`)).text();

beforeAll(async () => {
  process.env['SLAPROBE_TEST_SECRET'] = 'top-secret-value';
  web = await httpServer();
  silent = await tcpServer(() => undefined);
  refusedPort = await closedPort();
  echoPort = await freeUdpPort();
  dir = mkdtempSync(join(tmpdir(), 'slaprobe-agent-'));
  writeFileSync(join(dir, 'config.yaml'), configText());
  agent = await startAgent({ configFile: join(dir, 'config.yaml'), logger: createLogger('debug', logStream), lifecycle: true });
});
afterAll(async () => {
  await agent?.stop();
  await web?.close();
  await silent?.close();
});

describe('agent', () => {
  it('serves /healthz at once and /readyz after the first round', async () => {
    const base = `http://127.0.0.1:${agent.address().port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await until(async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined));
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('a hanging and a silent target never stall the good one', async () => {
    const before = sample(await metricsText(), 'slaprobe_probes_total', { target: 'web-ok', result: 'success' }) ?? 0;
    await sleep(1_200);
    const text = await metricsText();
    const after = sample(text, 'slaprobe_probes_total', { target: 'web-ok', result: 'success' })!;
    // 1.2 s at 200 ms is 6 runs; allow for timer slack on a busy machine.
    expect(after - before).toBeGreaterThanOrEqual(4);
    expect(sample(text, 'slaprobe_probe_failures_total', { target: 'web-hang', reason: 'timeout' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'slaprobe_probe_failures_total', { target: 'silent-tcp', reason: 'timeout' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'slaprobe_probe_failures_total', { target: 'refused', reason: 'refused' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'slaprobe_probe_success', { target: 'web-ok' })).toBe(1);
    expect(sample(text, 'slaprobe_probe_success', { target: 'web-hang' })).toBe(0);
  });

  it('exposes the contract metrics with region on every slaprobe series', async () => {
    const text = await metricsText();
    for (const name of ['slaprobe_http_phase_duration_seconds_count', 'slaprobe_probe_duration_seconds_count', 'slaprobe_scheduler_lateness_seconds_count', 'slaprobe_rtt_seconds_count', 'slaprobe_packets_sent_total', 'slaprobe_packets_received_total']) {
      expect(sample(text, name), name).toBeGreaterThan(0);
    }
    expect(sample(text, 'slaprobe_http_phase_duration_seconds_count', { target: 'web-ok', phase: 'ttfb' })).toBeGreaterThan(0);
    // The agent's icmp target streams (src/engine/ping-stream.ts): a run counts the packets
    // decided since the last, not a fixed 3; on loopback every one is answered.
    const icmpSent = sample(text, 'slaprobe_packets_sent_total', { target: 'self-icmp', kind: 'icmp' })!;
    expect(icmpSent).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'slaprobe_packets_received_total', { target: 'self-icmp', kind: 'icmp' })).toBe(icmpSent);
    expect(sample(text, 'slaprobe_packets_lost_total', { target: 'self-icmp', direction: 'round_trip' })).toBe(0);
    for (const line of text.split('\n')) if (line.startsWith('slaprobe_')) expect(line).toContain('region="test-region"');
    expect(sample(text, 'slaprobe_target_info', { target: 'web-hang', kind: 'http', team: 'media' })).toBe(1);
    expect(sample(text, 'slaprobe_target_info', { target: 'web-ok', team: '' })).toBe(1);
    expect(sample(text, 'slaprobe_service_target_info', { service: 'meeting', target: 'web-hang' })).toBe(1);
    expect(sample(text, 'slaprobe_service_target_info', { target: 'self-icmp' })).toBeUndefined();
    const zones = timeZoneData();
    expect(sample(text, 'slaprobe_time_zone_data_info', { source: zones.source, version: zones.version })).toBe(1);
  });

  it('passes promtool check metrics, with every family present (packets, quality, availability)', async () => {
    const text = await until(async () => {
      const t = await metricsText();
      return sample(t, 'slaprobe_packets_sent_total', { target: 'echo' }) && sample(t, 'slaprobe_availability_ratio', { service: 'meeting', sla: 'udesk' }) !== undefined ? t : undefined;
    });
    for (const name of ['slaprobe_jitter_seconds', 'slaprobe_mos', 'slaprobe_quality_breached', 'slaprobe_loss_ratio_upper_bound', 'slaprobe_reflector_packets_total', 'slaprobe_service_up', 'slaprobe_error_budget_remaining_seconds']) {
      expect(text, name).toContain(`\n${name}{`);
    }
    let out: string;
    try {
      out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; status?: number };
      throw new Error(`promtool check metrics failed (${err.status}): ${err.stdout}${err.stderr}`, { cause: e });
    }
    expect(out.trim()).toBe('');
  });

  it('logs state changes, and never the secret header', async () => {
    const downs = logLines.filter((l) => l['target'] === 'web-hang' && l['state'] === 'down');
    expect(downs.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(logLines)).not.toContain('top-secret-value');
  });

  // Reloads are rate-limited (one a second): wait out a 429.
  const postReload = async (): Promise<Response> => {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${agent.address().port}/-/reload`, { method: 'POST' });
      if (res.status !== 429) return res;
      await sleep(300);
    }
  };

  it('a bad reload is rejected, logged, and the running config keeps probing', async () => {
    writeFileSync(join(dir, 'config.yaml'), configText().replace('interval: 200ms', 'interval: soon'));
    const res = await postReload();
    expect(res.status).toBe(400);
    // The details go to the log, not to whoever can reach the endpoint.
    expect(await res.text()).not.toContain('interval');
    expect(JSON.stringify(logLines)).toMatch(/targets\[0\]\.interval: expected a duration/);
    const text = await metricsText();
    expect(sample(text, 'slaprobe_config_last_reload_success')).toBe(0);
    expect(agent.config().targets).toHaveLength(6);
    expect(logLines.some((l) => l['msg'] === 'config reload rejected; the running config is unchanged')).toBe(true);
  });

  it('a good reload swaps targets and keeps the counters of targets that stayed', async () => {
    const before = sample(await metricsText(), 'slaprobe_probes_total', { target: 'web-ok', result: 'success' })!;
    writeFileSync(join(dir, 'config.yaml'), configText(`  - name: added\n    kind: tcp\n    address: 127.0.0.1:${silent.port}\n    interval: 200ms\n    timeout: 150ms\n`).replace(/ {2}- name: refused[\s\S]*?timeout: 150ms\n/, ''));
    const res = await postReload();
    expect(res.status).toBe(200);
    await sleep(500);
    const text = await metricsText();
    expect(sample(text, 'slaprobe_config_last_reload_success')).toBe(1);
    expect(sample(text, 'slaprobe_probes_total', { target: 'web-ok', result: 'success' })).toBeGreaterThanOrEqual(before);
    expect(sample(text, 'slaprobe_probes_total', { target: 'refused' })).toBeUndefined();
    expect(sample(text, 'slaprobe_probes_total', { target: 'added', result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(agent.config().targets.map((t) => t.name)).toEqual(['web-ok', 'web-hang', 'silent-tcp', 'self-icmp', 'echo', 'added']);
  });
});
