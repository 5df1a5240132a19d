// The push path against real stores on loopback: VictoriaMetrics and Prometheus 2.42's
// remote-write receiver. What arrives is checked against the agent's own record, the
// outcome timeline in its sqlite store (segments: first run, last run, run count, state):
// every run is in the store with its START time and its outcome, once.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';
import { uncompress } from 'snappyjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { openOutbox } from '../../src/fleet/outbox.ts';
import { openStore } from '../../src/store/index.ts';
import { storeRows } from '../support/store-rows.ts';
import { NODE, ROOT, freePort, sleep, tempDir, tool, waitFor } from '../deploy/tools.ts';
import { makePki } from '../support/certs.ts';
import { flushOutbox } from '../support/outbox.ts';
import { type Running, closedPort, httpServer } from '../support/servers.ts';
import { type RawSeries, type Tsdb, startPrometheusReceiver, startVictoria } from '../support/tsdb.ts';
import { parseConfig } from '../../src/config/load.ts';
import { jsonLineStream } from '../support/log-lines.ts';

let web: Running;
let refused: number;
beforeAll(async () => {
  web = await httpServer();
  refused = await closedPort();
});
afterAll(async () => {
  await web?.close();
});

const config = (dir: string, url: string, listen = '127.0.0.1:0', queue = 'max_samples_per_send: 50\n      batch_send_deadline: 100ms') => `
agent:
  region: eu-test
  name: agent-a
  listen: ${listen}
  data_dir: ${dir}/data
targets:
  - name: web
    kind: http
    url: ${web.url}/ok
    interval: 200ms
    timeout: 150ms
  - name: gone
    kind: tcp
    address: 127.0.0.1:${refused}
    interval: 300ms
    timeout: 200ms
services:
  - {name: portal, targets: [web, gone]}
remote_write:
  - name: central
    url: ${url}
    queue_config:
      ${queue}
      min_backoff: 20ms
      max_backoff: 200ms
`;

interface Segment { target: string; state: number; start: number; last: number; runs: number }

/** One number from the agent's store, read as it stands. */
const storeNumber = (dataDir: string, sql: string): number => Number(Object.values(storeRows(dataDir, sql)[0]!)[0]);

const segments = (dataDir: string): Segment[] => storeRows(dataDir, 'SELECT target, state, start, last, runs FROM segments ORDER BY target, start') as unknown as Segment[];

/**
 * Checks the store's series against the agent's timeline: each segment's runs are there, at
 * their start times, with the segment's outcome, and nothing else. A run's samples are
 * committed in the same transaction as its timeline (the outbox joins the store's commits),
 * so a kill -9 leaves no run in one and not the other.
 */
function expectSameRuns(series: RawSeries[], segs: Segment[]): void {
  for (const target of ['web', 'gone']) {
    const s = series.filter((x) => x.labels['target'] === target);
    expect(s, `one series for ${target}`).toHaveLength(1);
    expect(s[0]!.labels).toMatchObject({ __name__: 'slaprobe_run_success', region: 'eu-test', agent: 'agent-a' });
    const byTs = new Map<number, number>();
    for (const x of s[0]!.samples) {
      const prev = byTs.get(x.ts);
      // A repeat is allowed only as an exact duplicate (the kill -9 window): same value.
      if (prev !== undefined) expect(x.value, `conflicting duplicate at ${x.ts}`).toBe(prev);
      byTs.set(x.ts, x.value);
    }
    const mine = segs.filter((x) => x.target === target);
    const runs = mine.reduce((a, x) => a + x.runs, 0);
    expect(runs).toBeGreaterThan(3);
    for (const seg of mine) {
      // Whole milliseconds on the wire; the timeline keeps the run clock's fractions.
      const inside = [...byTs].filter(([ts]) => ts >= Math.floor(seg.start) && ts <= Math.floor(seg.last));
      expect(inside.length, `${target} segment from ${seg.start} to ${seg.last}: runs (all: ${JSON.stringify(segs)} got ${JSON.stringify([...byTs.keys()])})`).toBe(seg.runs);
      expect(new Set(inside.map(([, v]) => v)), `${target} segment from ${seg.start}: outcome`).toEqual(new Set([seg.state]));
    }
    expect(byTs.has(Math.floor(mine[0]!.start))).toBe(true);
    expect(byTs.has(Math.floor(mine[mine.length - 1]!.last))).toBe(true);
    expect(byTs.size).toBe(runs);
  }
}

