// The push sink: turns each run into the fleet's samples (src/fleet/wire.ts), stamped with the
// run's START time, and commits them to the durable outbox. It does no network I/O: the
// outbox's senders do, in the background, so a slow or dead store never delays a probe.
import type { Config, Target } from '../config/types.ts';
import type { Outbox, OutboxSample } from '../fleet/outbox.ts';
import { DEGRADED_METRIC, INTERVAL_METRIC, LABEL_AGENT, LABEL_REGION, LABEL_TARGET, OUTCOME_METRIC } from '../fleet/wire.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta, Sink } from './types.ts';

export interface PushSink extends Sink {
  /** The target's quality verdict changed at `at` (the quality sink's breach callback). */
  markDegraded(target: string, degraded: boolean, at: number): void;
}

export function createPushSink(deps: { config: Config; outbox: Outbox }): PushSink {
  const { agent } = deps.config;
  const degraded = new Map<string, boolean>();
  const lastTs = new Map<string, number>();

  const sample = (metric: string, target: string, ts: number, value: number): OutboxSample => {
    // Sorted by name, as the remote-write spec asks: __name__ < agent < region < target.
    const labels = [['__name__', metric], [LABEL_AGENT, agent.name], [LABEL_REGION, agent.region], [LABEL_TARGET, target]] as const;
    // Two samples of one series at one timestamp with different values conflict in every
    // store; a verdict change landing on the next run's start millisecond moves by 1 ms.
    const key = `${metric}\0${target}`;
    const prev = lastTs.get(key);
    // Remote write carries whole milliseconds; the run clock has fractions.
    const whole = Math.floor(ts);
    const t = prev !== undefined && whole <= prev ? prev + 1 : whole;
    lastTs.set(key, t);
    return { labels, ts: t, value };
  };

  return {
    onResult(target: Target, r: ProbeResult, meta: RunMeta) {
      const out = [
        sample(OUTCOME_METRIC, target.name, meta.startedAt, r.success ? 1 : 0),
        sample(INTERVAL_METRIC, target.name, meta.startedAt, target.interval / 1000),
      ];
      // Packet targets (the only ones with quality thresholds): the verdict in force when the
      // run started; a change this run brings arrives through markDegraded, at its own time.
      if (target.quality) out.push(sample(DEGRADED_METRIC, target.name, meta.startedAt, degraded.get(target.name) ? 1 : 0));
      deps.outbox.append(out);
    },
    markDegraded(target, isDegraded, at) {
      degraded.set(target, isDegraded);
      deps.outbox.append([sample(DEGRADED_METRIC, target, at, isDegraded ? 1 : 0)]);
    },
  };
}
