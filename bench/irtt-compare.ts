// Benchmark (issue "Media-path quality", section 6): the same impaired path measured by
// slaprobe's udp-echo and by irtt in one run, both against the ground truth the relay applied,
// and the send-time error of each; then how many concurrent 50 packets/s streams the packet
// worker sustains with send-time error p99 under 1 ms. Loopback only. Not a test: it prints
// figures for docs/quality.md.
//   ./node_modules/.bin/node bench/irtt-compare.ts [seconds=10] [streams=1,10,25,50,100]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createMetrics } from '../src/metrics.ts';
import { runTrain } from '../src/probes/train/index.ts';
import { ipdvAbs, mean, percentile, rfc3550Series } from '../src/quality/stats.ts';
import { startReflector } from '../src/reflector/index.ts';
import { startRelay } from '../test/support/impair-relay.ts';
import { freePort } from '../test/support/coturn.ts';
import { execTuned } from '../src/engine/isolate.ts';

// As `slaprobe run` does: this process becomes itself with the agent's V8 flags and malloc
// settings (MAIN_FLAGS: 1 MiB semi-spaces in every isolate, the packet worker's too), so the
// packet worker measured here is sized as the agent's. Before 2026-12-03 the bench ran without
// them (the packet worker had its 8 MiB young generation, TRAIN_YOUNG_MB); SLAPROBE_NO_EXEC=1
// still runs it that way.
execTuned();

const seconds = Number(process.argv[2] ?? 10);
const streams = (process.argv[3] ?? '1,10,25,50,100').split(',').map(Number);
const KEY = 'bench-key-0123456789abcdef';
const UP = { delayMs: 10, jitterMs: 8, loss: 0.01 };
const DOWN = { delayMs: 5 };
const TRUTH = { rttMs: UP.delayMs + UP.jitterMs / 2 + DOWN.delayMs, ipdvMs: UP.jitterMs / 3, lossPct: UP.loss * 100 };
const packets = Math.round((seconds * 1000) / 20);

// CPU time per thread (Linux /proc): the packet worker and the reflector are threads of this
// process, and process.cpuUsage() would lump them together with the bench's own main thread.
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const threads = (): Set<string> => new Set(readdirSync('/proc/self/task'));
const newThreads = (before: Set<string>): string[] => [...threads()].filter((t) => !before.has(t));
const threadCpuMs = (tids: string[]): number => tids.reduce((sum, tid) => {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return sum + ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
  } catch { return sum; }
}, 0);

// The reflector's and the packet worker's threads are created synchronously by their first call.
const beforeRefl = threads();
const reflStarting = startReflector({ listen: '127.0.0.1:0', keys: { k1: KEY }, rate_limit: 100_000, max_packet_bytes: 1472 }, { metrics: createMetrics({ region: 'b', version: '0', defaultMetrics: false }), log: pino({ level: 'silent' }) });
const reflThreads = newThreads(beforeRefl);
const refl = await reflStarting;
const irttPort = await freePort();
const irttServer = spawn('irtt', ['server', '-b', `127.0.0.1:${irttPort}`, '-i', '0', '--hmac=' + KEY], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));

const relayS = await startRelay({ upstreamPort: refl.address.port, seed: 11, up: UP, down: DOWN });
const relayI = await startRelay({ upstreamPort: irttPort, seed: 11, up: UP, down: DOWN });
const out = join(tmpdir(), `irtt-${process.pid}.json`);
const irtt = new Promise<void>((resolve) => {
  const c = spawn('irtt', ['client', '-Q', '-i', '20ms', '-d', `${seconds}s`, '-l', '172', '--hmac=' + KEY, '-o', out, `127.0.0.1:${relayI.port}`], { stdio: 'inherit' });
  c.on('exit', () => resolve());
});
const beforeWorker = threads();
const firstTrain = runTrain({ proto: 'echo', host: '127.0.0.1', port: relayS.port, family: 4, packets, spacingMs: 20, packetTimeoutMs: 1000, maxOutstanding: packets, key: KEY, keyId: 'k1', size: 172 }, new AbortController().signal);
const workerThreads = newThreads(beforeWorker);
const [rep] = await Promise.all([firstTrain, irtt]);
const sStats = await relayS.stats();
const iStats = await relayI.stats();
const j = JSON.parse(readFileSync(out, 'utf8')) as { stats: Record<string, { mean?: number; p99?: number; max?: number } & Record<string, number>> & Record<string, unknown> };
const st = j.stats as Record<string, unknown> & { rtt: { mean: number }; ipdv_round_trip: { mean: number }; packet_loss_percent: number; timer_error: { mean: number; max: number } };

