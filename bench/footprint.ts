// The idle agent's memory (issue 13): `slaprobe run` on config/default.yaml exactly as
// `npm start` runs it (from the TypeScript source, no flag), a fresh data dir, RSS split into
// anonymous and file-backed pages after it has settled, two starts in a row (the first
// after a change of the source refills Node's compile cache; see src/engine/isolate.ts). The
// default config listens on 127.0.0.1:9917, so that port must be free. Not a test.
//
//   node bench/footprint.ts [--seconds 60]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { printTable, stopChild, waitHttp } from './support/process.ts';

const REPO = join(import.meta.dirname, '..');
const NODE = join(REPO, 'node_modules/.bin/node');
const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '60' } } });

function status(pid: number) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile'), hwm: mib('VmHWM') };
}

const rows: string[][] = [];
// The first start after a change of the source strips (and caches) what changed; later ones read the cache.
for (const start of ['start 1', 'start 2']) {
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-bench-footprint-'));
  const agent = spawn(NODE, [join(REPO, 'src/cli.ts'), 'run', '--config', join(REPO, 'config/default.yaml'), '--data-dir', join(dir, 'data')], { stdio: 'ignore' });
  try {
    await waitHttp('http://127.0.0.1:9917/healthz', agent);
    await new Promise((r) => setTimeout(r, Number(args.seconds) * 1000));
    const m = status(agent.pid!);
    rows.push([start, m.rss.toFixed(1), m.anon.toFixed(1), m.file.toFixed(1), m.hwm.toFixed(1)]);
  } finally {
    await stopChild(agent);
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`idle agent, config/default.yaml, ${args.seconds} s after start, ${new Date().toISOString()}`);
printTable(['run', 'RSS MiB', 'anonymous MiB', 'file MiB', 'peak MiB'], rows);
