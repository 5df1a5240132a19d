// Every metric slaprobe exposes is defined here: name, help, unit (in the name, base units
// only) and labels. Label values are bounded: target and service names come from config,
// everything else from a closed set in this file or in src/probes/types.ts.
// The names are a contract used by deploy/ (rules, alerts, dashboards) and documented in
// README.md; test/metrics.test.ts checks that every name here appears there.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LeanCounter, LeanGauge, LeanHistogram, LeanSumCount, TargetIndex } from './metric-family.ts';
import type { Target } from './config/types.ts';

/** Seconds. Dense around the 150 ms latency target of HEDU-5.4 / UMEET-5.4. */
export const RTT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1, 2.5];
/** Seconds. A probe run spans sub-millisecond loopback to a multi-second packet train. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/**
 * Seconds. The agent's own delay in starting a run: must stay far below the network's. Up to
 * a minute, so that an overloaded agent's p99 reads as a number, not +Inf.
 */
export const LATENESS_BUCKETS = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10, 30, 60];

export type Metrics = ReturnType<typeof createMetrics>;

/** One isolate's heap, read at scrape time (src/engine/isolate.ts). */
export interface IsolateHeapReading { isolate: 'main' | 'engine' | 'packet' | 'reflector'; used: number; size: number; external: number }

/** One remote's outbox backlog, read from the store at scrape time (src/fleet/outbox.ts). */
export interface RemoteBacklog { remote: string; pending: number; oldestAgeSeconds: number | undefined }

