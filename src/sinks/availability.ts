// The availability sink: records every run's outcome in the store (the timeline the
// calculator and `slaprobe report` read), keeps each service's live state by its rule, logs
// a line per service state change and keeps the availability metrics current. It never
// throws into the runner: store errors are logged (at most once a minute) and counted.
//
// Every figure comes from the calculator (reportService), per policy, recomputed from the
// store on a timer: gauges carry the period as `slaprobe report` would print it now (a later
// exclusion corrects them); counters grow by the difference between two recomputations, so
// they never go back and rate() over them follows the budget as it moves.
import type pino from 'pino';
import { periodAt } from '../availability/calendar.ts';
import { type PeriodReport, countedMinutes } from '../availability/account.ts';
import type { Period } from '../availability/types.ts';
import { reportService } from '../availability/service.ts';
import { GAP_FACTOR, serviceState } from '../availability/timeline.ts';
import type { ServiceState, SlaPolicy, TargetState } from '../availability/types.ts';
import { policiesOf } from '../config/sla.ts';
import type { Config, ServiceConfig, Target } from '../config/types.ts';
import type { Metrics } from '../metrics.ts';
import type { ProbeResult } from '../probes/types.ts';
import { COMMIT_EVERY, type Store } from '../store/index.ts';
import type { RunMeta, Sink } from './types.ts';

export interface AvailabilityDeps {
  config: Config;
  store: Store;
  metrics: Metrics;
  log: pino.Logger;
  now?: () => number;
  /**
   * How often the figures are recomputed from the store, ms. Default: the shortest target
   * interval, between 1 s and 30 s, so the counters move as often as the evidence does.
   */
  refreshEvery?: number;
  /** Heartbeat period, ms (default 10 s): the last beat bounds a killed agent's run. */
  beatEvery?: number;
}

export interface AvailabilitySink extends Sink {
  /** The media-path quality verdict of `target` changed: breached (true) or met (false). */
  markDegraded(target: string, degraded: boolean, at: number): void;
  reload(config: Config): void;
  /** Recomputes every figure now (also done on a timer and after each state change). */
  refresh(): void;
  /** Store writes failing now (their last attempt failed), by op: /readyz fails while any is. */
  storeFailing(): StoreOp[];
  /** Stops the timers, records a clean stop and closes the store. */
  close(): void;
}

const STATES = ['up', 'degraded', 'down', 'down_counted', 'unknown', 'excluded', 'counted'] as const;
const LEVELS = ['L1', 'L2', 'L3'] as const;

/** Seconds of each counter state in a report. */
function stateSeconds(r: PeriodReport): Record<(typeof STATES)[number], number> {
  const m = r.minutes;
  return {
    up: m.up * 60, degraded: (m.degraded + m.partial) * 60, down: m.down * 60,
    down_counted: m.down_counted * 60, unknown: m.unknown * 60, excluded: m.excluded * 60,
    counted: countedMinutes(r) * 60,
  };
}

/**
 * The period the counters are accounted in. A rolling 12-month period moves every month, so
 * recomputing it would count 11 months again; its counters are accounted per calendar month
 * in the policy's time zone instead (the same windows, the same minimum-outage rule).
 */
const counterPeriod = (p: SlaPolicy, t: number): Period => periodAt(p.period === 'rolling_12_months' ? 'month' : p.period, t, p.time_zone);

export function defaultRefreshEvery(c: Config): number {
  // No targets: Math.min() is Infinity, and the 30 s cap applies.
  return Math.min(30_000, Math.max(1000, Math.min(...c.targets.map((t) => t.interval))));
}

/** What a store access was for: the `op` label of slaprobe_store_errors_total. */
export const STORE_OPS = ['outcome', 'degraded', 'heartbeat', 'run', 'read'] as const;
export type StoreOp = (typeof STORE_OPS)[number];

