// Benchmark of the fleet (issue 10, section 5):
//  1. `report --source` over a month of 3 regions x 100 targets at 10 s (November 2026, 30
//     days: 77,760,000 runs, each an outcome and an interval sample) imported into a real
//     VictoriaMetrics, beside `report --samples` on a CSV export of the same runs: wall
//     time, CPU and peak RSS of each report process (GNU time), and that both give the same
//     report;
//  2. the push path: samples/s one agent's outbox sustains to VictoriaMetrics, appending each
//     run's two samples as the agent does while its sender pushes them, the CPU and the disk
//     writes per sample; joined to the store (the agent) and with a transaction per run.
//   node bench/fleet.ts [--keep] [--skip-report] [--skip-push] [--days 30] [--push-samples 20000]
//                       [--push-rate 333] [--push-seconds 20]   (333 runs/s: 10,000 targets at 30 s)
// (fewer days and samples for a quick check that it runs; the figures are from the defaults)
// Every server listens on 127.0.0.1. Figures go to README with the machine, date and command.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { request } from 'undici';
import { parseConfig } from '../src/config/load.ts';
import { openOutbox, type OutboxSample } from '../src/fleet/outbox.ts';
import { INTERVAL_METRIC, OUTCOME_METRIC } from '../src/fleet/wire.ts';
import { createMetrics } from '../src/metrics.ts';
import { COMMIT_EVERY, openStore } from '../src/store/index.ts';
import { freePort, printTable, stopChild, waitHttp, writeBytes } from './support/process.ts';

const { values } = parseArgs({ options: {
  keep: { type: 'boolean' }, 'skip-report': { type: 'boolean' }, 'skip-push': { type: 'boolean' },
  days: { type: 'string', default: '30' }, 'push-samples': { type: 'string', default: '20000' },
  'push-rate': { type: 'string', default: '333' }, 'push-seconds': { type: 'string', default: '20' },
} });
const ROOT = join(import.meta.dirname, '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const CLI = join(ROOT, 'src', 'cli.ts');
const work = mkdtempSync(join(tmpdir(), 'slaprobe-bench-fleet-'));
const REGIONS = ['ap', 'eu', 'us'];
const TARGETS = Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(3, '0')}`);
const STEP = 10_000;
const START = Date.UTC(2026, 10, 1);
const END = START + Number(values.days) * 86_400_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function startVm(port?: number): Promise<{ url: string; stop: () => Promise<void>; dir: string }> {
  port ??= await freePort();
  const dir = join(work, `vm-${port}`);
  const child = spawn('/usr/bin/victoria-metrics', [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=100y', '-loggerLevel=ERROR'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/health`, child, 30_000);
  return { url, dir, stop: () => stopChild(child) };
}

/** ap and us see every target; eu's own path fails 30 min on the 12th; svc0's targets fail 20 min on the 7th everywhere. */
const down = (ti: number, region: string, t: number) =>
  (ti < 10 && t >= Date.UTC(2026, 10, 7, 3) && t < Date.UTC(2026, 10, 7, 3, 20)) ||
  (region === 'eu' && t >= Date.UTC(2026, 10, 12, 10) && t < Date.UTC(2026, 10, 12, 10, 30));
const offset = (ti: number, ri: number) => (ti * 37 + ri * 1009) % STEP;

const config = `agent: { region: bench, data_dir: ${JSON.stringify(join(work, 'data'))} }
targets:
${TARGETS.map((t) => `  - { name: ${t}, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }`).join('\n')}
services:
${Array.from({ length: 10 }, (_, s) => `  - { name: svc${s}, targets: [${TARGETS.slice(s * 10, s * 10 + 10).join(', ')}], rule: all, sla: [udesk, hedu] }`).join('\n')}
`;
const configFile = join(work, 'fleet.yaml');
writeFileSync(configFile, config);

function time(args: string[]): { secs: number; user: number; sys: number; maxRssMiB: number; out: string; code: number | null } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', NODE, CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const last = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { secs: last[0]!, user: last[1]!, sys: last[2]!, maxRssMiB: last[3]! / 1024, out: r.stdout, code: r.status };
}

const rows: string[][] = [];
const runs = REGIONS.length * TARGETS.length * ((END - START) / STEP);

