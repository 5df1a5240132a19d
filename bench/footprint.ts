// The idle agent's memory (issue 13): `slaprobe run` on config/default.yaml exactly as
// `npm start` runs it (from the TypeScript source, no flag), a fresh data dir, RSS split into
// anonymous and file-backed pages after it has settled, two starts in a row (the first
// after a change of the source refills Node's compile cache; see src/engine/isolate.ts). The
// default config listens on 127.0.0.1:9917, so that port must be free. Not a test.
//
//   node bench/footprint.ts [--seconds 60] [--pages]
// --pages: also which parts of the node binary are resident in the second start
// (bench/support/binary-pages.ts; needs root and binutils: nm, readelf).
import { spawn } from 'node:child_process';
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
const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, pages: { type: 'boolean', default: false } } });

function status(pid: number) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile'), hwm: mib('VmHWM') };
}

const rows: string[][] = [];
let pages: [string, number][] = [];
// The first start after a change of the source strips (and caches) what changed; later ones read the cache.
for (const start of ['start 1', 'start 2']) {
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-bench-footprint-'));
  const agent = spawn(NODE, [join(REPO, 'src/cli.ts'), 'run', '--config', join(REPO, 'config/default.yaml'), '--data-dir', join(dir, 'data')], { stdio: 'ignore' });
  try {
    await waitHttp('http://127.0.0.1:9917/healthz', agent);
    await new Promise((r) => setTimeout(r, Number(args.seconds) * 1000));
    const m = status(agent.pid!);
    rows.push([start, m.rss.toFixed(1), m.anon.toFixed(1), m.file.toFixed(1), m.hwm.toFixed(1)]);
    if (args.pages && start === 'start 2') pages = residentBinaryPages(agent.pid!, NODE_BINARY);
  } finally {
    await stopChild(agent);
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`idle agent, config/default.yaml, ${args.seconds} s after start, ${new Date().toISOString()}`);
printTable(['run', 'RSS MiB', 'anonymous MiB', 'file MiB', 'peak MiB'], rows);
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
  console.log(`\nresident pages of ${NODE_BINARY} in start 2, by component (symbols: nm; a bare node with one worker thread beside it)`);
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
