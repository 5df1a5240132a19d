// OpenSLO v1 export (https://github.com/OpenSLO/OpenSLO, README "SLO", "SLI", "Objectives"):
// one Service document per service, one SLO per service and policy. What OpenSLO can say is
// said in its terms: a calendar-aligned time window (duration 1M, one month; 1m would be one
// minute), Timeslices budgeting over 1-minute slices, the target as a ratio, an SLI reading
// slaprobe's own counters. What it cannot say (minimum outage, rounding, unknown time,
// exclusions, credits, recovery deadlines per fault level, every other policy key) goes into
// metadata.annotations under the "slaprobe/" prefix, one key per policy key, so that
// parseOpenSlo gives back the very policies (docs/status-page.md, section 3).
import { createHash } from 'node:crypto';
import { parseAllDocuments, stringify } from 'yaml';
import { isTimeZone, localTime, periodAt } from '../availability/calendar.ts';
import type { Level, PeriodKind, Rule, SlaPolicy } from '../availability/types.ts';
import { formatMs } from '../config/check.ts';
import { parseDuration } from '../config/duration.ts';

export const API_VERSION = 'openslo/v1';
export const PREFIX = 'slaprobe/';

export interface ExportService {
  name: string;
  targets: readonly string[];
  rule: Rule;
  sla: readonly SlaPolicy[];
}

type Doc = Record<string, unknown>;

/** Policy keys held in milliseconds: written as durations ("5m", or "none" for null), read back with parseDuration. */
const DURATION_KEYS = new Set(['min_outage', 'merge_within', 'notify_within']);
/** Policy keys OpenSLO holds itself (and the annotations repeat, to be read back exactly). */
const PLAIN_KEYS = new Set(['name', 'description', 'target', 'period', 'time_zone']);

const kebab = (k: string) => k.replace(/_/g, '-');
const unkebab = (k: string) => k.replace(/-/g, '_');

/** An RFC 1123 label for metadata.name: lowercase, [a-z0-9-], at most 63 characters. */
export function objectName(...parts: string[]): string {
  const raw = parts.join('-');
  let n = raw.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  // Names that were changed on the way carry a short hash of the original, so two names that
  // differ only in case or punctuation stay two objects.
  if (n !== raw || n.length > 63) {
    const h = createHash('sha256').update(raw).digest('hex').slice(0, 6);
    n = `${n.slice(0, 56).replace(/-$/, '')}-${h}`;
  }
  return n || 'x';
}

const pad = (n: number) => String(n).padStart(2, '0');

function timeWindow(p: SlaPolicy, now: number): Doc {
  if (p.period === 'rolling_12_months') return { duration: '12M', isRolling: true };
  const start = periodAt(p.period, now, p.time_zone).start;
  const l = localTime(start, p.time_zone);
  return {
    duration: p.period === 'month' ? '1M' : '1Y',
    calendar: { startTime: `${l.year}-${pad(l.month)}-${pad(l.day)} ${pad(l.hour)}:${pad(l.minute)}:${pad(l.second)}`, timeZone: p.time_zone },
    isRolling: false,
  };
}

/**
 * The SLI: the policy's counted unavailable seconds over its counted seconds, the two states
 * of slaprobe_service_seconds_total{service, sla, state} that the agent accounts with the
 * report's own formula (down_counted includes unknown time the policy counts as down;
 * counted is the availability's denominator: countedMinutes in src/availability/account.ts).
 * The formula is not written again here, so the export cannot drift from the report.
 */
export function sliQueries(service: string, p: SlaPolicy): { bad: string; total: string } {
  const labels = `service=${JSON.stringify(service)},sla=${JSON.stringify(p.name)}`;
  const sel = (state: string) => `slaprobe_service_seconds_total{${labels},state="${state}"}`;
  return { bad: `sum(${sel('down_counted')})`, total: `sum(${sel('counted')})` };
}

/** How much of a 1-minute slice must be good for the slice to be good, by the policy's rounding. */
function timeSliceTarget(p: SlaPolicy): number {
  // up: any counted second makes the minute count; down: only a wholly counted minute counts.
  return p.rounding === 'up' ? 1 : p.rounding === 'down' ? 0.0167 : 0.5;
}

function annotations(svc: ExportService, p: SlaPolicy): Record<string, string> {
  const a: Record<string, string> = { [`${PREFIX}service`]: svc.name, [`${PREFIX}sla`]: p.name };
  for (const [k, v] of Object.entries(p)) {
    if (k === 'name') continue;
    const key = `${PREFIX}${kebab(k)}`;
    if (k === 'target') a[key] = String(v);
    else if (typeof v === 'string') a[key] = v;
    else if (DURATION_KEYS.has(k)) a[key] = v === null ? 'none' : formatMs(v as number);
    else if (k === 'recovery') a[key] = (['L1', 'L2', 'L3'] as Level[]).map((l) => `${l}=${formatMs((v as Record<Level, number>)[l])}`).join(',');
    else a[key] = JSON.stringify(v);
  }
  return a;
}

