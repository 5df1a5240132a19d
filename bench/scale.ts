// Benchmark of one agent at scale (issue 13): 10,000 mixed targets at a 30 s interval on
// loopback only: http and tcp to one local server (bench/support/core-target.ts), icmp to
// 127.0.x.y, udp-echo to the agent's own reflector. The agent runs alone on CPU 0 (as
// bench/core.ts), the server and this bench on CPU 1. Over a window after a warm-up of at
// least one interval (every target has started): runs/s by kind, failures, skipped runs,
// scheduler lateness p99 (bucket deltas, as histogram_quantile), CPU of the agent and of its
// ping children, the agent's RSS and peak, and its ping children's summed PSS, and each V8 isolate's heap (slaprobe_isolate_heap_*),
// and the agent's disk writes (write_bytes of /proc/PID/io: its store; its logs go to stdout and stderr, not to files).
// Not a test: no assertion; figures for docs/scale.md.
//
//   node bench/scale.ts [--http 5000] [--tcp 3000] [--icmp 1000] [--udp-echo 1000]
//                       [--interval 30s] [--warmup 40s] [--seconds 60] [--concurrency 256]
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.ts';
import { bucketQuantile, scrape } from './support/metrics.ts';
import { CLK_TCK, freePort, memoryMiB, printTable, runQueueSeconds, stopChild, waitHttp, writeBytes } from './support/process.ts';

const REPO = join(import.meta.dirname, '..');
const NODE = join(REPO, 'node_modules/.bin/node');
const KEY = 'bench-scale-key-0123456789';

const { values: args } = parseArgs({
  options: {
    http: { type: 'string', default: '5000' },
    tcp: { type: 'string', default: '3000' },
    icmp: { type: 'string', default: '1000' },
    'udp-echo': { type: 'string', default: '1000' },
    interval: { type: 'string', default: '30s' },
    warmup: { type: 'string', default: '40s' },
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '256' },
  },
});
const mix = { http: Number(args.http), tcp: Number(args.tcp), icmp: Number(args.icmp), 'udp-echo': Number(args['udp-echo']) };
const total = Object.values(mix).reduce((a, b) => a + b, 0);
if (mix.icmp > 60_000) throw new Error('--icmp: at most 60000 (loopback addresses 127.0.0.1 ..)');
const intervalMs = parseDuration(args.interval) ?? 30_000;
const warmupMs = parseDuration(args.warmup) ?? 40_000;
const windowS = Number(args.seconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loopback = (i: number) => `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

const children = new Set<ChildProcess>();
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));
process.once('SIGINT', () => process.exit(130));

/** Agent CPU (every thread) plus its ping children's, live and reaped, seconds; and their PSS. */
function tree(pid: number) {
  let live = 0;
  let pss = 0;
  let count = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== pid) continue;
      live += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      pss += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${name}/smaps_rollup`, 'utf8'))?.[1] ?? 0) / 1024;
      count++;
    } catch { /* gone */ }
  }
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14]) + live) / CLK_TCK, pssMiB: pss, count };
}

