// Calendar periods in a contract's time zone. A month starts at local midnight of its first
// day; its length in minutes follows from the two instants, so 28/29/30/31-day months and DST
// changes come out right by construction. The zone's offsets come from the system's zone
// database (tzif.ts), or from Node's ICU for a zone the system lacks (both the IANA data).
import type { Period, PeriodKind } from './types.ts';
import { compareVersions, loadZone, systemVersion, zoneDir, type Zone } from './tzif.ts';

const MINUTE = 60_000;
const zones = new Map<string, Zone | null>();

/** The zone from ICU (Intl), or undefined when ICU does not know it. */
export function icuZone(tz: string): Zone | undefined {
  let f: Intl.DateTimeFormat;
  try {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  } catch {
    return undefined;
  }
  return {
    offsetAt(t: number): number {
      const parts: Record<string, string> = {};
      for (const p of f.formatToParts(t)) parts[p.type] = p.value;
      const asUtc = Date.UTC(Number(parts['year']), Number(parts['month']) - 1, Number(parts['day']),
        Number(parts['hour']), Number(parts['minute']), Number(parts['second']));
      return asUtc - (t - (((t % 1000) + 1000) % 1000));
    },
  };
}

/** Which zone database the calendars read, its IANA release, and why it was chosen. */
export interface TimeZoneData {
  source: 'system' | 'icu';
  version: string;
  why: string;
}

let chosen: TimeZoneData | undefined;

/**
 * The zone database every calendar of this process reads: the newer release of the system's
 * (TZDIR or /usr/share/zoneinfo, updated with the OS's tzdata package) and Node's ICU, the
 * system's on a tie (it costs no memory: see tzif.ts); SLAPROBE_TZDATA=system or =icu
 * chooses. Decided once per process. Throws on another SLAPROBE_TZDATA value.
 */
export function timeZoneData(): TimeZoneData {
  if (chosen) return chosen;
  const want = process.env['SLAPROBE_TZDATA'] ?? '';
  const icu = process.versions.tz ?? 'unknown';
  const sys = systemVersion();
  if (want !== '' && want !== 'system' && want !== 'icu') {
    throw new Error(`SLAPROBE_TZDATA=${want}: use "system" (the zone database in ${zoneDir()}), "icu" (Node's, ${icu}) or leave it unset for the newer of the two`);
  }
  if (want !== '') chosen = { source: want as 'system' | 'icu', version: want === 'icu' ? icu : sys ?? 'unknown', why: `SLAPROBE_TZDATA=${want}` };
  else if (!sys) chosen = { source: 'icu', version: icu, why: `${zoneDir()}/tzdata.zi does not name its release` };
  else if (icu === 'unknown' || compareVersions(sys, icu) >= 0) chosen = { source: 'system', version: sys, why: `the system's ${sys} is at least as new as Node's ICU ${icu}` };
  else chosen = { source: 'icu', version: icu, why: `the system's ${sys} is older than Node's ICU ${icu}; a current tzdata package would be used instead and saves about 7 MiB` };
  return chosen;
}

/** The zone `tz` from the chosen database, else from the other one (a zone only one of them has). */
function zone(tz: string): Zone | undefined {
  let z = zones.get(tz);
  if (z === undefined) {
    z = (timeZoneData().source === 'system' ? loadZone(tz) ?? icuZone(tz) : icuZone(tz) ?? loadZone(tz)) ?? null;
    zones.set(tz, z);
  }
  return z ?? undefined;
}

function zoneOrThrow(tz: string): Zone {
  const z = zone(tz);
  if (!z) throw new RangeError(`unknown time zone ${JSON.stringify(tz)}: use an IANA name such as Asia/Shanghai`);
  return z;
}

/** True when `tz` is an IANA zone this machine knows (its zone database or Node's ICU). */
export function isTimeZone(tz: string): boolean {
  return zone(tz) !== undefined;
}

export interface LocalTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday */
  weekday: number;
}

export function localTime(t: number, tz: string): LocalTime {
  const d = new Date(t + zoneOrThrow(tz).offsetAt(t));
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), weekday: d.getUTCDay(),
  };
}

