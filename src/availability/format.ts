// Report output: json, csv, markdown and a plain table. Times are RFC 3339 in the policy's
// time zone. Figures are computed in binary floating point and become decimals only here:
// table, markdown and csv print a fixed number of places (PLACES), rounded half away from
// zero on the decimal value; json keeps 12 significant digits (more than the millisecond
// resolution of the data in any figure), so float noise never reaches any output.
import { formatDuration, type PeriodReport } from './account.ts';
import { formatInstant } from './calendar.ts';
import type { ServiceReport } from './service.ts';

export const FORMATS = ['table', 'json', 'csv', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

/** Decimal places of printed figures (docs/availability.md, section 12). */
export const PLACES = { minutes: 3, percent: 4, credit_percent: 2, rate: 2 } as const;

/** A figure as JSON keeps it: 12 significant digits, so 43.19999999999524 is 43.2. */
export function stable(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  return Number(x.toPrecision(12)) || 0;
}

/** `x` with exactly `places` decimals: decimal(43.19999999999524, 3) is "43.200", decimal(1.005, 2) "1.01". */
export function decimal(x: number, places: number): string {
  const clean = stable(x);
  if (Math.abs(clean) < 0.5 * 10 ** -places) return (0).toFixed(places);
  // Scaling through the decimal exponent keeps 1.005 at 100.5 (x * 100 is 100.49999...).
  const scaled = Math.round(Number(`${Math.abs(clean)}e${places}`));
  const v = Number(`${scaled}e-${places}`);
  return `${clean < 0 ? '-' : ''}${v.toFixed(places)}`;
}

export const fm = (x: number) => decimal(x, PLACES.minutes);
/** One decimal, for the status page's compact figures. */
export const f1 = (x: number) => decimal(x, 1);
export const pct = (x: number | null) => (x === null ? 'no data' : `${decimal(x, PLACES.percent)} %`);
export const creditAmount = (c: NonNullable<PeriodReport['credit']>) => (c.unit === 'percent' ? decimal(c.amount, PLACES.credit_percent) : fm(c.amount));

/** Every number of a JSON value in its stable form. */
function stableDeep(v: unknown): unknown {
  if (typeof v === 'number') return stable(v);
  if (Array.isArray(v)) return v.map(stableDeep);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stableDeep(x)]));
  return v;
}

export function verdict(r: PeriodReport): string {
  if (r.no_data) return 'NO DATA';
  const v = r.met ? 'MET' : 'MISSED';
  return r.in_progress ? `${v} so far` : v;
}

/** The report as plain data with readable times, for JSON. */
export function toJson(r: ServiceReport): unknown {
  const at = (t: number | null) => (t === null ? null : formatInstant(t, r.period.time_zone));
  return stableDeep({
    ...r,
    now: at(r.now),
    period: { ...r.period, start: at(r.period.start), end: at(r.period.end) },
    settlement: { ...r.settlement, start: at(r.settlement.start), end: at(r.settlement.end) },
    verdict: verdict(r),
    windows: r.windows.map((w) => ({ ...w, start: at(w.start), end: at(w.end), first_seen: at(w.first_seen) })),
    incidents: r.incidents.map((i) => ({
      ...i, start: at(i.start), end: at(i.end), first_seen: at(i.first_seen), deadline: at(i.deadline),
      notified_at: at(i.notified_at), notify_ms: i.notified_at === null ? null : i.notified_at - i.start,
    })),
    regional_faults: r.regional_faults.map((f) => ({ ...f, start: at(f.start), end: at(f.end) })),
  });
}

const CSV_COLUMNS = ['service', 'sla', 'period', 'time_zone', 'target_percent', 'availability_percent', 'verdict', 'in_progress',
  'minutes_total', 'minutes_up', 'minutes_degraded', 'minutes_partial', 'minutes_down', 'minutes_down_counted', 'minutes_unknown',
  'minutes_excluded', 'unknown_rule', 'budget_allowed_minutes', 'budget_used_minutes', 'budget_remaining_minutes', 'burn_rate',
  'credit', 'credit_unit', 'windows_counted', 'windows_not_counted', 'windows_excluded', 'incidents_l1', 'incidents_l2', 'incidents_l3',
  'deadlines_missed', 'regions', 'regional_faults', 'regional_fault_minutes', 'minutes_not_in_service', 'minutes_unknown_counted',
  'excluded_time', 'rounding_scope', 'settlement_period', 'settles_here', 'notes', 'notifications_missed'];

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRow(r: ServiceReport): string {
  const n = (st: string) => r.windows.filter((w) => w.status === st).length;
  const l = (lv: string) => r.incidents.filter((i) => i.level === lv).length;
  const mn = r.minutes;
  return [
    r.service, r.sla, r.period.label, r.period.time_zone, r.target, r.availability === null ? '' : decimal(r.availability, PLACES.percent), verdict(r), r.in_progress,
    fm(mn.total), fm(mn.up), fm(mn.degraded), fm(mn.partial), fm(mn.down), fm(mn.down_counted), fm(mn.unknown),
    fm(mn.excluded), r.unknown_rule, fm(r.budget.allowed), fm(r.budget.used), fm(r.budget.remaining),
    r.budget.burn_rate === null ? '' : decimal(r.budget.burn_rate, PLACES.rate),
    r.credit ? creditAmount(r.credit) : '', r.credit?.unit ?? '', n('counted'), n('not_counted'), n('excluded'), l('L1'), l('L2'), l('L3'),
    r.incidents.filter((i) => i.deadline_met === false).length,
    r.regions.join(' '), r.regional_faults.length, fm(r.regional_faults.reduce((a, f) => a + f.duration_ms, 0) / 60_000),
    fm(mn.not_in_service), fm(mn.unknown_counted), r.rules.excluded_time, r.rules.rounding_scope, r.settlement.label, r.settlement.here,
    r.notes.join('; '), r.incidents.filter((i) => i.notify_met === false).length,
  ].map(csvField).join(',');
}

