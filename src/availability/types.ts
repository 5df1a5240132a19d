// Shapes shared by the availability calculator. Every time is Unix milliseconds; every
// interval is half-open [start, end). Minutes appear only in results (see docs/availability.md).

/** A target's state over a stretch of time; time no outcome covers is unknown (a gap). */
export type TargetState = 'up' | 'down';

/**
 * A service's state: down = its targets are down by its rule (fault level L1); degraded = a
 * quality breach while not down (L2); partial = some targets down but not enough for the rule
 * (L3); unknown = no outcome says otherwise (agent stopped, target not yet probed).
 */
export type ServiceState = 'up' | 'degraded' | 'partial' | 'down' | 'unknown';

export type Level = 'L1' | 'L2' | 'L3';

export interface Span<S extends string> {
  start: number;
  end: number;
  state: S;
  /** When the agent learnt of this state (the finishing time of the run that showed it). */
  seen?: number;
}

export type Rule = { type: 'all' } | { type: 'any' } | { type: 'at_least'; k: number };

/**
 * How the regions that probe a service combine, instant by instant, over the regions
 * reporting then (docs/availability.md section 2a).
 */
export type RegionRule =
  | { type: 'any_up' }
  | { type: 'all_down' }
  | { type: 'at_least_down'; k: number }
  | { type: 'fraction_down'; f: number };

export interface RegionPolicy {
  rule: RegionRule;
  /** Fewer regions reporting than this: the service's state is unknown, never up or down. */
  min_reporting: number;
}

/** A stretch during which a region saw the service down while the fleet counted it up. */
export interface RegionalFault {
  region: string;
  start: number;
  end: number;
}

/** One interval of excluded time with where it comes from and why. */
export interface Exclusion {
  start: number;
  end: number;
  reason: string;
  /** Maintenance entry name, or "exclude#<id>" for one recorded after the fact. */
  source: string;
}

export type UnknownRule = 'excluded' | 'down' | 'up';
export type Rounding = 'up' | 'nearest' | 'down' | 'none';
export type PeriodKind = 'month' | 'year' | 'rolling_12_months';
/** How excluded time enters the formula: counted as available (HEDU/UMEET-7.1) or taken out of the period (UDESK-1.2, EASYMEETING). */
export type ExcludedTime = 'available' | 'removed';
/** Where minutes are rounded: once on the period's sum (default) or on each window's part. */
export type RoundingScope = 'period' | 'window';
/** Unknown time inside an outage (down before and after it): down, or as the `unknown` rule says. */
export type UnknownInOutage = 'down' | 'unknown_rule';
/** Time of a period before the first evidence of the service: not in service, or unknown. */
export type PartialPeriod = 'from_first_sample' | 'whole_period';
/** When a credit is owed: only when the period misses its target, or for every counted minute. */
export type CreditWhen = 'missed' | 'always';

export type CreditRule =
  | { type: 'none' }
  /** HEDU-7.2 / UMEET-7.2: factor x counted minutes as service time, capped. */
  | { type: 'multiplier'; factor: number; cap: 'period' | number | null; when: CreditWhen }
  /** UDESK-13.2: the lost (counted) minutes, as service time. */
  | { type: 'equal_time'; when: CreditWhen }
  /** EASYMEETING: `percent` of the monthly fee for every percentage point below `threshold`. */
  | { type: 'percent_per_point'; threshold: number; percent: number; steps: 'exact' | 'whole' | 'started'; cap_percent: number | null; when: CreditWhen }
  /** Cloud style: the credit of the lowest `below` the availability falls under. */
  | { type: 'tiers'; tiers: { below: number; percent: number }[]; when: CreditWhen };

/**
 * Which period settles a credit: each reported period its own (`period`), or only the
 * contract year (12 months from `contract_year_start`, a month 1-12) for a policy whose
 * figure is judged over 12 months (EASYMEETING-credit), so that rolling months never pay the
 * same lost time twice.
 */
export type Settlement = { type: 'period' } | { type: 'contract_year'; start_month: number };

/** An SLA policy, fully defaulted (src/config/sla.ts). */
export interface SlaPolicy {
  name: string;
  /** Free text: which agreement and clause it implements. */
  description: string;
  /** Percent, e.g. 99.9. */
  target: number;
  period: PeriodKind;
  /** IANA zone in which calendar periods start, e.g. "Asia/Shanghai". */
  time_zone: string;
  /** An outage whose unavailable time is shorter than this is recorded, not counted (UDESK-1.2). */
  min_outage: number;
  unknown: UnknownRule;
  /** Down windows less than this apart are one window; the time between counts as down. */
  merge_within: number;
  /** How the period's unavailable time becomes whole minutes. */
  rounding: Rounding;
  /** Round the period's sum once (default) or each window's part in the period. */
  rounding_scope: RoundingScope;
  /** Whether maintenance and after-the-fact exclusions apply under this policy. */
  exclusions: boolean;
  /** Excluded time: counted as available (denominator stays whole) or removed from the period. */
  excluded_time: ExcludedTime;
  unknown_in_outage: UnknownInOutage;
  partial_period: PartialPeriod;
  settlement: Settlement;
  /** Recovery deadline per fault level, ms. */
  recovery: Record<Level, number>;
  credit: CreditRule;
  /** Customers must be notified within this of an incident's start, ms (HEDU-5.7: 15 min); null: no such promise. */
  notify_within: number | null;
}

/** A notification delivered about a service (Alertmanager's webhook to the agent). */
export interface Notice {
  /** When it was delivered, Unix ms. */
  at: number;
  alertname: string;
  status: 'firing' | 'resolved';
}

/** Calendar period of a policy: [start, end) in Unix ms, labelled like "2026-11". */
export interface Period {
  label: string;
  start: number;
  end: number;
}
