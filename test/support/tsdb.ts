// Real time-series stores on loopback for the fleet tests: VictoriaMetrics (the reference
// store) and Prometheus 2.42 with its remote-write receiver. Each in its own temp dir, on a
// port that was free a moment ago; stop() can be a SIGKILL, to play a crashed store.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { type Server, freePort, httpOk, sleep, startServer, tempDir, tool, waitFor } from '../deploy/tools.ts';

export interface Tsdb {
  kind: 'victoria-metrics' | 'prometheus';
  port: number;
  dir: string;
  writeUrl: string;
  server: Server;
  /** Every raw sample of the series matching `selector`, per series, oldest first. */
  raw(selector: string): Promise<RawSeries[]>;
  /** Stops the process (SIGKILL when `crash`); `start()` again on the same port and data. */
  stop(crash?: boolean): Promise<void>;
  start(): Promise<void>;
}

export interface RawSeries { labels: Record<string, string>; samples: { ts: number; value: number }[] }

export interface VictoriaOptions {
  /** Listen here instead of 127.0.0.1 (the fleet test's bridge address). */
  host?: string;
  /** Serve HTTPS with this certificate (files); the CA is what clients trust. */
  tls?: { certFile: string; keyFile: string; ca: Buffer };
  /** Require HTTP basic auth on every endpoint. */
  auth?: { username: string; password: string };
}

async function stopServer(server: Server, crash: boolean): Promise<void> {
  if (!crash) return server.stop();
  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));
}

export async function startVictoria(opts: VictoriaOptions = {}): Promise<Tsdb> {
  const port = await freePort();
  const dir = tempDir('vm');
  const host = opts.host ?? '127.0.0.1';
  const base = `${opts.tls ? 'https' : 'http'}://${host}:${port}`;
  const dispatcher = opts.tls ? new Agent({ connect: { ca: opts.tls.ca } }) : undefined;
  const headers: Record<string, string> = opts.auth ? { authorization: `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}` } : {};
  const fetch = (url: string) => undiciFetch(url, { headers, ...(dispatcher ? { dispatcher } : {}) });
  const ok = async (url: string) => {
    try {
      return (await fetch(url)).ok;
    } catch {
      return false;
    }
  };
  const spawnIt = () => startServer('/usr/bin/victoria-metrics', [
    `-httpListenAddr=${host}:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=100y', '-loggerLevel=WARN',
    ...(opts.tls ? ['-tls', `-tlsCertFile=${opts.tls.certFile}`, `-tlsKeyFile=${opts.tls.keyFile}`] : []),
    ...(opts.auth ? [`-httpAuth.username=${opts.auth.username}`, `-httpAuth.password=${opts.auth.password}`] : []),
  ]);
  const db: Tsdb = {
    kind: 'victoria-metrics', port, dir, writeUrl: `${base}/api/v1/write`, server: spawnIt(),
    async raw(selector) {
      // VictoriaMetrics answers 204 before the rows are searchable (they pass through
      // in-memory buffers, even after /internal/force_flush): read until two reads a second
      // apart agree.
      const read = async () => {
        await fetch(`${base}/internal/force_flush`);
        const r = await fetch(`${base}/api/v1/export?${new URLSearchParams({ 'match[]': selector, start: '0' })}`);
        if (!r.ok) throw new Error(`export: HTTP ${r.status} ${await r.text()}`);
        return r.text();
      };
      let text = await read();
      for (let i = 0; i < 10; i++) {
        await sleep(1000);
        const again = await read();
        if (again === text) break;
        text = again;
      }
      return text.split('\n').filter(Boolean).map((line) => {
        const j = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
        const samples = j.timestamps.map((ts, i) => ({ ts, value: j.values[i]! })).sort((a, b) => a.ts - b.ts);
        return { labels: j.metric, samples };
      });
    },
    stop: (crash = false) => stopServer(db.server, crash),
    async start() {
      db.server = spawnIt();
      await waitFor('victoria-metrics ready', async () => ((await ok(`${base}/health`)) ? true : undefined), 30_000, 100);
    },
  };
  await waitFor(`victoria-metrics ready (${db.server.output()})`, async () => ((await ok(`${base}/health`)) ? true : undefined), 30_000, 100);
  return db;
}

/** Prometheus as a receiver; `oooWindow` sets storage.tsdb.out_of_order_time_window. */
export async function startPrometheusReceiver(opts: { oooWindow?: string; host?: string } = {}): Promise<Tsdb> {
  const port = await freePort();
  const dir = tempDir('prom-rw');
  const host = opts.host ?? '127.0.0.1';
  const base = `http://${host}:${port}`;
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(cfg, `global: {}\n${opts.oooWindow ? `storage:\n  tsdb:\n    out_of_order_time_window: ${opts.oooWindow}\n` : ''}`);
  const spawnIt = () => startServer(tool('prometheus'), [
    `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${host}:${port}`,
    '--web.enable-remote-write-receiver', '--log.level=warn',
  ]);
  const db: Tsdb = {
    kind: 'prometheus', port, dir, writeUrl: `${base}/api/v1/write`, server: spawnIt(),
    async raw(selector) {
      // A range selector at an instant returns the raw samples, with their own timestamps.
      const q = new URLSearchParams({ query: `${selector}[1d]`, time: String(Date.now() / 1000 + 60) });
      const r = await fetch(`${base}/api/v1/query?${q}`);
      const j = (await r.json()) as { status: string; data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
      if (j.status !== 'success') throw new Error(`query: ${JSON.stringify(j)}`);
      return j.data.result.map((s) => ({ labels: s.metric, samples: s.values.map(([t, v]) => ({ ts: Math.round(t * 1000), value: Number(v) })) }));
    },
    stop: (crash = false) => stopServer(db.server, crash),
    async start() {
      db.server = spawnIt();
      await waitFor('prometheus ready', async () => ((await httpOk(`${base}/-/ready`)) ? true : undefined), 30_000, 100);
    },
  };
  await waitFor(`prometheus ready (${db.server.output()})`, async () => ((await httpOk(`${base}/-/ready`)) ? true : undefined), 30_000, 100);
  return db;
}