function rows(r: ServiceReport) {
  const at = (t: number | null) => (t === null ? 'open' : formatInstant(t, r.period.time_zone));
  const mn = r.minutes;
  const credit = r.credit === null
    ? `none${r.settlement.here ? '' : ` in this period: settled on ${r.settlement.label}`}`
    : `${creditAmount(r.credit)} ${r.credit.unit === 'percent' ? '% of the monthly fee' : 'minutes of service'} (${r.credit.why}), settles ${r.settlement.label}`;
  const summary: [string, string][] = [
    ['availability', `${pct(r.availability)} (target ${r.target} %): ${verdict(r)}`],
    ['period', `${r.period.label} in ${r.period.time_zone} (${at(r.period.start)} to ${at(r.period.end)}, ${r.period.minutes} min)${r.in_progress ? `, in progress at ${at(r.now)}` : ''}`],
    ['minutes', `total ${fm(mn.total)}, up ${fm(mn.up)}, degraded ${fm(mn.degraded)}, partial ${fm(mn.partial)}, down ${fm(mn.down)} (counted ${fm(mn.down_counted)}), unknown ${fm(mn.unknown)} (counted as ${r.unknown_rule}${mn.unknown_counted > 0 ? `; ${fm(mn.unknown_counted)} inside outages counted as down` : ''}), excluded ${fm(mn.excluded)} (${r.rules.excluded_time})${mn.not_in_service > 0 ? `, not in service ${fm(mn.not_in_service)}` : ''}`],
    ['error budget', `allowed ${fm(r.budget.allowed)} min, used ${fm(r.budget.used)}, remaining ${fm(r.budget.remaining)}${r.budget.burn_rate === null ? '' : `, burn rate ${decimal(r.budget.burn_rate, PLACES.rate)}`}`],
    ['credit', credit],
    ...r.notes.map((n): [string, string] => ['note', n]),
  ];
  if (r.regions.length > 1) summary.push(['regions', `${r.regions.join(', ')}; ${r.regional_faults.length} regional path fault${r.regional_faults.length === 1 ? '' : 's'} (not unavailable time)`]);
  const windows = r.windows.map((w) => [at(w.start), at(w.end), formatDuration(w.duration_ms), w.status, fm(w.counted_minutes), w.why]);
  const incidents = r.incidents.map((i) => [i.level, at(i.start), at(i.end), formatDuration(i.duration_ms), at(i.first_seen), i.counted ? 'yes' : 'no',
    i.excluded_ms > 0 ? `${formatDuration(i.excluded_ms)}: ${i.excluded_reasons.join('; ')}` : '', at(i.deadline), i.deadline_met === null ? 'pending' : i.deadline_met ? 'met' : 'MISSED',
    notified(i, r.notify_within)]);
  const faults = r.regional_faults.map((f) => [f.region || '(none)', at(f.start), at(f.end), formatDuration(f.duration_ms)]);
  return { summary, windows, incidents, faults };
}

const W_HEAD = ['start', 'end', 'duration', 'status', 'counted min', 'why'];
const F_HEAD = ['region', 'start', 'end', 'duration'];
const I_HEAD = ['level', 'start', 'end', 'duration', 'first seen', 'counted', 'excluded', 'deadline', 'recovery', 'notified'];

/** "+3m10s, met (15m)", "not notified: MISSED (15m)" ...: the incident's notification (HEDU-5.7). */
function notified(i: PeriodReport['incidents'][number], within: number | null): string {
  const goal = within === null ? '' : ` (${formatDuration(within)})`;
  const verdict = i.notify_met === null ? (within === null ? '' : ', pending') : i.notify_met ? ', met' : ', MISSED';
  if (i.notified_at === null) return `not notified${verdict}${goal}`;
  return `+${formatDuration(i.notified_at - i.start)}${verdict}${goal}`;
}

function mdTable(head: string[], body: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function textTable(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

export function render(reports: ServiceReport[], format: Format): string {
  if (format === 'json') return `${JSON.stringify({ reports: reports.map(toJson) }, null, 2)}\n`;
  if (format === 'csv') return `${[CSV_COLUMNS.join(','), ...reports.map(csvRow)].join('\n')}\n`;
  const out: string[] = [];
  for (const r of reports) {
    const { summary, windows, incidents, faults } = rows(r);
    if (format === 'markdown') {
      out.push(`## ${r.service} / ${r.sla} / ${r.period.label}`, '', r.description ? `${r.description}\n` : '');
      out.push(mdTable(['', ''], summary.map(([k, v]) => [k, v])), '');
      out.push('### Downtime windows', '', windows.length ? mdTable(W_HEAD, windows) : 'None.', '');
      out.push('### Incidents', '', incidents.length ? mdTable(I_HEAD, incidents) : 'None.', '');
      if (faults.length) out.push('### Regional path faults (not unavailable time)', '', mdTable(F_HEAD, faults), '');
    } else {
      out.push(`== ${r.service} / ${r.sla} / ${r.period.label} ==`);
      for (const [k, v] of summary) out.push(`${k.padEnd(13)} ${v}`);
      out.push('', windows.length ? textTable(W_HEAD, windows) : 'windows: none', '');
      out.push(incidents.length ? textTable(I_HEAD, incidents) : 'incidents: none', '');
      if (faults.length) out.push('regional path faults (not unavailable time):', textTable(F_HEAD, faults), '');
    }
  }
  return `${out.join('\n')}\n`;
}
