// Benchmark of what the main thread holds per packet target once its quality windows are
// full (issue 13): bench/scale.ts measures 100 s, but the quality sink keeps per-minute
// counters for the longest window (1 h by default), so its memory grows for an hour. Feeds
// the real metrics and quality sinks the runs of N udp-echo targets at a 30 s interval over
// 65 simulated minutes (the sinks' clock is injected; no network), then reports the heap
// they hold after full GCs. Not a test: no assertion; figures for docs/scale.md.
//
//   node --expose-gc bench/quality-window.ts [--targets 2000] [--minutes 65]
import { parseArgs } from 'node:util';
import { QUALITY_DEFAULTS, UDP_ECHO_DEFAULTS } from '../src/config/defaults.ts';
import type { UdpEchoTarget } from '../src/config/types.ts';
import { createMetrics } from '../src/metrics.ts';
import { createMetricsSink } from '../src/sinks/metrics.ts';
import { createQualitySink } from '../src/sinks/quality.ts';

const { values: args } = parseArgs({ options: { targets: { type: 'string', default: '2000' }, minutes: { type: 'string', default: '65' } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc: node --expose-gc bench/quality-window.ts');
const heapMiB = () => { for (let i = 0; i < 4; i++) gc(); return process.memoryUsage().heapUsed / 1048576; };

const n = Number(args.targets);
let now = Date.UTC(2026, 11, 1, 10);
const targets: UdpEchoTarget[] = Array.from({ length: n }, (_, i) => ({
  name: `echo-${i}`, kind: 'udp-echo', interval: 30_000, timeout: 25_000, labels: {}, address: '127.0.0.1:9', host: '127.0.0.1', port: 9,
  key: 'bench-key-0123456789abcdef', key_id: 'k1', packets: 50, spacing: 20, packet_timeout: 500, size: UDP_ECHO_DEFAULTS.size,
  ip_protocol: 'auto', quality: QUALITY_DEFAULTS,
}));
const rtts = Array.from({ length: 50 }, (_, i) => 0.019 + ((i * 7919) % 97) / 97 * 0.008);
const seqs = rtts.map((_, i) => i);
const meta = { dueAt: 0, startedAt: 0, finishedAt: 0, durationSeconds: 1 };

const before = heapMiB();
const m = createMetrics({ region: 'bench', version: '0', defaultMetrics: false });
const sinks = [createMetricsSink(m), createQualitySink({ metrics: m, now: () => now })];
const rows: string[] = [];
for (let minute = 1; minute <= Number(args.minutes); minute++) {
  for (const half of [0, 1]) {
    now += 30_000;
    for (const t of targets) for (const s of sinks) s.onResult(t, { success: true, packets: { sent: 50, received: 50, rtts, seqs } }, { ...meta, finishedAt: now + half });
  }
  if (minute === 1 || minute % 15 === 0 || minute === Number(args.minutes)) rows.push(`| ${minute} | ${(heapMiB() - before).toFixed(1)} |`);
}
console.log(`${n} udp-echo targets at 30 s, metrics and quality sinks (windows ${QUALITY_DEFAULTS.windows.map((w) => `${w / 60_000} min`).join(', ')}): heap held, MiB`);
console.log('| minutes of runs | heap MiB |\n|---|---|');
console.log(rows.join('\n'));
// Keeps the sinks reachable until the last figure is taken.
if (sinks.length !== 2) throw new Error('unreachable');
