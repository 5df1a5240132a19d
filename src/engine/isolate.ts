// How the agent's V8 isolates are sized and started (issue 13, docs/bench-core.md
// "Memory"). Measured per isolate with v8.getHeapStatistics(): at 500 HTTP probes/s V8 let
// the engine worker's young generation grow to 128 MiB and the main thread's to 64 MiB,
// most of the agent's RSS, for garbage that dies young either way; and running from source,
// every isolate loaded Node's TypeScript stripper (amaro, an 11 MiB WebAssembly memory
// that never shrinks) to strip the same files at every start.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

/**
 * Flags of the main thread's isolate (process-wide V8 flags, so the workers get the same
 * old-generation policy; their young generation is set per worker below). The main thread
 * only receives results and serves scrapes: a 1 MiB semi-space (a 3 MiB young generation)
 * is plenty. --heap-growing-percent=30 lets each old generation grow to 1.3x what survived
 * the last full GC before the next one, instead of up to 4x: at 500 probes/s that held the
 * two old generations at about 45 MiB instead of about 80, for a few per cent of CPU.
 * --memory-saver-mode is V8's heap policy for a machine short of memory (what Chrome turns
 * on for its isolates then; no compiler setting changes): the old generation's limit grows
 * by at least 2 MiB past what survived instead of 8, so each isolate's heap stays within
 * about 1.3x its live objects. Measured in interleaved pairs (docs/bench-core.md "A ninth
 * look"): 6-10 MiB less at 500 probes/s and 25 MiB less at 10,000 targets, for about 7 %
 * more CPU per probe.
 */
export const MAIN_FLAGS = ['--max-semi-space-size=1', '--heap-growing-percent=30', '--memory-saver-mode'] as const;
/** glibc malloc settings for the agent's process (execTuned); the user's own environment wins. */
export const MALLOC_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '32768', MALLOC_TRIM_THRESHOLD_: '8388608' } as const;
/**
 * Young generation (maxYoungGenerationSizeMb) of the probe engine and the packet worker, where
 * no --max-semi-space-size is set (an agent started in-process, as tests do). Under `slaprobe
 * run` V8 gives MAIN_FLAGS' --max-semi-space-size precedence over a worker's resource limit,
 * so every isolate has 1 MiB semi-spaces (--trace-gc-nvp: new_space_capacity=1048576 in the
 * engine). Measured at 500 probes/s, a 4 MiB semi-space for the engine alone cut its
 * scavenges from 24 to 6 a second but not their total time (the cost is the survivors) for
 * 6 MiB more heap, so it is not given one (docs/bench-core.md "An eighth look").
 */
export const ENGINE_YOUNG_MB = 8;
export const TRAIN_YOUNG_MB = 8;

/** One isolate's V8 heap, bytes (slaprobe_isolate_heap_*): used, reserved, and memory held outside it (ArrayBuffers). */
export interface IsolateHeap { used: number; size: number; external: number }

const heapOf = (s: { used_heap_size: number; total_heap_size: number; external_memory: number }): IsolateHeap => ({ used: s.used_heap_size, size: s.total_heap_size, external: s.external_memory });

/** This thread's heap. */
export const ownHeap = (): IsolateHeap => heapOf(getHeapStatistics());

