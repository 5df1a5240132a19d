// Turns probe results into the Prometheus metrics of src/metrics.ts. Packet counters are
// incremented here for every packet kind, once per run, when each packet's fate is known.
import type { Target } from '../config/types.ts';
import { type Cell, type Family, Slots } from '../metric-family.ts';
import type { Metrics } from '../metrics.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta, Sink } from './types.ts';

/**
 * One target's series (src/metric-family.ts), each found once and updated in place on every
 * run, and what a removed target's series are removed by. Building a fresh label object and
 * a key for every series of every run was most of this sink's allocation at hundreds of runs
 * a second (issue 13).
 */
interface TargetSeries {
  tk: { target: string; kind: string };
  cells: Array<Cell | undefined>;
  /** The slots of the target's kind: each kind's arrays stay dense. */
  slots: Slots;
}

export function createMetricsSink(m: Metrics): Sink & { forget(target: string): void } {
  const byTarget = new Map<string, TargetSeries>();
  const slotsByKind = new Map<string, Slots>();
  const series = (target: Target): TargetSeries => {
    let s = byTarget.get(target.name);
    if (!s || s.tk.kind !== target.kind) {
      if (s) forget(target.name);
      let slots = slotsByKind.get(target.kind);
      if (!slots) slotsByKind.set(target.kind, (slots = new Slots()));
      s = { tk: { target: target.name, kind: target.kind }, cells: [], slots };
      byTarget.set(target.name, s);
    }
    return s;
  };
  /** The series `key` of `metric` for this target, labelled tk plus `extra`, made on first use. */
  const labels = (s: TargetSeries, metric: Family, key: string, extra?: Record<string, string>, withKind = true): Cell =>
    // Series labelled {target, kind} alone share the one object.
    s.slots.cell(s.cells, key, metric, () => (withKind ? (extra ? { ...s.tk, ...extra } : s.tk) : { target: s.tk.target, ...extra }));
  const forget = (target: string) => {
    const s = byTarget.get(target);
    if (s) s.slots.removeAll(s.cells);
    byTarget.delete(target);
    m.runsSkipped.remove({ target });
  };

  return {
    onResult(target: Target, r: ProbeResult, meta: RunMeta) {
      const s = series(target);
      const success = labels(s, m.probeSuccess, 'tk');
      if (r.success) m.probes.inc(labels(s, m.probes, 'success', { result: 'success' }));
      else {
        m.probes.inc(labels(s, m.probes, 'failure', { result: 'failure' }));
        const reason = r.reason ?? 'error';
        m.probeFailures.inc(labels(s, m.probeFailures, `reason:${reason}`, { reason }));
      }
      m.probeSuccess.set(success, r.success ? 1 : 0);
      m.probeDuration.observe(labels(s, m.probeDuration, 'duration'), meta.durationSeconds);
      if (meta.stalledMs) m.deadlinesMoved.inc();

      if (r.phases && target.kind === 'http') {
        for (const phase in r.phases) {
          const v = r.phases[phase as keyof typeof r.phases];
          if (v === undefined) continue;
          m.httpPhase.observe(labels(s, m.httpPhase, `phase:${phase}`, { phase }, false), v);
        }
      }
      if (r.tls?.certNotAfter !== undefined && Number.isFinite(r.tls.certNotAfter)) {
        m.tlsCertExpiry.set(labels(s, m.tlsCertExpiry, 'cert', undefined, false), r.tls.certNotAfter);
      }
      const p = r.packets;
      if (p) {
        // inc by 0 creates the series, so rate() has a starting point before the first loss.
        m.packetsSent.inc(labels(s, m.packetsSent, 'sent'), p.sent);
        m.packetsReceived.inc(labels(s, m.packetsReceived, 'received'), p.received);
        const up = p.lostUpstream ?? 0;
        const down = p.lostDownstream ?? 0;
        const lost = p.lost ?? Math.max(0, p.sent - p.received);
        const lostIn = (direction: string, v: number) => m.packetsLost.inc(labels(s, m.packetsLost, `lost:${direction}`, { direction }), v);
        if (up || down) {
          lostIn('upstream', up);
          lostIn('downstream', down);
          lostIn('round_trip', Math.max(0, lost - up - down));
        } else {
          lostIn('round_trip', lost);
        }
        m.packetsLate.inc(labels(s, m.packetsLate, 'late'), p.late ?? 0);
        m.packetsUnobserved.inc(labels(s, m.packetsUnobserved, 'unobserved'), p.unobserved ?? 0);
        m.packetsDuplicated.inc(labels(s, m.packetsDuplicated, 'duplicated'), p.duplicated ?? 0);
        m.packetsReordered.inc(labels(s, m.packetsReordered, 'reordered'), p.reordered ?? 0);
        for (const reason in p.invalid ?? {}) m.packetsInvalid.inc(labels(s, m.packetsInvalid, `invalid:${reason}`, { reason }), p.invalid![reason] ?? 0);
        if (p.lossBurstMax !== undefined) m.lossBurstMax.set(labels(s, m.lossBurstMax, 'burst'), p.lossBurstMax);
        const rtt = labels(s, m.rtt, 'rtt');
        for (const x of p.rtts) m.rtt.observe(rtt, x);
      }
    },
    forget,
  };
}