const metric = async (a: Agent, name: string) => {
  const m = (await a.metrics.registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels['remote'] === 'central');
  return m?.value;
};

describe.each([
  ['victoria-metrics', () => startVictoria()],
  ['prometheus 2.42', () => startPrometheusReceiver({ oooWindow: '1d' })],
] as const)('remote write to %s', (_name, startDb) => {
  let db: Tsdb;
  let agent: Agent | undefined;
  beforeAll(async () => {
    db = await startDb();
  });
  afterAll(async () => {
    await agent?.stop();
    await db?.stop();
  });

  it('pushes every run at its start time; a store down for a while gets the whole backlog when back', async () => {
    const dir = tempDir('rw');
    const text = config(dir, db.writeUrl);
    writeFileSync(join(dir, 'c.yaml'), text);
    agent = await startAgent({ configFile: join(dir, 'c.yaml'), logger: createLogger('silent') });
    await waitFor('first samples in the store', async () => ((await db.raw('slaprobe_run_success')).length === 2 ? true : undefined), 20_000, 200);

    await db.stop();
    // The agent keeps probing; the samples wait in the outbox and the sender retries.
    await waitFor('a backlog', async () => ((await metric(agent!, 'slaprobe_remote_write_samples_pending'))! > 20 && (await metric(agent!, 'slaprobe_remote_write_retries_total'))! > 0 ? true : undefined), 20_000, 100);
    expect(await metric(agent, 'slaprobe_remote_write_oldest_pending_sample_age_seconds')).toBeGreaterThan(0);
    const sentBefore = (await metric(agent, 'slaprobe_remote_write_samples_sent_total'))!;

    await db.start();
    await waitFor('the backlog sent', async () => ((await metric(agent!, 'slaprobe_remote_write_samples_sent_total'))! > sentBefore + 20 ? true : undefined), 20_000, 100);
    await agent.stop();
    agent = undefined;
    await flushOutbox(`${dir}/data`, text);

    const segs = segments(`${dir}/data`);
    expectSameRuns(await db.raw('slaprobe_run_success'), segs);
    // The interval travels beside each outcome, at the same timestamps.
    const iv = await db.raw('slaprobe_run_interval_seconds{target="web"}');
    expect(new Set(iv[0]!.samples.map((x) => x.value))).toEqual(new Set([0.2]));
    const ok = await db.raw('slaprobe_run_success{target="web"}');
    expect(iv[0]!.samples.map((x) => x.ts)).toEqual(ok[0]!.samples.map((x) => x.ts));
    // Service membership rides along, valued with the targets the rule needs down (all: 2).
    const info = await db.raw('slaprobe_run_service_info{target="web"}');
    expect(info.map((x) => x.labels)).toEqual([expect.objectContaining({ service: 'portal', region: 'eu-test', agent: 'agent-a' })]);
    expect(new Set(info[0]!.samples.map((x) => x.value))).toEqual(new Set([2]));
    expect(info[0]!.samples.map((x) => x.ts)).toEqual(ok[0]!.samples.map((x) => x.ts));
    // http and tcp targets have no quality verdict: no degraded series.
    expect(await db.raw('slaprobe_run_degraded')).toEqual([]);
  });
});

