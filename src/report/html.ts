// `slaprobe report --format html`: the report a customer reads, one self-contained page per
// period (every service and policy whose period has that label). Figures are the report's
// own (the ServiceReport objects `--format json` prints), printed with format.ts's helpers,
// so the page and the JSON cannot disagree.
import { formatDuration } from '../availability/account.ts';
import { creditAmount as amount, fm, pct, verdict } from '../availability/format.ts';
import type { ServiceReport } from '../availability/service.ts';
import type { CreditRule, SlaPolicy } from '../availability/types.ts';
import { VERSION } from '../version.ts';
import { esc, page, range, when } from '../web/page.ts';

export interface ReportPage {
  /** The period label, e.g. "2026-11"; also the file name's stem. */
  label: string;
  html: string;
}


const CSS = `
.wrap{max-width:72rem}
.period{border:1px solid var(--line);border-radius:.5rem;padding:1rem 1.25rem;margin:0 0 1.5rem}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.5rem 1rem;margin:.75rem 0}
.figures div{background:var(--panel);border-radius:.4rem;padding:.5rem .75rem}
.figures dt{font-size:.8rem;color:var(--muted)}.figures dd{margin:0;font-size:1.15rem;font-weight:600;font-variant-numeric:tabular-nums}
.st-counted{color:var(--counted);font-weight:600}.st-not_counted{color:var(--not_counted);font-weight:600}.st-excluded{color:var(--maintenance);font-weight:600}
@media print{.period{border:none;padding:0}.period+.period{break-before:page}table{font-size:8.5pt}a{color:inherit;text-decoration:none}}
`;

/** The credit rule in words, for the customer. */
export function creditText(rule: CreditRule): string {
  if (rule.type === 'none') return ruleText(rule);
  return `${ruleText(rule)} ${rule.when === 'missed' ? 'Owed only in a period that misses its target.' : 'Owed for every counted minute, met or not.'}`;
}

function ruleText(rule: CreditRule): string {
  switch (rule.type) {
    case 'none':
      return 'This agreement has no credit clause.';
    case 'equal_time':
      return 'Credit equal to the lost time: the counted unavailable minutes, as service time.';
    case 'multiplier':
      return `${rule.factor} times the counted unavailable minutes, as service time${rule.cap === 'period' ? ', at most the period\'s own length' : typeof rule.cap === 'number' ? `, at most ${rule.cap} minutes` : ''}.`;
    case 'percent_per_point':
      return `${rule.percent} % of the monthly fee for every percentage point of availability below ${rule.threshold} %`
        + `${rule.steps === 'whole' ? ' (whole points only)' : rule.steps === 'started' ? ' (every started point)' : ' (pro rata)'}${rule.cap_percent !== null ? `, at most ${rule.cap_percent} %` : ''}.`;
    case 'tiers':
      return `A share of the fee by availability: ${[...rule.tiers].sort((a, b) => b.below - a.below).map((t) => `below ${t.below} %: ${t.percent} %`).join('; ')}.`;
  }
}

/** The credit as the table report prints it: amount and unit, or none and where it is settled. */
export function creditAmount(r: ServiceReport): string {
  if (r.credit === null) return r.no_data ? 'none (no data)' : r.settlement.here ? 'none' : `none in this period: settled on ${r.settlement.label}`;
  return `${amount(r.credit)} ${r.credit.unit === 'percent' ? '% of the monthly fee' : 'minutes of service'}`;
}

