// The idle agent's memory (issue 13): `slaprobe run` on config/default.yaml exactly as
// `npm start` and the Docker image run it (the compiled dist/cli.js, no flag; built here
// first with `npm run build`), and beside it as a checkout runs it from the TypeScript source
// (`node src/cli.ts`). A fresh data dir, RSS split into anonymous and file-backed pages after
// it has settled, two starts of each in a row (from source, the first after a change refills
// Node's compile cache; see src/engine/isolate.ts). The default config listens on
// 127.0.0.1:9917, so that port must be free. Not a test.
//
//   node bench/footprint.ts [--seconds 300] [--runs both|compiled|source] [--pages]
// --seconds: how long each start runs; RSS is read at the end, and its mean, min and max
// over samples every 5 s from 60 s on (or from the end, if sooner; the agent settles its heaps 10 s after its first
// round of probes, up to 30 s on the default config, then every minute; in between they
// grow). --runs: only the compiled or only the source starts.
// --pages: also which parts of the node binary are resident in the second start listed
// (bench/support/binary-pages.ts; needs root and binutils: nm, readelf).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { residentBinaryPages } from './support/binary-pages.ts';
import { printTable, stopChild, waitHttp } from './support/process.ts';

const REPO = join(import.meta.dirname, '..');
const NODE = join(REPO, 'node_modules/.bin/node');
/** The binary the agent runs (the agent re-executes itself with its V8 flags: process.execPath). */
const NODE_BINARY = realpathSync(NODE);
const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '300' }, pages: { type: 'boolean', default: false }, runs: { type: 'string', default: 'both' } } });
if (!['both', 'compiled', 'source'].includes(args.runs)) throw new Error(`--runs must be both, compiled or source, not "${args.runs}"`);
/** RSS is sampled every SAMPLE_S from FROM_S on: an idle agent's heaps grow between two settles (src/engine/isolate.ts SETTLE_*). */
const SAMPLE_S = 5;
const FROM_S = Math.min(60, Number(args.seconds));

function status(pid: number) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile'), hwm: mib('VmHWM') };
}

const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: REPO, stdio: 'inherit' });
if (build.status !== 0) throw new Error('npm run build failed');

const rows: string[][] = [];
let pages: [string, number][] = [];
const all: [string, string][] = [
  ['compiled (npm start, Docker), start 1', 'dist/cli.js'],
  ['compiled (npm start, Docker), start 2', 'dist/cli.js'],
  // The first start after a change of the source strips (and caches) what changed; later ones read the cache.
  ['source (node src/cli.ts), start 1', 'src/cli.ts'],
  ['source (node src/cli.ts), start 2', 'src/cli.ts'],
];
const runs = all.filter(([, entry]) => args.runs === 'both' || entry.startsWith(args.runs === 'compiled' ? 'dist' : 'src'));
for (const [run, entry] of runs) {
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-bench-footprint-'));
  const agent = spawn(NODE, [join(REPO, entry), 'run', '--config', join(REPO, 'config/default.yaml'), '--data-dir', join(dir, 'data')], { stdio: 'ignore' });
  try {
    await waitHttp('http://127.0.0.1:9917/healthz', agent);
    const started = Date.now();
    const samples: number[] = [];
    for (;;) {
      const at = (Date.now() - started) / 1000;
      if (at >= FROM_S) samples.push(status(agent.pid!).rss);
      if (at >= Number(args.seconds)) break;
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_S, Math.max(0.1, Number(args.seconds) - at)) * 1000));
    }
    const m = status(agent.pid!);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    rows.push([run, m.rss.toFixed(1), m.anon.toFixed(1), m.file.toFixed(1), mean.toFixed(1), Math.min(...samples).toFixed(1), Math.max(...samples).toFixed(1), m.hwm.toFixed(1)]);
    if (args.pages && run === runs[1]?.[0]) pages = residentBinaryPages(agent.pid!, NODE_BINARY);
  } finally {
    await stopChild(agent);
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`idle agent, config/default.yaml, ${args.seconds} s after start (mean, min and max: every ${SAMPLE_S} s from ${FROM_S} s on), ${new Date().toISOString()}`);
printTable(['run', 'RSS MiB', 'anonymous MiB', 'file MiB', 'RSS mean MiB', 'RSS min MiB', 'RSS max MiB', 'peak MiB'], rows);
if (pages.length > 0) {
  // The floor beside it: a bare Node with one idle worker thread (the agent has the main
  // thread and the probe engine's), same binary, 5 s after start.
  const bare = spawn(NODE_BINARY, ['-e', "new (require('node:worker_threads').Worker)('setInterval(() => {}, 1000)', { eval: true }); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
  let floor: Map<string, number>;
  try {
    await new Promise((r) => setTimeout(r, 5_000));
    floor = new Map(residentBinaryPages(bare.pid!, NODE_BINARY));
  } finally {
    await stopChild(bare);
  }
  console.log(`\nresident pages of ${NODE_BINARY} in ${runs[1]?.[0] ?? ''}, by component (symbols: nm; a bare node with one worker thread beside it)`);
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const shown = pages.filter(([, b]) => b >= 0.1 * 1048576);
  const rest = pages.filter(([, b]) => b < 0.1 * 1048576);
  const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
  printTable(['component', 'agent MiB', 'bare node + worker MiB'], [
    ...shown.map(([c, b]) => [c, mib(b), mib(floor.get(c) ?? 0)]),
    ['smaller parts', mib(sum(rest.map(([, b]) => b))), mib(sum(rest.map(([c]) => floor.get(c) ?? 0)))],
    ['all', mib(sum(pages.map(([, b]) => b))), mib(sum(floor.values()))],
  ]);
}
