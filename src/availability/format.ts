// Report output: json, csv, markdown and a plain table. Times are RFC 3339 in the policy's
// time zone; minutes are printed with one decimal, availability with four, credits with two.
import { formatDuration, type PeriodReport } from './account.ts';
import { formatInstant } from './calendar.ts';
import type { ServiceReport } from './service.ts';

export const FORMATS = ['table', 'json', 'csv', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

export const f1 = (x: number) => (Math.round(x * 10) / 10).toFixed(1);
export const pct = (x: number | null) => (x === null ? 'no data' : `${x.toFixed(4)} %`);

export function verdict(r: PeriodReport): string {
  if (r.no_data) return 'NO DATA';
  const v = r.met ? 'MET' : 'MISSED';
  return r.in_progress ? `${v} so far` : v;
}

/** The report as plain data with readable times, for JSON. */
export function toJson(r: ServiceReport): unknown {
  const at = (t: number | null) => (t === null ? null : formatInstant(t, r.period.time_zone));
  return {
    ...r,
    now: at(r.now),
    period: { ...r.period, start: at(r.period.start), end: at(r.period.end) },
    verdict: verdict(r),
    windows: r.windows.map((w) => ({ ...w, start: at(w.start), end: at(w.end), first_seen: at(w.first_seen) })),
    incidents: r.incidents.map((i) => ({ ...i, start: at(i.start), end: at(i.end), first_seen: at(i.first_seen), deadline: at(i.deadline) })),
    regional_faults: r.regional_faults.map((f) => ({ ...f, start: at(f.start), end: at(f.end) })),
  };
}

const CSV_COLUMNS = ['service', 'sla', 'period', 'time_zone', 'target_percent', 'availability_percent', 'verdict', 'in_progress',
  'minutes_total', 'minutes_up', 'minutes_degraded', 'minutes_partial', 'minutes_down', 'minutes_down_counted', 'minutes_unknown',
  'minutes_excluded', 'unknown_rule', 'budget_allowed_minutes', 'budget_used_minutes', 'budget_remaining_minutes', 'burn_rate',
  'credit', 'credit_unit', 'windows_counted', 'windows_not_counted', 'windows_excluded', 'incidents_l1', 'incidents_l2', 'incidents_l3',
  'deadlines_missed', 'regions', 'regional_faults', 'regional_fault_minutes'];

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRow(r: ServiceReport): string {
  const n = (st: string) => r.windows.filter((w) => w.status === st).length;
  const l = (lv: string) => r.incidents.filter((i) => i.level === lv).length;
  return [
    r.service, r.sla, r.period.label, r.period.time_zone, r.target, r.availability ?? '', verdict(r), r.in_progress,
    r.minutes.total, r.minutes.up, r.minutes.degraded, r.minutes.partial, r.minutes.down, r.minutes.down_counted, r.minutes.unknown,
    r.minutes.excluded, r.unknown_rule, r.budget.allowed, r.budget.used, r.budget.remaining, r.budget.burn_rate ?? '',
    r.credit?.amount ?? '', r.credit?.unit ?? '', n('counted'), n('not_counted'), n('excluded'), l('L1'), l('L2'), l('L3'),
    r.incidents.filter((i) => i.deadline_met === false).length,
    r.regions.join(' '), r.regional_faults.length, f1(r.regional_faults.reduce((a, f) => a + f.duration_ms, 0) / 60_000),
  ].map(csvField).join(',');
}

function rows(r: ServiceReport) {
  const at = (t: number | null) => (t === null ? 'open' : formatInstant(t, r.period.time_zone));
  const summary: [string, string][] = [
    ['availability', `${pct(r.availability)} (target ${r.target} %): ${verdict(r)}`],
    ['period', `${r.period.label} (${at(r.period.start)} to ${at(r.period.end)}, ${r.period.minutes} min)${r.in_progress ? `, in progress at ${at(r.now)}` : ''}`],
    ['minutes', `total ${f1(r.minutes.total)}, up ${f1(r.minutes.up)}, degraded ${f1(r.minutes.degraded)}, partial ${f1(r.minutes.partial)}, down ${f1(r.minutes.down)} (counted ${f1(r.minutes.down_counted)}), unknown ${f1(r.minutes.unknown)} (counted as ${r.unknown_rule}), excluded ${f1(r.minutes.excluded)}`],
    ['error budget', `allowed ${f1(r.budget.allowed)} min, used ${f1(r.budget.used)}, remaining ${f1(r.budget.remaining)}${r.budget.burn_rate === null ? '' : `, burn rate ${r.budget.burn_rate.toFixed(2)}`}`],
    ['credit', r.credit === null ? 'none' : `${r.credit.amount.toFixed(2)} ${r.credit.unit === 'percent' ? '% of the monthly fee' : 'minutes of service'}`],
  ];
  if (r.regions.length > 1) summary.push(['regions', `${r.regions.join(', ')}; ${r.regional_faults.length} regional path fault${r.regional_faults.length === 1 ? '' : 's'} (not unavailable time)`]);
  const windows = r.windows.map((w) => [at(w.start), at(w.end), formatDuration(w.duration_ms), w.status, String(w.counted_minutes), w.why]);
  const incidents = r.incidents.map((i) => [i.level, at(i.start), at(i.end), formatDuration(i.duration_ms), at(i.first_seen), i.counted ? 'yes' : 'no',
    i.excluded_ms > 0 ? `${formatDuration(i.excluded_ms)}: ${i.excluded_reasons.join('; ')}` : '', at(i.deadline), i.deadline_met === null ? 'pending' : i.deadline_met ? 'met' : 'MISSED']);
  const faults = r.regional_faults.map((f) => [f.region || '(none)', at(f.start), at(f.end), formatDuration(f.duration_ms)]);
  return { summary, windows, incidents, faults };
}

const W_HEAD = ['start', 'end', 'duration', 'status', 'counted min', 'why'];
const F_HEAD = ['region', 'start', 'end', 'duration'];
const I_HEAD = ['level', 'start', 'end', 'duration', 'first seen', 'counted', 'excluded', 'deadline', 'recovery'];

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