/** The agent as its own process, so that it can be killed with SIGKILL. */
function spawnAgent(cfgFile: string): ChildProcess {
  return spawn(NODE, [join(ROOT, 'bin/slaprobe.js'), 'run', '--config', cfgFile], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
}

async function scrape(port: number, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('remote="central"'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  } catch {
    return undefined;
  }
}

describe.each([
  ['victoria-metrics', () => startVictoria()],
  ['prometheus 2.42', () => startPrometheusReceiver({ oooWindow: '1d' })],
] as const)('kill -9 of the agent mid-backlog (%s)', (_name, startDb) => {
  let db: Tsdb;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    db = await startDb();
  });
  afterEach(() => {
    child?.kill('SIGKILL');
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('loses nothing and sends no conflicting duplicate', async () => {
    const dir = tempDir('rw-kill');
    const port = await freePort();
    // One sample a request: the backlog drains over many requests, so the kill lands mid-way.
    const text = config(dir, db.writeUrl, `127.0.0.1:${port}`, 'max_samples_per_send: 1\n      batch_send_deadline: 0s');
    writeFileSync(join(dir, 'c.yaml'), text);
    // The kill must land mid-backlog. On a loaded machine the sender can drain the whole
    // backlog before the kill arrives (seen in CI, 2026-12-01): then the scenario did not
    // happen, and it is set up again (the same store: the earlier runs stay to be sent).
    let backlog = 0;
    let pendingAtKill = 0;
    let kills = 0;
    for (let attempt = 1; attempt <= 3 && pendingAtKill === 0; attempt++) {
      await db.stop();
      child = spawnAgent(join(dir, 'c.yaml'));
      await waitFor('a backlog', async () => ((await scrape(port, 'slaprobe_remote_write_samples_pending'))! > 60 ? true : undefined), 30_000, 100);
      await db.start();
      backlog = (await scrape(port, 'slaprobe_remote_write_samples_pending'))!;
      // Read the agent's progress from its store itself: faster than a scrape, so the kill
      // lands while most of the backlog is still to go.
      const sent = () => storeNumber(`${dir}/data`, 'SELECT last_id FROM outbox_cursors');
      const start = sent();
      await waitFor('part of the backlog sent', async () => (sent() > start + 5 ? true : undefined), 30_000, 5);
      child.kill('SIGKILL');
      kills++;
      await new Promise((r) => child!.once('exit', r));
      pendingAtKill = storeNumber(`${dir}/data`, 'SELECT count(*) AS n FROM outbox WHERE id > (SELECT last_id FROM outbox_cursors)');
    }
    expect(pendingAtKill).toBeGreaterThan(0);
    expect(pendingAtKill).toBeLessThan(backlog + 100);

    child = spawnAgent(join(dir, 'c.yaml'));
    await waitFor('the backlog drained', async () => ((await scrape(port, 'slaprobe_remote_write_samples_pending'))! < 5 ? true : undefined), 60_000, 100);
    await sleep(300);
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;
    await flushOutbox(`${dir}/data`, text);
    // Exactly the runs of the timeline, however many kills it took.
    expect(kills).toBeGreaterThan(0);
    expectSameRuns(await db.raw('slaprobe_run_success'), segments(`${dir}/data`));
  }, 90_000);
});

describe('remotes on reload', () => {
  it('a remote added by a reload starts at the newest sample; one removed stops and loses its series', async () => {
    const vm = await startVictoria();
    const prom = await startPrometheusReceiver({ oooWindow: '1d' });
    const dir = tempDir('rw-reload');
    const cfg = (remotes: string) => `
agent: {region: eu-test, name: agent-a, listen: "127.0.0.1:0", data_dir: ${dir}/data}
targets:
  - {name: web, kind: http, url: "${web.url}/ok", interval: 200ms, timeout: 150ms}
remote_write:
${remotes}`;
    const vmRemote = `  - {name: vm, url: "${vm.writeUrl}", queue_config: {batch_send_deadline: 100ms}}`;
    const promRemote = `  - {name: prom, url: "${prom.writeUrl}", queue_config: {batch_send_deadline: 100ms}}`;
    writeFileSync(join(dir, 'c.yaml'), cfg(vmRemote));
    const a = await startAgent({ configFile: join(dir, 'c.yaml'), logger: createLogger('silent') });
    const val = async (n: string, remote: string) => (await a.metrics.registry.getSingleMetric(n)?.get())?.values.find((v) => v.labels['remote'] === remote)?.value;
    try {
      await waitFor('vm gets samples', async () => ((await val('slaprobe_remote_write_samples_sent_total', 'vm')) ?? 0) >= 4 ? true : undefined, 20_000, 100);
      const addedAt = Date.now();
      writeFileSync(join(dir, 'c.yaml'), cfg(`${vmRemote}\n${promRemote}`));
      expect((await a.reload()).ok).toBe(true);
      await waitFor('prom gets samples', async () => ((await val('slaprobe_remote_write_samples_sent_total', 'prom')) ?? 0) >= 4 ? true : undefined, 20_000, 100);
      // The new remote did not get the history from before it was added.
      const first = Math.min(...(await prom.raw('slaprobe_run_success'))[0]!.samples.map((x) => x.ts));
      expect(first).toBeGreaterThan(addedAt - 1000);

      writeFileSync(join(dir, 'c.yaml'), cfg(promRemote));
      expect((await a.reload()).ok).toBe(true);
      expect(await val('slaprobe_remote_write_samples_sent_total', 'vm')).toBeUndefined();
      const before = (await val('slaprobe_remote_write_samples_sent_total', 'prom'))!;
      await waitFor('prom still gets samples', async () => ((await val('slaprobe_remote_write_samples_sent_total', 'prom')) ?? 0) > before + 4 ? true : undefined, 20_000, 100);
    } finally {
      await a.stop();
      await vm.stop();
      await prom.stop();
    }
  });
});

describe('the request on the wire', () => {
  it('carries the spec\'s headers and a snappy protobuf body; 503 and 429 are retried, a rotated token file is read again', async () => {
    // A loopback endpoint that answers as scripted and keeps what it got. Real stores do not
    // answer 503 or 429 on demand; VictoriaMetrics and Prometheus are above.
    const got: { headers: Record<string, string | string[] | undefined>; body: Buffer }[] = [];
    const answers = [503, 429, 204, 204, 204, 204, 204, 204, 204, 204];
    const srv = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ headers: req.headers, body: Buffer.concat(chunks) });
        const status = answers[Math.min(got.length - 1, answers.length - 1)]!;
        res.writeHead(status, status === 429 ? { 'retry-after': '1' } : {});
        res.end(status === 204 ? '' : 'busy');
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir('rw-wire');
    writeFileSync(join(dir, 'token'), 'token-one\n');
    const store = openStore(`${dir}/data`);
    const metrics = createMetrics({ region: 'r', version: 'test', defaultMetrics: false });
    const outbox = openOutbox({ dataDir: `${dir}/data`, metrics, log: createLogger('silent') });
    try {
      const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/api/v1/write`;
      const cfg = parseConfig(`remote_write: [{name: central, url: "${url}", bearer_token_file: token, headers: {X-Scope-OrgID: tenant-1}, queue_config: {batch_send_deadline: 0s, min_backoff: 10ms, max_backoff: 50ms}}]`, 'c.yaml', { baseDir: dir, source: join(dir, 'c.yaml') });
      await outbox.setRemotes(cfg.remote_write);
      const s = (target: string, ts: number, value: number) => ({ labels: [['__name__', 'slaprobe_run_success'], ['agent', 'a'], ['region', 'r'], ['target', target]] as const, ts, value });
      outbox.append([s('x', 1_000, 1), s('y', 1_000, 0), s('x', 2_000, 0)]);
      await outbox.drained();
      const val = async (n: string) => (await metrics.registry.getSingleMetric(n)?.get())?.values.find((v) => v.labels['remote'] === 'central')?.value;
      expect(await val('slaprobe_remote_write_retries_total')).toBe(2);
      expect(await val('slaprobe_remote_write_samples_sent_total')).toBe(3);
      expect(got).toHaveLength(3);
      // The same request three times: a retry resends exactly what was refused.
      expect(got[1]!.body).toEqual(got[0]!.body);
      expect(got[2]!.body).toEqual(got[0]!.body);
      expect(got[2]!.headers).toMatchObject({
        'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0',
        authorization: 'Bearer token-one', 'x-scope-orgid': 'tenant-1',
      });
      expect(String(got[2]!.headers['user-agent'])).toMatch(/^slaprobe\//);
      // The body decodes (snappy block, then prompb) to the series, grouped, oldest first.
      const root = protobuf.parse('syntax = "proto3"; message WriteRequest { repeated TimeSeries timeseries = 1; } message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; } message Label { string name = 1; string value = 2; } message Sample { double value = 1; int64 timestamp = 2; }').root;
      const WR = root.lookupType('WriteRequest');
      const decoded = WR.toObject(WR.decode(uncompress(got[0]!.body)), { longs: Number, defaults: true }) as { timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }[] };
      expect(decoded.timeseries.map((t) => [Object.fromEntries(t.labels.map((l) => [l.name, l.value]))['target'], t.samples])).toEqual([
        ['x', [{ value: 1, timestamp: 1000 }, { value: 0, timestamp: 2000 }]],
        ['y', [{ value: 0, timestamp: 1000 }]],
      ]);
      expect(decoded.timeseries[0]!.labels.map((l) => l.name)).toEqual(['__name__', 'agent', 'region', 'target']);

      // A rotated token is used from the next request on, without a reload.
      writeFileSync(join(dir, 'token'), 'token-two\n');
      outbox.append([s('x', 3_000, 1)]);
      await outbox.drained();
      expect(got[3]!.headers['authorization']).toBe('Bearer token-two');
    } finally {
      await outbox.close();
      store.close();
      await new Promise((r) => srv.close(r));
    }
  });
});

describe('TLS and basic auth', () => {
  it('reaches an HTTPS store with a CA file and a password file; a wrong password is refused, counted, never retried; no secret is logged', async () => {
    const pki = makePki();
    const password = 'vm-secret-0123456789';
    const db = await startVictoria({ tls: { certFile: join(pki.dir, 'server.pem'), keyFile: join(pki.dir, 'server.key'), ca: pki.ca }, auth: { username: 'slaprobe', password } });
    const dir = tempDir('rw-tls');
    writeFileSync(join(dir, 'pw'), `${password}\n`);
    writeFileSync(join(dir, 'wrong'), 'not-the-password\n');
    const text = `
agent: {region: eu-test, name: agent-a, listen: "127.0.0.1:0", data_dir: ${dir}/data}
targets:
  - {name: web, kind: http, url: "${web.url}/ok", interval: 200ms, timeout: 150ms}
remote_write:
  - name: good
    url: ${db.writeUrl.replace('http:', 'https:')}
    basic_auth: {username: slaprobe, password_file: pw}
    tls_config: {ca_file: ${pki.caFile}}
    queue_config: {batch_send_deadline: 100ms}
  - name: wrong
    url: ${db.writeUrl.replace('http:', 'https:')}
    basic_auth: {username: slaprobe, password_file: wrong}
    tls_config: {ca_file: ${pki.caFile}}
    queue_config: {batch_send_deadline: 100ms}
`;
    writeFileSync(join(dir, 'c.yaml'), text);
    const lines: string[] = [];
    const a = await startAgent({ configFile: join(dir, 'c.yaml'), logger: createLogger('debug', new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } })) });
    const val = async (n: string, remote: string) => (await a.metrics.registry.getSingleMetric(n)?.get())?.values.find((v) => v.labels['remote'] === remote)?.value ?? 0;
    try {
      await waitFor('samples sent and refused', async () => ((await val('slaprobe_remote_write_samples_sent_total', 'good')) >= 4 && (await val('slaprobe_remote_write_samples_failed_total', 'wrong')) >= 4 ? true : undefined), 20_000, 100);
      expect(await val('slaprobe_remote_write_retries_total', 'wrong')).toBe(0);
      expect(await val('slaprobe_remote_write_samples_failed_total', 'good')).toBe(0);
      const refused = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['remote'] === 'wrong' && l['status'] === 401);
      expect(refused, 'the 401 is logged').toBeDefined();
      expect((await db.raw('slaprobe_run_success'))[0]!.samples.length).toBeGreaterThanOrEqual(2);
      // The remote-write families pass promtool's lint, pending and age included.
      const text = await (await fetch(`http://127.0.0.1:${a.address().port}/metrics`)).text();
      for (const n of ['slaprobe_remote_write_samples_pending', 'slaprobe_remote_write_samples_sent_total', 'slaprobe_remote_write_samples_failed_total', 'slaprobe_remote_write_last_success_timestamp_seconds']) expect(text).toContain(`\n${n}{remote="good"`);
      expect(execFileSync(tool('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8' }).trim()).toBe('');
    } finally {
      await a.stop();
      await db.stop();
    }
    expect(lines.join('')).not.toContain(password);
    expect(lines.join('')).not.toContain('not-the-password');
  });
});

