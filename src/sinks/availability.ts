// The availability sink: records every run's outcome in the store (the timeline the
// calculator and `slaprobe report` read), keeps each service's live state by its rule, logs
// a line per service state change and keeps the availability metrics current. It never
// throws into the runner: store errors are logged (at most once a minute) and counted.
import type pino from 'pino';
import { periodAt } from '../availability/calendar.ts';
import type { PeriodReport } from '../availability/account.ts';
import { reportService } from '../availability/service.ts';
import { GAP_FACTOR, serviceState } from '../availability/timeline.ts';
import type { ServiceState, SlaPolicy, TargetState } from '../availability/types.ts';
import { POLICY_DEFAULTS } from '../config/sla.ts';
import type { Config, ServiceConfig, Target } from '../config/types.ts';
import type { Metrics } from '../metrics.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { Store } from '../store/index.ts';
import type { RunMeta, Sink } from './types.ts';

export interface AvailabilityDeps {
  config: Config;
  store: Store;
  metrics: Metrics;
  log: pino.Logger;
  now?: () => number;
  /** How often the period figures are recomputed from the store, ms (default 30 s). */
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

/** Minutes counters and incidents use the service's first policy, or this one. */
const FALLBACK_POLICY: SlaPolicy = { name: 'default', target: 99.9, ...POLICY_DEFAULTS };

const MINUTE_STATES = ['up', 'degraded', 'down', 'down_counted', 'unknown', 'excluded'] as const;

/** What a store access was for: the `op` label of slaprobe_store_errors_total. */
export type StoreOp = 'outcome' | 'degraded' | 'heartbeat' | 'run' | 'read';

export function createAvailabilitySink(deps: AvailabilityDeps): AvailabilitySink {
  const { store, metrics: m, log } = deps;
  const now = deps.now ?? Date.now;
  let config = deps.config;
  let byTarget = new Map<string, ServiceConfig[]>();
  let intervals = new Map<string, number>();
  const last = new Map<string, { state: TargetState; t: number }>();
  const degraded = new Set<string>();
  const svcState = new Map<string, ServiceState>();
  const minutesSeen = new Map<string, { period: string; values: Record<string, number> }>();
  const incidentsSeen = new Map<string, Set<string>>();
  let lastErrorLog = 0;
  let refreshTimer: NodeJS.Timeout | undefined;

  const failing = new Set<StoreOp>();
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

  const setReportMetrics = (s: ServiceConfig, p: SlaPolicy, r: PeriodReport) => {
    const l = { service: s.name, sla: p.name };
    if (r.availability === null) {
      m.availabilityRatio.remove(l);
      m.errorBudgetRemainingRatio.remove(l);
      m.errorBudgetRemainingSeconds.remove(l);
    } else {
      m.availabilityRatio.set(l, r.availability / 100);
      if (r.budget.remaining_ratio !== null) m.errorBudgetRemainingRatio.set(l, r.budget.remaining_ratio);
      m.errorBudgetRemainingSeconds.set(l, r.budget.remaining * 60);
    }
    for (const unit of ['minutes', 'percent'] as const) {
      if (r.credit?.unit === unit) m.credit.set({ ...l, unit }, r.credit.amount);
      else m.credit.remove({ ...l, unit });
    }
  };

  const countMinutes = (s: ServiceConfig, r: PeriodReport, prime: boolean) => {
    const values: Record<string, number> = {
      up: r.minutes.up, degraded: r.minutes.degraded + r.minutes.partial, down: r.minutes.down,
      down_counted: r.minutes.down_counted, unknown: r.minutes.unknown, excluded: r.minutes.excluded,
    };
    const prev = minutesSeen.get(s.name);
    minutesSeen.set(s.name, { period: r.period.label, values });
    if (prime) return;
    for (const st of MINUTE_STATES) {
      // A new period starts from zero; a value that went down (an exclusion added later) is
      // not taken back: counters only grow.
      const before = prev && prev.period === r.period.label ? prev.values[st]! : 0;
      const d = values[st]! - before;
      if (d > 0) m.serviceSeconds.inc({ service: s.name, state: st }, d * 60);
    }
  };

  const countIncidents = (s: ServiceConfig, r: PeriodReport, prime: boolean) => {
    let seen = incidentsSeen.get(s.name);
    if (!seen) incidentsSeen.set(s.name, (seen = new Set()));
    for (const i of r.incidents) {
      // One count per incident and level reached: an L3 that becomes L1 counts in both.
      const key = `${i.start}:${i.level}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (!prime) m.incidents.inc({ service: s.name, level: i.level });
    }
  };

  const refresh = (prime = false) => {
    const t = now();
    const recorded = store.exclusions();
    for (const s of config.services) {
      const policies = s.sla.length > 0 ? s.sla : [FALLBACK_POLICY];
      policies.forEach((p, i) => guard(`refresh of ${s.name}/${p.name}`, () => {
        const r = reportService(store, s, p, periodAt(p.period, t, p.time_zone), config.maintenance, recorded, t);
        if (s.sla.length > 0) setReportMetrics(s, p, r);
        if (i === 0) {
          countMinutes(s, r, prime);
          countIncidents(s, r, prime);
          const open = r.windows.find((w) => w.end === null);
          if (open) m.outageOpenSince.set({ service: s.name }, open.start / 1000);
        }
      }));
    }
  };

  const started = now();
  guard('start of the heartbeat record', () => store.startRun(started, process.pid), 'run');
  refresh(true);
  const refreshEvery = setInterval(() => refresh(), deps.refreshEvery ?? 30_000);
  refreshEvery.unref();
  const beat = setInterval(() => guard('heartbeat', () => store.beat(now()), 'heartbeat'), deps.beatEvery ?? 10_000);
  beat.unref();

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
      for (const s of config.services) for (const p of s.sla) {
        const still = next.services.find((n) => n.name === s.name)?.sla.some((q) => q.name === p.name);
        if (!still) {
          const l = { service: s.name, sla: p.name };
          m.availabilityRatio.remove(l);
          m.errorBudgetRemainingRatio.remove(l);
          m.errorBudgetRemainingSeconds.remove(l);
          m.credit.remove({ ...l, unit: 'minutes' });
          m.credit.remove({ ...l, unit: 'percent' });
        }
      }
      config = next;
      index(config);
      refresh();
    },
    refresh: () => refresh(),
    storeFailing: () => [...failing].filter((op) => op !== 'read'),
    close() {
      clearInterval(refreshEvery);
      clearInterval(beat);
      if (refreshTimer) clearTimeout(refreshTimer);
      guard('clean stop record', () => store.stopRun(now()), 'run');
      store.close();
    },
  };
}
