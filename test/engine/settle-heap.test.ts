// settleHeap (src/engine/isolate.ts): the agent's isolates give back what start-up left,
// once. Checked in a fresh process against its control, a forced full GC (`gc()`) in the
// same process just before: the forced GC frees the garbage but keeps the heap's pages;
// settleHeap must shrink the heap to about its live objects and drop code run once. Then the agent itself, compiled
// as `npm start` runs it (dist/, built by `npm test`'s pretest): each isolate 10 s after the
// first round (and again every minute, SETTLE_EVERY_MS, not waited for here).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closedPort } from '../support/servers.ts';

const ISOLATE = pathToFileURL(join(import.meta.dirname, '../../src/engine/isolate.ts')).href;

describe('settleHeap', () => {
  it('shrinks the heap that a forced full GC leaves to about its live objects and flushes the bytecode it keeps, without --expose-gc, then gives V8 its flush age back', async () => {
    const script = `
      import { getHeapCodeStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
      import { runInNewContext } from 'node:vm';
      const { settleHeap } = await import(${JSON.stringify(ISOLATE)});
      // Start-up's kind of code: 3,000 functions, each run once.
      const fns = runInNewContext('[' + Array.from({ length: 3000 }, (_, i) => 'function (x) { let s = 0; for (let j = 0; j < x; j++) s += j * ' + i + '; return s; }').join(',') + ']');
      let sum = 0;
      for (const f of fns) sum += f(3);
      // Start-up's kind of garbage: 60 MiB or so of objects that lived a while, then died.
      let keep = [];
      for (let r = 0; r < 4; r++) { for (let i = 0; i < 300000; i++) keep.push({ i, s: 'x' + i }); await new Promise((d) => setTimeout(d, 10)); }
      keep = null;
      const exposedBefore = typeof globalThis.gc;
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc');
      setFlagsFromString('--no-expose-gc');
      gc({ type: 'major', execution: 'sync' });
      const forced = getHeapStatistics();
      const forcedCode = getHeapCodeStatistics().bytecode_and_metadata_size;
      const ok = settleHeap();
      const settled = getHeapStatistics();
      const settledCode = getHeapCodeStatistics().bytecode_and_metadata_size;
      // V8's own age comes back: new code, run once, outlives two ordinary full GCs.
      const more = runInNewContext('[' + Array.from({ length: 3000 }, (_, i) => 'function (x) { let s = 1; for (let j = 0; j < x; j++) s *= j + ' + i + '; return s; }').join(',') + ']');
      for (const f of more) sum += f(1);
      const { PerformanceObserver } = await import('node:perf_hooks');
      let majors = 0;
      const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === 4) majors++; });
      obs.observe({ entryTypes: ['gc'] });
      for (let r = 0; r < 200 && majors < 2; r++) { let junk = []; for (let i = 0; i < 300000; i++) junk.push({ i }); junk = null; await new Promise((d) => setTimeout(d, 5)); }
      obs.disconnect();
      const laterCode = getHeapCodeStatistics().bytecode_and_metadata_size;
      console.log(JSON.stringify({ sum, majors, laterCode, exposedBefore, exposedAfter: typeof globalThis.gc, ok, forced: [forced.used_heap_size, forced.total_heap_size, forcedCode], settled: [settled.used_heap_size, settled.total_heap_size, settledCode] }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { majors: number; laterCode: number; sum: number; exposedBefore: string; exposedAfter: string; ok: boolean; forced: [number, number, number]; settled: [number, number, number] };
    expect(out.ok).toBe(true);
    expect(out.sum).toBe(4 * (2999 * 3000) / 2);
    // The gc extension was borrowed, not left on this context's global.
    expect(out.exposedBefore).toBe('undefined');
    expect(out.exposedAfter).toBe('undefined');
    const MiB = 2 ** 20;
    // The control: the garbage is gone, the heap's pages are not.
    expect(out.forced[1] - out.forced[0]).toBeGreaterThan(20 * MiB);
    // Settled: the heap is about its live objects (which did not change).
    expect(out.settled[1] - out.settled[0]).toBeLessThan(6 * MiB);
    expect(out.forced[1] - out.settled[1]).toBeGreaterThan(20 * MiB);
    // The functions' bytecode, kept by the forced GC, is flushed.
    expect(out.settled[2]).toBeLessThan(out.forced[2] / 4);
    // And the flush age is V8's again: the second batch's bytecode outlived two full GCs.
    expect(out.majors).toBeGreaterThanOrEqual(2);
    expect(out.laterCode - out.settled[2]).toBeGreaterThan(200_000);
  });
});

describe('slaprobe run settles its heaps', () => {
  it('the compiled agent (npm start) runs one last-resort collection in the main thread and one in the engine, 10 s after the first round, and runs without the compile cache', async () => {
    const cli = join(import.meta.dirname, '../../dist/cli.js');
    expect(existsSync(cli), `${cli} is missing: npm test builds it (pretest); with vitest alone, run npm run build first`).toBe(true);
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-settle-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `agent:\n  region: settle\n  listen: 127.0.0.1:${port}\n  data_dir: ${join(dir, 'data')}\ntargets:\n  - name: self-tcp\n    kind: tcp\n    address: 127.0.0.1:${port}\n    interval: 5s\n    timeout: 1s\n`);
    // --trace-gc passes through the agent's re-execution; V8 names a collection the gc
    // extension asked for "testing" and one that reduces memory "(reduce)".
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLAPROBE_') && !k.startsWith('NODE_COMPILE')));
    // stdbuf -oL: V8 prints its traces through C's stdout, fully buffered into a pipe, so the
    // last lines of an idle agent would wait in the buffer.
    const c = spawn('stdbuf', ['-oL', process.execPath, '--trace-gc', cli, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => { out += String(d); });
    c.stderr.on('data', (d) => { err += String(d); });
    const settles = () => out.split('\n').filter((l) => /Mark-Compact \(reduce\).* testing;/.test(l));
    const isolates = () => new Set(settles().map((l) => /^\[\d+:(0x[0-9a-f]+)\]/.exec(l)?.[1]));
    try {
      const deadline = Date.now() + 45_000;
      while (isolates().size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const started = /\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: /.exec(settles()[0] ?? '')?.[1];
      expect(isolates().size, `${err}\n${out.slice(-2000)}`).toBe(2);
      // 10 s after a first round of one tcp probe (every 5 s, so that the engine, which
      // settles only with no probe in flight, has long idle gaps even on a loaded machine).
      expect(Number(started)).toBeGreaterThan(10_000);
      // Once each for now: a few seconds on, no isolate has settled again (a last-resort
      // collection is several reducing GCs in a row, all within one call).
      const count = settles().length;
      await new Promise((r) => setTimeout(r, 3_000));
      expect(settles().length).toBe(count);
      expect(err).toContain('metrics at');
      // Compiled, the agent runs without Node's compile cache, which would keep every
      // module's entry in memory (src/engine/isolate.ts FROM_SOURCE).
      expect(readFileSync(`/proc/${c.pid}/environ`, 'utf8').split('\0').filter((kv) => kv.startsWith('NODE_COMPILE_CACHE='))).toEqual([]);
    } finally {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
