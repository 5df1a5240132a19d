// The system's time-zone database, read as TZif files (RFC 8536) from TZDIR or
// /usr/share/zoneinfo: the zone data glibc, Go and so Prometheus itself use, kept current by
// the OS's tzdata package. calendar.ts asks here first and falls back to Node's ICU for a zone
// the system does not have. Why not ICU alone: formatting one date in a time zone maps ICU's
// zone tables and formatters, 7-9 MiB of RSS in every agent for the rest of its life
// (docs/bench-core.md, "Memory, fourth pass"), to answer what a few kilobytes of transitions
// answer. Pure apart from the file read; a file this module cannot read exactly (no 64-bit
// data, leap seconds, a footer rule it does not parse) is refused, never guessed at.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A zone's UTC offsets: `offsetAt(t)` is local time minus UTC at instant t (Unix ms), in ms. */
export interface Zone {
  offsetAt(t: number): number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A zone name as the IANA database spells them ("Asia/Shanghai", "Etc/GMT+8", "UTC"). */
const NAME = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;

export function zoneDir(): string {
  return process.env['TZDIR'] || '/usr/share/zoneinfo';
}

/** What a database's tzdata.zi says: its IANA release, and the names of its zones and links. */
interface Listing {
  version: string | undefined;
  names: ReadonlySet<string> | null;
}

const listings = new Map<string, Listing>();

/** The directory's tzdata.zi, read once per directory; nothing known without one. */
function listing(dir: string): Listing {
  let l = listings.get(dir);
  if (!l) {
    l = { version: undefined, names: null };
    try {
      const text = readFileSync(join(dir, 'tzdata.zi'), 'latin1');
      const set = new Set<string>();
      // Each name copied out of the file's text: V8 makes a substring of 13 or more characters a
      // slice that keeps its whole parent alive, and the set would hold the 110 KB file.
      const own = (s: string) => Buffer.from(s, 'latin1').toString('latin1');
      for (const line of text.split('\n')) {
        if (line.startsWith('Z ')) set.add(own(line.split(' ')[1]!));
        else if (line.startsWith('L ')) set.add(own(line.split(' ')[2]!));
      }
      l = { version: /^# version (\d{4}[a-z]+)\s/.exec(text)?.[1], names: set.size > 0 ? set : null };
    } catch { /* no listing */ }
    listings.set(dir, l);
  }
  return l;
}

/**
 * The IANA release of the system's database ("2026f"), from the first line of its tzdata.zi
 * ("# version 2026f"), or undefined when it does not say.
 */
export function systemVersion(dir = zoneDir()): string | undefined {
  return listing(dir).version;
}

/**
 * The names of the database's zones and links, from its tzdata.zi ("Z name ...", "L target
 * name"), or null when there is no such list (then any TZif file under the directory is read).
 */
export function zoneNames(dir = zoneDir()): ReadonlySet<string> | null {
  return listing(dir).names;
}

/** Orders IANA release names: "2025b" < "2026c" < "2026z" < "2026aa". */
export function compareVersions(a: string, b: string): number {
  const [ya, sa] = [Number(a.slice(0, 4)), a.slice(4)];
  const [yb, sb] = [Number(b.slice(0, 4)), b.slice(4)];
  return ya - yb || sa.length - sb.length || (sa < sb ? -1 : sa > sb ? 1 : 0);
}

/**
 * The zone `name` from the system database, or undefined when there is no such file or it is
 * not one this module reads exactly (then the caller uses ICU). Never throws.
 */
export function loadZone(name: string, dir = zoneDir()): Zone | undefined {
  if (!NAME.test(name)) return undefined; // no ".", so no "..": nothing outside `dir`
  // Only the database's own zones and links: the directory also holds files that are not
  // IANA names, some of them zones ("localtime" is this machine's zone, "posixrules",
  // "posix/..."), which a contract must not mean.
  const names = zoneNames(dir);
  if (names && !names.has(name)) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, name));
  } catch {
    return undefined;
  }
  try {
    return parseTzif(bytes);
  } catch {
    return undefined;
  }
}

