// Run outcomes read in bulk (a samples file, a Prometheus-compatible store) folded into
// per-target, per-region timelines as they arrive: only the segments are kept, never the
// runs, so a month of 300 series at 10 s fits in a few megabytes. The same folding as the
// agent's store (applyOutcome), so every source gives the calculator the same spans.
import type { RegionSpans, TimelineSource } from './service.ts';
import { applyOutcome, withOpen, type OpenSegment } from './timeline.ts';
import type { Span, TargetState } from './types.ts';

interface Track {
  closed: Span<TargetState>[];
  open?: OpenSegment;
}

export interface Evidence extends TimelineSource {
  /**
   * Folds one run of `target` seen from `region` (t = run start, Unix ms). False when it is
   * earlier than the previous run of the same target and region: it was not applied.
   */
  add(target: string, region: string, t: number, success: boolean, interval: number): boolean;
  /** One run's quality verdict (true = breached), folded like outcomes. False when out of order. */
  addDegraded(target: string, region: string, t: number, degraded: boolean, interval: number): boolean;
  targets(): string[];
  regions(): string[];
  /** Outcomes folded, and the first and last run time (Unix ms; ±Infinity when none). */
  count: number;
  first: number;
  last: number;
}

type Tracks = Map<string, Map<string, Track>>;

function fold(tracks: Tracks, target: string, region: string, t: number, ok: boolean, interval: number): boolean {
  let byRegion = tracks.get(target);
  if (!byRegion) tracks.set(target, (byRegion = new Map()));
  let tr = byRegion.get(region);
  if (!tr) byRegion.set(region, (tr = { closed: [] }));
  const r = applyOutcome(tr.open, { t, success: ok }, interval);
  if (r.outOfOrder) return false;
  if (r.closed) tr.closed.push(r.closed);
  tr.open = r.open;
  return true;
}

function spans(tr: Track, from: number, to: number, now: number): Span<TargetState>[] {
  return withOpen(tr.closed, tr.open, now).filter((s) => s.end > from && s.start < to);
}

export function createEvidence(): Evidence {
  const outcomes: Tracks = new Map();
  // Quality verdicts as a timeline of their own: "down" here is "breached".
  const quality: Tracks = new Map();
  const ev: Evidence = {
    count: 0,
    first: Infinity,
    last: -Infinity,
    add(target, region, t, success, interval) {
      if (!fold(outcomes, target, region, t, success, interval)) return false;
      ev.count++;
      if (t < ev.first) ev.first = t;
      if (t > ev.last) ev.last = t;
      return true;
    },
    addDegraded(target, region, t, degraded, interval) {
      return fold(quality, target, region, t, !degraded, interval);
    },
    targets: () => [...outcomes.keys()].sort(),
    regions: () => [...new Set([...outcomes.values()].flatMap((m) => [...m.keys()]))].sort(),
    targetSpans(target, from, to, now): RegionSpans<TargetState>[] {
      return [...(outcomes.get(target) ?? new Map<string, Track>())].map(([region, tr]) => ({ region, spans: spans(tr, from, to, now) }));
    },
    degradedSpans(target, from, to, now, region) {
      const tr = quality.get(target)?.get(region);
      if (!tr) return [];
      return spans(tr, from, to, now).flatMap((s) => (s.state === 'down' ? [{ start: s.start, end: s.end, state: 'degraded' as const }] : []));
    },
  };
  return ev;
}