export interface ExportOptions {
  /** Anchors each calendar window at the start of the period containing it. */
  now: number;
}

/** The OpenSLO documents of the services: a Service each, an SLO per policy. */
export function toOpenSlo(services: readonly ExportService[], opts: ExportOptions): Doc[] {
  const docs: Doc[] = [];
  const names = new Map<string, string>();
  const unique = (name: string, what: string) => {
    const prev = names.get(name);
    if (prev !== undefined) throw new Error(`${what} and ${prev} both become the OpenSLO name "${name}"; rename one of them`);
    names.set(name, what);
    return name;
  };
  for (const svc of services) {
    const sname = unique(objectName(svc.name), `service ${svc.name}`);
    const rule = svc.rule.type === 'at_least' ? `at least ${svc.rule.k} targets down` : svc.rule.type === 'any' ? 'any target down' : 'every target down';
    docs.push({
      apiVersion: API_VERSION, kind: 'Service',
      metadata: { name: sname, displayName: svc.name, annotations: { [`${PREFIX}service`]: svc.name, [`${PREFIX}targets`]: svc.targets.join(','), [`${PREFIX}rule`]: JSON.stringify(svc.rule) } },
      spec: { description: `slaprobe service ${svc.name}: targets ${svc.targets.join(', ')}; down when ${rule}`.slice(0, 1050) },
    });
    for (const p of svc.sla) {
      const name = unique(objectName(svc.name, p.name), `service ${svc.name} policy ${p.name}`);
      const q = sliQueries(svc.name, p);
      const source = (query: string) => ({ metricSource: { type: 'Prometheus', spec: { query } } });
      docs.push({
        apiVersion: API_VERSION, kind: 'SLO',
        metadata: { name, displayName: `${svc.name} / ${p.name}`, annotations: annotations(svc, p) },
        spec: {
          description: (p.description || `${p.target} % per ${p.period}`).slice(0, 1050),
          service: sname,
          indicator: {
            metadata: { name: `${name.slice(0, 50)}-unavailable`, displayName: `${svc.name}: counted unavailable time` },
            spec: { ratioMetric: { counter: true, bad: source(q.bad), total: source(q.total) } },
          },
          timeWindow: [timeWindow(p, opts.now)],
          budgetingMethod: 'Timeslices',
          objectives: [{
            displayName: `${p.name}: ${p.target} %`,
            target: Number((p.target / 100).toPrecision(15)),
            timeSliceTarget: timeSliceTarget(p),
            timeSliceWindow: '1m',
          }],
        },
      });
    }
  }
  return docs;
}

export function toYaml(docs: readonly Doc[]): string {
  // startTime quoted: a YAML 1.1 reader (Go's yaml.v2) would take the bare form for a timestamp.
  return docs.map((d) => `---\n${stringify(d, { lineWidth: 0 }).replace(/^(\s*startTime: )(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$/m, '$1"$2"')}`).join('');
}

export class OpenSloError extends Error {
  readonly code = 'SLAPROBE_OPENSLO_INVALID';
  readonly messages: string[];
  constructor(messages: string[]) {
    super(messages.join('\n'));
    this.messages = messages;
  }
}

const PERIODS: Record<string, PeriodKind> = { '1M/false': 'month', '1Y/false': 'year', '12M/true': 'rolling_12_months' };

/**
 * The policies of slaprobe-made OpenSLO documents (the round trip of toOpenSlo). Every
 * SLO must carry its slaprobe/ annotations, and what OpenSLO holds itself (target, time
 * window) must agree with them: a document edited on one side only is refused, not guessed.
 */