type Gc = (o: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * How often an agent's isolates settle (settleHeap): after the first round of probes (10 s
 * after it), then every minute. Between two, an idle agent's heaps grow back by about
 * 1 MiB a minute (new objects up to V8's next full GC, code compiled again) and, left
 * alone, level off 3-3.5 MiB above the settled figure (docs/bench-core.md "An eleventh look").
 */
export const SETTLE_FIRST_MS = 10_000;
export const SETTLE_EVERY_MS = 60_000;
/** While `idle()` is false when a settle is due, it is tried again this often, up to SETTLE_TRIES times (about a minute), then left to the next. 1.25 s is not a divisor of the intervals targets have, so the tries do not lock into the phase of a schedule. */
const SETTLE_RETRY_MS = 1_250;
const SETTLE_TRIES = 48;

/** This isolate's gc extension function and whether the user set the flush age, found at its first settleHeap. */
let settleGc: Gc | undefined;
let ownAge = false;

/**
 * Settles this isolate's heap SETTLE_FIRST_MS from now and every SETTLE_EVERY_MS after,
 * each time at a moment when `idle()` holds (the engine: no probe running or queued; the
 * main thread, which times nothing: always). Returns the function that stops it. The timers
 * never hold the process.
 */
export function scheduleSettling(idle: () => boolean): () => void {
  let timer: NodeJS.Timeout | undefined;
  const attempt = (tries: number) => {
    if (idle()) settleHeap();
    else if (tries > 1) {
      timer = setTimeout(() => attempt(tries - 1), SETTLE_RETRY_MS).unref();
      return;
    }
    timer = setTimeout(() => attempt(SETTLE_TRIES), SETTLE_EVERY_MS).unref();
  };
  timer = setTimeout(() => attempt(SETTLE_TRIES), SETTLE_FIRST_MS).unref();
  return () => clearTimeout(timer);
}

/**
 * Gives the calling thread's isolate back what start-up and the time since left behind:
 * V8's last-resort collection (several memory-reducing full GCs, as V8 runs before it gives
 * up on an allocation), which shrinks the heap to its live objects and frees the pages V8
 * pools for reuse, where a forced full GC (`gc()`) keeps both, and with it the bytecode of every
 * function not run since the last full GC (below). Measured on an idle agent with the
 * default config: 2,400-2,600 functions flushed in each of the main thread and the engine,
 * and about 3 MiB of RSS in all (docs/bench-core.md "An eleventh look"). V8 exposes it only
 * through its `gc` extension: --expose-gc is set long enough to create one context that
 * has it, then unset (the flag is process-wide, read when a context is made); the function
 * is kept for the isolate's later calls. Synchronous, a pause of 50-80 ms: callers run it
 * where nothing is being timed (scheduleSettling). False if V8 refused.
 */
export function settleHeap(): boolean {
  try {
    if (!settleGc) {
      settleGc = (globalThis as { gc?: Gc }).gc;
      if (!settleGc) {
        setFlagsFromString('--expose-gc');
        try {
          settleGc = runInNewContext('gc') as Gc;
        } finally {
          setFlagsFromString('--no-expose-gc');
        }
      }
      // V8 drops a function's bytecode once it has gone unused for --bytecode-old-age full
      // GCs (6); for these collections, one: what start-up alone ran (config loading,
      // module set-up) goes, and is compiled again if it is ever called again. The flag is
      // process-wide and read at each GC, so another isolate collecting meanwhile flushes
      // sooner too, harmlessly. A value the user set is left alone.
      ownAge = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((a) => a.startsWith('--bytecode-old-age'));
    }
    const gc = settleGc;
    if (!ownAge) setFlagsFromString('--bytecode-old-age=1');
    try {
      gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    } finally {
      if (!ownAge) setFlagsFromString('--bytecode-old-age=6');
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * A worker's heap (Worker.getHeapStatistics, read by V8 on the worker's own thread), or
 * undefined if there is no worker, it is not running, or it does not answer within `ms`
 * (a scrape never waits on a stuck thread).
 */
export function workerHeap(w: Worker | undefined, ms = 1_000): Promise<IsolateHeap | undefined> {
  return w ? within(w.getHeapStatistics().then(heapOf), ms) : Promise.resolve(undefined);
}

/** `p`'s value, or undefined if it rejects or has not settled within `ms` (the timer never holds the process). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
    p.then(resolve, () => resolve(undefined)).finally(() => clearTimeout(timer));
  });
}

/**
 * Whether this agent runs from the TypeScript source (a checkout: `node src/cli.ts`) rather
 * than the compiled dist/ (`npm start`, the Docker image). Only from source is Node's compile
 * cache worth its memory: Node keeps every entry it reads or writes in memory for the life of
 * the process (its CompileCacheHandler keeps "the in-memory entry"), in every isolate, which
 * measured 1-1.5 MiB of an idle compiled agent for about 15 ms less start-up
 * (docs/bench-core.md "An eleventh look"); from source it spares each isolate the stripper.
 */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Starts a worker thread on a module, with its young generation capped; from the TypeScript
 * source, through Node's compile cache: a module stripped or compiled once (by any isolate,
 * any earlier run) is read back from the cache, so the worker never loads the stripper. The
 * cache lives where Node puts it by default (NODE_COMPILE_CACHE, else
 * <tmpdir>/node-compile-cache); if it cannot be written, the module loads as before.
 */
export function startWorker(url: URL, youngMb: number): Worker {
  const boot = `${FROM_SOURCE ? "require('node:module').enableCompileCache?.(); " : ''}import(${JSON.stringify(url.href)});`;
  return new Worker(boot, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: youngMb } });
}

const SRC = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * Fills Node's compile cache with every module of src/ before the agent starts from source,
 * once per version of the tree: otherwise the first start after an install or a change
 * strips the changed files in each isolate that loads them, and each such isolate keeps
 * Node's TypeScript stripper (amaro, 11 MiB of WebAssembly memory plus its code) until the
 * agent stops: 129.6 MiB instead of 103.9 idle on a fresh clone (docs/bench-core.md). The
 * imports run in a throwaway child process; the three worker entry modules throw at their
 * first statement outside a worker thread (a guard in each, tested), once their imports are
 * compiled, which is all the cache needs. A stamp named
 * after the files' sizes and times (and the Node version) marks a cache filled; with one,
 * this costs a directory walk. Any failure leaves the agent to start as before.
 */
