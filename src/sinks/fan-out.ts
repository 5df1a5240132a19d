// The one loop that hands each result to every sink, in order. A sink that throws (the
// outbox refusing a run's samples while the store's commits fail, say) is counted by name in
// slaprobe_sink_errors_total and passed over: the other sinks still get the result. Its log
// line is written at most once a minute per sink, with how many failures it stood for, so a
// sink failing on every run of 10,000 targets does not write hundreds of lines a second to a
// disk that may be the full one.
import type { Target } from '../config/types.ts';
import { type Logger, lineLimiter } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta, Sink } from './types.ts';

/** Sink names: the `sink` label's values. */
export type SinkName = 'metrics' | 'log' | 'push' | 'quality' | 'availability';
/** A failing sink's log line, at most this often (ms). */
export const SINK_LOG_EVERY = 60_000;

export function createFanOut(
  sinks: readonly { name: SinkName; sink: Sink }[],
  deps: { metrics: Metrics; log: Logger; now?: () => number },
): (target: Target, result: ProbeResult, meta: RunMeta) => void {
  const now = deps.now ?? Date.now;
  const lines = new Map<SinkName, ReturnType<typeof lineLimiter>>();
  for (const { name } of sinks) deps.metrics.sinkErrors.inc({ sink: name }, 0);
  return (target, result, meta) => {
    for (const { name, sink } of sinks) {
      try {
        sink.onResult(target, result, meta);
      } catch (e) {
        deps.metrics.sinkErrors.inc({ sink: name });
        const first = !lines.has(name);
        if (first) lines.set(name, lineLimiter(SINK_LOG_EVERY, now));
        const suppressed = lines.get(name)!.take();
        if (suppressed === undefined) continue;
        deps.log.error(
          { err: e, code: (e as { code?: string }).code, sink: name, target: target.name, ...(first ? {} : { suppressed_since_last_line: suppressed }) },
          `the ${name} sink failed on a result; the other sinks still got it (counted in slaprobe_sink_errors_total; one line a minute per sink)`,
        );
      }
    }
  };
}