const rtts = rep.packets.rtts.map((x) => x * 1000);
const sl = { rtt: mean(rtts), jitter: mean(rfc3550Series(rtts, rtts.length > 1 ? Math.abs(rtts[1]! - rtts[0]!) : 0)), ipdv: mean(ipdvAbs(rtts, rep.packets.seqs)), loss: (100 * rep.packets.lost!) / rep.packets.sent };
const applied = (s: typeof sStats) => mean(s.appliedUpMs) + mean(s.appliedDownMs);
const fmt = (x: number) => x.toFixed(3);
console.log(`date: ${new Date().toISOString()}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, ${execFileSync('uname', ['-r']).toString().trim()}, node ${process.version}, irtt ${execFileSync('irtt', ['version']).toString().split('\n')[0]}, node flags: ${process.execArgv.join(' ') || 'none'}`);
console.log(`path: up ${UP.delayMs} ms + U(0, ${UP.jitterMs} ms), ${UP.loss * 100} % loss; down ${DOWN.delayMs} ms; ${packets} packets at 20 ms, 172 bytes`);
console.log('| | truth | slaprobe | error | irtt | error |');
console.log('|---|---|---|---|---|---|');
console.log(`| mean RTT, ms (truth: relay's applied mean) | ${fmt(applied(sStats))} / ${fmt(applied(iStats))} | ${fmt(sl.rtt)} | ${fmt(sl.rtt - applied(sStats))} | ${fmt(st.rtt.mean / 1e6)} | ${fmt(st.rtt.mean / 1e6 - applied(iStats))} |`);
console.log(`| mean RTT, ms (truth: nominal) | ${fmt(TRUTH.rttMs)} | ${fmt(sl.rtt)} | ${fmt(sl.rtt - TRUTH.rttMs)} | ${fmt(st.rtt.mean / 1e6)} | ${fmt(st.rtt.mean / 1e6 - TRUTH.rttMs)} |`);
console.log(`| mean round-trip IPDV, ms | ${fmt(TRUTH.ipdvMs)} | ${fmt(sl.ipdv)} | ${fmt(sl.ipdv - TRUTH.ipdvMs)} | ${fmt(st.ipdv_round_trip.mean / 1e6)} | ${fmt(st.ipdv_round_trip.mean / 1e6 - TRUTH.ipdvMs)} |`);
console.log(`| RFC 3550 jitter (mean), ms | ${fmt(TRUTH.ipdvMs)} | ${fmt(sl.jitter)} | ${fmt(sl.jitter - TRUTH.ipdvMs)} | n/a | |`);
console.log(`| loss, % (relay dropped) | ${fmt((100 * sStats.upDropped) / packets)} / ${fmt((100 * iStats.upDropped) / (iStats.upForwarded + iStats.upDropped))} | ${fmt(sl.loss)} | | ${fmt(st.packet_loss_percent)} | |`);
console.log(`| send-time error, ms | 0 | p50 ${fmt(rep.sendLag.p50 * 1e3)}, p99 ${fmt(rep.sendLag.p99 * 1e3)}, max ${fmt(rep.sendLag.max * 1e3)} | | mean ${fmt(st.timer_error.mean / 1e6)}, max ${fmt(st.timer_error.max / 1e6)} | |`);
await relayS.close();
await relayI.close();
irttServer.kill();

// The scale part runs twice: with the threads where the kernel puts them (the packet worker
// shares both cores with the reflector, this bench and the rest of the machine), and with the
// packet worker pinned alone to CPU 0 and every other thread of this process to CPU 1 (the
// goal's "one core"; `taskset` from util-linux, only with 2 CPUs or more). Before either, one
// round of the largest N, not reported, so that no row pays for the worker's JIT warm-up.
const pinnable = cpus().length >= 2 && (() => { try { execFileSync('taskset', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const pin = (on: boolean) => {
  for (const tid of threads()) {
    const cpu = !on ? `0-${cpus().length - 1}` : workerThreads.includes(tid) ? '0' : '1';
    try { execFileSync('taskset', ['-pc', cpu, tid], { stdio: 'ignore' }); } catch { /* the thread has ended */ }
  }
};
const streamsRound = (n: number, packetsEach: number) => Promise.all(Array.from({ length: n }, (_, i) => new Promise((r) => setTimeout(r, (i * 20) / n)).then(() => runTrain({ proto: 'echo', host: '127.0.0.1', port: refl.address.port, family: 4, packets: packetsEach, spacingMs: 20, packetTimeoutMs: 1000, maxOutstanding: packetsEach, key: KEY, keyId: 'k1', size: 172 }, new AbortController().signal))));
await streamsRound(Math.max(...streams), 100);
for (const pinned of pinnable ? [false, true] : [false]) {
  pin(pinned);
  console.log(`\nscale: N concurrent 50 packets/s udp-echo streams in the one packet worker, straight to the reflector; ${pinned ? 'packet worker pinned alone to CPU 0, the other threads to CPU 1' : 'threads not pinned'}`);
  console.log(`threads: packet worker ${workerThreads.join(',')}, reflector ${reflThreads.join(',')}`);
  console.log('| streams | send error p50, ms | p99, ms (worst stream) | p99, ms (median stream) | max, ms | packet worker CPU, % of one core | reflector CPU, % | whole process, % |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const n of streams) {
    const cpu0 = process.cpuUsage();
    const w0 = threadCpuMs(workerThreads);
    const r0 = threadCpuMs(reflThreads);
    const t0 = performance.now();
    // Streams start staggered over one spacing, as the agent's scheduler spreads targets by
    // their name's hash: N streams started in the same instant would all be due together
    // every 20 ms and queue behind each other's sends.
    const reps = await streamsRound(n, 250);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    const wCpu = threadCpuMs(workerThreads) - w0;
    const rCpu = threadCpuMs(reflThreads) - r0;
    // Per-stream quantiles: the worst stream's p99 is the one held to the goal.
    const p50 = percentile(reps.map((r) => r.sendLag.p50), 0.5);
    const p99 = Math.max(...reps.map((r) => r.sendLag.p99));
    const p99Median = percentile(reps.map((r) => r.sendLag.p99), 0.5);
    const max = Math.max(...reps.map((r) => r.sendLag.max));
    console.log(`| ${n} | ${fmt(p50 * 1e3)} | ${fmt(p99 * 1e3)} | ${fmt(p99Median * 1e3)} | ${fmt(max * 1e3)} | ${((100 * wCpu) / wall).toFixed(0)} | ${((100 * rCpu) / wall).toFixed(0)} | ${((100 * (cpu.user + cpu.system)) / 1000 / wall).toFixed(0)} |`);
  }
}
await refl.close();