/** Parses a TZif file of version 2 or later (64-bit transitions and a footer). Throws on anything else. */
export function parseTzif(b: Uint8Array): Zone {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const header = (at: number) => {
    if (at + 44 > b.length || v.getUint32(at) !== 0x545a6966) throw new Error('not a TZif file');
    const c = (i: number) => v.getUint32(at + 20 + 4 * i);
    return { version: b[at + 4]!, isut: c(0), isstd: c(1), leap: c(2), time: c(3), type: c(4), chars: c(5) };
  };
  const h1 = header(0);
  if (h1.version < 0x32) throw new Error('TZif version 1 has no 64-bit data');
  // Skip the version 1 block (32-bit times) to the second header.
  const at2 = 44 + h1.time * 5 + h1.type * 6 + h1.chars + h1.leap * 8 + h1.isstd + h1.isut;
  const h = header(at2);
  if (h.leap !== 0) throw new Error('leap-second ("right/") zones are not read');
  if (h.type === 0) throw new Error('no local time types');
  let p = at2 + 44;
  const need = h.time * 9 + h.type * 6 + h.chars + h.isstd + h.isut;
  if (p + need > b.length) throw new Error('truncated');
  const times = new Float64Array(h.time);
  for (let i = 0; i < h.time; i++) times[i] = Number(v.getBigInt64(p + 8 * i)) * 1000;
  p += h.time * 8;
  const idx = b.subarray(p, p + h.time);
  p += h.time;
  const utoff = new Float64Array(h.type);
  for (let i = 0; i < h.type; i++) utoff[i] = v.getInt32(p + 6 * i) * 1000;
  p += h.type * 6 + h.chars + h.isstd + h.isut;
  for (const i of idx) if (i >= h.type) throw new Error('transition to an unknown type');
  for (let i = 1; i < times.length; i++) if (!(times[i]! > times[i - 1]!)) throw new Error('transitions out of order');
  const offsets = Float64Array.from(idx, (i) => utoff[i]!);
  // Footer: "\n" POSIX TZ string "\n". Empty: no rule after the last transition.
  if (b[p] !== 0x0a) throw new Error('no footer');
  const end = b.indexOf(0x0a, p + 1);
  if (end < 0) throw new Error('footer not terminated');
  const footer = Buffer.from(b.subarray(p + 1, end)).toString('latin1');
  const rule = footer === '' ? undefined : parsePosixTz(footer);
  const first = utoff[0]!;
  const n = times.length;
  return {
    offsetAt(t: number): number {
      if (n === 0 || t < times[0]!) return n === 0 && rule ? rule.offsetAt(t) : first;
      if (t >= times[n - 1]! && rule) return rule.offsetAt(t);
      let lo = 0;
      let hi = n - 1; // times[lo] <= t; find the last such index
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (times[mid]! <= t) lo = mid;
        else hi = mid - 1;
      }
      return offsets[lo]!;
    },
  };
}

interface DateRule {
  /** The local (wall-clock) date of the change in `year`, as ms since the epoch of a UTC calendar. */
  day(year: number): number;
  /** Seconds after local midnight (RFC 8536: may be negative or up to 167 hours). */
  time: number;
}

/**
 * A POSIX TZ string with RFC 8536's extensions, e.g. "CST-8", "CET-1CEST,M3.5.0,M10.5.0/3",
 * "<+0330>-3:30", "IST-1GMT0,M10.5.0,M3.5.0/1". Throws on anything else.
 */