export function parseOpenSlo(text: string): { service: string; policy: SlaPolicy }[] {
  const errors: string[] = [];
  const out: { service: string; policy: SlaPolicy }[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    const where = `document ${i + 1}`;
    if (d.errors.length > 0) return void errors.push(`${where}: not valid YAML (${d.errors[0]!.message.split('\n')[0]})`);
    const doc = d.toJS() as Doc | null;
    if (doc === null) return;
    if (doc['apiVersion'] !== API_VERSION) return void errors.push(`${where}: apiVersion is ${JSON.stringify(doc['apiVersion'])}, expected ${API_VERSION}`);
    if (doc['kind'] !== 'SLO') return;
    const meta = (doc['metadata'] ?? {}) as Doc;
    const spec = (doc['spec'] ?? {}) as Doc;
    const ann = (meta['annotations'] ?? {}) as Record<string, unknown>;
    const at = `${where} (${String(meta['name'])})`;
    const get = (k: string): string | undefined => {
      const v = ann[`${PREFIX}${kebab(k)}`];
      if (typeof v !== 'string') errors.push(`${at}: metadata.annotations["${PREFIX}${kebab(k)}"] is missing; was it made by slaprobe export openslo?`);
      return typeof v === 'string' ? v : undefined;
    };
    const service = get('service');
    const name = get('sla');
    const pol: Record<string, unknown> = { name };
    for (const [key, raw] of Object.entries(ann)) {
      if (!key.startsWith(PREFIX) || typeof raw !== 'string') continue;
      const k = unkebab(key.slice(PREFIX.length));
      if (k === 'service' || k === 'sla') continue;
      if (k === 'target') pol[k] = Number(raw);
      else if (PLAIN_KEYS.has(k)) pol[k] = raw;
      else if (DURATION_KEYS.has(k)) {
        pol[k] = raw === 'none' ? null : parseDuration(raw);
        if (pol[k] === undefined) errors.push(`${at}: ${key}: "${raw}" is not a duration such as 5m`);
      } else if (k === 'recovery') {
        const rec: Record<string, number | undefined> = {};
        for (const part of raw.split(',')) {
          const [l, dur] = part.split('=');
          rec[l!] = dur === undefined ? undefined : parseDuration(dur);
        }
        if (!(['L1', 'L2', 'L3'] as const).every((l) => rec[l] !== undefined)) errors.push(`${at}: ${key}: "${raw}" must be L1=<duration>,L2=<duration>,L3=<duration>`);
        pol[k] = rec;
      } else {
        // Written as JSON (booleans, credit rules) or as a bare word (up, excluded).
        try {
          pol[k] = JSON.parse(raw);
        } catch {
          pol[k] = raw;
        }
      }
    }
    for (const k of ['description', 'target', 'period', 'time_zone', 'min_outage', 'unknown', 'rounding', 'exclusions', 'recovery', 'credit']) if (pol[k] === undefined && ann[`${PREFIX}${kebab(k)}`] === undefined) get(k);
    // What OpenSLO itself says must agree with the annotations.
    const objective = ((spec['objectives'] ?? []) as Doc[])[0];
    const ratio = objective?.['target'];
    if (typeof ratio !== 'number' || ratio < 0 || ratio >= 1) errors.push(`${at}: spec.objectives[0].target must be a ratio in [0, 1), got ${JSON.stringify(ratio)}`);
    else if (typeof pol['target'] === 'number' && Math.abs(ratio * 100 - pol['target']) > 1e-9) errors.push(`${at}: spec.objectives[0].target ${ratio} disagrees with ${PREFIX}target ${pol['target']} %; change both`);
    const tw = ((spec['timeWindow'] ?? []) as Doc[])[0] ?? {};
    // isRolling may be left out: false when a calendar is given (OpenSLO README, SLO).
    const rolling = tw['isRolling'] ?? (tw['calendar'] === undefined);
    const kind = PERIODS[`${String(tw['duration'])}/${String(rolling)}`];
    if (kind === undefined) errors.push(`${at}: spec.timeWindow ${JSON.stringify(tw)} is none of 1M calendar, 1Y calendar, 12M rolling`);
    else if (pol['period'] !== undefined && kind !== pol['period']) errors.push(`${at}: spec.timeWindow says ${kind}, ${PREFIX}period says ${String(pol['period'])}; change both`);
    const tz = (tw['calendar'] as Doc | undefined)?.['timeZone'];
    if (tz !== undefined && tz !== pol['time_zone']) errors.push(`${at}: spec.timeWindow[0].calendar.timeZone ${String(tz)} disagrees with ${PREFIX}time-zone ${String(pol['time_zone'])}`);
    if (!['excluded', 'down', 'up'].includes(String(pol['unknown']))) errors.push(`${at}: ${PREFIX}unknown must be excluded, down or up`);
    if (!['up', 'nearest', 'down', 'none'].includes(String(pol['rounding']))) errors.push(`${at}: ${PREFIX}rounding must be up, nearest, down or none`);
    if (typeof pol['time_zone'] === 'string' && !isTimeZone(pol['time_zone'])) errors.push(`${at}: ${PREFIX}time-zone "${pol['time_zone']}" is not an IANA time zone`);
    if (service !== undefined && name !== undefined) out.push({ service, policy: pol as unknown as SlaPolicy });
  });
  if (errors.length > 0) throw new OpenSloError(errors);
  return out;
}
