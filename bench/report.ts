// Benchmark of the availability calculator (issue 4, section 8):
//  1. a month report over a samples file of 100 targets at a 10 s interval (October 2026,
//     31 days: 26,784,000 outcomes), streamed: wall time, outcomes/s and peak RSS;
//  2. the per-probe cost the availability sink adds to the agent (store write + service
//     state), for the common case (same state as the last run) and for a state change.
//   node bench/report.ts [--samples FILE] [--keep]     (generates FILE if missing)
// Figures go to docs/availability.md with the machine, date and command.
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { reportCommand } from '../src/cli/report.ts';
import { parseConfig } from '../src/config/load.ts';
import { createMetrics } from '../src/metrics.ts';
import { createAvailabilitySink } from '../src/sinks/availability.ts';
import { openStore } from '../src/store/index.ts';

const { values } = parseArgs({ options: { samples: { type: 'string' }, keep: { type: 'boolean' } } });
const work = mkdtempSync(join(tmpdir(), 'slaprobe-bench-'));
const samples = values.samples ?? join(work, 'october.csv');
const TARGETS = 100;
const STEP = 10_000;
const START = Date.UTC(2026, 9, 1);
const END = Date.UTC(2026, 10, 1);

const targets = Array.from({ length: TARGETS }, (_, i) => `t${String(i).padStart(3, '0')}`);
const yaml = `agent: { region: eu, data_dir: ${JSON.stringify(join(work, 'data'))} }
targets:
${targets.map((t) => `  - { name: ${t}, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }`).join('\n')}
services:
${Array.from({ length: 10 }, (_, s) => `  - { name: svc${s}, targets: [${targets.slice(s * 10, s * 10 + 10).join(', ')}], rule: all, sla: [udesk, hedu] }`).join('\n')}
`;
const configFile = join(work, 'bench.yaml');
writeFileSync(configFile, yaml);

/** Every target down 20 minutes on the 7th and 3 minutes on the 20th; else up. */
const isDown = (t: number, i: number) =>
  (t >= Date.UTC(2026, 9, 7, 3) + i * 1000 && t < Date.UTC(2026, 9, 7, 3, 20)) || (t >= Date.UTC(2026, 9, 20, 12) && t < Date.UTC(2026, 9, 20, 12, 3));

async function generate(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write('timestamp,target,success,region\n');
  for (let t = START; t < END; t += STEP) {
    let chunk = '';
    for (let i = 0; i < TARGETS; i++) chunk += `${t / 1000},${targets[i]},${isDown(t, i) ? 'false' : 'true'},eu\n`;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

if (!existsSync(samples)) {
  const g0 = performance.now();
  await generate(samples);
  process.stderr.write(`generated ${samples} (${(statSync(samples).size / 1e6).toFixed(0)} MB) in ${((performance.now() - g0) / 1000).toFixed(1)} s\n`);
}
const outcomes = ((END - START) / STEP) * TARGETS;

// 1. The report, exactly as `slaprobe report` runs it (output to /dev/null).
const rss0 = process.memoryUsage().rss;
const write = process.stdout.write.bind(process.stdout);
let outBytes = 0;
process.stdout.write = ((chunk: string | Uint8Array) => {
  outBytes += chunk.length;
  return true;
}) as typeof process.stdout.write;
const t0 = performance.now();
const code = await reportCommand(['--samples', samples, '--config', configFile, '--period', '2026-10', '--now', '2026-11-21T00:00:00Z', '--format', 'csv']);
const secs = (performance.now() - t0) / 1000;
process.stdout.write = write;
const peak = process.resourceUsage().maxRSS * 1024;

// 2. Per-probe cost of the sink: 100 targets, runs every 10 s of simulated time.
const cfg = parseConfig(yaml, 'bench.yaml');
let clock = START;
const sink = createAvailabilitySink({
  config: cfg, store: openStore(join(work, 'sinkdata')), metrics: createMetrics({ region: 'eu', version: 'bench', defaultMetrics: false }),
  log: pino({ level: 'silent' }), now: () => clock, refreshEvery: 3_600_000,
});
const measure = (n: number, fail: (k: number) => boolean) => {
  const s0 = performance.now();
  for (let k = 0; k < n; k++) {
    const tgt = cfg.targets[k % TARGETS]!;
    const t = clock + 100;
    clock = t;
    sink.onResult(tgt, fail(k) ? { success: false, reason: 'refused' } : { success: true }, { dueAt: t, startedAt: t, finishedAt: t + 5, durationSeconds: 0.005 });
  }
  return ((performance.now() - s0) * 1000) / n;
};
measure(2_000, () => false); // warm up
const steady = measure(100_000, () => false);
const changes = measure(20_000, (k) => Math.floor(k / TARGETS) % 2 === 0);
const r0 = performance.now();
sink.refresh();
const refreshMs = performance.now() - r0;
sink.close();

const fmt = (n: number) => n.toLocaleString('en-US');
process.stdout.write(`machine: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}
month report over ${fmt(outcomes)} outcomes (${(statSync(samples).size / 1e6).toFixed(0)} MB CSV, 100 targets, 10 s, 10 services x 2 policies):
  ${secs.toFixed(1)} s, ${fmt(Math.round(outcomes / secs))} outcomes/s, peak RSS ${(peak / 1e6).toFixed(0)} MB (RSS before: ${(rss0 / 1e6).toFixed(0)} MB), exit ${code}, ${outBytes} bytes of CSV
sink per probe: ${steady.toFixed(1)} us (same state as the last run), ${changes.toFixed(1)} us (every run a state change); full refresh of 10 services x 2 policies: ${refreshMs.toFixed(1)} ms
`);
if (!values.keep) rmSync(work, { recursive: true, force: true });
