// Turns probe results into the Prometheus metrics of src/metrics.ts. Packet counters are
// incremented here for every packet kind, once per run, when each packet's fate is known.
import type { Target } from '../config/types.ts';
import type { Metrics } from '../metrics.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta, Sink } from './types.ts';

type Labelled = { remove(labels: Record<string, string>): void };

export function createMetricsSink(m: Metrics): Sink & { forget(target: string): void } {
  // Every label set written per target, so that a target removed by a reload leaves no
  // stale series behind (prom-client removes by exact label set only).
  const written = new Map<string, Map<Labelled, Map<string, Record<string, string>>>>();
  const note = (target: string, metric: Labelled, labels: Record<string, string>) => {
    let byMetric = written.get(target);
    if (!byMetric) written.set(target, (byMetric = new Map()));
    let sets = byMetric.get(metric);
    if (!sets) byMetric.set(metric, (sets = new Map()));
    const k = JSON.stringify(labels);
    if (!sets.has(k)) sets.set(k, labels);
  };

  return {
    onResult(target: Target, r: ProbeResult, meta: RunMeta) {
      const name = target.name;
      const tk = { target: name, kind: target.kind };
      const result = r.success ? 'success' : 'failure';
      m.probes.inc({ ...tk, result });
      note(name, m.probes, { ...tk, result });
      if (!r.success) {
        const l = { ...tk, reason: r.reason ?? 'error' };
        m.probeFailures.inc(l);
        note(name, m.probeFailures, l);
      }
      m.probeSuccess.set(tk, r.success ? 1 : 0);
      note(name, m.probeSuccess, tk);
      m.probeDuration.observe(tk, meta.durationSeconds);
      note(name, m.probeDuration, tk);

      if (r.phases && target.kind === 'http') {
        for (const [phase, v] of Object.entries(r.phases)) {
          if (v === undefined) continue;
          m.httpPhase.observe({ target: name, phase }, v);
          note(name, m.httpPhase, { target: name, phase });
        }
      }
      if (r.tls?.certNotAfter !== undefined && Number.isFinite(r.tls.certNotAfter)) {
        m.tlsCertExpiry.set({ target: name }, r.tls.certNotAfter);
        note(name, m.tlsCertExpiry, { target: name });
      }
      const p = r.packets;
      if (p) {
        const inc = (metric: Labelled & { inc(l: Record<string, string>, v: number): void }, v: number | undefined, extra: Record<string, string> = {}) => {
          const l = { ...tk, ...extra };
          note(name, metric, l);
          // inc by 0 creates the series, so rate() has a starting point before the first loss.
          metric.inc(l, v ?? 0);
        };
        inc(m.packetsSent, p.sent);
        inc(m.packetsReceived, p.received);
        const up = p.lostUpstream ?? 0;
        const down = p.lostDownstream ?? 0;
        const lost = p.lost ?? Math.max(0, p.sent - p.received);
        if (up || down) {
          inc(m.packetsLost, up, { direction: 'upstream' });
          inc(m.packetsLost, down, { direction: 'downstream' });
          inc(m.packetsLost, Math.max(0, lost - up - down), { direction: 'round_trip' });
        } else {
          inc(m.packetsLost, lost, { direction: 'round_trip' });
        }
        inc(m.packetsLate, p.late);
        inc(m.packetsDuplicated, p.duplicated);
        inc(m.packetsReordered, p.reordered);
        for (const [reason, v] of Object.entries(p.invalid ?? {})) inc(m.packetsInvalid, v, { reason });
        if (p.lossBurstMax !== undefined) {
          m.lossBurstMax.set(tk, p.lossBurstMax);
          note(name, m.lossBurstMax, tk);
        }
        for (const rtt of p.rtts) m.rtt.observe(tk, rtt);
        note(name, m.rtt, tk);
      }
    },
    forget(target: string) {
      for (const [metric, sets] of written.get(target) ?? []) for (const l of sets.values()) metric.remove(l);
      written.delete(target);
      m.runsSkipped.remove({ target });
    },
  };
}
