// Validators for SLA policies (services[].sla) and excluded time (maintenance:), with the
// kit of check.ts, and the presets of config/sla/*.yaml. A service's `sla:` item is a preset
// name ("udesk"), a preset with overrides ({preset: udesk, time_zone: Asia/Shanghai}) or a
// full inline policy ({name: internal, target: 99.95, ...}).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { isTimeZone, parseInstant } from '../availability/calendar.ts';
import { type Maintenance, parseCron, weeklyToCron } from '../availability/exclusions.ts';
import type { CreditRule, CreditWhen, Level, Settlement, SlaPolicy } from '../availability/types.ts';
import { Ctx, type Obj, type Path, bool, describe, duration, formatMs, isObj, list, mapping, num, oneOf, pathString, str } from './check.ts';

export const PRESET_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../config/sla');

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const NAME_HINT = 'letters, digits, "_", ".", ":" and "-", at most 64 characters';
/** The error of a time_zone that neither the system's zone database nor Node.js's knows. */
const notAZone = (tz: string) => `"${tz}" is not an IANA time zone known here (in the system zone database or in Node.js); use a name such as UTC or Asia/Shanghai`;
const POLICY_KEYS = ['name', 'description', 'target', 'period', 'time_zone', 'min_outage', 'unknown', 'merge_within',
  'rounding', 'rounding_scope', 'exclusions', 'excluded_time', 'unknown_in_outage', 'partial_period', 'settlement', 'recovery', 'credit', 'notify_within'] as const;

/** Defaults of every policy key (docs/availability.md lists them). */
export const POLICY_DEFAULTS: Omit<SlaPolicy, 'name' | 'target'> = {
  description: '',
  period: 'month',
  time_zone: 'UTC',
  // Only UDESK-1.2 has a minimum outage; its preset sets 5m.
  min_outage: 0,
  unknown: 'excluded',
  merge_within: 0,
  rounding: 'up',
  rounding_scope: 'period',
  exclusions: true,
  excluded_time: 'removed',
  unknown_in_outage: 'down',
  partial_period: 'from_first_sample',
  settlement: { type: 'period' },
  // HEDU-5.8 / UMEET-5.8 recovery deadlines.
  recovery: { L1: 2 * 3_600_000, L2: 4 * 3_600_000, L3: 24 * 3_600_000 },
  credit: { type: 'none' },
  notify_within: null,
};

/** The policy of a service that names none: what `report` and the status page apply. */
export const DEFAULT_POLICY: SlaPolicy = Object.freeze({
  ...POLICY_DEFAULTS, name: 'default', target: 99.9, description: '99.9 % per calendar month in UTC (the defaults)',
});

/** A service's policies; one that lists none is accounted under DEFAULT_POLICY, by the report, the metrics and the status page alike. */
export const policiesOf = (s: { sla: readonly SlaPolicy[] }): readonly SlaPolicy[] => (s.sla.length > 0 ? s.sla : [DEFAULT_POLICY]);

