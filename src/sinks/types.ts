// Results flow from the engine to the sinks through this one-method interface, in one
// fan-out loop (src/sinks/fan-out.ts). A sink must not block: it does its I/O in the
// background. One that throws is counted (slaprobe_sink_errors_total), logged at most once a
// minute, and passed over: the other sinks still get the result.
import type { Target } from '../config/types.ts';
import type { ProbeResult } from '../probes/types.ts';

export interface RunMeta {
  /** Unix ms at which the run was due (start + n x interval + offset). */
  dueAt: number;
  /** Unix ms at which the run started. */
  startedAt: number;
  /** Unix ms at which the run finished. */
  finishedAt: number;
  /** Seconds the run took, measured with the monotonic clock. */
  durationSeconds: number;
  /** Milliseconds the run's deadline was moved for stalls of the agent's event loop (src/runner.ts STALL_MS); 0 or absent when none. */
  stalledMs?: number;
}

export interface Sink {
  onResult(target: Target, result: ProbeResult, meta: RunMeta): void;
}
