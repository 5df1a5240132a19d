// The quality sink: per target, the counters and delay sums of every packet train, bucketed
// by minute (memory bounded by the longest window, not by the packet rate), judged over each
// rolling window (15 min and 1 h by default) and over the current calendar month (UTC).
// It sets the jitter / IPDV / PDV / MOS / verdict gauges and reports when a target enters or
// leaves breach, which the availability calculator records as a degraded (L2) window.
import type { QualityTargets, Target } from '../config/types.ts';
import { QUALITY_DEFAULTS } from '../config/defaults.ts';
import { type Cell, type LeanGauge as Gauge, Slots } from '../metric-family.ts';
import type { Metrics } from '../metrics.ts';
import type { ProbeResult } from '../probes/types.ts';
import { MinuteRing } from '../quality/minutes.ts';
import { estimateMos } from '../quality/mos.ts';
import { ipdvAbs, mean, pdv, percentile, rfc3550Series } from '../quality/stats.ts';
import { QUANTITIES, type DelayWindow, type Verdict, type WindowVerdicts, judgeWindow } from '../quality/verdict.ts';
import type { RunMeta, Sink } from './types.ts';

const PACKET_KINDS = new Set(['icmp', 'stun', 'udp-echo']);
/** slaprobe_quality_breached's value per verdict. */
const VERDICT_VALUE: Record<Verdict, number> = { breached: 1, met: 0, insufficient_data: -1 };
const MINUTE = 60_000;

interface TargetState {
  minutes: MinuteRing;
  month: { key: string; agg: DelayWindow };
  /** RFC 3550 jitter carried from run to run. */
  j: number;
  breached: boolean;
  /**
   * Every series set for the target, by a key of metric and labels: found once and set in
   * place on every run (src/metric-family.ts), and what reload() removes.
   */
  cells: Array<Cell | undefined>;
}

/** "15m", "1h", "1d" ...: the `window` label of a rolling window. */
export function windowLabel(msWindow: number): string {
  if (msWindow % 86_400_000 === 0) return `${msWindow / 86_400_000}d`;
  if (msWindow % 3_600_000 === 0) return `${msWindow / 3_600_000}h`;
  if (msWindow % MINUTE === 0) return `${msWindow / MINUTE}m`;
  return `${Math.round(msWindow / 1000)}s`;
}

function monthKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

const empty = (): DelayWindow => ({ sent: 0, lost: 0, rttCount: 0, rttSum: 0, jitterCount: 0, jitterSum: 0 });

function add(into: DelayWindow, from: DelayWindow): void {
  into.sent += from.sent; into.lost += from.lost;
  into.rttCount += from.rttCount; into.rttSum += from.rttSum;
  into.jitterCount += from.jitterCount; into.jitterSum += from.jitterSum;
}