/** A policy mapping; `base` supplies what it does not set (the defaults, or a preset). */
export function policy(ctx: Ctx, v: unknown, p: Path, base?: SlaPolicy, allowed: readonly string[] = POLICY_KEYS): SlaPolicy | undefined {
  const o = mapping(ctx, v, p, allowed);
  if (!o) return undefined;
  const name = str(ctx, o['name'], [...p, 'name'], { required: !base, pattern: NAME, hint: NAME_HINT }) ?? base?.name;
  const target = num(ctx, o['target'], [...p, 'target'], { min: 0, max: 100 }) ?? base?.target;
  if (target === undefined && o['target'] === undefined) ctx.add([...p, 'target'], 'is required: the availability target in percent, e.g. 99.9');
  const b = base ?? { name: '', target: 0, ...POLICY_DEFAULTS };
  const tz = str(ctx, o['time_zone'], [...p, 'time_zone']);
  if (tz !== undefined && !isTimeZone(tz)) ctx.add([...p, 'time_zone'], notAZone(tz));
  const rec = mapping(ctx, o['recovery'], [...p, 'recovery'], ['L1', 'L2', 'L3']) ?? {};
  const recovery = { ...b.recovery };
  for (const l of ['L1', 'L2', 'L3'] as Level[]) recovery[l] = duration(ctx, rec[l], [...p, 'recovery', l], { min: 60_000 }) ?? recovery[l];
  const cr = o['credit'] === undefined ? b.credit : creditRule(ctx, o['credit'], [...p, 'credit']);
  if (name === undefined || target === undefined) return undefined;
  const pol: SlaPolicy = {
    name, target,
    description: str(ctx, o['description'], [...p, 'description']) ?? b.description,
    period: oneOf(ctx, o['period'], [...p, 'period'], ['month', 'year', 'rolling_12_months'] as const, b.period) ?? b.period,
    time_zone: tz !== undefined && isTimeZone(tz) ? tz : b.time_zone,
    min_outage: duration(ctx, o['min_outage'], [...p, 'min_outage'], { min: 0, max: 86_400_000 }) ?? b.min_outage,
    unknown: oneOf(ctx, o['unknown'], [...p, 'unknown'], ['excluded', 'down', 'up'] as const, b.unknown) ?? b.unknown,
    merge_within: duration(ctx, o['merge_within'], [...p, 'merge_within'], { min: 0, max: 86_400_000 }) ?? b.merge_within,
    rounding: oneOf(ctx, o['rounding'], [...p, 'rounding'], ['up', 'nearest', 'down', 'none'] as const, b.rounding) ?? b.rounding,
    rounding_scope: oneOf(ctx, o['rounding_scope'], [...p, 'rounding_scope'], ['period', 'window'] as const, b.rounding_scope) ?? b.rounding_scope,
    exclusions: bool(ctx, o['exclusions'], [...p, 'exclusions'], b.exclusions),
    excluded_time: oneOf(ctx, o['excluded_time'], [...p, 'excluded_time'], ['available', 'removed'] as const, b.excluded_time) ?? b.excluded_time,
    unknown_in_outage: oneOf(ctx, o['unknown_in_outage'], [...p, 'unknown_in_outage'], ['down', 'unknown_rule'] as const, b.unknown_in_outage) ?? b.unknown_in_outage,
    partial_period: oneOf(ctx, o['partial_period'], [...p, 'partial_period'], ['from_first_sample', 'whole_period'] as const, b.partial_period) ?? b.partial_period,
    settlement: o['settlement'] === undefined ? b.settlement : settlement(ctx, o['settlement'], [...p, 'settlement']) ?? b.settlement,
    recovery,
    credit: cr ?? b.credit,
    notify_within: o['notify_within'] === null ? null : duration(ctx, o['notify_within'], [...p, 'notify_within'], { min: 0, max: 86_400_000 }) ?? b.notify_within,
  };
  if (pol.settlement.type === 'contract_year' && pol.period === 'month') {
    ctx.add([...p, 'settlement'], 'contract_year settles a 12-month figure; it needs period: rolling_12_months or year (a monthly policy settles each month: settlement: period)');
  }
  return pol;
}

/** `settlement: period`, `settlement: contract_year` or `{type: contract_year, start_month: 1-12}`. */
function settlement(ctx: Ctx, v: unknown, p: Path): Settlement | undefined {
  const o = typeof v === 'string' ? { type: v } : mapping(ctx, v, p, ['type', 'start_month']);
  if (!o) return undefined;
  const type = oneOf(ctx, o['type'], [...p, 'type'], ['period', 'contract_year'] as const);
  if (type === 'period') return { type };
  if (type === undefined) return undefined;
  const m = num(ctx, o['start_month'], [...p, 'start_month'], { min: 1, max: 12, dflt: 1 });
  if (m !== undefined && !Number.isInteger(m)) return ctx.add([...p, 'start_month'], `expected the month the contract year starts in, 1-12, got ${m}`);
  return m === undefined ? undefined : { type, start_month: m };
}

const CREDIT_WHEN = ['missed', 'always'] as const;

