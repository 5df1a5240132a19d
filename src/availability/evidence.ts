// Run outcomes read in bulk (a samples file, a Prometheus-compatible store) folded into
// per-target, per-region timelines as they arrive: only the segments are kept, never the
// runs, so a month of 300 series at 10 s fits in a few megabytes. The same folding as the
// agent's store (applyOutcome), so every source gives the calculator the same spans.
//
// Each agent's runs fold into a timeline of their own, and the agents of one target and
// region merge into one: up where any of them saw it up, down where all that ran saw it
// down. So an HA pair (two agents in one region probing the same target, each run at its
// own instant) does not interleave into flapping, one agent's own fault is not the region's,
// and a target that moves to another agent (re-sharding) keeps one timeline.
import type { RegionSpans, TimelineSource } from './service.ts';
import { advance, firstSegment, sweep, withOpen, type OpenSegment } from './timeline.ts';
import type { Span, TargetState } from './types.ts';

/** One agent's runs of one target from one region: closed segments and the open one. */
export interface Track {
  readonly closed: Span<TargetState>[];
  open?: OpenSegment;
}

export interface Evidence extends TimelineSource {
  /**
   * Folds one run of `target` seen from `region` (t = run start, Unix ms). False when it is
   * earlier than the previous run of the same target and region: it was not applied.
   */
  add(target: string, region: string, t: number, success: boolean, interval: number, agent?: string): boolean;
  /**
   * The track of one target, region and agent (created), for a reader that folds many runs
   * into it with addTo: no lookup of three names per run.
   */
  track(target: string, region: string, agent?: string): Track;
  /** add() into a track from track(). */
  addTo(track: Track, t: number, success: boolean, interval: number): boolean;
  /** One run's quality verdict (true = breached), folded like outcomes. False when out of order. */
  addDegraded(target: string, region: string, t: number, degraded: boolean, interval: number, agent?: string): boolean;
  targets(): string[];
  regions(): string[];
  /** Outcomes folded, and the first and last run time (Unix ms; ±Infinity when none). */
  count: number;
  first: number;
  last: number;
}

/** target -> region -> agent -> track */
type Tracks = Map<string, Map<string, Map<string, Track>>>;

function trackOf(tracks: Tracks, target: string, region: string, agent: string): Track {
  let byRegion = tracks.get(target);
  if (!byRegion) tracks.set(target, (byRegion = new Map()));
  let byAgent = byRegion.get(region);
  if (!byAgent) byRegion.set(region, (byAgent = new Map()));
  let tr = byAgent.get(agent);
  if (!tr) byAgent.set(agent, (tr = { closed: [] }));
  return tr;
}

function fold(tr: Track, t: number, ok: boolean, interval: number): boolean {
  const open = tr.open;
  if (!open) {
    tr.open = firstSegment(t, ok, t, interval);
    return true;
  }
  if (t < open.last) return false;
  const closed = advance(open, t, ok, t, interval);
  if (closed) tr.closed.push(closed);
  return true;
}

function spans(byAgent: Map<string, Track>, from: number, to: number, now: number): Span<TargetState>[] {
  const lists = [...byAgent.values()].map((tr) => withOpen(tr.closed, tr.open, now).filter((s) => s.end > from && s.start < to));
  if (lists.length === 1) return lists[0]!;
  return sweep(lists, from, to, (st) => (st.includes('up') ? 'up' : st.includes('down') ? 'down' : undefined));
}

export function createEvidence(): Evidence {
  const outcomes: Tracks = new Map();
  // Quality verdicts as a timeline of their own: "down" here is "breached".
  const quality: Tracks = new Map();
  const ev: Evidence = {
    count: 0,
    first: Infinity,
    last: -Infinity,
    add: (target, region, t, success, interval, agent = '') => ev.addTo(trackOf(outcomes, target, region, agent), t, success, interval),
    track: (target, region, agent = '') => trackOf(outcomes, target, region, agent),
    addTo(track, t, success, interval) {
      if (!fold(track, t, success, interval)) return false;
      ev.count++;
      if (t < ev.first) ev.first = t;
      if (t > ev.last) ev.last = t;
      return true;
    },
    addDegraded(target, region, t, degraded, interval, agent = '') {
      return fold(trackOf(quality, target, region, agent), t, !degraded, interval);
    },
    targets: () => [...outcomes.keys()].sort(),
    regions: () => [...new Set([...outcomes.values()].flatMap((m) => [...m.keys()]))].sort(),
    targetSpans(target, from, to, now): RegionSpans<TargetState>[] {
      return [...(outcomes.get(target) ?? new Map<string, Map<string, Track>>())].map(([region, a]) => ({ region, spans: spans(a, from, to, now) }));
    },
    degradedSpans(target, from, to, now, region) {
      const tr = quality.get(target)?.get(region);
      if (!tr) return [];
      return spans(tr, from, to, now).flatMap((s) => (s.state === 'down' ? [{ start: s.start, end: s.end, state: 'degraded' as const }] : []));
    },
  };
  return ev;
}