export function createMetrics(opts: { region: string; version: string; defaultMetrics?: boolean }) {
  const registry = new Registry();
  const defaults = { region: opts.region };
  registry.setDefaultLabels(defaults);
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges *_total, which Prometheus reserves for counters
    // (promtool check metrics rejects them); the same facts stay in nodejs_active_handles,
    // nodejs_active_requests and nodejs_active_resources, by type.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(n);
  }
  const r = [registry];
  // One index of series by target for every per-target family (src/metric-family.ts).
  const index = new TargetIndex(defaults);
  // Set by the outbox when remote_write is configured; the backlog gauges ask it at scrape time.
  const backlog: { read: () => RemoteBacklog[] } = { read: () => [] };
  // Set by the agent; the three isolate gauges of one scrape share one reading.
  const heaps: { read: () => Promise<IsolateHeapReading[]> } = { read: async () => [] };
  let reading: { at: number; p: Promise<IsolateHeapReading[]> } | undefined;
  const readHeaps = () => {
    if (!reading || Date.now() - reading.at > 1_000) reading = { at: Date.now(), p: heaps.read().catch(() => []) };
    return reading.p;
  };
  const heapGauge = (name: string, help: string, field: 'used' | 'size' | 'external') => new Gauge({
    name, help, labelNames: ['isolate'] as const, registers: r,
    async collect() {
      const all = await readHeaps();
      this.reset();
      for (const h of all) this.set({ isolate: h.isolate }, h[field]);
    },
  });

  const m = {
    registry,

    // --- agent -----------------------------------------------------------------------------
    buildInfo: new Gauge({
      name: 'slaprobe_build_info',
      help: 'Always 1; labels carry the slaprobe version and the Node.js version running it.',
      labelNames: ['version', 'node_version'] as const,
      registers: r,
    }),
    timeZoneData: new Gauge({
      name: 'slaprobe_time_zone_data_info',
      help: 'Always 1; labels name the zone database the calendars read (source: system, the OS tzdata in TZDIR or /usr/share/zoneinfo; icu, Node\'s) and its IANA release. Agents and the report that reads their evidence should read the same release.',
      labelNames: ['source', 'version'] as const,
      registers: r,
    }),
    configReloadSuccess: new Gauge({
      name: 'slaprobe_config_last_reload_success',
      help: '1 if the last configuration load or reload succeeded, 0 if it was rejected.',
      registers: r,
    }),
    webConfigReloadSuccess: new Gauge({
      name: 'slaprobe_web_config_last_reload_success',
      help: '1 if the last read of --web.config.file (at start, or after it or its PEM files changed) was taken, 0 if it was refused and the settings before it stay in force; absent without a web config.',
      registers: r,
    }),
    configReloadTimestamp: new Gauge({
      name: 'slaprobe_config_last_reload_success_timestamp_seconds',
      help: 'Unix time of the last successful configuration load or reload.',
      registers: r,
    }),
    targetInfo: targetInfoGauge(registry, index, []),
    index,
    serviceTargetInfo: new LeanGauge({
      name: 'slaprobe_service_target_info',
      help: 'Always 1 for each target a service lists, for joins: alerts on a target (quality, certificates) get their service with * on(region, target) group_left(service).',
      labelNames: ['service', 'target'],
      registers: r,
      index,
    }),
    targets: new Gauge({
      name: 'slaprobe_targets',
      help: 'Number of configured targets, by probe kind.',
      labelNames: ['kind'] as const,
      registers: r,
    }),

    // Per V8 isolate (thread): prom-client's nodejs_heap_* see the main thread's only.
    isolateHeap: heaps,
    isolateHeapUsed: heapGauge('slaprobe_isolate_heap_used_bytes', 'V8 heap in use by each of the agent\'s isolates (isolate: main, engine (scheduler and probes), packet (the packet-timing worker, once a train ran), reflector); read at scrape time.', 'used'),
    isolateHeapSize: heapGauge('slaprobe_isolate_heap_size_bytes', 'V8 heap reserved by each isolate (used plus free space V8 keeps), bytes.', 'size'),
    isolateExternalMemory: heapGauge('slaprobe_isolate_external_memory_bytes', 'Memory outside the V8 heap that each isolate\'s objects hold (ArrayBuffers, Buffers), bytes.', 'external'),

    // --- scheduler -------------------------------------------------------------------------
    schedulerLateness: new Histogram({
      name: 'slaprobe_scheduler_lateness_seconds',
      help: 'How late each probe run started after its due time (timer delay plus concurrency queueing). The agent\'s own delay, never the network\'s.',
      buckets: LATENESS_BUCKETS,
      registers: r,
    }),
    demand: new Gauge({
      name: 'slaprobe_config_demand_per_second',
      help: 'What the loaded config asks of the probe engine per second, by resource (runs: probe runs of every kind; train_packets: packets of stun and udp-echo trains). Compare with slaprobe_engine_capacity_per_second.',
      labelNames: ['resource'] as const,
      registers: r,
    }),
    capacity: new Gauge({
      name: 'slaprobe_engine_capacity_per_second',
      help: 'The rate per second the probe engine is measured to sustain, by resource (README, Benchmarks); the agent warns at load when the config asks for more.',
      labelNames: ['resource'] as const,
      registers: r,
    }),
    deadlinesMoved: new Counter({
      name: 'slaprobe_probe_deadlines_moved_total',
      help: 'Runs whose deadline timer fired more than 20 ms late (the probe engine\'s event loop was busy across it: a long task, a GC pause, the agent\'s start) and was moved by that much, up to one more timeout, so that a stall of the agent is not recorded as a timeout of the target. Growing: the agent is short of CPU.',
      registers: r,
    }),
    runsSkipped: new LeanCounter({
      name: 'slaprobe_runs_skipped_total',
      help: 'Runs not started because the previous run of the same target was still going when the next was due.',
      labelNames: ['target'],
      registers: r,
      index,
    }),

    // --- every probe -----------------------------------------------------------------------
    probes: new LeanCounter({
      name: 'slaprobe_probes_total',
      help: 'Probe runs finished, by result (success | failure).',
      labelNames: ['target', 'kind', 'result'],
      registers: r,
      index,
    }),
    probeFailures: new LeanCounter({
      name: 'slaprobe_probe_failures_total',
      help: 'Failed probe runs, by failure reason (a closed set, see README "Failure reasons").',
      labelNames: ['target', 'kind', 'reason'],
      registers: r,
      index,
    }),
    probeSuccess: new LeanGauge({
      name: 'slaprobe_probe_success',
      help: '1 if the last run of the target succeeded, 0 if it failed.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    probeDuration: new LeanHistogram({
      name: 'slaprobe_probe_duration_seconds',
      help: 'Wall time of a whole probe run.',
      labelNames: ['target', 'kind'],
      buckets: DURATION_BUCKETS,
      registers: r,
      index,
    }),

    // --- http / tls --------------------------------------------------------------------------
    // A summary without quantiles (_sum and _count: mean phase times by rate()), not a
    // histogram: 10 series per HTTP target instead of 90. The distribution that alerts and
    // SLOs need is the whole run's, in slaprobe_probe_duration_seconds.
    httpPhase: new LeanSumCount({
      name: 'slaprobe_http_phase_duration_seconds',
      help: 'Duration of each phase of an HTTP probe (sum and count: rate(_sum) / rate(_count) is the mean): dns, connect, tls, ttfb (request sent to first response byte), transfer (first to last body byte).',
      labelNames: ['target', 'phase'],
      registers: r,
      index,
    }),
    tlsCertExpiry: new LeanGauge({
      name: 'slaprobe_tls_cert_expiry_timestamp_seconds',
      help: 'Unix time at which the earliest-expiring certificate of the presented chain expires.',
      labelNames: ['target'],
      registers: r,
      index,
    }),

    // --- packets (icmp, stun, udp-echo) ------------------------------------------------------
    // Counted only once a packet's fate is known (answered or timed out), so that
    // rate(lost) / rate(sent) over any window is a loss ratio with no in-flight bias.
    packetsSent: new LeanCounter({
      name: 'slaprobe_packets_sent_total',
      help: 'Packets sent whose fate is known (answered or timed out).',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    packetsReceived: new LeanCounter({
      name: 'slaprobe_packets_received_total',
      help: 'Packets answered within the timeout (first answer of each; duplicates counted apart).',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    packetsLost: new LeanCounter({
      name: 'slaprobe_packets_lost_total',
      help: 'Packets not answered within the timeout. direction: round_trip, or upstream | downstream where the reflector tells which way the packet was lost.',
      labelNames: ['target', 'kind', 'direction'],
      registers: r,
      index,
    }),
    packetsLate: new LeanCounter({
      name: 'slaprobe_packets_late_total',
      help: 'Answers that arrived after the packet had been counted lost.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    packetsUnobserved: new LeanCounter({
      name: 'slaprobe_packets_unobserved_total',
      help: 'Answers read after a stall of the agent itself (its packet worker busy, preempted, stopped) later than the packet timeout: they came back, whether in time is not known. Counted neither sent, received nor lost, and no RTT. Non-zero means the agent was starved of CPU.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    packetsDuplicated: new LeanCounter({
      name: 'slaprobe_packets_duplicated_total',
      help: 'Answers received more than once for the same request.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    packetsReordered: new LeanCounter({
      name: 'slaprobe_packets_reordered_total',
      help: 'Answers that arrived after an answer to a later request.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    packetsInvalid: new LeanCounter({
      name: 'slaprobe_packets_invalid_total',
      help: 'Datagrams received that were not a valid answer, by reason (malformed, bad_cookie, unknown_transaction, bad_mac, wrong_source, error_response, oversized).',
      labelNames: ['target', 'kind', 'reason'],
      registers: r,
      index,
    }),
    lossBurstMax: new LeanGauge({
      name: 'slaprobe_loss_burst_max_packets',
      help: 'Longest run of consecutive lost packets in the last run.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    rtt: new LeanHistogram({
      name: 'slaprobe_rtt_seconds',
      help: 'Round-trip time of each answered packet.',
      labelNames: ['target', 'kind'],
      buckets: RTT_BUCKETS,
      registers: r,
      index,
    }),
    jitter: new LeanGauge({
      name: 'slaprobe_jitter_seconds',
      help: 'RFC 3550 section 6.4.1 interarrival jitter (J += (|D| - J) / 16) over consecutive round trips, as RTCP and WebRTC report it; compared with the 50 ms target.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    ipdvMean: new LeanGauge({
      name: 'slaprobe_ipdv_mean_seconds',
      help: 'Mean absolute IP packet delay variation between consecutive packets (RFC 3393), last run.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    pdvP99: new LeanGauge({
      name: 'slaprobe_pdv_p99_seconds',
      help: '99th percentile of packet delay variation, delay above the minimum of the window (RFC 5481), last run.',
      labelNames: ['target', 'kind'],
      registers: r,
      index,
    }),
    mos: new LeanGauge({
      name: 'slaprobe_mos',
      help: 'Estimated mean opinion score (1-4.5) from a simplified ITU-T G.107 E-model of latency, jitter and loss. An estimate, not a listening test.',
      labelNames: ['target'],
      registers: r,
      index,
    }),
    // One series per quantity and window with the verdict as its value, not one 0/1 series
    // per verdict: 9 series per packet target instead of 27.
    qualityBreached: new LeanGauge({
      name: 'slaprobe_quality_breached',
      help: 'The verdict of a quantity (loss | jitter | latency) over a window (15m, 1h, month ...): 1 breached, 0 met, -1 not enough packets to say (insufficient_data).',
      labelNames: ['target', 'quantity', 'window'],
      registers: r,
      index,
    }),
    lossUpperBound: new LeanGauge({
      name: 'slaprobe_loss_ratio_upper_bound',
      help: 'One-sided 95 % Clopper-Pearson upper bound of the packet loss ratio over the window.',
      labelNames: ['target', 'window'],
      registers: r,
      index,
    }),
    lossPacketsNeeded: new LeanGauge({
      name: 'slaprobe_loss_packets_needed',
      help: 'Further loss-free packets needed before the loss verdict over the window can be met (0 once decided).',
      labelNames: ['target', 'window'],
      registers: r,
      index,
    }),

    alertmanagerWebhooks: new Counter({
      name: 'slaprobe_alertmanager_webhooks_total',
      help: 'Alertmanager notifications received on POST /-/alertmanager/webhook, by result: stored (its alerts with a service label are on the record), rejected (not an Alertmanager payload: 400), failed (the store refused it: 500, Alertmanager retries).',
      labelNames: ['result'] as const,
      registers: r,
    }),

    // --- reflector ----------------------------------------------------------------------------
    reflectorPackets: new Counter({
      name: 'slaprobe_reflector_packets_total',
      help: 'Datagrams received by the UDP reflector, by result (reflected, unauthenticated, unverified, malformed, oversized, rate_limited, replayed, unanswerable, send_failed, error).',
      labelNames: ['result'] as const,
      registers: r,
    }),
    reflectorUp: new Gauge({
      name: 'slaprobe_reflector_up',
      help: '1 while the UDP reflector is listening, 0 while its worker is down or restarting (absent without reflector:).',
      registers: r,
    }),
    reflectorRestarts: new Counter({
      name: 'slaprobe_reflector_restarts_total',
      help: 'Times the UDP reflector worker ended unasked and was started again.',
      registers: r,
    }),

    // --- sinks --------------------------------------------------------------------------------
    sinkErrors: new Counter({
      name: 'slaprobe_sink_errors_total',
      help: 'Results a sink failed on, by sink (metrics, log, push, quality, availability); the other sinks still got them. push: the run\'s samples were not recorded for remote write (see the log line, at most one a minute per sink).',
      labelNames: ['sink'] as const,
      registers: r,
    }),

    // --- store --------------------------------------------------------------------------------
    storeErrors: new Counter({
      name: 'slaprobe_store_errors_total',
      help: 'Store accesses that failed (disk full, read-only, I/O error), by op (outcome, degraded, heartbeat, run, read). While writes fail, /readyz answers 503 and the affected time reads as unknown.',
      labelNames: ['op'] as const,
      registers: r,
    }),

    // --- availability (services) --------------------------------------------------------------
    serviceUp: new Gauge({
      name: 'slaprobe_service_up',
      help: '1 if the service is up now by its rule (all | any | at least k targets), 0 if down, absent while unknown.',
      labelNames: ['service'] as const,
      registers: r,
    }),
    availabilityRatio: new Gauge({
      name: 'slaprobe_availability_ratio',
      help: 'Availability of the service under the policy for the current period so far, as slaprobe report computes it: (counted - counted unavailable) / counted, by the policy\'s rules (excluded_time, unknown); recomputed from the store, so a later exclusion corrects it.',
      labelNames: ['service', 'sla'] as const,
      registers: r,
    }),
    errorBudgetRemainingRatio: new Gauge({
      name: 'slaprobe_error_budget_remaining_ratio',
      help: 'Share of the period\'s error budget not yet used (can go below 0).',
      labelNames: ['service', 'sla'] as const,
      registers: r,
    }),
    errorBudgetRemainingSeconds: new Gauge({
      name: 'slaprobe_error_budget_remaining_seconds',
      help: 'Error budget left in the current period, in seconds (can go below 0).',
      labelNames: ['service', 'sla'] as const,
      registers: r,
    }),
    // Per policy: each policy counts by its own rules (minimum outage, rounding, exclusions,
    // period and time zone), so a service with `sla: [udesk, hedu]` has both. Every
    // (service, sla, state) series exists at 0 from the first scrape: rate() never sees a
    // counter born mid-outage. Monotonic: an exclusion recorded later lowers the period
    // gauges below, never these.
    serviceSeconds: new Counter({
      name: 'slaprobe_service_seconds_total',
      help: 'Service time under the policy by state, seconds, for rate() and burn rates: up, degraded (partial included), down, unknown and excluded grow with the timeline (fractional); down_counted (down time of outages that count under the policy) grows as the policy counts it: in whole minutes when it rounds, and by the whole outage at once when it reaches min_outage; counted is the service time that counts under the policy (the denominator of its availability: less what excluded_time: removed and unknown: excluded take out), so down_counted / counted is its error ratio.',
      labelNames: ['service', 'sla', 'state'] as const,
      registers: r,
    }),
    periodUnavailableSeconds: new Gauge({
      name: 'slaprobe_period_unavailable_seconds',
      help: 'Counted unavailable time of the current period under the policy so far, seconds, as slaprobe report computes it; recomputed from the store, so a later exclusion lowers it.',
      labelNames: ['service', 'sla'] as const,
      registers: r,
    }),
    slaObjective: new Gauge({
      name: 'slaprobe_sla_objective_ratio',
      help: 'The policy\'s availability target as a ratio (99.9 % is 0.999), from the config: the objective the burn-rate rules divide by (slo:objective:ratio), so a custom policy needs no rule of its own.',
      labelNames: ['service', 'sla'] as const,
      registers: r,
    }),
    incidents: new Counter({
      name: 'slaprobe_incidents_total',
      help: 'Incidents opened, by fault level (L1 down, L2 degraded, L3 partial), as each policy delimits them (its merge_within); every level exists at 0 from the first scrape.',
      labelNames: ['service', 'sla', 'level'] as const,
      registers: r,
    }),
    qualityBreachedSince: new LeanGauge({
      name: 'slaprobe_quality_breached_since_timestamp_seconds',
      help: 'Unix time the open quality breach of the target (any quantity over its shortest window) started; absent when there is none. The L2 recovery deadline (4 h, HEDU-5.8) runs from here.',
      labelNames: ['target'],
      registers: r,
      index,
    }),
    outageOpenSince: new Gauge({
      name: 'slaprobe_outage_open_since_timestamp_seconds',
      help: 'Unix time the open outage of the service started; absent when there is none.',
      labelNames: ['service'] as const,
      registers: r,
    }),
    credit: new Gauge({
      name: 'slaprobe_credit',
      help: 'Credit owed for the current period under the policy\'s credit rule; unit: minutes of service time, or percent of the monthly fee.',
      labelNames: ['service', 'sla', 'unit'] as const,
      registers: r,
    }),

    // --- remote write (src/fleet/) ------------------------------------------------------------
    remoteBacklog: backlog,
    remoteWritePending: new Gauge({
      name: 'slaprobe_remote_write_samples_pending',
      help: 'Samples recorded in the durable outbox (the local store) that the remote has not acknowledged yet.',
      labelNames: ['remote'] as const,
      registers: r,
      collect() {
        this.reset();
        for (const b of backlog.read()) this.set({ remote: b.remote }, b.pending);
      },
    }),
    remoteWriteOldestAge: new Gauge({
      name: 'slaprobe_remote_write_oldest_pending_sample_age_seconds',
      help: 'Age of the oldest sample waiting for the remote (now minus its run start time); absent when nothing waits.',
      labelNames: ['remote'] as const,
      registers: r,
      collect() {
        this.reset();
        for (const b of backlog.read()) if (b.oldestAgeSeconds !== undefined) this.set({ remote: b.remote }, b.oldestAgeSeconds);
      },
    }),
    remoteWriteSent: new Counter({
      name: 'slaprobe_remote_write_samples_sent_total',
      help: 'Samples the remote acknowledged with a 2xx answer.',
      labelNames: ['remote'] as const,
      registers: r,
    }),
    remoteWriteFailed: new Counter({
      name: 'slaprobe_remote_write_samples_failed_total',
      help: 'Samples the remote refused for good (a 4xx answer other than 429); logged with the answer and not sent again.',
      labelNames: ['remote'] as const,
      registers: r,
    }),
    remoteWriteRetries: new Counter({
      name: 'slaprobe_remote_write_retries_total',
      help: 'Requests that failed in a way worth retrying (5xx, 429, network error, timeout); the samples stay in the outbox.',
      labelNames: ['remote'] as const,
      registers: r,
    }),
    sdTargets: new Gauge({
      name: 'slaprobe_sd_discovered_targets',
      help: 'Targets the group\'s file_sd / http_sd sources list now (before agent.shard keeps this agent\'s share; slaprobe_targets counts those).',
      labelNames: ['group'] as const,
      registers: r,
    }),
    sdRefreshFailures: new Counter({
      name: 'slaprobe_sd_refresh_failures_total',
      help: 'Service-discovery reads that failed (file unreadable or not a list of {targets, labels}, http_sd error); the last good content is kept.',
      labelNames: ['group', 'mechanism'] as const,
      registers: r,
    }),
    remoteWriteLastSuccess: new Gauge({
      name: 'slaprobe_remote_write_last_success_timestamp_seconds',
      help: 'Unix time of the last request the remote acknowledged.',
      labelNames: ['remote'] as const,
      registers: r,
    }),
  };
  m.buildInfo.set({ version: opts.version, node_version: process.version }, 1);
  return m;
}

const TARGET_INFO = 'slaprobe_target_info';

function targetInfoGauge(registry: Registry, index: TargetIndex, extra: string[]) {
  return new LeanGauge({
    name: TARGET_INFO,
    help: 'Always 1 per configured target; carries the target\'s own config labels (targets[].labels) besides target and kind, for joins in rules: ... * on(target) group_left(team) slaprobe_target_info.',
    labelNames: ['target', 'kind', ...extra],
    registers: [registry],
    index,
  });
}

/** Sets slaprobe_service_target_info for the configured services. */
export function setServiceTargetInfo(m: Metrics, services: readonly { name: string; targets: readonly string[] }[]): void {
  m.serviceTargetInfo.reset();
  for (const s of services) for (const target of s.targets) m.serviceTargetInfo.set({ service: s.name, target }, 1);
}

/** Sets slaprobe_target_info for the configured targets; its label names follow the config. */
export function setTargetInfo(m: Metrics, targets: readonly Target[]): void {
  const extra = [...new Set(targets.flatMap((t) => Object.keys(t.labels)))].sort();
  m.targetInfo.reset();
  m.registry.removeSingleMetric(TARGET_INFO);
  m.targetInfo = targetInfoGauge(m.registry, m.index, extra);
  for (const t of targets) {
    m.targetInfo.set({ target: t.name, kind: t.kind, ...Object.fromEntries(extra.map((k) => [k, t.labels[k] ?? ''])) }, 1);
  }
}
