// Benchmark of the agent core (issue 2, section 9): N HTTP targets on a local server, a new
// connection per probe, slaprobe and prometheus-blackbox-exporter probing the same targets
// at the same rate, one after the other in the same run, each pinned alone to CPU 0 while
// the target server and the blackbox driver share CPU 1 (their CPU counts for neither).
// Measured over a window after a warm-up: probes/s, CPU seconds per 1,000 probes (utime +
// stime of the whole process, every thread, from /proc/PID/stat), RSS (VmRSS, VmHWM) and,
// for slaprobe, the p99 of slaprobe_scheduler_lateness_seconds from the window's bucket
// deltas (as histogram_quantile does). Not a test: no assertion, figures for docs/bench-core.md.
//
//   node bench/core.ts [--targets 100,500,1000] [--interval 1s] [--seconds 30]
//                      [--warmup 5s] [--concurrency 256] [--only slaprobe|blackbox] [--cpu-prof]
import { type ChildProcess, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.ts';
import { summarizeProfiles } from './support/core-profile.ts';
import { bucketQuantile, parseMetrics } from './support/metrics.ts';
import { CLK_TCK, cpuBusySeconds, freePort, memoryMiB, printTable, runQueueSeconds, stopChild, waitHttp } from './support/process.ts';

const REPO = join(import.meta.dirname, '..');
const NODE = process.execPath;
/** The probers get CPU 0; everything else (server, driver, this) runs on CPU 1. */
const PROBER_CPU = '0';
const OTHER_CPU = '1';
// Other work on a shared machine lands on CPU 0 too. With sched_autogroup (Debian's
// default) a plain nice value only ranks processes within one session, so each of our
// processes starts a session of its own (detached) and that session's autogroup gets a
// higher weight: the prober under test -10 (the same for both probers), the server and the
// driver -5. What still took CPU 0 from the prober, and how long its threads waited for a
// CPU, are reported with every row, so a disturbed row can be seen as such.
const PROBER_NICE = -10;
const OTHER_NICE = -5;
const children = new Set<ChildProcess>();
const own = (child: ChildProcess, nice: number): ChildProcess => {
  children.add(child);
  child.once('exit', () => children.delete(child));
  try {
    writeFileSync(`/proc/${child.pid}/autogroup`, String(nice));
  } catch { /* no autogroup (kernel without it, or not permitted): run at the default weight */ }
  return child;
};
// Detached children outlive an interrupted run unless they are ended here.
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));
process.once('SIGINT', () => process.exit(130));
const spawnPinned = (cmd: string[]) => own(spawn('taskset', ['-c', PROBER_CPU, ...cmd], { stdio: ['ignore', 'ignore', 'inherit'], detached: true }), PROBER_NICE);
const forkOther = (script: string) => {
  const child = own(fork(join(import.meta.dirname, script), [], { execPath: NODE, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true }), OTHER_NICE);
  execFileSync('taskset', ['-a', '-p', '-c', OTHER_CPU, String(child.pid)], { stdio: 'ignore' });
  return child;
};

const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: '100,500,1000' },
    interval: { type: 'string', default: '1s' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string' },
    concurrency: { type: 'string', default: '256' },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const counts = args.targets.split(',').map(Number);
const intervalMs = parseDuration(args.interval) ?? NaN;
const windowS = Number(args.seconds);
const concurrency = Number(args.concurrency);
if (!(intervalMs > 0) || counts.some((n) => !Number.isInteger(n) || n < 1) || !(windowS > 0)) {
  console.error('usage: node bench/core.ts [--targets 100,500,1000] [--interval 1s] [--seconds 30] [--warmup 5s] [--concurrency 256] [--only slaprobe|blackbox] [--cpu-prof]');
  process.exit(2);
}
// Every target has run a few times (first runs spread over one interval) and sockets, JIT
// and heap have settled.
const warmupMs = args.warmup ? parseDuration(args.warmup) ?? 10_000 : Math.max(10_000, 3 * intervalMs);
const timeoutMs = Math.round(intervalMs * 0.9);
const runs = { slaprobe: args.only !== 'blackbox', blackbox: args.only !== 'slaprobe' };

// --- the process and its figures ------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}



/** The readings at one end of the window, for the prober, the target server and CPU 0. */
function reading(prober: number, server: number) {
  return { t: performance.now(), prober: cpuSeconds(prober), server: cpuSeconds(server), cpu0: cpuBusySeconds(PROBER_CPU), wait: runQueueSeconds(prober) };
}


function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
}

