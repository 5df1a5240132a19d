// Calendar periods in a contract's time zone, with Intl only (no Temporal, no library).
// A month starts at local midnight of its first day; its length in minutes follows from the
// two instants, so 28/29/30/31-day months and DST changes come out right by construction.
import type { Period, PeriodKind } from './types.ts';

const MINUTE = 60_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** True when `tz` is an IANA zone this Node knows. */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
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

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

export function localTime(t: number, tz: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(t)) parts[p.type] = p.value;
  return {
    year: Number(parts['year']), month: Number(parts['month']), day: Number(parts['day']),
    hour: Number(parts['hour']), minute: Number(parts['minute']), second: Number(parts['second']),
    weekday: WEEKDAYS[parts['weekday']!]!,
  };
}

/** Local time minus UTC at instant t, ms (Asia/Shanghai: +8 h). */
export function offsetAt(t: number, tz: string): number {
  const l = localTime(t, tz);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
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
