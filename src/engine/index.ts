// The main thread's handle on the probe engine worker (see worker.ts). If the worker dies,
// which only a bug can cause, it is started again with the same targets.
import type { Worker } from 'node:worker_threads';
import type { Target } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta } from '../sinks/types.ts';
import type { FromEngine, ToEngine } from './protocol.ts';
import { ENGINE_YOUNG_MB, type IsolateHeap, startWorker, within, workerHeap } from './isolate.ts';

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

/** How long stop() waits for running probes to wind down before it ends the worker. */
export const STOP_GRACE_MS = 10_000;

export interface EngineDeps {
  concurrency: number;
  log: Logger;
  onResult(target: Target, result: ProbeResult, meta: RunMeta): void;
  onSkip(target: string): void;
  onLateness(seconds: number): void;
  /** `slaprobe run`: the engine's heap settles when idle (src/engine/worker.ts, settleHeap). */
  settleHeap?: boolean;
}

export interface Engine {
  set(targets: readonly Target[]): void;
  firstRound(): Promise<void>;
  stop(): Promise<void>;
  /** The engine's and the packet worker's heaps, those that run and answer within a second. */
  heap(): Promise<{ engine?: IsolateHeap; packet?: IsolateHeap }>;
}

export function startEngine(deps: EngineDeps): Engine {
  let targets = new Map<string, Target>();
  let firstDone = false;
  let firstWaiters: (() => void)[] = [];
  let stopping: Promise<void> | undefined;
  let worker: Worker;
  let heapId = 0;
  const heapWaiters = new Map<number, (h: IsolateHeap | undefined) => void>();

  const send = (m: ToEngine) => worker.postMessage(m);
  const sendSet = (ts: Target[]) => send({ type: 'set', targets: ts, concurrency: deps.concurrency, settle: deps.settleHeap === true });
  const handle = (m: FromEngine) => {
    switch (m.type) {
      case 'result': {
        if (stopping) break; // see worker.ts: shutdown-aborted runs are not observations
        deps.onLateness(Math.max(0, m.meta.startedAt - m.meta.dueAt) / 1000);
        const t = targets.get(m.target);
        if (t) deps.onResult(t, m.result, m.meta);
        break;
      }
      case 'skip':
        deps.onSkip(m.target);
        break;
      case 'first-round':
        firstDone = true;
        firstWaiters.forEach((f) => f());
        firstWaiters = [];
        break;
      case 'stopped':
        break;
      case 'heap':
        heapWaiters.get(m.id)?.(m.packet);
        break;
    }
  };
  let alive = false;
  const spawn = () => {
    worker = startWorker(WORKER_URL, ENGINE_YOUNG_MB);
    alive = true;
    worker.on('message', (batch: FromEngine[]) => { for (const m of batch) handle(m); });
    worker.on('error', (e) => deps.log.error({ err: e }, 'probe engine worker failed'));
    worker.on('exit', (code) => {
      alive = false;
      if (stopping) return;
      deps.log.error({ code }, 'probe engine worker exited; restarting it');
      spawn();
      sendSet([...targets.values()]);
    });
  };
  spawn();

  return {
    set(next) {
      targets = new Map(next.map((t) => [t.name, t]));
      sendSet([...next]);
    },
    firstRound() {
      return firstDone ? Promise.resolve() : new Promise((r) => firstWaiters.push(r));
    },
    async heap() {
      if (!alive) return {};
      const id = ++heapId;
      const answer = new Promise<IsolateHeap | undefined>((resolve) => heapWaiters.set(id, resolve));
      send({ type: 'heap', id });
      const [engine, p] = await Promise.all([workerHeap(worker), within(answer, 1_000).finally(() => heapWaiters.delete(id))]);
      return { ...(engine && { engine }), ...(p && { packet: p }) };
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        // A worker already gone sends no 'exit' again; one stuck in a loop never reads 'stop'.
        if (!alive) return resolve();
        const timer = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
        worker.once('exit', () => { clearTimeout(timer); resolve(); });
        send({ type: 'stop' });
      });
      return stopping;
    },
  };
}
