// The HTML shell shared by the status page and the HTML report: one self-contained document
// (inline CSS, no script, no external asset: it must work on a machine with no internet
// and with JavaScript off), light and dark by prefers-color-scheme, printable.
import { formatInstant, localTime } from '../availability/calendar.ts';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]!);
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * "2026-11-28 02:00 UTC" in a <time> element carrying the exact instant; without the zone
 * in tables, whose caption names it once.
 */
export function when(t: number | null, tz: string, missing = 'open', zone = true): string {
  if (t === null) return esc(missing);
  const l = localTime(t, tz);
  return `<time datetime="${esc(formatInstant(t, tz))}">${l.year}-${pad(l.month)}-${pad(l.day)} ${pad(l.hour)}:${pad(l.minute)}${zone ? ` ${esc(tz)}` : ''}</time>`;
}

/** "2026-11-23 18:00 – 18:30" (the end's date only when it differs), zone left to the caption. */
export function range(a: number, b: number | null, tz: string, open = 'ongoing'): string {
  if (b === null) return `${when(a, tz, '', false)} – ${esc(open)}`;
  const x = localTime(a, tz);
  const y = localTime(b, tz);
  const sameDay = x.year === y.year && x.month === y.month && x.day === y.day;
  const end = sameDay ? `<time datetime="${esc(formatInstant(b, tz))}">${pad(y.hour)}:${pad(y.minute)}</time>` : when(b, tz, '', false);
  return `${when(a, tz, '', false)} – ${end}`;
}

// Colours: GitHub Primer's functional palette, which holds 3:1 against the page background
// for the bars and 4.5:1 for text in both schemes (checked with the WCAG formula).
const CSS = `
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;
--up:#1a7f37;--counted:#cf222e;--not_counted:#8250df;--degraded:#9a6700;--maintenance:#0969da;--unknown:#6e7781;--no_data:#8c959f;--link:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--panel:#151b23;
--up:#3fb950;--counted:#f85149;--not_counted:#ab7df8;--degraded:#d29922;--maintenance:#4493f8;--unknown:#9198a1;--no_data:#656c76;--link:#4493f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:var(--link)}
.wrap{max-width:64rem;margin:0 auto;padding:1.5rem 1rem 3rem}
header.top{border-bottom:1px solid var(--line);margin-bottom:1.5rem}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.25rem;margin:0}
h3{font-size:1rem;margin:1.25rem 0 .5rem}
.muted{color:var(--muted)}
.banner{border:1px solid var(--line);border-left:.4rem solid var(--up);background:var(--panel);border-radius:.4rem;padding:.75rem 1rem;margin:1rem 0;font-weight:600}
.banner.down,.banner.stale{border-left-color:var(--counted)}
.banner.degraded,.banner.partial{border-left-color:var(--degraded)}
.banner.unknown{border-left-color:var(--unknown)}
section.svc{border:1px solid var(--line);border-radius:.5rem;padding:1rem 1.25rem;margin:0 0 1.5rem}
.svc-head{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;justify-content:space-between}
.badge{display:inline-flex;align-items:center;gap:.4rem;font-weight:600;white-space:nowrap}
.dot{display:inline-block;width:.8rem;height:.8rem;border-radius:50%;background:var(--c);flex:none}
.s-up{--c:var(--up)}.s-down{--c:var(--counted)}.s-degraded,.s-partial{--c:var(--degraded)}.s-unknown{--c:var(--unknown)}
.regions{list-style:none;margin:.5rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.25rem 0 .5rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.met{color:var(--up);font-weight:600}.missed{color:var(--counted);font-weight:600}
.k-up{--c:var(--up)}.k-counted{--c:var(--counted)}.k-not_counted{--c:var(--not_counted)}.k-degraded{--c:var(--degraded)}
.k-maintenance{--c:var(--maintenance)}.k-unknown{--c:var(--unknown)}.k-no_data{--c:var(--no_data)}
.swatch{display:inline-block;width:.75rem;height:1.1rem;border-radius:2px;background:var(--c);vertical-align:middle}
.k-unknown .swatch{background-image:repeating-linear-gradient(45deg,transparent 0 3px,rgba(255,255,255,.45) 3px 5px)}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;padding:0;margin:.5rem 0 1rem;font-size:.85rem}
.legend li{display:flex;align-items:center;gap:.35rem}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
footer{border-top:1px solid var(--line);margin-top:2rem;padding-top:1rem;font-size:.85rem;color:var(--muted)}
@media print{body{font-size:10pt}.wrap{max-width:none;padding:0}section.svc{break-inside:avoid-page}h2,h3,caption{break-after:avoid}tr,.figures div{break-inside:avoid}}
td time{white-space:nowrap}
.scroll{overflow-x:auto}
`;

export interface PageOptions {
  title: string;
  /** Extra CSS of the page. */
  css?: string;
  /** Seconds after which the browser reloads the page (the live status page). */
  refresh?: number;
  body: string;
}

export function page(o: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
${o.refresh ? `<meta http-equiv="refresh" content="${o.refresh}">\n` : ''}<title>${esc(o.title)}</title>
<style>${CSS}${o.css ?? ''}</style>
</head>
<body>
${o.body}
</body>
</html>
`;
}