export function createAvailabilitySink(deps: AvailabilityDeps): AvailabilitySink {
  const { store, metrics: m, log } = deps;
  const now = deps.now ?? Date.now;
  let config = deps.config;
  let byTarget = new Map<string, ServiceConfig[]>();
  let intervals = new Map<string, number>();
  const last = new Map<string, { state: TargetState; t: number }>();
  const degraded = new Set<string>();
  const svcState = new Map<string, ServiceState>();
  /** Per service and policy: the counter period and its state seconds at the last refresh. */
  const counted = new Map<string, { period: Period; values: Record<string, number> }>();
  const incidentsSeen = new Map<string, Set<string>>();
  let lastErrorLog = 0;
  let refreshTimer: NodeJS.Timeout | undefined;

  const failing = new Set<StoreOp>();
  // Born at 0, so that increase() (SlaprobeRecordingFailed) counts the first failures.
  for (const op of STORE_OPS) m.storeErrors.inc({ op }, 0);
  const guard = (what: string, fn: () => void, op: StoreOp = 'read') => {
    try {
      fn();
      failing.delete(op);
    } catch (e) {
      m.storeErrors.inc({ op });
      failing.add(op);
      const t = now();
      if (t - lastErrorLog > 60_000) {
        lastErrorLog = t;
        log.error({ err: e, code: (e as { code?: string }).code }, `availability: ${what} failed; the store may be full or read-only (check the data dir); affected time will show as unknown`);
      }
    }
  };

  const index = (c: Config) => {
    byTarget = new Map();
    for (const s of c.services) for (const t of s.targets) byTarget.set(t, [...(byTarget.get(t) ?? []), s]);
    intervals = new Map(c.targets.map((t) => [t.name, t.interval]));
  };
  index(config);

  const liveTarget = (name: string, t: number): TargetState | undefined => {
    const l = last.get(name);
    const iv = intervals.get(name) ?? 60_000;
    return l && t - l.t <= GAP_FACTOR * iv ? l.state : undefined;
  };

  const updateService = (s: ServiceConfig, t: number, at: number) => {
    const st = serviceState(s.rule, s.targets.map((x) => liveTarget(x, t)), s.targets.some((x) => degraded.has(x)));
    const prev = svcState.get(s.name);
    if (prev === st) return;
    svcState.set(s.name, st);
    if (st === 'unknown') m.serviceUp.remove({ service: s.name });
    else m.serviceUp.set({ service: s.name }, st === 'down' ? 0 : 1);
    if (st === 'down' && prev !== 'down') m.outageOpenSince.set({ service: s.name }, at / 1000);
    if (st !== 'down' && st !== 'unknown') m.outageOpenSince.remove({ service: s.name });
    if (prev !== undefined || st !== 'up') {
      const line = { service: s.name, from: prev ?? 'unknown', to: st, at: new Date(at).toISOString() };
      if (st === 'down') log.warn(line, 'service down');
      else log.info(line, `service ${st}`);
    }
    scheduleRefresh();
  };

  const scheduleRefresh = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      refresh();
    }, 1000);
    refreshTimer.unref();
  };

  /** The period gauges of one service and policy: gone while there is no data, or the policy is. */
  const removePeriodGauges = (l: { service: string; sla: string }) => {
    m.availabilityRatio.remove(l);
    m.errorBudgetRemainingRatio.remove(l);
    m.errorBudgetRemainingSeconds.remove(l);
    m.periodUnavailableSeconds.remove(l);
  };

  const setReportMetrics = (s: ServiceConfig, p: SlaPolicy, r: PeriodReport) => {
    const l = { service: s.name, sla: p.name };
    if (r.availability === null) {
      removePeriodGauges(l);
    } else {
      m.availabilityRatio.set(l, r.availability / 100);
      if (r.budget.remaining_ratio !== null) m.errorBudgetRemainingRatio.set(l, r.budget.remaining_ratio);
      else m.errorBudgetRemainingRatio.remove(l);
      m.errorBudgetRemainingSeconds.set(l, r.budget.remaining * 60);
      m.periodUnavailableSeconds.set(l, r.budget.used * 60);
    }
    for (const unit of ['minutes', 'percent'] as const) {
      if (r.credit?.unit === unit) m.credit.set({ ...l, unit }, r.credit.amount);
      else m.credit.remove({ ...l, unit });
    }
  };

  const removePolicyMetrics = (service: string, sla: string) => {
    const l = { service, sla };
    removePeriodGauges(l);
    m.credit.remove({ ...l, unit: 'minutes' });
    m.credit.remove({ ...l, unit: 'percent' });
    for (const state of STATES) m.serviceSeconds.remove({ ...l, state });
    for (const level of LEVELS) m.incidents.remove({ ...l, level });
    m.slaObjective.remove(l);
    counted.delete(`${service}\0${sla}`);
    incidentsSeen.delete(`${service}\0${sla}`);
  };

  const countSeconds = (s: ServiceConfig, p: SlaPolicy, r: PeriodReport, t: number, recorded: ReturnType<Store['exclusions']>) => {
    const key = `${s.name}\0${p.name}`;
    const prev = counted.get(key);
    // Before the first evidence nothing is known, so nothing is counted: a no-data report's
    // figures (the whole period so far as unknown, which unknown: down would count as down)
    // are no baseline; the counters start from the first sample.
    const values = r.no_data ? Object.fromEntries(STATES.map((st) => [st, 0])) as Record<(typeof STATES)[number], number> : stateSeconds(r);
    counted.set(key, { period: { label: r.period.label, start: r.period.start, end: r.period.end }, values });
    const inc = (state: string, d: number) => m.serviceSeconds.inc({ service: s.name, sla: p.name, state }, Math.max(0, d));
    if (!prev) {
      // The first look (agent start, or a service or policy added by a reload): the time
      // before it is history, not an increase; the series start at 0.
      for (const st of STATES) inc(st, 0);
      return;
    }
    let before: Record<string, number> = prev.values;
    if (prev.period.label !== r.period.label) {
      // A new period: the old one's last stretch (since the previous refresh) is counted
      // from its final figures, then the new period from zero.
      const final = stateSeconds(reportService(store, s, p, prev.period, config.maintenance, recorded, t));
      for (const st of STATES) inc(st, final[st] - prev.values[st]!);
      before = {};
    }
    // A value that went down (an exclusion recorded since) is not taken back; the counter
    // resumes from the lower figure, so nothing is counted twice.
    for (const st of STATES) inc(st, values[st] - (before[st] ?? 0));
  };

  const countIncidents = (s: ServiceConfig, p: SlaPolicy, r: PeriodReport) => {
    const key = `${s.name}\0${p.name}`;
    const l = { service: s.name, sla: p.name };
    let seen = incidentsSeen.get(key);
    const first = !seen;
    if (!seen) incidentsSeen.set(key, (seen = new Set()));
    if (first) for (const level of LEVELS) m.incidents.inc({ ...l, level }, 0);
    for (const i of r.incidents) {
      // One count per incident and level reached: an L3 that becomes L1 counts in both.
      const key = `${i.start}:${i.level}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (!first) m.incidents.inc({ ...l, level: i.level });
    }
  };

  const refresh = () => {
    const t = now();
    const recorded = store.exclusions();
    for (const s of config.services) {
      policiesOf(s).forEach((p, i) => guard(`refresh of ${s.name}/${p.name}`, () => {
        // 99.9 / 100 is 0.9990000000000001 in binary; the ratio as the config writes it.
        m.slaObjective.set({ service: s.name, sla: p.name }, Number((p.target / 100).toPrecision(12)));
        const r = reportService(store, s, p, periodAt(p.period, t, p.time_zone), config.maintenance, recorded, t);
        setReportMetrics(s, p, r);
        const cp = counterPeriod(p, t);
        countSeconds(s, p, cp.label === r.period.label && cp.start === r.period.start ? r : reportService(store, s, p, cp, config.maintenance, recorded, t), t, recorded);
        countIncidents(s, p, r);
        if (i === 0) {
          const open = r.windows.find((w) => w.end === null);
          if (open) m.outageOpenSince.set({ service: s.name }, open.start / 1000);
        }
      }));
    }
  };

  const started = now();
  guard('start of the heartbeat record', () => store.startRun(started, process.pid), 'run');
  refresh();
  let every = deps.refreshEvery ?? defaultRefreshEvery(config);
  let refreshEvery = setInterval(() => refresh(), every);
  refreshEvery.unref();
  const beat = setInterval(() => guard('heartbeat', () => store.beat(now()), 'heartbeat'), deps.beatEvery ?? 10_000);
  beat.unref();
  // Runs that only extend a segment are committed together, once a second (the store's
  // "Write volume"); a failed commit keeps them pending, counted and logged as outcome errors.
  const commit = setInterval(() => {
    if (store.uncommitted() > 0) guard('committing the runs of the last second', () => store.flush(), 'outcome');
  }, COMMIT_EVERY);
  commit.unref();

  return {
    onResult(target: Target, result: ProbeResult, meta: RunMeta) {
      guard(`recording a run of ${target.name}`, () => {
        store.recordOutcome(target.name, config.agent.region, { t: meta.startedAt, success: result.success, seen: meta.finishedAt }, target.interval);
      }, 'outcome');
      last.set(target.name, { state: result.success ? 'up' : 'down', t: meta.startedAt });
      for (const s of byTarget.get(target.name) ?? []) updateService(s, meta.finishedAt, meta.startedAt);
    },
    markDegraded(target, isDegraded, at) {
      if (isDegraded === degraded.has(target)) return;
      if (isDegraded) degraded.add(target);
      else degraded.delete(target);
      if (isDegraded) m.qualityBreachedSince.set({ target }, at / 1000);
      else m.qualityBreachedSince.remove({ target });
      guard(`recording a quality change of ${target}`, () => store.setDegraded(target, isDegraded, at), 'degraded');
      for (const s of byTarget.get(target) ?? []) updateService(s, now(), at);
    },
    reload(next) {
      const gone = config.services.filter((s) => !next.services.some((n) => n.name === s.name));
      for (const s of gone) {
        m.serviceUp.remove({ service: s.name });
        m.outageOpenSince.remove({ service: s.name });
        svcState.delete(s.name);
      }
      for (const s of config.services) for (const p of policiesOf(s)) {
        const n = next.services.find((x) => x.name === s.name);
        if (!n || !policiesOf(n).some((q) => q.name === p.name)) removePolicyMetrics(s.name, p.name);
      }
      config = next;
      index(config);
      const want = deps.refreshEvery ?? defaultRefreshEvery(config);
      if (want !== every) {
        every = want;
        clearInterval(refreshEvery);
        refreshEvery = setInterval(() => refresh(), every);
        refreshEvery.unref();
      }
      refresh();
    },
    refresh: () => refresh(),
    storeFailing: () => [...failing].filter((op) => op !== 'read'),
    close() {
      clearInterval(refreshEvery);
      clearInterval(beat);
      clearInterval(commit);
      if (refreshTimer) clearTimeout(refreshTimer);
      guard('clean stop record', () => store.stopRun(now()), 'run');
      // close() commits what is pending; if that fails the store is closed all the same.
      guard('committing the last runs at stop', () => store.close(), 'outcome');
    },
  };
}
