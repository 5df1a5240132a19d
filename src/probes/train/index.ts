// The main thread's side of the packet-timing worker: one shared worker for every train,
// started on first use, referenced only while trains are running (so it never keeps a CLI
// process alive), restarted if it dies.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Worker } from 'node:worker_threads';
import type { IpProtocol } from '../../config/types.ts';
import { fail, type ProbeResult } from '../types.ts';
import { reasonForCode } from './result.ts';
import type { FromWorker, Job, ToWorker, TrainReport } from './protocol.ts';
import { type IsolateHeap, TRAIN_YOUNG_MB, startWorker, workerHeap } from '../../engine/isolate.ts';

export type { TrainReport } from './protocol.ts';

// Running from source (type stripping) the worker is worker.ts; built, it is worker.js.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

let worker: Worker | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve: (r: TrainReport) => void; reject: (e: Error) => void }>();

function getWorker(): Worker {
  if (worker) return worker;
  const w = startWorker(WORKER_URL, TRAIN_YOUNG_MB);
  w.on('message', (m: FromWorker) => {
    const id = m.type === 'done' ? m.report.id : m.id;
    const p = waiting.get(id);
    if (!p) return;
    waiting.delete(id);
    if (waiting.size === 0) w.unref();
    if (m.type === 'done') p.resolve(m.report);
    else p.reject(new Error(`packet worker: ${m.message}`));
  });
  const die = (err: Error) => {
    if (worker === w) worker = undefined;
    for (const p of waiting.values()) p.reject(err);
    waiting.clear();
  };
  w.on('error', die);
  w.on('exit', (code) => die(new Error(`packet worker exited with code ${code}`)));
  w.unref();
  worker = w;
  return w;
}

/** The packet worker's heap, undefined while none runs (it starts with the first train). */
export function packetWorkerHeap(): Promise<IsolateHeap | undefined> {
  return workerHeap(worker);
}

export type JobSpec = Job extends infer J ? (J extends Job ? Omit<J, 'id'> : never) : never;

/**
 * Run one train in the worker. Resolves with what was measured; on abort, with the packets
 * whose fate was known by then (the others are not counted). Rejects only if the worker
 * itself fails.
 */
export function runTrain(spec: JobSpec, signal: AbortSignal): Promise<TrainReport> {
  const id = nextId++;
  const w = getWorker();
  return new Promise<TrainReport>((resolve, reject) => {
    const onAbort = () => w.postMessage({ type: 'cancel', id } satisfies ToWorker);
    waiting.set(id, {
      resolve: (r) => { signal.removeEventListener('abort', onAbort); resolve(r); },
      reject: (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    });
    w.ref();
    w.postMessage({ type: 'start', job: { ...spec, id } as Job } satisfies ToWorker);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Resolve a host name once, on the main thread, honouring ip_protocol; a failed lookup is a
 * finished ProbeResult (reason from its errno code).
 */
export async function resolveTarget(host: string, proto: IpProtocol): Promise<{ address: string; family: 4 | 6 } | ProbeResult> {
  const literal = isIP(host);
  if (literal) return { address: host, family: literal as 4 | 6 };
  try {
    const r = await lookup(host, { family: proto === 'ip4' ? 4 : proto === 'ip6' ? 6 : 0 });
    return { address: r.address, family: r.family as 4 | 6 };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return fail(reasonForCode(code), `cannot resolve ${host}`, { code });
  }
}