export function parsePosixTz(s: string): Zone {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`TZ string ${JSON.stringify(s)}: ${what} at ${i}`);
  };
  const name = () => {
    if (s[i] === '<') {
      const j = s.indexOf('>', i);
      if (j < 0) fail('unterminated <name>');
      i = j + 1;
    } else {
      const j = i;
      while (i < s.length && /[A-Za-z]/.test(s[i]!)) i++;
      if (i - j < 3) fail('a zone abbreviation of 3 or more letters expected');
    }
  };
  const num = (max: number) => {
    const j = i;
    while (i < s.length && s[i]! >= '0' && s[i]! <= '9') i++;
    if (i === j) fail('a number expected');
    const n = Number(s.slice(j, i));
    if (n > max) fail(`a number <= ${max} expected`);
    return n;
  };
  // [+-]hh[:mm[:ss]] in seconds; `hours` is the largest hour allowed.
  const hms = (hours: number) => {
    let sign = 1;
    if (s[i] === '+' || s[i] === '-') sign = s[i++] === '-' ? -1 : 1;
    let sec = num(hours) * 3600;
    if (s[i] === ':') {
      i++;
      sec += num(59) * 60;
      if (s[i] === ':') {
        i++;
        sec += num(59);
      }
    }
    return sign * sec;
  };
  const date = (): DateRule => {
    let day: (year: number) => number;
    if (s[i] === 'M') {
      i++;
      const m = num(12);
      if (s[i++] !== '.') fail('"." expected');
      const w = num(5);
      if (s[i++] !== '.') fail('"." expected');
      const d = num(6);
      if (m < 1 || w < 1) fail('M month and week start at 1');
      day = (y) => {
        const first = Date.UTC(y, m - 1, 1);
        let dom = 1 + ((d - new Date(first).getUTCDay() + 7) % 7) + (w - 1) * 7;
        const len = new Date(Date.UTC(y, m, 0)).getUTCDate();
        while (dom > len) dom -= 7;
        return first + (dom - 1) * DAY;
      };
    } else if (s[i] === 'J') {
      i++;
      const n = num(365);
      if (n < 1) fail('J days start at 1');
      // 1-365, February 29 never counted.
      day = (y) => {
        const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
        return Date.UTC(y, 0, 1) + (n - 1 + (leap && n >= 60 ? 1 : 0)) * DAY;
      };
    } else {
      const n = num(365); // 0-365, February 29 counted
      day = (y) => Date.UTC(y, 0, 1) + n * DAY;
    }
    let time = 7200;
    if (s[i] === '/') {
      i++;
      time = hms(167);
    }
    return { day, time };
  };

  name();
  const std = -hms(24) * 1000; // POSIX offsets are west-positive
  if (i === s.length) return { offsetAt: () => std };
  name();
  let dst = std + HOUR;
  if (i < s.length && s[i] !== ',') dst = -hms(24) * 1000;
  if (s[i] !== ',') fail('a DST rule ",start,end" expected (a zone with DST and no rule is not read)');
  i++;
  const start = date();
  if (s[i++] !== ',') fail('"," expected');
  const end = date();
  if (i !== s.length) fail('end of string expected');
  if (std === dst) return { offsetAt: () => std };

  // The changes of years y-1, y and y+1 as instants; the last one at or before t decides.
  const changes = (y: number): [number, number][] => {
    const out: [number, number][] = [];
    for (const year of [y - 1, y, y + 1]) {
      out.push([start.day(year) + start.time * 1000 - std, dst]); // start: given in standard time
      out.push([end.day(year) + end.time * 1000 - dst, std]); //      end: given in DST
    }
    return out.sort((a, b) => a[0] - b[0]);
  };
  const cache = new Map<number, [number, number][]>();
  return {
    offsetAt(t: number): number {
      const y = new Date(t + std).getUTCFullYear();
      let list = cache.get(y);
      if (!list) {
        list = changes(y);
        if (cache.size > 64) cache.clear();
        cache.set(y, list);
      }
      let off = std;
      for (const [at, o] of list) {
        if (at <= t) off = o;
        else break;
      }
      return off;
    },
  };
}
