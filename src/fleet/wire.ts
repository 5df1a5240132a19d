// The fleet's evidence as it travels through a Prometheus-compatible store (remote write in,
// HTTP query API out). One contract for the pusher (src/fleet/outbox.ts, remote-write) and the
// reader (`slaprobe report --source`): change it here and both follow.
//
// Every sample is stamped with the probe run's START time (Unix ms), never a scrape time, so an
// outage edge lands where the run saw it (a 4m50s outage stays under the 5-minute rule).
// Series are keyed by target and region (plus the pushing agent, for HA pairs and debugging);
// the report groups by (target, region) and ignores `agent`, so re-sharding N -> N+1 agents
// keeps one timeline per target and region.

/** One sample per probe run: 1 the run succeeded, 0 it failed. */
export const OUTCOME_METRIC = 'slaprobe_run_success';
/** One sample per packet-target run (and at each verdict change): 1 quality breached (L2), 0 met. */
export const DEGRADED_METRIC = 'slaprobe_run_degraded';
/** Interval of the target's runs, seconds, sent beside each outcome (the gap rule needs it). */
export const INTERVAL_METRIC = 'slaprobe_run_interval_seconds';

/**
 * Service membership, for fleet alerts in PromQL (deploy/prometheus/rules/slaprobe-fleet.rules.yml):
 * one sample per run per service that lists the target, labelled `service`, stamped like the
 * outcome. Its value is how many of the service's targets must be down for the service to be
 * down by its rule: all -> the service's target count, any -> 1, {at_least: K} -> K.
 * The report reads services from its config, not from this series.
 */
export const SERVICE_INFO_METRIC = 'slaprobe_run_service_info';

export const LABEL_SERVICE = 'service';
export const LABEL_TARGET = 'target';
export const LABEL_REGION = 'region';
export const LABEL_AGENT = 'agent';
