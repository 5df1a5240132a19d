// Messages between the agent's main thread and the probe engine worker (which sends arrays
// of FromEngine, batched).
import type { Target } from '../config/types.ts';
import type { IsolateHeap } from './isolate.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta } from '../sinks/types.ts';

export type ToEngine =
  | { type: 'set'; targets: Target[]; concurrency?: number; settle?: boolean }
  | { type: 'stop' }
  /** Asks for the packet worker's heap (the engine starts that worker, so only it can read it). */
  | { type: 'heap'; id: number };

export type FromEngine =
  | { type: 'result'; target: string; result: ProbeResult; meta: RunMeta }
  | { type: 'skip'; target: string }
  | { type: 'first-round' }
  | { type: 'stopped' }
  | { type: 'heap'; id: number; packet: IsolateHeap | undefined };
