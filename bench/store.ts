// The fleet store's cost per sample (issue 13, docs/scale.md): the evidence a fleet pushes
// (src/fleet/wire.ts: slaprobe_run_success and slaprobe_run_interval_seconds per run, labels
// target, region, agent) written into a local VictoriaMetrics (127.0.0.1 only, a temp data
// dir), S targets x D days at a 30 s interval, outcomes 1 with rare outages of a few runs.
// Reported: ingest rate, bytes on disk per sample after a forced merge, and how fast a
// report's read (every sample of N targets over the period, /api/v1/export) comes back.
// Not a test.
//
//   node bench/store.ts [--targets 2000] [--days 2] [--read 100]
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OUTCOME_METRIC, INTERVAL_METRIC } from '../src/fleet/wire.ts';
import { freePort, printTable, stopChild, waitHttp } from './support/process.ts';

const { values: args } = parseArgs({ options: { targets: { type: 'string', default: '2000' }, days: { type: 'string', default: '2' }, read: { type: 'string', default: '100' } } });
const S = Number(args.targets);
const D = Number(args.days);
const READ = Math.min(S, Number(args.read));
const STEP = 30_000;

function duSync(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += duSync(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** Deterministic pseudo-random outages: about one run in 2,000 starts an outage of 1-20 runs. */
function outcomes(seed: number, n: number): number[] {
  let x = seed * 2654435761 >>> 0;
  const rnd = () => ((x = (Math.imul(x ^ (x >>> 15), 2246822519) + 0x9e3779b9) >>> 0) / 2 ** 32);
  const out: number[] = [];
  let down = 0;
  for (let i = 0; i < n; i++) {
    if (down === 0 && rnd() < 1 / 2000) down = 1 + Math.floor(rnd() * 20);
    out.push(down > 0 ? 0 : 1);
    if (down > 0) down--;
  }
  return out;
}

let vm: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'slaprobe-bench-store-'));
try {
  const port = await freePort();
  vm = spawn('victoria-metrics', [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=2y', '-loggerLevel=ERROR'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}/health`, vm);
  const n = Math.floor((D * 86_400_000) / STEP);
  const t0 = Math.floor((Date.now() - D * 86_400_000 - 3_600_000) / STEP) * STEP;
  // Stamps are the runs' start times: the due time (the target's offset in the interval,
  // then every 30 s) plus the scheduler's lateness, a few ms that vary run to run, which is
  // what keeps timestamps from compressing to nothing.
  const stampsOf = (i: number) => {
    const offset = (i * 7919) % STEP;
    let x = (i + 1) * 40503;
    return Array.from({ length: n }, (_, k) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return t0 + offset + k * STEP + (x >>> 29);
    });
  };
  const started = performance.now();
  for (let b = 0; b < S; b += 50) {
    const lines: string[] = [];
    for (let i = b; i < Math.min(S, b + 50); i++) {
      // The reported service's targets share one region (several would bring in the region rule).
      const labels = { target: `t${i}`, region: i < READ ? 'r0' : `r${i % 10}`, agent: `a${i % 100}` };
      const stamps = stampsOf(i);
      lines.push(JSON.stringify({ metric: { __name__: OUTCOME_METRIC, ...labels }, values: outcomes(i + 1, n), timestamps: stamps }));
      lines.push(JSON.stringify({ metric: { __name__: INTERVAL_METRIC, ...labels }, values: stamps.map(() => 30), timestamps: stamps }));
    }
    const r = await fetch(`${base}/api/v1/import`, { method: 'POST', body: lines.join('\n') + '\n' });
    if (!r.ok) throw new Error(`import: ${r.status} ${await r.text()}`);
  }
  const samples = S * 2 * n;
  const ingestS = (performance.now() - started) / 1000;
  await fetch(`${base}/internal/force_flush`);
  const month = new Date(t0).toISOString().slice(0, 7).replace('-', '_');
  await fetch(`${base}/internal/force_merge?partition_prefix=${month}`);
  const nextMonth = new Date(Date.now()).toISOString().slice(0, 7).replace('-', '_');
  if (nextMonth !== month) await fetch(`${base}/internal/force_merge?partition_prefix=${nextMonth}`);
  // force_merge runs in the background: wait until the size stops moving.
  let size = duSync(join(dir, 'data'));
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 2_000));
    const s = duSync(join(dir, 'data'));
    if (s === size) break;
    size = s;
  }
  const indexBytes = duSync(join(dir, 'indexdb'));
  // A report's read: every outcome of READ targets over the whole period.
  const rs = performance.now();
  const match = encodeURIComponent(`{__name__=~"${OUTCOME_METRIC}|${INTERVAL_METRIC}",target=~"t(${Array.from({ length: READ }, (_, i) => i).join('|')})"}`);
  const text = await (await fetch(`${base}/api/v1/export?match[]=${match}&start=${Math.floor(t0 / 1000)}&end=${Math.ceil(Date.now() / 1000)}`)).text();
  const readS = (performance.now() - rs) / 1000;
  let read = 0;
  for (const line of text.split('\n')) if (line) read += (JSON.parse(line) as { values: unknown[] }).values.length;
  // The report itself over the store: one service of READ targets, the month of the data's
  // start, `slaprobe report --source` exactly as an operator runs it.
  const cfg = join(dir, 'report.yaml');
  writeFileSync(cfg, [
    `agent: {data_dir: "${join(dir, 'agent')}"}`,
    'targets:',
    ...Array.from({ length: READ }, (_, i) => `  - {name: t${i}, kind: http, url: "http://127.0.0.1:9/", interval: 30s}`),
    'services:',
    `  - {name: svc, targets: [${Array.from({ length: READ }, (_, i) => `t${i}`).join(', ')}], rule: any}`,
  ].join('\n') + '\n');
  const period = new Date(t0).toISOString().slice(0, 7);
  const rep0 = performance.now();
  const rep = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, join(import.meta.dirname, '../src/cli.ts'), 'report', '--config', cfg, '--source', base, '--period', period, '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const reportS = (performance.now() - rep0) / 1000;
  const peakKb = Number(rep.stderr.trim().split('\n').at(-1));
  if (rep.status !== 0 && rep.status !== 1) console.error(`report exited ${rep.status}: ${rep.stderr.slice(0, 500)}`);
  printTable(
    ['targets', 'days', 'samples', 'ingest samples/s', 'data bytes/sample', 'index MiB', `read ${READ} targets: samples`, 'read samples/s', `report ${period}, ${READ} targets: s`, 'report peak RSS MiB'],
    [[String(S), String(D), String(samples), (samples / ingestS).toFixed(0), (size / samples).toFixed(3), (indexBytes / 2 ** 20).toFixed(1), String(read), (read / readS).toFixed(0), reportS.toFixed(1), (peakKb / 1024).toFixed(0)]],
  );
  // What the report counted, to show it read the evidence (exit 1: the random outages
  // missed the default 99.9 %).
  const minutes = /"minutes": (\{ "total"[^}]*\})/.exec(rep.stdout.replace(/\s+/g, ' '))?.[1];
  console.log(`report: exit ${rep.status}; minutes ${minutes ?? '(none: see the report)'}`);
  console.log(`\n${new Date().toISOString()}, victoria-metrics, ${samples} samples in ${ingestS.toFixed(1)} s; data ${(size / 2 ** 20).toFixed(1)} MiB after force_merge`);
} finally {
  if (vm) await stopChild(vm);
  rmSync(dir, { recursive: true, force: true });
}
