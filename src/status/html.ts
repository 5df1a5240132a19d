// The status page: the StatusModel as one server-rendered HTML document. Every colour has
// its words next to it (legend, badge text, each bar's text alternative), unknown time has
// its own hatched colour and is never drawn as up, and each day bar is focusable: its text
// shows on hover (title) and on keyboard focus, and screen readers always read it.
import { formatDuration, type PeriodReport } from '../availability/account.ts';
import { f1, pct, verdict } from '../availability/format.ts';
import type { ServiceState } from '../availability/types.ts';
import { VERSION } from '../version.ts';
import { esc, page, when } from '../web/page.ts';
import type { DayKind, DayStatus, IncidentStatus, ServiceStatus, StatusModel } from './model.ts';

export const STATE_TEXT: Record<ServiceState, string> = {
  up: 'Up', degraded: 'Degraded', partial: 'Partial outage', down: 'Down', unknown: 'Unknown (no recent result)',
};

export const KIND_TEXT: Record<DayKind, string> = {
  counted: 'Downtime counted', not_counted: 'Downtime not counted', degraded: 'Degraded or partial',
  unknown: 'Partly unknown', maintenance: 'Maintenance', up: 'Up', no_data: 'No data',
};

const WORST: ServiceState[] = ['down', 'partial', 'degraded', 'unknown', 'up'];

const CSS = `
.bars{list-style:none;display:flex;gap:2px;margin:.5rem 0 .25rem;padding:0;height:2.25rem}
.bars li{flex:1 1 0;min-width:2px;background:var(--c);border-radius:2px;position:relative;outline-offset:2px}
.bars li.k-unknown{background-image:repeating-linear-gradient(45deg,transparent 0 3px,rgba(255,255,255,.45) 3px 5px)}
.bars li:focus{outline:2px solid var(--fg)}
.bars li:hover{filter:brightness(1.15)}
.tip{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.bars li:focus .tip,.bars li:hover .tip{width:max-content;max-width:20rem;height:auto;overflow:visible;clip-path:none;white-space:normal;
bottom:calc(100% + .4rem);left:50%;transform:translateX(-50%);z-index:2;background:var(--fg);color:var(--bg);padding:.4rem .6rem;
border-radius:.3rem;font-size:.8rem;line-height:1.35;pointer-events:none;box-shadow:0 2px 8px rgba(0,0,0,.25)}
.bars li:nth-child(-n+15) .tip{left:0;transform:none}
.bars li:nth-last-child(-n+15) .tip{left:auto;right:0;transform:none}
.axis{display:flex;justify-content:space-between;font-size:.8rem;color:var(--muted)}
th .muted{font-weight:400}td.verdict{white-space:nowrap}
details{margin:.25rem 0 .75rem;font-size:.9rem}summary{cursor:pointer;color:var(--link)}
@media print{.tip{display:none}}
`;

function badge(state: ServiceState): string {
  return `<span class="badge s-${state}"><span class="dot" aria-hidden="true"></span>${esc(STATE_TEXT[state])}</span>`;
}

/** The text of one day bar: date, kind, availability and why. */
export function dayText(d: DayStatus, policy: string): string {
  const a = d.availability === null ? 'no data' : pct(d.availability);
  return [`${d.date}: ${KIND_TEXT[d.kind]}, availability ${a} (${policy})`, ...d.notes].join('. ');
}

function bars(s: ServiceStatus): string {
  const items = s.days.map((d) => {
    const text = dayText(d, s.days_policy);
    return `<li class="k-${d.kind}" tabindex="0" title="${esc(text)}" data-date="${esc(d.date)}" data-kind="${d.kind}"><span class="tip">${esc(text)}</span></li>`;
  });
  const first = s.days[0]!.date;
  const last = s.days[s.days.length - 1]!.date;
  return `<ol class="bars" aria-label="Daily availability of ${esc(s.name)}, ${esc(first)} to ${esc(last)}, under policy ${esc(s.days_policy)}">${items.join('')}</ol>
<div class="axis" aria-hidden="true"><span>${esc(first)}</span><span>${s.days.length} days, ${esc(s.time_zone)}</span><span>today</span></div>`;
}