interface Row {
  prober: 'slaprobe' | 'blackbox';
  targets: number;
  rate: number;
  windowSeconds: number;
  probes: number;
  failures: number;
  skipped: number;
  probesPerSecond: number;
  cpuSeconds: number;
  cpuPercentOfCore: number;
  cpuSecondsPer1000: number;
  rssMiB: number;
  hwmMiB: number;
  /** slaprobe: its scheduler's lateness. blackbox: none of its own (the driver schedules). */
  latenessP99Ms: number | null;
  /** blackbox: the driver's own lateness, to show it kept the rate. */
  driverLatenessP99Ms?: number;
  targetServerCpuPercent: number;
  /** CPU 0 busy time that was not the prober's (other processes on a shared machine), % of the core. */
  otherOnProberCpuPercent: number;
  /** Time the prober's threads were ready to run but waited for the CPU, % of the window. */
  runQueueWaitPercent: number;
  profile?: string[];
}

function deltas(r0: ReturnType<typeof reading>, r1: ReturnType<typeof reading>) {
  const cpu = r1.prober - r0.prober;
  return { elapsed: (r1.t - r0.t) / 1000, cpu, server: r1.server - r0.server, other: Math.max(0, r1.cpu0 - r0.cpu0 - cpu), wait: r1.wait - r0.wait };
}

// --- one prober at one rate ------------------------------------------------------------------

async function benchSlaprobe(n: number, targetPort: number, target: ChildProcess, dir: string): Promise<Row> {
  const port = await freePort();
  const config = join(dir, `slaprobe-${n}.yaml`);
  const lines = [
    `agent: {region: bench, listen: "127.0.0.1:${port}", data_dir: "${join(dir, `data-${n}`)}", log_level: warn, concurrency: ${concurrency}}`,
    'targets:',
    ...Array.from({ length: n }, (_, i) => `  - {name: t${i}, kind: http, url: "http://127.0.0.1:${targetPort}/ok/${i}", interval: ${intervalMs}ms, timeout: ${timeoutMs}ms}`),
  ];
  writeFileSync(config, lines.join('\n') + '\n');
  const profDir = join(dir, `prof-${n}`);
  const nodeFlags = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const agent = spawnPinned([NODE, ...nodeFlags, join(REPO, 'src/cli.ts'), 'run', '--config', config]);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(`${base}/healthz`, agent);
    await sleep(warmupMs);
    // The window runs from the end of one scrape to the end of the next, so its CPU holds
    // one /metrics scrape, as a Prometheus scraping every window would cost.
    const m0 = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    const r0 = reading(agent.pid!, target.pid!);
    await sleep(windowS * 1000);
    const m1 = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    const r1 = reading(agent.pid!, target.pid!);
    const mem = memoryMiB(agent.pid!);
    const probes = m1.sum('slaprobe_probes_total') - m0.sum('slaprobe_probes_total');
    const { elapsed, cpu, server, other, wait } = deltas(r0, r1);
    return {
      prober: 'slaprobe', targets: n, rate: (n * 1000) / intervalMs, windowSeconds: elapsed, probes,
      failures: m1.sum('slaprobe_probes_total', 'result="failure"') - m0.sum('slaprobe_probes_total', 'result="failure"'),
      skipped: m1.sum('slaprobe_runs_skipped_total') - m0.sum('slaprobe_runs_skipped_total'),
      probesPerSecond: probes / elapsed, cpuSeconds: cpu, cpuPercentOfCore: (100 * cpu) / elapsed,
      cpuSecondsPer1000: (1000 * cpu) / probes, rssMiB: mem.rss, hwmMiB: mem.hwm,
      latenessP99Ms: 1000 * bucketQuantile(0.99, m0.buckets('slaprobe_scheduler_lateness_seconds'), m1.buckets('slaprobe_scheduler_lateness_seconds')),
      targetServerCpuPercent: (100 * server) / elapsed, otherOnProberCpuPercent: (100 * other) / elapsed, runQueueWaitPercent: (100 * wait) / elapsed,
    };
  } finally {
    await stopChild(agent);
  }
}