/** Local time minus UTC at instant t, ms (Asia/Shanghai: +8 h). */
export function offsetAt(t: number, tz: string): number {
  return zoneOrThrow(tz).offsetAt(t);
}

/**
 * The instant at which the wall clock of `tz` shows the given local time. A time skipped by a
 * DST change maps to the instant after the gap; a repeated one to its first occurrence.
 */
export function zonedTime(year: number, month: number, day: number, hour: number, minute: number, tz: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const o1 = offsetAt(wall, tz);
  let t = wall - o1;
  const o2 = offsetAt(t, tz);
  if (o2 !== o1) {
    const t2 = wall - o2;
    t = offsetAt(t2, tz) === o2 ? Math.min(t, t2) : Math.max(t, t2);
  }
  return t;
}

export function monthStart(year: number, month: number, tz: string): number {
  const y = year + Math.floor((month - 1) / 12);
  const m = ((((month - 1) % 12) + 12) % 12) + 1;
  return zonedTime(y, m, 1, 0, 0, tz);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The policy period that contains instant t. */
export function periodAt(kind: PeriodKind, t: number, tz: string): Period {
  const l = localTime(t, tz);
  return periodEnding(kind, l.year, l.month, tz);
}

/**
 * The period of `kind` whose last month is year-month: that month, that calendar year (for
 * "year": the year containing the month) or the 12 months ending with it (rolling).
 */
export function periodEnding(kind: PeriodKind, year: number, month: number, tz: string): Period {
  if (kind === 'month') {
    return { label: `${year}-${pad(month)}`, start: monthStart(year, month, tz), end: monthStart(year, month + 1, tz) };
  }
  if (kind === 'year') return { label: `${year}`, start: monthStart(year, 1, tz), end: monthStart(year + 1, 1, tz) };
  const first = new Date(Date.UTC(year, month - 12, 1));
  return {
    label: `${first.getUTCFullYear()}-${pad(first.getUTCMonth() + 1)}..${year}-${pad(month)}`,
    start: monthStart(year, month - 11, tz),
    end: monthStart(year, month + 1, tz),
  };
}

/** Periods to report for `--period YYYY-MM` or `--year YYYY`. */
export function periodsFor(kind: PeriodKind, sel: { year: number; month?: number }, tz: string): Period[] {
  if (sel.month !== undefined) return [periodEnding(kind, sel.year, sel.month, tz)];
  if (kind === 'month') return Array.from({ length: 12 }, (_, i) => periodEnding('month', sel.year, i + 1, tz));
  return [periodEnding(kind, sel.year, 12, tz)];
}

export function minutesBetween(start: number, end: number): number {
  return (end - start) / MINUTE;
}

/** RFC 3339 with its offset, e.g. "2026-11-03T02:00:00+08:00"; Unix seconds as a number. */
export function formatInstant(t: number, tz: string): string {
  const l = localTime(t, tz);
  const off = offsetAt(t, tz) / MINUTE;
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const zone = off === 0 ? 'Z' : `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  return `${l.year}-${pad(l.month)}-${pad(l.day)}T${pad(l.hour)}:${pad(l.minute)}:${pad(l.second)}${zone}`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An instant from RFC 3339 with an explicit offset ("2026-11-03T02:00:00+08:00", "...Z") or
 * Unix seconds ("1793750400", 1793750400.5). A time without offset is refused: it would mean
 * a different instant on every machine. Returns Unix ms, or undefined.
 */
export function parseInstant(v: unknown): number | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.getTime();
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  // Unix seconds: the common case of large exports, checked without a regular expression.
  const c = s.charCodeAt(0);
  if (c >= 48 && c <= 57 && s.length <= 20 && !s.includes('-') && !s.includes(':')) {
    const n = Number(s);
    return Number.isFinite(n) && /^\d+(\.\d+)?$/.test(s) ? Math.round(n * 1000) : undefined;
  }
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [mo, d, h, mi, sec] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return undefined;
  const t = Date.parse(s.replace(' ', 'T'));
  if (Number.isNaN(t)) return undefined;
  // Date.parse rolls 2026-02-30 over to March; refuse it.
  if (new Date(Date.UTC(Number(m[1]), mo - 1, d)).getUTCDate() !== d) return undefined;
  return t;
}