async function main() {
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-bench-scale-'));
  const server = fork(join(import.meta.dirname, 'support/core-target.ts'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.add(server);
  try {
    const serverPort = await new Promise<number>((resolve) => server.once('message', (m: { port: number }) => resolve(m.port)));
    const port = await freePort();
    const echoPort = await freePort();
    const t = `interval: ${intervalMs}ms, timeout: ${Math.min(5_000, intervalMs - 1_000)}ms`;
    const lines = [
      `agent: {region: bench, listen: "127.0.0.1:${port}", data_dir: "${join(dir, 'data')}", log_level: warn, concurrency: ${args.concurrency}}`,
      `reflector: {listen: "127.0.0.1:${echoPort}", keys: {default: "${KEY}"}, rate_limit: 100000}`,
      'targets:',
      ...Array.from({ length: mix.http }, (_, i) => `  - {name: h${i}, kind: http, url: "http://127.0.0.1:${serverPort}/ok/${i}", ${t}}`),
      ...Array.from({ length: mix.tcp }, (_, i) => `  - {name: c${i}, kind: tcp, address: "127.0.0.1:${serverPort}", ${t}}`),
      ...Array.from({ length: mix.icmp }, (_, i) => `  - {name: i${i}, kind: icmp, address: ${loopback(i + 1)}, packets: 10, spacing: 200ms, ${t}}`),
      // Short echo streams (20 packets at 50 packets/s): 1,000 targets are 667 packets/s.
      ...Array.from({ length: mix['udp-echo'] }, (_, i) => `  - {name: u${i}, kind: udp-echo, address: "127.0.0.1:${echoPort}", key: "${KEY}", packets: 20, spacing: 20ms, packet_timeout: 500ms, ${t}}`),
    ];
    const config = join(dir, 'scale.yaml');
    writeFileSync(config, lines.join('\n') + '\n');
    console.error(`${total} targets (${JSON.stringify(mix)}) every ${intervalMs / 1000} s: warm-up ${warmupMs / 1000} s, window ${windowS} s`);
    const agent = spawn('taskset', ['-c', '0', NODE, join(REPO, 'src/cli.ts'), 'run', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    children.add(agent);
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitHttp(`${base}/healthz`, agent, 60_000);
      await sleep(warmupMs);
      const m0 = await scrape(`${base}/metrics`);
      const t0 = performance.now();
      const c0 = tree(agent.pid!);
      const w0 = runQueueSeconds(agent.pid!);
      const io0 = writeBytes(agent.pid!);
      await sleep(windowS * 1000);
      const m1 = await scrape(`${base}/metrics`);
      const elapsed = (performance.now() - t0) / 1000;
      const c1 = tree(agent.pid!);
      const w1 = runQueueSeconds(agent.pid!);
      const io1 = writeBytes(agent.pid!);
      const mem = memoryMiB(agent.pid!);
      const d = (name: string, filter = '') => m1.sum(name, filter) - m0.sum(name, filter);
      const kinds = Object.keys(mix).map((k) => {
        const runs = d('slaprobe_probes_total', `kind="${k}"`);
        return { kind: k, targets: mix[k as keyof typeof mix], runsPerSecond: runs / elapsed, expected: mix[k as keyof typeof mix] / (intervalMs / 1000), failed: d('slaprobe_probes_total', `kind="${k}",result="failure"`) };
      });
      const row = {
        targets: total, windowSeconds: elapsed,
        skipped: d('slaprobe_runs_skipped_total'),
        // Runs whose deadline a stall of the agent moved (src/runner.ts), in the window and since the start.
        deadlinesMoved: d('slaprobe_probe_deadlines_moved_total'), deadlinesMovedSinceStart: m1.sum('slaprobe_probe_deadlines_moved_total'),
        latenessP99Ms: 1000 * bucketQuantile(0.99, m0.buckets('slaprobe_scheduler_lateness_seconds'), m1.buckets('slaprobe_scheduler_lateness_seconds')),
        agentCpuPercent: (100 * (c1.self - c0.self)) / elapsed,
        pingCpuPercent: (100 * (c1.children - c0.children)) / elapsed,
        runQueueWaitPercent: (100 * (w1 - w0)) / elapsed,
        rssMiB: mem.rss, hwmMiB: mem.hwm, pingProcesses: c1.count, pingPssMiB: c1.pssMiB,
        packetsPerSecond: d('slaprobe_packets_sent_total') / elapsed,
        // Every packet target answers here: a loss or an unobserved answer (read after a stall
        // of the agent, src/probes/train/worker.ts) since the start is the agent's doing.
        packetsLostSinceStart: m1.sum('slaprobe_packets_lost_total'), packetsUnobservedSinceStart: m1.sum('slaprobe_packets_unobserved_total'),
        diskWriteMBps: (io1 - io0) / 1e6 / elapsed,
      };
      // Where the memory is: each isolate's V8 heap as the agent reports it (the scrape at
      // the end of the window), and RSS split into the binary's file pages and the rest.
      const status = readFileSync(`/proc/${agent.pid}/status`, 'utf8');
      const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) / 1024;
      const isolates = ['main', 'engine', 'packet', 'reflector'].map((i) => ({
        isolate: i,
        heapUsedMiB: m1.sum('slaprobe_isolate_heap_used_bytes', `isolate="${i}"`) / 2 ** 20,
        heapSizeMiB: m1.sum('slaprobe_isolate_heap_size_bytes', `isolate="${i}"`) / 2 ** 20,
        externalMiB: m1.sum('slaprobe_isolate_external_memory_bytes', `isolate="${i}"`) / 2 ** 20,
      }));
      const split = { rssAnonMiB: kib('RssAnon'), rssFileMiB: kib('RssFile') };
      const f = (x: number, p = 1) => (Number.isFinite(x) ? x.toFixed(p) : '-');
      printTable(['kind', 'targets', 'runs/s expected', 'runs/s done', 'failed'], kinds.map((k) => [k.kind, String(k.targets), f(k.expected), f(k.runsPerSecond), String(k.failed)]));
      console.log('');
      printTable(
        ['targets', 'skipped', 'deadlines moved (window, since start)', 'lateness p99 ms', 'agent CPU %', 'ping CPU %', 'run-queue wait %', 'RSS MiB', 'peak RSS MiB', 'ping procs, PSS MiB', 'packets/s', 'packets lost, unobserved (since start)'],
        [[String(row.targets), String(row.skipped), `${row.deadlinesMoved}, ${row.deadlinesMovedSinceStart}`, f(row.latenessP99Ms, 2), f(row.agentCpuPercent), f(row.pingCpuPercent), f(row.runQueueWaitPercent), f(row.rssMiB), f(row.hwmMiB), `${row.pingProcesses}, ${f(row.pingPssMiB)}`, f(row.packetsPerSecond), `${row.packetsLostSinceStart}, ${row.packetsUnobservedSinceStart}`]],
      );
      console.log(`\nRSS: ${f(split.rssAnonMiB)} MiB anonymous, ${f(split.rssFileMiB)} MiB file-backed (the node binary)`);
      console.log(`disk writes: ${f(row.diskWriteMBps, 2)} MB/s (write_bytes of /proc/PID/io over the window)`);
      printTable(['isolate', 'heap used MiB', 'heap size MiB', 'external MiB'], isolates.map((x) => [x.isolate, f(x.heapUsedMiB), f(x.heapSizeMiB), f(x.externalMiB)]));
      const date = new Date().toISOString().slice(0, 10);
      const out = join(REPO, 'bench/results', `scale-${date}.json`);
      mkdirSync(join(REPO, 'bench/results'), { recursive: true });
      writeFileSync(out, JSON.stringify({
        date: new Date().toISOString(),
        command: `node bench/scale.ts ${process.argv.slice(2).join(' ')}`.trim(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, loadAverageAtEnd: readFileSync('/proc/loadavg', 'utf8').trim() },
        settings: { mix, intervalMs, warmupMs, windowSeconds: windowS, concurrency: Number(args.concurrency) },
        kinds, row, memory: { ...split, isolates },
      }, null, 2) + '\n');
      console.log(`\nwritten ${out}`);
    } finally {
      await stopChild(agent, 20_000);
    }
  } finally {
    server.disconnect();
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