async function benchBlackbox(n: number, targetPort: number, target: ChildProcess, dir: string): Promise<Row> {
  const port = await freePort();
  const config = join(dir, 'blackbox.yml');
  // The same probe as slaprobe's http target: GET, IPv4, any 2xx, no keep-alive to the
  // target (blackbox builds a new client, so a new connection, for every probe).
  writeFileSync(config, [
    'modules:',
    '  http_2xx:',
    '    prober: http',
    `    timeout: ${timeoutMs}ms`,
    '    http:',
    '      method: GET',
    '      preferred_ip_protocol: ip4',
    '      ip_protocol_fallback: false',
    '',
  ].join('\n'));
  const exporter = spawnPinned(['prometheus-blackbox-exporter', `--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
  const driver = forkOther('support/core-driver.ts');
  const ask = () => new Promise<{ ok: number; failed: number; errors: number; skipped: number; lateness: number[] }>((resolve) => {
    driver.once('message', resolve);
    driver.send({ type: 'counts' });
  });
  try {
    await waitHttp(`http://127.0.0.1:${port}/-/healthy`, exporter);
    const targets = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${targetPort}/ok/${i}`);
    driver.send({ type: 'start', exporter: `http://127.0.0.1:${port}`, targets, intervalMs, concurrency });
    await sleep(warmupMs);
    const d0 = await ask();
    const r0 = reading(exporter.pid!, target.pid!);
    await sleep(windowS * 1000);
    const d1 = await ask();
    const r1 = reading(exporter.pid!, target.pid!);
    const mem = memoryMiB(exporter.pid!);
    const probes = d1.ok + d1.failed - d0.ok - d0.failed;
    const { elapsed, cpu, server, other, wait } = deltas(r0, r1);
    return {
      prober: 'blackbox', targets: n, rate: (n * 1000) / intervalMs, windowSeconds: elapsed, probes,
      failures: d1.failed - d0.failed + d1.errors - d0.errors, skipped: d1.skipped - d0.skipped,
      probesPerSecond: probes / elapsed, cpuSeconds: cpu, cpuPercentOfCore: (100 * cpu) / elapsed,
      cpuSecondsPer1000: (1000 * cpu) / probes, rssMiB: mem.rss, hwmMiB: mem.hwm,
      latenessP99Ms: null, driverLatenessP99Ms: quantile(d1.lateness, 0.99),
      targetServerCpuPercent: (100 * server) / elapsed, otherOnProberCpuPercent: (100 * other) / elapsed, runQueueWaitPercent: (100 * wait) / elapsed,
    };
  } finally {
    driver.send({ type: 'stop' });
    await stopChild(driver);
    await stopChild(exporter);
  }
}

function blackboxVersion(): string {
  const r = spawnSync('prometheus-blackbox-exporter', ['--version'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0] ?? '';
}

// --- the run ---------------------------------------------------------------------------------

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

async function main() {
  execFileSync('taskset', ['-a', '-p', '-c', OTHER_CPU, String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-bench-core-'));
  const target = forkOther('support/core-target.ts');
  const rows: Row[] = [];
  try {
    const targetPort = await new Promise<number>((resolve) => target.once('message', (m: { port: number }) => resolve(m.port)));
    for (const n of counts) {
      console.error(`${n} targets every ${args.interval} (${(n * 1000) / intervalMs} probes/s): warm-up ${warmupMs / 1000} s, window ${windowS} s`);
      if (runs.slaprobe) {
        const row = await benchSlaprobe(n, targetPort, target, dir);
        if (args['cpu-prof']) row.profile = summarizeProfiles(join(dir, `prof-${n}`));
        rows.push(row);
      }
      if (runs.blackbox) rows.push(await benchBlackbox(n, targetPort, target, dir));
    }
  } finally {
    target.disconnect();
    await stopChild(target);
    rmSync(dir, { recursive: true, force: true });
  }

  const header = ['prober', 'probes/s asked', 'probes/s done', 'failed', 'skipped', 'CPU % of core', 'CPU s / 1k probes', 'RSS MiB', 'peak RSS MiB', 'lateness p99 ms', 'server CPU %', 'others on CPU 0 %', 'run-queue wait %'];
  const table = rows.map((r) => [r.prober, f(r.rate, 0), f(r.probesPerSecond), String(r.failures), String(r.skipped), f(r.cpuPercentOfCore), f(r.cpuSecondsPer1000, 3), f(r.rssMiB), f(r.hwmMiB), r.latenessP99Ms === null ? `(driver ${f(r.driverLatenessP99Ms, 2)})` : f(r.latenessP99Ms, 2), f(r.targetServerCpuPercent), f(r.otherOnProberCpuPercent), f(r.runQueueWaitPercent)]);
  printTable(header, table);

  const ratios = counts.map((n) => {
    const s = rows.find((r) => r.prober === 'slaprobe' && r.targets === n);
    const b = rows.find((r) => r.prober === 'blackbox' && r.targets === n);
    return { targets: n, rate: (n * 1000) / intervalMs, cpuRatio: s && b ? s.cpuSecondsPer1000 / b.cpuSecondsPer1000 : null };
  });
  console.log('');
  for (const r of ratios) console.log(`CPU per probe, slaprobe / blackbox at ${r.rate} probes/s: ${f(r.cpuRatio, 2)}`);
  for (const r of rows) if (r.profile) console.log(`\nslaprobe at ${r.rate} probes/s, self time by function (--cpu-prof, every thread):\n${r.profile.join('\n')}`);

  const date = new Date().toISOString().slice(0, 10);
  const out = join(REPO, 'bench/results', `core-${date}.json`);
  mkdirSync(join(REPO, 'bench/results'), { recursive: true });
  writeFileSync(out, JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, blackbox: blackboxVersion() },
    settings: { targets: counts, intervalMs, timeoutMs, windowSeconds: windowS, warmupMs, concurrency, proberCpu: PROBER_CPU, otherCpu: OTHER_CPU, proberNice: PROBER_NICE, otherNice: OTHER_NICE },
    rows,
    ratios,
  }, null, 2) + '\n');
  console.log(`\nwritten ${out}`);
}

await main();