function creditRule(ctx: Ctx, v: unknown, p: Path): CreditRule | undefined {
  if (!isObj(v)) return ctx.add(p, `expected a mapping with type: none | multiplier | equal_time | percent_per_point | tiers, got ${describe(v)}`);
  const type = oneOf(ctx, v['type'], [...p, 'type'], ['none', 'multiplier', 'equal_time', 'percent_per_point', 'tiers'] as const);
  if (v['type'] === undefined) return ctx.add([...p, 'type'], 'is required: none | multiplier | equal_time | percent_per_point | tiers');
  // Credit only for a missed target unless the clause pays every counted minute (HEDU-7.2).
  const when: CreditWhen = oneOf(ctx, v['when'], [...p, 'when'], CREDIT_WHEN, 'missed') ?? 'missed';
  switch (type) {
    case undefined:
      return undefined;
    case 'none':
      mapping(ctx, v, p, ['type']);
      return { type };
    case 'equal_time':
      mapping(ctx, v, p, ['type', 'when']);
      return { type, when };
    case 'multiplier': {
      const o = mapping(ctx, v, p, ['type', 'factor', 'cap', 'when']) ?? {};
      const factor = num(ctx, o['factor'], [...p, 'factor'], { min: 0 });
      if (o['factor'] === undefined) ctx.add([...p, 'factor'], 'is required: how many times the counted minutes are credited, e.g. 10 (HEDU-7.2)');
      let cap: 'period' | number | null = null;
      if (o['cap'] === 'period') cap = 'period';
      else if (o['cap'] !== undefined) cap = duration(ctx, o['cap'], [...p, 'cap'], { min: 60_000 }) ?? null;
      if (cap !== null && cap !== 'period') cap /= 60_000;
      return factor === undefined ? undefined : { type, factor, cap, when };
    }
    case 'percent_per_point': {
      const o = mapping(ctx, v, p, ['type', 'threshold', 'percent', 'steps', 'cap_percent', 'when']) ?? {};
      const threshold = num(ctx, o['threshold'], [...p, 'threshold'], { min: 0, max: 100 });
      const percent = num(ctx, o['percent'], [...p, 'percent'], { min: 0, max: 100 });
      if (o['threshold'] === undefined) ctx.add([...p, 'threshold'], 'is required: the availability in percent below which credit is owed, e.g. 99.0');
      if (o['percent'] === undefined) ctx.add([...p, 'percent'], 'is required: percent of the monthly fee per percentage point below the threshold, e.g. 2.5');
      const steps = oneOf(ctx, o['steps'], [...p, 'steps'], ['exact', 'whole', 'started'] as const, 'exact') ?? 'exact';
      const capPct = num(ctx, o['cap_percent'], [...p, 'cap_percent'], { min: 0, max: 100 });
      return threshold === undefined || percent === undefined ? undefined : { type, threshold, percent, steps, cap_percent: capPct ?? null, when };
    }
    case 'tiers': {
      const o = mapping(ctx, v, p, ['type', 'tiers', 'when']) ?? {};
      const tiers = (list(ctx, o['tiers'], [...p, 'tiers']) ?? []).flatMap((t, i) => {
        const tp = [...p, 'tiers', i];
        const to = mapping(ctx, t, tp, ['below', 'percent']);
        const below = num(ctx, to?.['below'], [...tp, 'below'], { min: 0, max: 100 });
        const percent = num(ctx, to?.['percent'], [...tp, 'percent'], { min: 0, max: 100 });
        if (below === undefined || percent === undefined) {
          ctx.add(tp, 'needs below (availability percent) and percent (credit percent), e.g. {below: 99.9, percent: 10}');
          return [];
        }
        return [{ below, percent }];
      });
      if (tiers.length === 0) ctx.add([...p, 'tiers'], 'is required: at least one {below, percent}');
      return { type, tiers, when };
    }
  }
}

let presetCache: { dir: string; presets: Map<string, SlaPolicy | string> } | undefined;

/** Every preset of `dir`, by file name; a broken preset maps to its error message. */
export function loadPresets(dir = PRESET_DIR): Map<string, SlaPolicy | string> {
  if (presetCache?.dir === dir) return presetCache.presets;
  const presets = new Map<string, SlaPolicy | string>();
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  } catch {
    // No preset folder: inline policies still work; a preset name then fails as unknown.
  }
  for (const f of files) {
    const name = f.slice(0, -'.yaml'.length);
    const file = join(dir, f);
    try {
      const ctx = new Ctx();
      const pol = policy(ctx, parse(readFileSync(file, 'utf8')), []);
      if (ctx.issues.length > 0 || !pol) presets.set(name, `${file}: ${ctx.issues.map((i) => `${pathString(i.path)}: ${i.message}`).join('; ')}`);
      else if (pol.name !== name) presets.set(name, `${file}: name is "${pol.name}" but the file is ${f}; make them the same`);
      else presets.set(name, Object.freeze(pol));
    } catch (e) {
      presets.set(name, `${file}: cannot read preset (${(e as Error).message.split('\n')[0]})`);
    }
  }
  presetCache = { dir, presets };
  return presets;
}