export function createQualitySink(deps: {
  metrics: Metrics;
  now?: () => number;
  onBreachChange?: (target: string, breached: boolean, at: number) => void;
}): Sink & { reload(targets: Target[]): void; verdicts(target: string): Record<string, WindowVerdicts> | undefined } {
  const m = deps.metrics;
  const states = new Map<string, TargetState>();
  const last = new Map<string, Record<string, WindowVerdicts>>();

  const slots = new Slots();
  const set = (st: TargetState, g: Gauge, key: string, l: () => Record<string, string>, v: number) => {
    if (!Number.isFinite(v)) return;
    g.set(slots.cell(st.cells, key, g, l), v);
  };

  return {
    onResult(target: Target, result: ProbeResult, meta: RunMeta) {
      const p = result.packets;
      if (!p || !PACKET_KINDS.has(target.kind)) return;
      const now = deps.now?.() ?? meta.finishedAt;
      const q: QualityTargets = target.quality ?? QUALITY_DEFAULTS;
      const longest = Math.max(...q.windows, MINUTE);
      let st = states.get(target.name);
      if (!st) {
        st = { minutes: new MinuteRing(Math.ceil(longest / MINUTE) + 2), month: { key: monthKey(now), agg: empty() }, j: NaN, breached: false, cells: [] };
        states.set(target.name, st);
      }
      // A fresh estimator starts at the first |D| (RFC 3550 starts at 0, which would report
      // the first dozens of packets at a fraction of their jitter).
      const j0 = Number.isFinite(st.j) ? st.j : p.rtts.length > 1 ? Math.abs(p.rtts[1]! - p.rtts[0]!) : 0;
      const series = rfc3550Series(p.rtts, j0);
      if (series.length) st.j = series[series.length - 1]!;
      const lost = p.lost ?? Math.max(0, p.sent - p.received);
      const run: DelayWindow = {
        sent: p.sent, lost,
        rttCount: p.rtts.length, rttSum: p.rtts.reduce((a, b) => a + b, 0),
        jitterCount: series.length, jitterSum: series.reduce((a, b) => a + b, 0),
      };
      const minute = Math.floor(now / MINUTE);
      st.minutes.add(minute, run);
      st.minutes.evict(now - longest);
      const mk = monthKey(now);
      if (st.month.key !== mk) st.month = { key: mk, agg: empty() };
      add(st.month.agg, run);

      const name = target.name;
      const tk = () => ({ target: name, kind: target.kind });
      const judged: Record<string, WindowVerdicts> = {};
      const windows: Array<[string, DelayWindow]> = q.windows.map((w) => {
        const agg = empty();
        st.minutes.sumInto(agg, now - w);
        return [windowLabel(w), agg];
      });
      windows.push(['month', st.month.agg]);
      for (const [label, agg] of windows) {
        const v = judgeWindow(agg, q);
        judged[label] = v;
        for (const quantity of QUANTITIES) {
          const current = quantity === 'loss' ? v.loss.verdict : v[quantity];
          set(st, m.qualityBreached, `breached ${quantity} ${label}`, () => ({ target: name, quantity, window: label }), VERDICT_VALUE[current]);
        }
        set(st, m.lossUpperBound, `upper ${label}`, () => ({ target: name, window: label }), v.loss.upper);
        set(st, m.lossPacketsNeeded, `needed ${label}`, () => ({ target: name, window: label }), Number.isFinite(v.loss.needed) ? v.loss.needed : -1);
      }
      last.set(name, judged);

      set(st, m.jitter, 'jitter', tk, st.j);
      set(st, m.ipdvMean, 'ipdv', tk, mean(ipdvAbs(p.rtts, p.seqs)));
      if (p.rtts.length) set(st, m.pdvP99, 'pdv', tk, percentile(pdv(p.rtts), 0.99));
      // MOS from the shortest rolling window: steadier than one run, current unlike the month.
      const short = judged[windows[0]![0]]!;
      if (Number.isFinite(short.latencySeconds)) {
        const rttMs = (windows[0]![1].rttSum / windows[0]![1].rttCount) * 1000;
        set(st, m.mos, 'mos', () => ({ target: name }), estimateMos(rttMs, (Number.isFinite(short.jitterSeconds) ? short.jitterSeconds : 0) * 1000, Number.isFinite(short.lossRatio) ? short.lossRatio : 0));
      }
      // Breach, for the availability calculator: any quantity breached over the shortest window.
      const breached = short.loss.verdict === 'breached' || short.jitter === 'breached' || short.latency === 'breached';
      if (breached !== st.breached) {
        st.breached = breached;
        deps.onBreachChange?.(name, breached, now);
      }
    },

    reload(targets: Target[]) {
      const keep = new Set(targets.filter((t) => PACKET_KINDS.has(t.kind)).map((t) => t.name));
      for (const [name, st] of states) {
        if (keep.has(name)) continue;
        slots.removeAll(st.cells);
        if (st.breached) deps.onBreachChange?.(name, false, deps.now?.() ?? Date.now());
        states.delete(name);
        last.delete(name);
      }
    },

    /** The verdicts of the target's last result, by window label; for the CLI and tests. */
    verdicts(target: string) {
      return last.get(target);
    },
  };
}
