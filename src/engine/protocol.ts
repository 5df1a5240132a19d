// Messages between the agent's main thread and the probe engine worker (which sends arrays
// of FromEngine, batched).
import type { Target } from '../config/types.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta } from '../sinks/types.ts';

export type ToEngine =
  | { type: 'set'; targets: Target[] }
  | { type: 'stop' };

export type FromEngine =
  | { type: 'result'; target: string; result: ProbeResult; meta: RunMeta }
  | { type: 'skip'; target: string }
  | { type: 'first-round' }
  | { type: 'stopped' };
