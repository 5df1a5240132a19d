// Excluded time: maintenance from config (one-off, or recurring by a cron expression or a
// weekly shorthand, each with a duration) and exclusions recorded after the fact. Excluded
// time leaves both the numerator and the denominator of availability.
import { localTime, zonedTime } from './calendar.ts';
import type { Exclusion } from './types.ts';

/** Five-field cron (minute hour day-of-month month day-of-week), as sets of allowed values. */
export interface Cron {
  source: string;
  minutes: number[];
  hours: number[];
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Both day fields restricted: cron's rule is "either matches". */
  dayOr: boolean;
}

export interface OneOffMaintenance {
  kind: 'once';
  name: string;
  reason: string;
  /** Service names it applies to; empty = every service. */
  services: string[];
  start: number;
  end: number;
}

export interface RecurringMaintenance {
  kind: 'recurring';
  name: string;
  reason: string;
  services: string[];
  cron: Cron;
  duration: number;
  time_zone: string;
  /** Optional bounds of the recurrence, Unix ms. */
  from?: number;
  until?: number;
}

export type Maintenance = OneOffMaintenance | RecurringMaintenance;

/** After-the-fact exclusion, as the store keeps it. */
export interface RecordedExclusion {
  id: number;
  /** A service name, or "*" for every service. */
  service: string;
  start: number;
  end: number;
  reason: string;
  created_at: number;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;
const NAMES: Record<string, number> = {
  sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6,
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
};

/** Parses "0 2 * * sun"; returns an error message naming the bad field instead of throwing. */
export function parseCron(src: string): Cron | string {
  const parts = src.trim().split(/\s+/);
  if (parts.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`;
  const sets: number[][] = [];
  for (let f = 0; f < 5; f++) {
    const { name, min, max } = FIELDS[f]!;
    const vals = new Set<number>();
    for (const item of parts[f]!.split(',')) {
      const m = /^(\*|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:\/(\d+))?$/i.exec(item);
      const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : NAMES[s.toLowerCase()]);
      if (!m) return `${name} field "${item}" is not valid; use *, a number, a range a-b, a list a,b or a step */n`;
      const lo = m[1] === '*' ? min : num(m[2]!);
      const hi = m[1] === '*' ? max : m[3] !== undefined ? num(m[3]) : m[4] !== undefined ? max : lo;
      const step = m[4] !== undefined ? Number(m[4]) : 1;
      if (lo === undefined || hi === undefined || lo < min || hi > max || lo > hi || step < 1) {
        return `${name} field "${item}" is out of range ${min}-${max}`;
      }
      for (let v = lo; v <= hi; v += step) vals.add(f === 4 && v === 7 ? 0 : v);
    }
    sets.push([...vals].sort((a, b) => a - b));
  }
  return {
    source: src,
    minutes: sets[0]!, hours: sets[1]!, days: new Set(sets[2]), months: new Set(sets[3]), weekdays: new Set(sets[4]),
    dayOr: parts[2] !== '*' && parts[4] !== '*',
  };
}

const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** "sun 02:00" (or "sun,wed 02:00") as a cron expression. */
export function weeklyToCron(s: string): string | undefined {
  const m = /^([a-z]{3}(?:,[a-z]{3})*)\s+(\d{1,2}):(\d{2})$/i.exec(s.trim());
  if (!m) return undefined;
  const days = m[1]!.toLowerCase().split(',');
  if (!days.every((d) => WEEKDAY_NAMES.includes(d))) return undefined;
  const h = Number(m[2]);
  const mi = Number(m[3]);
  if (h > 23 || mi > 59) return undefined;
  return `${mi} ${h} * * ${days.join(',')}`;
}

const DAY = 86_400_000;

/** Start instants of a recurring maintenance whose interval overlaps [from, to). */
function occurrences(m: RecurringMaintenance, from: number, to: number): number[] {
  const c = m.cron;
  const out: number[] = [];
  // Walk local calendar days from (from - duration) to to; each day matching the day fields
  // contributes its hour x minute combinations, mapped back to instants in the zone.
  const first = localTime(from - m.duration - DAY, m.time_zone);
  let d = new Date(Date.UTC(first.year, first.month - 1, first.day));
  const last = to + DAY;
  for (let guard = 0; guard < 4000; guard++) {
    const y = d.getUTCFullYear();
    const mo = d.getUTCMonth() + 1;
    const da = d.getUTCDate();
    const wd = d.getUTCDay();
    const dayOk = c.dayOr ? c.days.has(da) || c.weekdays.has(wd) : c.days.has(da) && c.weekdays.has(wd);
    if (c.months.has(mo) && dayOk) {
      for (const h of c.hours) for (const mi of c.minutes) {
        const t = zonedTime(y, mo, da, h, mi, m.time_zone);
        const lt = localTime(t, m.time_zone);
        if (lt.hour !== h || lt.minute !== mi) continue; // skipped by a DST change
        if (t + m.duration > from && t < to) out.push(t);
      }
    }
    if (zonedTime(y, mo, da, 0, 0, m.time_zone) > last) break;
    d = new Date(d.getTime() + DAY);
  }
  return out;
}

/** Every excluded interval of `service` overlapping [from, to), sorted by start. */
export function exclusionsFor(
  service: string, maintenance: readonly Maintenance[], recorded: readonly RecordedExclusion[], from: number, to: number,
): Exclusion[] {
  const out: Exclusion[] = [];
  const applies = (services: readonly string[]) => services.length === 0 || services.includes(service);
  for (const m of maintenance) {
    if (!applies(m.services)) continue;
    if (m.kind === 'once') {
      if (m.end > from && m.start < to) out.push({ start: m.start, end: m.end, reason: m.reason, source: m.name });
      continue;
    }
    const lo = Math.max(from, m.from ?? -Infinity);
    const hi = Math.min(to, m.until ?? Infinity);
    for (const t of occurrences(m, lo, hi)) {
      out.push({ start: Math.max(t, m.from ?? -Infinity), end: Math.min(t + m.duration, m.until ?? Infinity), reason: m.reason, source: m.name });
    }
  }
  for (const r of recorded) {
    if ((r.service === '*' || r.service === service) && r.end > from && r.start < to) {
      out.push({ start: r.start, end: r.end, reason: r.reason, source: `exclude#${r.id}` });
    }
  }
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Overlapping exclusions merged into disjoint intervals (for measuring). */
export function mergeIntervals(xs: readonly { start: number; end: number }[]): { start: number; end: number }[] {
  const sorted = [...xs].sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x.start <= last.end) last.end = Math.max(last.end, x.end);
    else if (x.end > x.start) out.push({ start: x.start, end: x.end });
  }
  return out;
}

/** Milliseconds of [a, b) covered by disjoint sorted intervals. */
export function overlap(merged: readonly { start: number; end: number }[], a: number, b: number): number {
  let ms = 0;
  for (let i = firstEndingAfter(merged, a); i < merged.length && merged[i]!.start < b; i++) {
    ms += Math.max(0, Math.min(b, merged[i]!.end) - Math.max(a, merged[i]!.start));
  }
  return ms;
}

/** Index of the first of sorted, disjoint intervals that ends after `a` (binary search). */
export function firstEndingAfter(xs: readonly { end: number }[], a: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]!.end <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
