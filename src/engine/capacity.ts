// What the config asks of the probe engine, against what the engine is known to sustain. The
// agent accepted 100,000 targets silently and ran them 17.6 s late on average: now the demand
// is computed at every load, published (slaprobe_config_demand_per_second and
// slaprobe_engine_capacity_per_second, by resource) and warned about when it exceeds the
// measured figures. These are the highest rates benchmarked with every goal met (README,
// "Benchmarks"; method in docs/bench-core.md), not a hard limit: above them the agent is
// untested, and on a smaller machine the real ceiling is lower.
import type { Target } from '../config/types.ts';

export const RESOURCES = ['runs', 'train_packets'] as const;
export type Resource = typeof RESOURCES[number];

export const ENGINE_CAPACITY: Readonly<Record<Resource, number>> = Object.freeze({
  // bench/core.ts, 1,000 HTTP targets at 1 s: 1,005.7 runs/s done, 0 skipped, lateness p99 10.1 ms.
  runs: 1_000,
  // bench: 150 udp-echo streams of 50 packets/s on one core (63 % of it, with the reflector).
  train_packets: 7_500,
});

/** Per second, what the targets ask for: probe runs (every kind), and packets of stun / udp-echo trains. */
export function demandOf(targets: readonly Target[]): Record<Resource, number> {
  let runs = 0;
  let trainPackets = 0;
  for (const t of targets) {
    const perSecond = 1000 / t.interval;
    runs += perSecond;
    if (t.kind === 'stun' || t.kind === 'udp-echo') trainPackets += t.packets * perSecond;
  }
  return { runs, train_packets: trainPackets };
}

const WHAT: Record<Resource, string> = { runs: 'probe runs', train_packets: 'stun/udp-echo train packets' };

/** One line per resource the demand exceeds, saying what will happen and what to do. */
export function capacityWarnings(demand: Record<Resource, number>, capacity = ENGINE_CAPACITY): string[] {
  return RESOURCES.filter((r) => demand[r] > capacity[r]).map((r) =>
    `the config asks for ${Math.round(demand[r]).toLocaleString('en')} ${WHAT[r]}/s; the engine is measured to sustain about ${capacity[r].toLocaleString('en')}/s (README, Benchmarks). Runs will start late and be skipped, and skipped runs read as unknown time: lengthen intervals, or split the targets over several agents`);
}