export function warmCompileCache(cache: string): void {
  if (!FROM_SOURCE) return; // compiled JavaScript: nothing to strip
  try {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.ts')) files.push(join(d, e.name));
      }
    };
    walk(SRC);
    files.sort();
    const h = createHash('sha256').update(process.version);
    for (const f of files) {
      const s = statSync(f);
      h.update(`${f}\0${s.size}\0${s.mtimeMs}\0`);
    }
    const stamp = join(cache, `slaprobe-warm-${h.digest('hex').slice(0, 16)}`);
    if (existsSync(stamp)) return;
    const script = `for (const f of ${JSON.stringify(files)}) { try { await import(require('node:url').pathToFileURL(f).href); } catch {} } require('node:module').flushCompileCache?.(); process.exit(0);`;
    // The same V8 flags as the agent: Node keeps a cache per set of flags.
    const r = spawnSync(process.execPath, [...MAIN_FLAGS, '--input-type=commonjs', '-e', `(async () => { ${script} })()`], {
      env: { ...process.env, NODE_COMPILE_CACHE: cache, SLAPROBE_NO_EXEC: '1' }, stdio: 'ignore', timeout: 20_000,
    });
    if (r.status === 0) {
      mkdirSync(cache, { recursive: true });
      writeFileSync(stamp, '');
    }
  } catch { /* start cold: only the footprint of this one run differs */ }
}

/**
 * For `slaprobe run` only: replaces this process (same pid, same stdio; POSIX execve, no
 * wrapper process) by itself with MAIN_FLAGS (and, from source, the compile cache on from
 * the first module), so that no one has to pass a flag. An isolate's heap is sized when it
 * is created, hence the exec. Does nothing if --max-semi-space-size is already there (the
 * user's own, or after the exec), if SLAPROBE_NO_EXEC is set, or where process.execve is
 * missing (Windows); if the exec fails, the agent runs unchanged.
 */
export function execTuned(): void {
  if (process.env['SLAPROBE_NO_EXEC'] || !process.execve) return;
  if (process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) return;
  const args = [process.execPath, ...MAIN_FLAGS, ...process.execArgv, ...process.argv.slice(1)];
  // From source only (FROM_SOURCE); a NODE_COMPILE_CACHE the user exported is theirs either way.
  const cache = FROM_SOURCE ? process.env['NODE_COMPILE_CACHE'] ?? join(tmpdir(), 'node-compile-cache') : undefined;
  if (cache) warmCompileCache(cache);
  try {
    // glibc reads these at process start. MALLOC_ARENA_MAX: glibc gives each thread that
    // allocates its own arena (the main thread, the workers, V8's and libuv's helpers); with
    // 2 the native heap of a busy agent measured 20 MiB smaller, at no visible CPU cost.
    // MALLOC_MMAP_THRESHOLD_ at 32 KiB: glibc otherwise raises its mmap threshold after
    // each large free, up to 32 MiB, so large blocks come from the arenas and their pages
    // stay after they are freed; and below 64 KiB, the buffer Node reads a socket into
    // (libuv's suggested size) before it keeps only the bytes read: from an arena, those
    // leave holes that no trim gives back (at 500 probes/s 131-134 MiB of RSS with 64 or 128 KiB here, 120-124 with
    // 16 or 32; idle, a one-off 8 MiB step in one start of two), while from mmap each is one
    // mapping, unmapped when freed, at no CPU cost measurable per probe (docs/bench-core.md,
    // "Memory, fourth pass"). MALLOC_TRIM_THRESHOLD_ at 8 MiB: the arena's free top is
    // given back once it passes 8 MiB. Measured side by side (2026-12-01, docs/bench-core.md):
    // a 128 KiB trim threshold saved about 3 MiB more at 10,000 targets but cost 15-25 %
    // more CPU per probe at 500 probes/s (the heap shrunk and grown again); glibc's own
    // defaults cost 10 MiB more at 500 probes/s and 10-15 MiB more at 10,000 targets for
    // 5-10 % less CPU. The user's own MALLOC_* values win.
    process.execve(process.execPath, args, { ...MALLOC_ENV, ...process.env, ...(cache ? { NODE_COMPILE_CACHE: cache } : {}) });
  } catch { /* run as is: only the footprint differs */ }
}