function section(r: ServiceReport, policy: SlaPolicy | undefined, i: number): string {
  const tz = r.period.time_zone;
  const id = `p-${i}`;
  const cls = r.met === null ? '' : r.met ? 'met' : 'missed';
  const m = r.minutes;
  const figures: [string, string, string?][] = [
    ['availability', pct(r.availability), 'availability'],
    ['target', `${r.target} %`],
    ['verdict', verdict(r)],
    ['error budget allowed', `${fm(r.budget.allowed)} min`, 'budget_allowed'],
    ['error budget used', `${fm(r.budget.used)} min`, 'budget_used'],
    ['error budget left', `${fm(r.budget.remaining)} min`, 'budget_remaining'],
    ['credit', creditAmount(r), 'credit'],
  ];
  const windows = r.windows.length === 0 ? '<p class="muted">No downtime in this period.</p>'
    : `<div class="scroll"><table><caption>Downtime windows (times in ${esc(tz)})</caption><thead><tr><th scope="col">from – to</th><th scope="col" class="num">duration</th><th scope="col">status</th><th scope="col" class="num">counted min</th><th scope="col">why</th></tr></thead><tbody>${
      r.windows.map((w) => `<tr><td>${range(w.start, w.end, tz, 'open')}</td><td class="num">${esc(formatDuration(w.duration_ms))}</td>`
        + `<td class="st-${w.status}">${esc(w.status.replace('_', ' '))}</td><td class="num" data-figure="counted_minutes">${esc(fm(w.counted_minutes))}</td><td>${esc(w.why)}</td></tr>`).join('')}</tbody></table></div>`;
  // HEDU-5.7 / UMEET-5.7: shown when the policy promises a notification time or one is on record.
  const notifiedKnown = r.notify_within !== null || r.incidents.some((x) => x.notified_at !== null);
  const incidents = r.incidents.length === 0 ? '<p class="muted">No incidents in this period.</p>'
    : `<div class="scroll"><table><caption>Incidents: fault levels and recovery deadlines (times in ${esc(tz)})</caption><thead><tr><th scope="col">level</th><th scope="col">from – to</th><th scope="col" class="num">duration</th><th scope="col">first seen</th>${notifiedKnown ? `<th scope="col">customers notified${r.notify_within !== null ? ` (within ${esc(formatDuration(r.notify_within))})` : ''}</th>` : ''}<th scope="col">counted</th><th scope="col">excluded</th><th scope="col">recovery deadline</th></tr></thead><tbody>${
      r.incidents.map((x) => {
        return `<tr><td>${esc(x.level)}</td><td>${range(x.start, x.end, tz)}</td><td class="num">${esc(formatDuration(x.duration_ms))}</td><td>${when(x.first_seen, tz, 'open', false)}</td>`
          + `${notifiedKnown ? `<td data-figure="notified">${x.notified_at === null ? (x.notify_met === false ? '<strong class="missed">none on record</strong>' : 'none on record') : `${when(x.notified_at, tz, '', false)}${x.notify_met === null ? '' : x.notify_met ? ' (in time)' : ' <strong class="missed">(late)</strong>'}`}</td>` : ''}<td>${x.counted ? 'yes' : 'no'}</td>`
          + `<td>${x.excluded_ms > 0 ? `${esc(formatDuration(x.excluded_ms))}: ${esc(x.excluded_reasons.join('; '))}` : '—'}</td>`
          + `<td>${when(x.deadline, tz, 'open', false)}: ${x.deadline_met === null ? 'pending' : x.deadline_met ? 'met' : '<strong class="missed">missed</strong>'}</td></tr>`;
      }).join('')}</tbody></table></div>`;
  const faults = r.regional_faults.length === 0 ? ''
    : `<div class="scroll"><table><caption>Regional path faults: one region's network, not unavailable time (times in ${esc(tz)})</caption><thead><tr><th scope="col">region</th><th scope="col">from – to</th><th scope="col" class="num">duration</th></tr></thead><tbody>${
      r.regional_faults.map((f) => `<tr><td>${esc(f.region || '(none)')}</td><td>${range(f.start, f.end, tz)}</td><td class="num">${esc(formatDuration(f.duration_ms))}</td></tr>`).join('')}</tbody></table></div>`;
  const unknownRule = r.unknown_rule === 'excluded' ? 'left out of the period' : r.unknown_rule === 'down' ? 'counted as unavailable' : 'counted as available';
  return `<section class="period" aria-labelledby="${id}" data-service="${esc(r.service)}" data-sla="${esc(r.sla)}">
<h2 id="${id}">${esc(r.service)}: ${esc(r.sla)}</h2>
<p>${esc(r.description || `policy ${r.sla}`)}</p>
<p class="muted">Period ${esc(r.period.label)}: ${when(r.period.start, tz)} to ${when(r.period.end, tz)} (${esc(fm(r.period.minutes))} minutes)${r.in_progress ? `, in progress: figures as of ${when(r.now, tz)}` : ''}.</p>
<dl class="figures">${figures.map(([k, v, f]) => `<div><dt>${esc(k)}</dt><dd${f ? ` data-figure="${f}"` : ''}${k === 'verdict' && cls ? ` class="${cls}"` : ''}>${esc(v)}</dd></div>`).join('')}</dl>
<div class="scroll"><table><caption>Minutes of the period by state</caption><thead><tr><th scope="col">total</th><th scope="col">up</th><th scope="col">degraded</th><th scope="col">partial</th><th scope="col">down</th><th scope="col">down, counted</th><th scope="col">unknown</th><th scope="col">unknown, counted as down</th><th scope="col">excluded</th><th scope="col">not in service</th></tr></thead>
<tbody><tr>${[m.total, m.up, m.degraded, m.partial, m.down, m.down_counted, m.unknown, m.unknown_counted, m.excluded, m.not_in_service].map((x) => `<td class="num">${esc(fm(x))}</td>`).join('')}</tr></tbody></table></div>
<p class="muted">Unknown time (no result from any probe) is ${esc(unknownRule)} under this policy; it is never counted as up by default. Excluded time (announced maintenance, recorded exclusions) leaves the period.</p>
<h3>Credit</h3>
<p>${esc(creditAmount(r))}${r.credit ? ` (${esc(r.credit.why)}), settled on ${esc(r.settlement.label)}` : ''}. ${esc(policy ? creditText(policy.credit) : '')} <span class="muted">Clause: ${esc(r.description || r.sla)}.</span></p>
${r.notes.length > 0 ? `<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<h3>Downtime</h3>
${windows}
<h3>Incidents</h3>
${incidents}
${faults}
</section>`;
}

/** One page per period label, in the order the reports come. */
export function renderReportPages(reports: readonly ServiceReport[], policyOf: (service: string, sla: string) => SlaPolicy | undefined, opts: { title?: string } = {}): ReportPage[] {
  const labels = [...new Set(reports.map((r) => r.period.label))];
  return labels.map((label) => {
    const rs = reports.filter((r) => r.period.label === label);
    const title = `${opts.title ?? 'Service level report'}: ${label}`;
    const summary = `<div class="scroll"><table><caption>Summary</caption><thead><tr><th scope="col">service</th><th scope="col">policy</th><th scope="col" class="num">availability</th><th scope="col" class="num">target</th><th scope="col">verdict</th><th scope="col" class="num">budget used</th><th scope="col">credit</th></tr></thead><tbody>${
      rs.map((r) => `<tr><th scope="row">${esc(r.service)}</th><td>${esc(r.sla)}</td><td class="num">${esc(pct(r.availability))}</td><td class="num">${esc(r.target)} %</td>`
        + `<td class="${r.met === null ? '' : r.met ? 'met' : 'missed'}">${esc(verdict(r))}</td><td class="num">${esc(fm(r.budget.used))} of ${esc(fm(r.budget.allowed))} min</td><td>${esc(creditAmount(r))}</td></tr>`).join('')}</tbody></table></div>`;
    const body = `<div class="wrap">
<header class="top"><h1>${esc(title)}</h1>
<p class="muted">Measured by slaprobe synthetic probes. Report made ${when(rs[0]!.now, rs[0]!.period.time_zone)}. Times are in each policy's time zone.</p></header>
<main>
${summary}
${rs.map((r, i) => section(r, policyOf(r.service, r.sla), i)).join('\n')}
</main>
<footer>slaprobe ${esc(VERSION)}. Rules: a downtime window runs from the first failed probe to the first successful one after it; each policy's minimum outage, exclusions and unknown-time rule decide what counts (docs/availability.md).</footer>
</div>`;
    return { label, html: page({ title, css: CSS, body }) };
  });
}
