// `slaprobe run` re-executes itself with its V8 flags and glibc malloc settings
// (src/engine/isolate.ts execTuned), so that nobody has to pass them; a setting the user
// exported wins over the agent's. Read from the running agent's /proc entries. Before that,
// running from source, it fills the compile cache so that no isolate loads Node's
// TypeScript stripper: read from the agent's own slaprobe_isolate_external_memory_bytes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MALLOC_ENV, MAIN_FLAGS } from '../../src/engine/isolate.ts';
import { closedPort } from '../support/servers.ts';

const CLI = join(import.meta.dirname, '../../src/cli.ts');

describe('slaprobe run tunes its own process', () => {
  it('runs with MAIN_FLAGS and MALLOC_ENV in the same pid; the user\'s own MALLOC_TRIM_THRESHOLD_ is kept', async () => {
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-exec-'));
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLAPROBE_') && !k.startsWith('MALLOC_'))), MALLOC_TRIM_THRESHOLD_: '262144' };
    const c = spawn(process.execPath, [CLI, 'run', '--listen', `127.0.0.1:${port}`, '--data-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'], env });
    try {
      let stderr = '';
      c.stderr.on('data', (d) => { stderr += String(d); });
      const deadline = Date.now() + 30_000;
      while (!stderr.includes('metrics at') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toContain('metrics at');
      const environ = Object.fromEntries(readFileSync(`/proc/${c.pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      const argv = readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').split('\0');
      for (const f of MAIN_FLAGS) expect(argv).toContain(f);
      expect(environ['MALLOC_ARENA_MAX']).toBe(MALLOC_ENV.MALLOC_ARENA_MAX);
      expect(environ['MALLOC_MMAP_THRESHOLD_']).toBe(MALLOC_ENV.MALLOC_MMAP_THRESHOLD_);
      expect(environ['MALLOC_TRIM_THRESHOLD_']).toBe('262144');
    } finally {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  }, 60_000);

  it('fills a fresh compile cache before the first start: the main isolate holds no TypeScript stripper, unlike a start without it', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLAPROBE_') && !k.startsWith('NODE_COMPILE') && k !== 'NODE_DISABLE_COMPILE_CACHE'));
    /** The main isolate's memory outside its heap, from the agent's own gauge. */
    const mainExternal = async (extra: Record<string, string>): Promise<number> => {
      const port = await closedPort();
      const dir = mkdtempSync(join(tmpdir(), 'slaprobe-warm-'));
      const c = spawn(process.execPath, [CLI, 'run', '--listen', `127.0.0.1:${port}`, '--data-dir', dir], { stdio: 'ignore', env: { ...env, ...extra } });
      try {
        const deadline = Date.now() + 45_000;
        while (Date.now() < deadline) {
          const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
          const m = /^slaprobe_isolate_external_memory_bytes\{isolate="main",region="[^"]*"\} (\S+)$/m.exec(text);
          if (m) return Number(m[1]);
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error('the agent did not answer /metrics');
      } finally {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    };
    // The control: no re-execution, no compile cache: the main thread strips every module.
    const cold = await mainExternal({ SLAPROBE_NO_EXEC: '1', NODE_DISABLE_COMPILE_CACHE: '1' });
    const cache = mkdtempSync(join(tmpdir(), 'slaprobe-cache-'));
    const warm = await mainExternal({ NODE_COMPILE_CACHE: cache });
    expect(readdirSync(cache).some((f) => f.startsWith('slaprobe-warm-'))).toBe(true);
    // The stripper's WebAssembly memory is several MiB of ArrayBuffer; the warm start has none.
    expect(cold - warm).toBeGreaterThan(4 * 2 ** 20);
  }, 120_000);

  // The warm-up imports every module of src/ in a plain process: the three worker entry
  // modules must stop at their first statement there, before a socket, a timer or a listener.
  it.each([
    ['src/engine/worker.ts', 'the engine worker must run in a worker thread'],
    ['src/probes/train/worker.ts', 'the packet worker must run in a worker thread'],
    ['src/reflector/worker.ts', 'the reflector worker must run in a worker thread'],
  ])('%s, imported outside a worker thread, throws its guard and leaves nothing running', async (file, message) => {
    const url = pathToFileURL(join(import.meta.dirname, '../..', file)).href;
    // A leftover handle would keep the process alive past the import: it must exit at once.
    const script = `process.stdout.write(""); process.stderr.write(""); const before = process.getActiveResourcesInfo().length; import(${JSON.stringify(url)}).then(() => console.log('imported'), (e) => console.log('threw: ' + e.message)).then(() => console.log('handles ' + (process.getActiveResourcesInfo().length - before)))`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`threw: ${message}`);
    expect(r.stdout).toContain('handles 0');
  });
});