if (!values['skip-report']) {
  const vm = await startVm();
  try {
    // 1a. The month into VictoriaMetrics (/api/v1/import, one JSON line per series) and into a CSV export.
    const g0 = performance.now();
    const csvFile = join(work, 'november.csv');
    const csv = createWriteStream(csvFile);
    csv.write('timestamp,target,success,region,agent\n');
    for (let t = START; t < END; t += STEP) {
      let chunk = '';
      for (let ri = 0; ri < REGIONS.length; ri++) for (let ti = 0; ti < TARGETS.length; ti++) {
        const ts = t + offset(ti, ri);
        chunk += `${(ts / 1000).toFixed(3)},${TARGETS[ti]},${down(ti, REGIONS[ri]!, ts) ? 'false' : 'true'},${REGIONS[ri]},a-${REGIONS[ri]}\n`;
      }
      if (!csv.write(chunk)) await new Promise<void>((r) => csv.once('drain', () => r()));
    }
    await new Promise<void>((r) => csv.end(() => r()));
    for (let ri = 0; ri < REGIONS.length; ri++) {
      for (let ti = 0; ti < TARGETS.length; ti += 10) {
        const lines: string[] = [];
        for (let k = ti; k < ti + 10; k++) {
          const ts: number[] = [];
          const ok: number[] = [];
          for (let t = START + offset(k, ri); t < END; t += STEP) {
            ts.push(t);
            ok.push(down(k, REGIONS[ri]!, t) ? 0 : 1);
          }
          const metric = { target: TARGETS[k], region: REGIONS[ri], agent: `a-${REGIONS[ri]}` };
          lines.push(JSON.stringify({ metric: { __name__: OUTCOME_METRIC, ...metric }, values: ok, timestamps: ts }));
          lines.push(JSON.stringify({ metric: { __name__: INTERVAL_METRIC, ...metric }, values: ts.map(() => 10), timestamps: ts }));
        }
        const res = await request(`${vm.url}/api/v1/import`, { method: 'POST', body: lines.join('\n') });
        await res.body.text();
        if (res.statusCode !== 204) throw new Error(`import: ${res.statusCode}`);
      }
    }
    await (await request(`${vm.url}/internal/force_flush`)).body.text();
    // Rows become searchable a little after the flush: wait until the month's count is all there.
    for (;;) {
      const r = await request(`${vm.url}/api/v1/query?${new URLSearchParams({ query: `sum(count_over_time(${OUTCOME_METRIC}[31d]))`, time: String(END / 1000), nocache: '1' })}`);
      const j = (await r.body.json()) as { data: { result: { value: [number, string] }[] } };
      if (Number(j.data.result[0]?.value[1] ?? 0) >= runs) break;
      await new Promise((ok) => setTimeout(ok, 2000));
    }
    const genSecs = (performance.now() - g0) / 1000;
    const csvMb = Number(spawnSync('du', ['-sm', csvFile], { encoding: 'utf8' }).stdout.split('\t')[0]);

    // 1b. The two reports, as a user runs them.
    const common = ['report', '--config', configFile, '--period', '2026-11', '--now', new Date(END).toISOString(), '--format', 'json'];
    const src = time([...common, '--source', vm.url]);
    const smp = time([...common, '--samples', csvFile]);
    const same = src.code === smp.code && src.out === smp.out && src.out.length > 0;
    process.stdout.write(`generated and imported ${fmt(runs)} runs (${fmt(2 * runs)} samples) in ${genSecs.toFixed(0)} s; CSV export ${csvMb} MB\n`);
    process.stdout.write(`reports identical: ${same}\n`);
    for (const [name, r] of [['report --source (VictoriaMetrics)', src], ['report --samples (CSV export)', smp]] as const) {
      rows.push([name, `${r.secs.toFixed(1)} s`, `${(r.user + r.sys).toFixed(1)} s`, `${fmt(runs / r.secs)}/s`, `${r.maxRssMiB.toFixed(0)} MiB`]);
    }
  } finally {
    await vm.stop();
  }
}