describe('a store that refuses samples', () => {
  it('a 400 is logged with the answer, counted, not retried, and takes no good sample with it', async () => {
    const db = await startPrometheusReceiver();
    const dir = tempDir('rw-400');
    const store = openStore(`${dir}/data`);
    const metrics = createMetrics({ region: 'r', version: 'test', defaultMetrics: false });
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('info', jsonLineStream(lines));
    const outbox = openOutbox({ dataDir: `${dir}/data`, metrics, log });
    try {
      const cfg = parseConfig(`remote_write: [{name: central, url: "${db.writeUrl}", queue_config: {batch_send_deadline: 0s}}]`, 't.yaml');
      await outbox.setRemotes(cfg.remote_write);
      const now = Date.now();
      const s = (target: string, ts: number) => ({ labels: [['__name__', 'slaprobe_run_success'], ['agent', 'a'], ['region', 'r'], ['target', target]] as const, ts, value: 1 });
      // Five hours old: outside Prometheus's head block, refused as "out of bounds" (400).
      outbox.append([s('good', now - 3000), s('old', now - 5 * 3_600_000), s('good', now - 2000), s('good', now - 1000)]);
      await outbox.drained();
      const val = async (n: string) => (await metrics.registry.getSingleMetric(n)?.get())?.values.find((v) => v.labels['remote'] === 'central')?.value;
      expect(await val('slaprobe_remote_write_samples_failed_total')).toBe(1);
      expect(await val('slaprobe_remote_write_samples_sent_total')).toBe(3);
      const got = await db.raw('slaprobe_run_success');
      expect(got.map((x) => x.labels['target'])).toEqual(['good']);
      expect(got[0]!.samples.map((x) => x.ts)).toEqual([now - 3000, now - 2000, now - 1000]);
      const line = lines.find((l) => String(l['msg']).includes('refused'));
      expect(line).toMatchObject({ level: 'error', remote: 'central', status: 400, samples: 1 });
      expect(String(line!['answer'])).toMatch(/out of bounds/);
      // Not retried: nothing left, and the count stays.
      await sleep(300);
      expect(await val('slaprobe_remote_write_samples_failed_total')).toBe(1);
      expect(await val('slaprobe_remote_write_samples_pending')).toBe(0);
    } finally {
      await outbox.close();
      store.close();
      await db.stop();
    }
  });
});