function preset(ctx: Ctx, name: unknown, p: Path): SlaPolicy | undefined {
  const presets = loadPresets();
  if (typeof name !== 'string') return ctx.add(p, `expected a preset name (${[...presets.keys()].join(', ')}), got ${describe(name)}`);
  const found = presets.get(name);
  if (found === undefined) {
    return ctx.add(p, `unknown SLA preset "${name}"; presets: ${[...presets.keys()].join(', ') || 'none found in ' + PRESET_DIR}; or write a full policy {name, target, ...}`);
  }
  if (typeof found === 'string') return ctx.add(p, `preset "${name}" is broken: ${found}`);
  return found;
}

/** services[i].sla: a list of preset names, presets with overrides, or inline policies. */
export function validateSla(ctx: Ctx, v: unknown, p: Path): SlaPolicy[] {
  const out: SlaPolicy[] = [];
  (list(ctx, v, p) ?? []).forEach((item, i) => {
    const ip = [...p, i];
    let pol: SlaPolicy | undefined;
    if (typeof item === 'string') pol = preset(ctx, item, ip);
    else if (isObj(item) && item['preset'] !== undefined) {
      const base = preset(ctx, item['preset'], [...ip, 'preset']);
      const { preset: _, ...rest } = item as Obj;
      if (base) pol = policy(ctx, rest, ip, base, [...POLICY_KEYS, 'preset']);
    } else if (isObj(item)) pol = policy(ctx, item, ip);
    else ctx.add(ip, `expected a preset name such as "udesk", {preset: udesk, ...overrides} or a policy mapping, got ${describe(item)}`);
    if (!pol) return;
    if (out.some((x) => x.name === pol.name)) ctx.add(ip, `two policies named "${pol.name}" on one service; give one a different name: (e.g. {preset: ${pol.name}, name: ${pol.name}-shanghai})`);
    else out.push(pol);
  });
  return out;
}

const MAINT_KEYS = ['name', 'reason', 'services', 'start', 'end', 'schedule', 'weekly', 'duration', 'time_zone', 'from', 'until'] as const;

function instant(ctx: Ctx, v: unknown, p: Path, required: boolean): number | undefined {
  if (v === undefined || v === null) {
    if (required) ctx.add(p, 'is required: an RFC 3339 time with offset, e.g. 2026-11-03T02:00:00+08:00');
    return undefined;
  }
  const t = parseInstant(v);
  if (t === undefined) ctx.add(p, `expected an RFC 3339 time with offset such as "2026-11-03T02:00:00+08:00" (or Z for UTC), got ${describe(v)}`);
  return t;
}

