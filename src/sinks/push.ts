// The push sink: turns each run into the fleet's samples (src/fleet/wire.ts), stamped with the
// run's START time, and commits them to the durable outbox. It does no network I/O: the
// outbox's senders do, in the background, so a slow or dead store never delays a probe.
import type { Config, ServiceRule, Target } from '../config/types.ts';
import type { Outbox, OutboxSample } from '../fleet/outbox.ts';
import {
  DEGRADED_METRIC, INTERVAL_METRIC, LABEL_AGENT, LABEL_REGION, LABEL_SERVICE, LABEL_TARGET, OUTCOME_METRIC, SERVICE_INFO_METRIC,
} from '../fleet/wire.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta, Sink } from './types.ts';

export interface PushSink extends Sink {
  /** The target's quality verdict changed at `at` (the quality sink's breach callback). */
  markDegraded(target: string, degraded: boolean, at: number): void;
  /** New services: `sizes` is each service's whole target count, over every agent's shard. */
  reload(config: Config, sizes: ReadonlyMap<string, number>): void;
}

/** How many of the service's targets must be down for it to be down (SERVICE_INFO_METRIC). */
export function downThreshold(rule: ServiceRule, size: number): number {
  return rule.type === 'all' ? size : rule.type === 'any' ? 1 : rule.k;
}

export function createPushSink(deps: { config: Config; outbox: Outbox; sizes: ReadonlyMap<string, number> }): PushSink {
  const { agent } = deps.config;
  const degraded = new Map<string, boolean>();
  const lastTs = new Map<string, number>();
  let services = new Map<string, { service: string; threshold: number }[]>();
  const index = (c: Config, sizes: ReadonlyMap<string, number>) => {
    services = new Map();
    for (const s of c.services) for (const t of s.targets) {
      services.set(t, [...(services.get(t) ?? []), { service: s.name, threshold: downThreshold(s.rule, sizes.get(s.name) ?? s.targets.length) }]);
    }
  };
  index(deps.config, deps.sizes);

  const sample = (metric: string, target: string, ts: number, value: number, service?: string): OutboxSample => {
    // Sorted by name, as the remote-write spec asks: __name__ < agent < region < service < target.
    const labels = [
      ['__name__', metric], [LABEL_AGENT, agent.name], [LABEL_REGION, agent.region],
      ...(service !== undefined ? [[LABEL_SERVICE, service] as const] : []), [LABEL_TARGET, target],
    ] as const;
    // Two samples of one series at one timestamp with different values conflict in every
    // store; a verdict change landing on the next run's start millisecond moves by 1 ms.
    const key = `${metric}\0${target}\0${service ?? ''}`;
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
      for (const s of services.get(target.name) ?? []) out.push(sample(SERVICE_INFO_METRIC, target.name, meta.startedAt, s.threshold, s.service));
      deps.outbox.append(out);
    },
    reload(config, sizes) {
      index(config, sizes);
    },
    markDegraded(target, isDegraded, at) {
      degraded.set(target, isDegraded);
      deps.outbox.append([sample(DEGRADED_METRIC, target, at, isDegraded ? 1 : 0)]);
    },
  };
}
