// Regions combined: a service probed from several regions has, at every instant, one state
// from each region's own evidence (its targets combined by the service's rule), and the
// region rule turns those into the service's state. Time that some regions saw down while
// the service counted as up is a regional path fault: listed, never unavailable time
// (UMEET-7.1(2) / HEDU-7.1(2): networks that are not the provider's). Pure functions.
import { sweep } from './timeline.ts';
import type { RegionPolicy, RegionalFault, ServiceState, Span } from './types.ts';

/** Default: down only where every reporting region sees it down; one region suffices. */
export const REGION_DEFAULTS: RegionPolicy = Object.freeze({ rule: Object.freeze({ type: 'any_up' as const }), min_reporting: 1 });

// Among the regions that did not see it down, the best view is the service's (a region that
// saw it up shows the provider's service working; what the others saw is theirs).
const RANK: Partial<Record<ServiceState, number>> = { up: 0, degraded: 1, partial: 2 };

/**
 * The service's state at one instant from its state in each region that probes it (unknown:
 * that region is not reporting then). Fewer than min_reporting reporting regions: unknown.
 * `all_down` also needs every region that probes the service to report (a silent region
 * could have seen it up): otherwise unknown.
 */
export function fleetState(policy: RegionPolicy, states: readonly ServiceState[]): ServiceState {
  let n = 0;
  let d = 0;
  let best: ServiceState | undefined;
  for (const s of states) {
    if (s === 'unknown') continue;
    n++;
    if (s === 'down') d++;
    else if (best === undefined || RANK[s]! < RANK[best]!) best = s;
  }
  if (n === 0 || n < policy.min_reporting) return 'unknown';
  const r = policy.rule;
  const down = r.type === 'any_up' || r.type === 'all_down' ? d === n
    : r.type === 'at_least_down' ? d >= r.k
      // 1e-9: 2 of 3 regions is 0.6666..., and fraction_down 0.6667 written by hand means it.
      : d / n >= r.f - 1e-9;
  if (down && r.type === 'all_down' && n < states.length) return 'unknown';
  if (down) return 'down';
  return best ?? 'partial';
}

export interface FleetTimeline {
  /** The service's timeline, every instant of [from, to) covered. */
  spans: Span<ServiceState>[];
  /** Per region, time it saw the service down while the service counted as up (or degraded, partial). */
  faults: RegionalFault[];
}

/** Combines each region's service timeline (each covering [from, to)) by the region policy. */
export function combineRegions(
  policy: RegionPolicy, regions: readonly string[], perRegion: readonly Span<ServiceState>[][], from: number, to: number,
): FleetTimeline {
  const spans = sweep(perRegion, from, to, (st) => fleetState(policy, st.map((s) => (s ?? 'unknown') as ServiceState)));
  const faults: RegionalFault[] = [];
  if (regions.length > 1) {
    // A region's down time that runs into the service's downtime is that outage seen a run
    // earlier or later from there (each region's runs fall at their own instants), not a
    // fault of its path.
    const downStarts = new Set<number>();
    const downEnds = new Set<number>();
    for (const s of spans) if (s.state === 'down') { downStarts.add(s.start); downEnds.add(s.end); }
    regions.forEach((region, i) => {
      const own = sweep([spans, perRegion[i]!], from, to, ([f, r]) =>
        r === 'down' && f !== 'down' && f !== 'unknown' && f !== undefined ? 'fault' : undefined);
      for (const s of own) if (!downEnds.has(s.start) && !downStarts.has(s.end)) faults.push({ region, start: s.start, end: s.end });
    });
    faults.sort((a, b) => a.start - b.start || a.region.localeCompare(b.region));
  }
  return { spans, faults };
}