if (!values['skip-push']) {
  // 2. The push path: one agent's outbox appending each run's two samples while its sender
  // pushes them to VictoriaMetrics. First as fast as it goes, one transaction per run (the
  // samples/s sustained end to end: appended, sent and acknowledged). Then at an agent's pace
  // (--push-rate runs/s for --push-seconds), the CPU and the disk writes per sample: as the
  // agent does it (the outbox joined to the store, whose commits take the samples once a
  // second) and with one transaction per run (the outbox on its own, as the agent did before).
  const runs = [{ mode: 'per-run', paced: false }, { mode: 'joined', paced: true }, { mode: 'per-run', paced: true }] as const;
  for (const { mode, paced } of runs) {
    const vm = await startVm();
    try {
      const rate = Number(values['push-rate']);
      const N = paced ? 2 * rate * Number(values['push-seconds']) : Number(values['push-samples']);
      const dataDir = join(work, `agent-${mode}-${paced}`);
      mkdirSync(dataDir, { recursive: true });
      const store = openStore(dataDir); // creates and migrates the store the outbox lives in
      if (mode === 'per-run') store.close();
      const outbox = openOutbox({ dataDir, ...(mode === 'joined' ? { store } : {}), metrics: createMetrics({ region: 'bench', version: 'bench', defaultMetrics: false }), log: pino({ level: 'silent' }) });
      // The availability sink's commit timer.
      const commit = mode === 'joined' ? setInterval(() => store.flush(), COMMIT_EVERY) : undefined;
      const cfg = parseConfig(`remote_write:\n  - { name: vm, url: "${vm.url}/api/v1/write", queue_config: { max_samples_per_send: 2000, batch_send_deadline: 1s } }\n`, 'bench.yaml');
      await outbox.setRemotes(cfg.remote_write);
      const labels = (name: string, t: string): OutboxSample['labels'] => [['__name__', name], ['agent', 'a-eu'], ['region', 'eu'], ['target', t]];
      const series = TARGETS.map((t) => [labels(OUTCOME_METRIC, t), labels(INTERVAL_METRIC, t)] as const);
      const w0 = writeBytes(process.pid);
      const c0 = process.cpuUsage();
      const a0 = performance.now();
      for (let k = 0; k < N / 2; k++) {
        const ti = k % TARGETS.length;
        const ts = START + Math.floor(k / TARGETS.length) * STEP + ti;
        const [s, iv] = series[ti]!;
        outbox.append([{ labels: s, ts, value: 1 }, { labels: iv, ts, value: 10 }] satisfies OutboxSample[]);
        if (paced) {
          // rate runs/s: the next run is due at a0 + (k + 1) / rate s
          const wait = a0 + ((k + 1) * 1000) / rate - performance.now();
          if (wait > 1) await new Promise((ok) => setTimeout(ok, wait));
        } else if (k % 50 === 0) {
          // yield now and then, as the agent's event loop does between runs, so the sender sends
          await new Promise((ok) => setImmediate(ok));
        }
      }
      const appendSecs = (performance.now() - a0) / 1000;
      await outbox.drained();
      const totalSecs = (performance.now() - a0) / 1000;
      const cpu = process.cpuUsage(c0);
      const written = writeBytes(process.pid) - w0;
      clearInterval(commit);
      await outbox.close();
      if (mode === 'joined') store.close();
      const what = mode === 'joined' ? 'joined to the store (the agent: one commit a second)' : 'one transaction per run of 2';
      rows.push([`outbox, ${what}: ${fmt(N)} samples ${paced ? `at ${fmt(rate)} runs/s` : 'as fast as it goes'}, sent to VictoriaMetrics`, `${totalSecs.toFixed(1)} s (appends ${appendSecs.toFixed(1)} s)`,
        `${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`, paced ? `${fmt((written / totalSecs) / 1000)} kB/s written` : `${fmt(N / totalSecs)} samples/s`,
        `${((cpu.user + cpu.system) / N).toFixed(1)} us CPU/sample, ${fmt(written / N)} bytes written/sample`]);
    } finally {
      await vm.stop();
    }
  }
}

process.stdout.write(`machine: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}; command: node bench/fleet.ts\n`);
printTable(['what', 'wall', 'CPU', 'rate', 'memory / CPU per sample'], rows);
if (!values.keep) rmSync(work, { recursive: true, force: true });