function eventfulDays(s: ServiceStatus): string {
  const days = s.days.filter((d) => d.kind !== 'up' && d.kind !== 'no_data').reverse();
  if (days.length === 0) return '';
  const rows = days.map((d) => `<tr><td><span class="k-${d.kind}"><span class="swatch" aria-hidden="true"></span></span> ${esc(d.date)}</td><td>${esc(KIND_TEXT[d.kind])}</td><td class="num">${esc(d.availability === null ? 'no data' : pct(d.availability))}</td><td>${esc(d.notes.join('; '))}</td></tr>`);
  return `<details><summary>Days that were not simply up (${days.length})</summary>
<table><thead><tr><th scope="col">day</th><th scope="col">what it held</th><th scope="col" class="num">availability</th><th scope="col">why</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`;
}

function periods(s: ServiceStatus): string {
  const rows = s.periods.map((r: PeriodReport) => {
    const cls = r.met === null ? '' : r.met ? 'met' : 'missed';
    const left = r.budget.remaining_ratio === null ? '' : ` (${(r.budget.remaining_ratio * 100).toFixed(1)} % left)`;
    return `<tr><th scope="row">${esc(r.sla)}<div class="muted">${esc(r.description)}</div></th><td>${esc(r.period.label)}${r.in_progress ? ' <span class="muted">so far</span>' : ''}</td>`
      + `<td class="num" data-figure="availability">${esc(pct(r.availability))}</td><td class="num">${esc(r.target)} %</td><td class="verdict ${cls}">${esc(verdict(r))}</td>`
      + `<td class="num">${esc(f1(r.budget.remaining))} of ${esc(f1(r.budget.allowed))} min${esc(left)}</td></tr>`;
  });
  return `<table><caption>Availability against each agreement</caption><thead><tr><th scope="col">policy</th><th scope="col">period</th><th scope="col" class="num">availability</th>`
    + `<th scope="col" class="num">target</th><th scope="col">verdict</th><th scope="col" class="num">error budget left</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function incidents(s: ServiceStatus): string {
  if (s.incidents.length === 0) return `<p class="muted">No incidents in the last ${s.days.length} days.</p>`;
  const rows = s.incidents.map((i: IncidentStatus) => {
    // The windows' reasons name their exclusions; an incident with no downtime window (L2, L3)
    // names its own, or says why it is not unavailable time.
    const reasons = i.why.length > 0 ? i.why
      : [`${i.level === 'L2' ? 'degraded' : 'partial'}: not unavailable time`, ...i.excluded_reasons.map((r) => `excluded: ${r}`)];
    return `<tr><td>${esc(i.level)}</td><td>${when(i.start, s.time_zone, 'open', false)}</td><td class="num">${esc(formatDuration(i.duration_ms))}${i.end === null ? ' (ongoing)' : ''}</td>`
      + `<td>${i.counted ? 'yes' : 'no'}</td><td>${esc(reasons.join('; ') || '—')}</td>`
      + `<td>${when(i.deadline, s.time_zone, 'open', false)} ${i.deadline_met === null ? 'pending' : i.deadline_met ? 'met' : '<strong class="missed">missed</strong>'}</td></tr>`;
  });
  return `<div class="scroll"><table><caption>Incidents, last ${s.days.length} days, under policy ${esc(s.days_policy)} (times in ${esc(s.time_zone)})</caption><thead><tr><th scope="col">level</th><th scope="col">start</th>`
    + `<th scope="col" class="num">duration</th><th scope="col">counted</th><th scope="col">why, exclusions</th><th scope="col">recovery deadline</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function service(s: ServiceStatus, i: number): string {
  const id = `svc-${i}`;
  const regions = s.regions.length === 0 ? '' : `<ul class="regions" aria-label="State per region">${s.regions.map((r) =>
    `<li>${esc(r.region)}: ${badge(r.state)} <span class="muted">as of ${when(r.as_of, s.time_zone, 'never')}</span></li>`).join('')}</ul>`;
  const stale = s.stale ? `<p class="banner stale">No recent result for ${esc(s.name)}: the newest is from ${when(s.as_of, s.time_zone, 'never')}.</p>` : '';
  return `<section class="svc" aria-labelledby="${id}" data-service="${esc(s.name)}">
<div class="svc-head"><h2 id="${id}">${esc(s.name)}</h2><span>${badge(s.state)} <span class="muted">since ${when(s.since, s.time_zone, 'never')}</span></span></div>
${regions}${stale}
<h3>Last ${s.days.length} days <span class="muted" data-figure="range">${esc(s.range_availability === null ? 'no data' : pct(s.range_availability))} under ${esc(s.days_policy)}</span></h3>
${bars(s)}
${eventfulDays(s)}
${periods(s)}
<h3>Incidents</h3>
${incidents(s)}
</section>`;
}

function maintenance(m: StatusModel): string {
  if (m.maintenance.length === 0) return '<p class="muted">No planned maintenance in the next 30 days.</p>';
  const rows = m.maintenance.map((x) => `<tr><td>${esc(x.source)}${x.in_progress ? ' <strong>(in progress)</strong>' : ''}</td><td>${when(x.start, 'UTC')}</td><td>${when(x.end, 'UTC')}</td>`
    + `<td class="num">${esc(formatDuration(x.end - x.start))}</td><td>${esc(x.services.join(', '))}</td><td>${esc(x.reason)}</td></tr>`);
  return `<table><thead><tr><th scope="col">maintenance</th><th scope="col">start</th><th scope="col">end</th><th scope="col" class="num">length</th><th scope="col">services</th><th scope="col">reason</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function summary(m: StatusModel): string {
  if (m.services.length === 0) return '<p class="banner unknown" role="status">No services are configured.</p>';
  const worst = WORST.find((w) => m.services.some((s) => s.state === w))!;
  const text = worst === 'up' ? 'All services are up.'
    : m.services.filter((s) => s.state !== 'up').map((s) => `${s.name}: ${STATE_TEXT[s.state].toLowerCase()}`).join('; ');
  return `<p class="banner ${worst}" role="status" data-overall="${worst}">${esc(text)}</p>`;
}

function legend(): string {
  const kinds: DayKind[] = ['up', 'counted', 'not_counted', 'degraded', 'maintenance', 'unknown', 'no_data'];
  return `<ul class="legend" aria-label="Colour key of the day bars">${kinds.map((k) => `<li class="k-${k}"><span class="swatch" aria-hidden="true"></span>${esc(KIND_TEXT[k])}</li>`).join('')}</ul>`;
}

export function renderStatus(m: StatusModel, opts: { title?: string; refresh?: number } = {}): string {
  const title = opts.title ?? 'Service status';
  const ago = m.as_of === null ? '' : ` (${formatDuration(Math.max(0, m.now - m.as_of))} before this page)`;
  const stale = m.stale
    ? `<p class="banner stale" role="alert" data-stale="true">Stale data: the newest result is ${m.as_of === null ? 'missing' : `from ${when(m.as_of, 'UTC')}${esc(ago)}`}, older than ${esc(formatDuration(m.stale_after_ms))} (${3} probe intervals). The agent may be stopped or cut off; states below may be out of date.</p>`
    : '';
  const body = `<div class="wrap">
<header class="top">
<h1>${esc(title)}</h1>
<p class="muted">Data as of ${when(m.as_of, 'UTC', 'never (no results yet)')}. Page made <span data-now="${m.now}">${when(m.now, 'UTC')}</span>. Also as <a href="status.json">status.json</a>.</p>
</header>
<main>
${stale}${summary(m)}
${legend()}
${m.services.map(service).join('\n')}
<section aria-labelledby="maint-h"><h2 id="maint-h">Planned maintenance</h2>
${maintenance(m)}
</section>
</main>
<footer>slaprobe ${esc(VERSION)}. Availability is computed by the rules of each agreement (minimum outage, exclusions, unknown time never counted as up), the same calculator as <code>slaprobe report</code>. Day bars are local days of the first policy's time zone.</footer>
</div>`;
  return page({ title, css: CSS, body, ...(opts.refresh ? { refresh: opts.refresh } : {}) });
}