/** `maintenance:` entries: one-off (start, end) or recurring (schedule or weekly, duration). */
export function validateMaintenance(ctx: Ctx, v: unknown, p: Path, services: readonly string[]): Maintenance[] {
  const names = new Set<string>();
  return (list(ctx, v, p) ?? []).flatMap((item, i): Maintenance[] => {
    const ip = [...p, i];
    const o = mapping(ctx, item, ip, MAINT_KEYS);
    if (!o || !isObj(item)) {
      if (o) ctx.add(ip, 'expected a mapping with name, reason and either start/end or schedule/duration');
      return [];
    }
    const name = str(ctx, o['name'], [...ip, 'name'], { required: true, pattern: NAME, hint: NAME_HINT });
    if (name !== undefined && names.has(name)) ctx.add([...ip, 'name'], `duplicate maintenance name "${name}"; names must be unique`);
    if (name !== undefined) names.add(name);
    const reason = str(ctx, o['reason'], [...ip, 'reason'], { required: true, hint: 'why the time is excluded, e.g. "announced upgrade (CONTRACT-7.1.2)"' });
    const svcs = (list(ctx, o['services'], [...ip, 'services']) ?? []).flatMap((s, j) => {
      const n = str(ctx, s, [...ip, 'services', j]);
      if (n !== undefined && !services.includes(n)) {
        ctx.add([...ip, 'services', j], `unknown service "${n}"; name one of services[].name (${services.join(', ') || 'none defined'}), or leave services out for all`);
        return [];
      }
      return n === undefined ? [] : [n];
    });
    const recurring = o['schedule'] !== undefined || o['weekly'] !== undefined;
    if (!recurring) {
      for (const k of ['duration', 'time_zone', 'from', 'until']) if (o[k] !== undefined) ctx.add([...ip, k], 'applies only to a recurring maintenance (schedule or weekly); a one-off one has start and end');
      const start = instant(ctx, o['start'], [...ip, 'start'], true);
      const end = instant(ctx, o['end'], [...ip, 'end'], true);
      if (start !== undefined && end !== undefined && end <= start) ctx.add([...ip, 'end'], 'must be after start');
      if (name === undefined || reason === undefined || start === undefined || end === undefined || end <= start) return [];
      return [{ kind: 'once', name, reason, services: svcs, start, end }];
    }
    for (const k of ['start', 'end']) if (o[k] !== undefined) ctx.add([...ip, k], 'applies only to a one-off maintenance; a recurring one has schedule (or weekly) and duration, and optionally from/until');
    if (o['schedule'] !== undefined && o['weekly'] !== undefined) ctx.add([...ip, 'weekly'], 'give schedule or weekly, not both');
    let cronSrc: string | undefined;
    if (o['weekly'] !== undefined) {
      const w = str(ctx, o['weekly'], [...ip, 'weekly']);
      cronSrc = w === undefined ? undefined : weeklyToCron(w);
      if (w !== undefined && cronSrc === undefined) ctx.add([...ip, 'weekly'], `"${w}" is not valid; write day(s) and a local time, e.g. "sun 02:00" or "sat,sun 23:30"`);
    } else {
      cronSrc = str(ctx, o['schedule'], [...ip, 'schedule']);
    }
    const cron = cronSrc === undefined ? undefined : parseCron(cronSrc);
    if (typeof cron === 'string') ctx.add([...ip, o['weekly'] !== undefined ? 'weekly' : 'schedule'], `${cron}; e.g. "0 2 * * sun" is 02:00 every Sunday`);
    const dur = duration(ctx, o['duration'], [...ip, 'duration'], { min: 60_000, max: 7 * 86_400_000 });
    if (o['duration'] === undefined) ctx.add([...ip, 'duration'], 'is required for a recurring maintenance: how long each occurrence lasts, e.g. "2h"');
    const tz = str(ctx, o['time_zone'], [...ip, 'time_zone']) ?? 'UTC';
    if (!isTimeZone(tz)) ctx.add([...ip, 'time_zone'], notAZone(tz));
    const from = instant(ctx, o['from'], [...ip, 'from'], false);
    const until = instant(ctx, o['until'], [...ip, 'until'], false);
    if (name === undefined || reason === undefined || cron === undefined || typeof cron === 'string' || dur === undefined || !isTimeZone(tz)) return [];
    return [{
      kind: 'recurring', name, reason, services: svcs, cron, duration: dur, time_zone: tz,
      ...(from !== undefined ? { from } : {}), ...(until !== undefined ? { until } : {}),
    }];
  });
}

function creditText(c: CreditRule): string {
  switch (c.type) {
    case 'none':
      return 'none';
    case 'multiplier':
      return `multiplier ${c.factor}x, cap ${c.cap === null ? 'none' : c.cap === 'period' ? 'period' : `${c.cap} min`}, when ${c.when}`;
    case 'equal_time':
      return `equal_time, when ${c.when}`;
    case 'percent_per_point':
      return `percent_per_point ${c.percent} % below ${c.threshold} (steps ${c.steps}, cap ${c.cap_percent === null ? 'none' : `${c.cap_percent} %`}), when ${c.when}`;
    case 'tiers':
      return `tiers ${c.tiers.map((t) => `below ${t.below}: ${t.percent} %`).join(', ')}, when ${c.when}`;
  }
}

/** The rules of a policy beyond its headline, in the config's own key names: what `check-config` prints, so an override is seen to take. */
export function policyRules(p: SlaPolicy): string {
  const r = p.recovery;
  return [
    `merge_within ${formatMs(p.merge_within)}`,
    `rounding ${p.rounding} per ${p.rounding_scope}`,
    p.exclusions ? `exclusions apply, excluded_time ${p.excluded_time}` : 'exclusions ignored',
    `unknown_in_outage ${p.unknown_in_outage}`,
    `partial_period ${p.partial_period}`,
    `recovery L1 ${formatMs(r.L1)} L2 ${formatMs(r.L2)} L3 ${formatMs(r.L3)}`,
    `notify_within ${p.notify_within === null ? 'none' : formatMs(p.notify_within)}`,
    `credit ${creditText(p.credit)}`,
    `settlement ${p.settlement.type === 'period' ? 'period' : `contract_year from month ${p.settlement.start_month}`}`,
  ].join(', ');
}
