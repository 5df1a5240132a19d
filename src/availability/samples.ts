// Probe outcomes from a file, for `slaprobe report --samples`: CSV with a header row or JSON
// Lines, one outcome a line, read as a stream (a month of 100 targets at 10 s is 27 million
// lines; only the per-target segments are kept). Fields: timestamp (RFC 3339 with offset, or
// Unix seconds), target, success (true/false, 1/0), and optional region, agent, rtt_ms, reason.
// The common CSV line (unquoted, Unix seconds) is parsed from its bytes: no string and no
// object per line, names decoded once. Any other line goes through the general parser, whose
// checks and messages are the reader's rules; the fast one only ever hands a line over.
import { open, type FileHandle } from 'node:fs/promises';
import { parseInstant } from './calendar.ts';
import { createEvidence, type Evidence, type Track } from './evidence.ts';

export class SamplesError extends Error {
  readonly code = 'SLAPROBE_SAMPLES_INVALID';
  readonly messages: string[];
  constructor(messages: string[]) {
    super(messages.join('\n'));
    this.name = 'SamplesError';
    this.messages = messages;
  }
}

/** What the reader saw besides the samples it folded: the material of its warnings. */
export interface SampleStats {
  /** Sample lines folded. */
  samples: number;
  /** Bad lines skipped (--max-bad-lines). */
  skipped: number;
  /** Lines repeating an earlier line's target, region, timestamp and outcome (folded once). */
  duplicates: { count: number; line?: number; earlier?: number };
  /** Timestamps after `now`. */
  future: { count: number; line?: number };
  /** Numeric timestamps past the year 5000 as seconds: Unix milliseconds, almost surely. */
  milliseconds: { count: number; line?: number; value?: string };
  /** Timestamps outside `range` (not in the future). */
  outside: { count: number; first: number; last: number };
  /** Samples and first/last timestamp per target. */
  targets: Map<string, { count: number; first: number; last: number }>;
  /** How long the read took. */
  elapsed_ms: number;
}

export type SamplesTimeline = Evidence & { stats: SampleStats };

export interface ReadSamplesOptions {
  /** Interval of a target's runs, ms: the gap rule needs it (config, else --interval). */
  intervalOf: (target: string) => number;
  /** Bad lines tolerated (reported) before giving up; default 0. */
  maxBadLines?: number;
  /** Called with each bad line's message when it is tolerated. */
  onBadLine?: (msg: string) => void;
  /** The report's `now`: later samples are counted as in the future. */
  now?: number;
  /** The reported periods' span: samples outside it are counted. */
  range?: { start: number; end: number };
  /** Called about once a second while reading, with the sample lines read so far. */
  onProgress?: (samples: number, elapsedMs: number) => void;
  /** Every line through the general parser, none through the byte-level one (tests compare them). */
  generalOnly?: boolean;
}

/** 1e11 s is the year 5138: a numeric timestamp beyond is Unix milliseconds, not seconds. */
const MS_LIKE = 1e11;

function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)})`;
  return `a ${typeof v} (${JSON.stringify(v)})`;
}

const TRUE = new Set(['true', '1', 'yes', 'up', 'ok']);
const FALSE = new Set(['false', '0', 'no', 'down', 'fail']);

function parseBool(v: unknown): boolean | undefined {
  if (v === 1) return true;
  if (v === 0) return false;
  if (typeof v !== 'string') return undefined;
  const l = v.toLowerCase();
  return TRUE.has(l) ? true : FALSE.has(l) ? false : undefined;
}

/** Splits one CSV line (RFC 4180 quoting, no line breaks inside fields). */
export function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Bytes read at a time; a longer line grows the buffer. */
export const READ_BYTES = 1 << 20;

/**
 * Names met in a file (targets, regions or agents), each given a small number: by its text
 * (the general parser) or by its bytes (the fast one), so a name is decoded once, not on
 * every line. Two byte strings that decode alike (invalid UTF-8 becomes U+FFFD) are one name,
 * as they are to the general parser.
 */
function createNames() {
  const ids = new Map<string, number>();
  const texts: string[] = [];
  // Open addressing over the byte strings seen: slot -> entry + 1 (0 = free).
  let slots = new Int32Array(256);
  const hashes: number[] = [];
  const bytes: Buffer[] = [];
  const idOf: number[] = [];
  const ofText = (text: string): number => {
    let id = ids.get(text);
    if (id === undefined) {
      id = texts.length;
      texts.push(text);
      ids.set(text, id);
    }
    return id;
  };
  const place = (k: number) => {
    const mask = slots.length - 1;
    let j = hashes[k]! & mask;
    while (slots[j] !== 0) j = (j + 1) & mask;
    slots[j] = k + 1;
  };
  return {
    texts,
    ofText,
    ofBytes(buf: Buffer, a: number, b: number): number {
      let h = 0x811c9dc5;
      for (let i = a; i < b; i++) h = Math.imul(h ^ buf[i]!, 16777619);
      const mask = slots.length - 1;
      for (let j = h & mask; slots[j] !== 0; j = (j + 1) & mask) {
        const k = slots[j]! - 1;
        if (hashes[k] !== h) continue;
        const x = bytes[k]!;
        if (x.length !== b - a) continue;
        let i = 0;
        while (i < x.length && x[i] === buf[a + i]) i++;
        if (i === x.length) return idOf[k]!;
      }
      const k = bytes.length;
      bytes.push(Buffer.from(buf.subarray(a, b)));
      hashes.push(h);
      idOf.push(ofText(buf.toString('utf8', a, b)));
      if (2 * bytes.length > slots.length) {
        slots = new Int32Array(slots.length * 2);
        for (let e = 0; e < bytes.length; e++) place(e);
      } else place(k);
      return idOf[k]!;
    },
  };
}

/** A target seen from a region: its last outcome (duplicates) and its agents' tracks. */
interface Series {
  target: string;
  targetId: number;
  region: string;
  interval: number;
  lastT: number;
  lastOk: boolean;
  lastLine: number;
  tracks: (Track | undefined)[];
}

/** ASCII bytes String.prototype.trim removes, and any non-ASCII byte (U+00A0, U+3000 ...). */
const trimmable = (c: number) => c <= 32 || c >= 128;

export async function readSamples(file: string, opts: ReadSamplesOptions): Promise<SamplesTimeline> {
  const evidence = createEvidence();
  const stats: SampleStats = {
    samples: 0, skipped: 0, duplicates: { count: 0 }, future: { count: 0 }, milliseconds: { count: 0 },
    outside: { count: 0, first: Infinity, last: -Infinity }, targets: new Map(), elapsed_ms: 0,
  };
  const targetNames = createNames();
  const regionNames = createNames();
  const agentNames = createNames();
  // target id -> region id -> series; target id -> its counts in stats.targets
  const series: (Series | undefined)[][] = [];
  const perTarget: ({ count: number; first: number; last: number } | undefined)[] = [];
  const now = opts.now ?? Infinity;
  const range = opts.range;
  const started = Date.now();
  let progressAt = started + 1000;
  let csvFields = 0;
  const bad: string[] = [];
  const max = opts.maxBadLines ?? 0;
  let header: Map<string, number> | undefined;
  let format: 'csv' | 'jsonl' | undefined;
  let lineNo = 0;
  let cTs = 0;
  let cTarget = 1;
  let cSuccess = 2;
  let cRegion = -1;
  let cAgent = -1;

  const fail = (msg: string) => {
    const m = `${file}:${lineNo}: ${msg}`;
    bad.push(m);
    if (bad.length > max) throw new SamplesError(max > 0 ? [...bad.slice(-1), `${file}: more than ${max} bad lines (--max-bad-lines); fix the file or raise the limit`] : [m]);
    stats.skipped++;
    opts.onBadLine?.(m);
  };

  const seriesOf = (targetId: number, regionId: number): Series => {
    const row = (series[targetId] ??= []);
    let s = row[regionId];
    if (!s) {
      const target = targetNames.texts[targetId]!;
      row[regionId] = s = { target, targetId, region: regionNames.texts[regionId]!, interval: opts.intervalOf(target), lastT: NaN, lastOk: false, lastLine: 0, tracks: [] };
    }
    return s;
  };

  /**
   * Folds one sample already checked (not a duplicate of the series' last instant). False
   * when it is earlier than its agent's previous run: nothing was counted.
   */
  const record = (s: Series, agentId: number, t: number, ok: boolean, msValue: string | undefined): boolean => {
    const track = (s.tracks[agentId] ??= evidence.track(s.target, s.region, agentNames.texts[agentId]!));
    if (!evidence.addTo(track, t, ok, s.interval)) return false;
    s.lastT = t;
    s.lastOk = ok;
    s.lastLine = lineNo;
    stats.samples++;
    if (msValue !== undefined) {
      stats.milliseconds.count++;
      if (stats.milliseconds.line === undefined) [stats.milliseconds.line, stats.milliseconds.value] = [lineNo, msValue];
    } else if (t > now) {
      stats.future.count++;
      stats.future.line ??= lineNo;
    } else if (range && (t < range.start || t >= range.end)) {
      stats.outside.count++;
      stats.outside.first = Math.min(stats.outside.first, t);
      stats.outside.last = Math.max(stats.outside.last, t);
    }
    const pt = perTarget[s.targetId];
    if (pt) {
      pt.count++;
      pt.first = Math.min(pt.first, t);
      pt.last = Math.max(pt.last, t);
    } else stats.targets.set(s.target, (perTarget[s.targetId] = { count: 1, first: t, last: t }));
    return true;
  };

  /** The general parser: one decoded line (without its \n), every check with its message. */
  const handle = (raw: string) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.charCodeAt(0) === 35 /* # */) return;
    if (format === undefined) {
      // JSON Lines when the first line is JSON of any kind (a null or a number is then refused
      // as not an object, line by line); CSV when it is not JSON at all.
      const c0 = line.trimStart()[0];
      let json = c0 === '{' || c0 === '[';
      if (!json) {
        try {
          JSON.parse(line);
          json = true;
        } catch {
          // not JSON: a CSV header
        }
      }
      if (json) format = 'jsonl';
      else {
        format = 'csv';
        const cols = splitCsv(line).map((c) => c.trim().toLowerCase());
        csvFields = cols.length;
        header = new Map(cols.map((c, i) => [c, i]));
        const missing = ['timestamp', 'target', 'success'].filter((c) => !header!.has(c));
        if (missing.length > 0) {
          throw new SamplesError([`${file}:${lineNo}: CSV header lacks ${missing.join(', ')}; the first line must name the columns, e.g. "timestamp,target,success,region,rtt_ms,reason" (or use JSON Lines)`]);
        }
        cTs = header.get('timestamp')!;
        cTarget = header.get('target')!;
        cSuccess = header.get('success')!;
        cRegion = header.get('region') ?? -1;
        cAgent = header.get('agent') ?? -1;
        starts = new Int32Array(csvFields + 1);
        ends = new Int32Array(csvFields + 1);
        noRegion = regionNames.ofText('');
        noAgent = agentNames.ofText('');
        return;
      }
    }
    let ts: unknown;
    let target: unknown;
    let success: unknown;
    let region: unknown;
    let agent: unknown;
    if (format === 'jsonl') {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        return fail('not valid JSON; each line must be one object such as {"timestamp":"2026-11-01T00:00:00Z","target":"api","success":true}');
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        return fail(`expected one JSON object a line such as {"timestamp":"2026-11-01T00:00:00Z","target":"api","success":true}, got ${describeJson(v)}`);
      }
      const o = v as Record<string, unknown>;
      ts = o['timestamp'];
      target = o['target'];
      success = o['success'];
      region = o['region'] ?? '';
      agent = o['agent'] ?? '';
      if (ts === undefined) return fail('timestamp is missing; every line has "timestamp" (RFC 3339 with offset, or Unix seconds)');
      if (target !== undefined && typeof target !== 'string') return fail(`target must be a string (the target's name), got ${describeJson(target)}`);
      if (typeof region !== 'string') return fail(`region must be a string (the probing region's name), got ${describeJson(region)}`);
    } else {
      const f = splitCsv(line);
      if (f.length !== csvFields) return fail(`has ${f.length} field${f.length === 1 ? '' : 's'}, the header has ${csvFields}; quote a field that holds a comma ("a,b")`);
      ts = f[cTs]?.trim();
      target = f[cTarget]?.trim();
      success = f[cSuccess]?.trim();
      region = cRegion < 0 ? '' : (f[cRegion]?.trim() ?? '');
      agent = cAgent < 0 ? '' : (f[cAgent]?.trim() ?? '');
    }
    const t = parseInstant(ts);
    if (t === undefined) return fail(`timestamp ${JSON.stringify(ts)} is not RFC 3339 with offset (2026-11-01T00:00:00Z) or Unix seconds`);
    if (typeof target !== 'string' || target === '') return fail('target is missing; every line names the target it probed');
    const ok = success === 'true' || success === true ? true : success === 'false' || success === false ? false : parseBool(success);
    if (ok === undefined) return fail(`success ${JSON.stringify(success)} is not true or false`);
    const reg = typeof region === 'string' ? region : String(region);
    const who = `${target}${reg ? `@${reg}` : ''}`;
    const s = seriesOf(targetNames.ofText(target), regionNames.ofText(reg));
    if (s.lastT === t) {
      // Two outcomes of one run cannot both be true: which one is, only the file's author
      // knows. Taking either would make the figure depend on the order of lines.
      if (s.lastOk !== ok) {
        throw new SamplesError([`${file}:${lineNo}: ${who} at ${String(ts)} has success=${ok} here and success=${s.lastOk} on line ${s.lastLine}; one target and region has one outcome per instant: remove the wrong line`]);
      }
      stats.duplicates.count++;
      if (stats.duplicates.line === undefined) [stats.duplicates.line, stats.duplicates.earlier] = [lineNo, s.lastLine];
      return;
    }
    const numeric = typeof ts === 'number' || (typeof ts === 'string' && /^\d+(\.\d+)?$/.test(ts));
    const ms = numeric && Number(ts) > MS_LIKE ? String(ts) : undefined;
    if (!record(s, agentNames.ofText(typeof agent === 'string' ? agent : String(agent)), t, ok, ms)) {
      return fail(`${who} at ${String(ts)} is earlier than its previous line; samples of a target must be in time order (sort the file by timestamp)`);
    }
  };

  // Where each field of the line at hand starts and ends (one spare, to see one too many).
  let starts = new Int32Array(1);
  let ends = new Int32Array(1);
  // The name '' of a file without a region or agent column.
  let noRegion = 0;
  let noAgent = 0;
  /** The name in column k (maybe empty), or -1 when it has an end the general parser trims. */
  const optionalName = (names: ReturnType<typeof createNames>, buf: Buffer, k: number): number => {
    const x = starts[k]!;
    const y = ends[k]!;
    if (x < y && (trimmable(buf[x]!) || trimmable(buf[y - 1]!))) return -1;
    return names.ofBytes(buf, x, y);
  };
  /**
   * The common CSV line parsed from its bytes, no string made: unquoted fields, Unix seconds
   * or a timestamp parseInstant takes, success true/false/1/0, names without whitespace to
   * trim at either end. True when it folded the line; false (nothing changed) for the general
   * parser to take it: a bad line, a duplicate, a quote, anything less common.
   */
  const fast = (buf: Buffer, a: number, b: number): boolean => {
    if (a === b || buf[a] === 35 /* # */) return false;
    let n = 0;
    starts[0] = a;
    for (let i = a; i < b; i++) {
      const c = buf[i]!;
      if (c === 44 /* , */) {
        if (n === csvFields) return false;
        ends[n++] = i;
        starts[n] = i + 1;
      } else if (c === 34 /* " */) return false;
    }
    if (n !== csvFields - 1) return false;
    ends[n] = b;
    // timestamp: Unix seconds with up to 3 decimals (a fleet export's 1793491200.000), else
    // parseInstant's way. Up to 15 digits are an exact integer, and one division by 10, 100
    // or 1000 is correctly rounded: the very double Number() makes of the text.
    let x = starts[cTs]!;
    let y = ends[cTs]!;
    if (x === y) return false;
    let t = 0;
    let decimals = -1;
    if (y - x <= 16) {
      for (let i = x; i < y; i++) {
        const c = buf[i]!;
        if (c === 46 /* . */ && decimals < 0 && i > x) {
          decimals = 0;
          continue;
        }
        if (c < 48 || c > 57) {
          t = -1;
          break;
        }
        t = t * 10 + (c - 48);
        if (decimals >= 0) decimals++;
      }
      if (decimals === 0 || decimals > 3) t = -1;
      else if (decimals > 0) t /= decimals === 1 ? 10 : decimals === 2 ? 100 : 1000;
    } else t = -1;
    if (t > MS_LIKE) return false;
    if (t >= 0) t = Math.round(t * 1000);
    else {
      const ts = buf.toString('utf8', x, y).trim();
      const p = parseInstant(ts);
      if (p === undefined || (/^\d+(\.\d+)?$/.test(ts) && Number(ts) > MS_LIKE)) return false;
      t = p;
    }
    x = starts[cSuccess]!;
    y = ends[cSuccess]!;
    let ok: boolean;
    const c0 = buf[x];
    if (y - x === 4 && c0 === 116 && buf[x + 1] === 114 && buf[x + 2] === 117 && buf[x + 3] === 101) ok = true; // true
    else if (y - x === 5 && c0 === 102 && buf[x + 1] === 97 && buf[x + 2] === 108 && buf[x + 3] === 115 && buf[x + 4] === 101) ok = false; // false
    else if (y - x === 1 && (c0 === 49 || c0 === 48)) ok = c0 === 49; // 1, 0
    else return false;
    x = starts[cTarget]!;
    y = ends[cTarget]!;
    if (x === y || trimmable(buf[x]!) || trimmable(buf[y - 1]!)) return false;
    const targetId = targetNames.ofBytes(buf, x, y);
    const regionId = cRegion < 0 ? noRegion : optionalName(regionNames, buf, cRegion);
    const agentId = cAgent < 0 ? noAgent : optionalName(agentNames, buf, cAgent);
    if (regionId < 0 || agentId < 0) return false;
    const s = seriesOf(targetId, regionId);
    if (s.lastT === t) return false;
    return record(s, agentId, t, ok, undefined);
  };

  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SamplesError([`${file}: cannot read samples (${code === 'ENOENT' ? 'no such file' : code}); pass an existing CSV or JSON Lines file with --samples`]);
  }
  // Lines are cut from the bytes and decoded whole, so a character split across two reads
  // is never cut; the buffer is reused, the partial last line moved to its front.
  let buf = Buffer.allocUnsafe(READ_BYTES);
  let have = 0;
  const general = opts.generalOnly === true;
  const line = (a: number, b: number) => {
    lineNo++;
    const e = b > a && buf[b - 1] === 13 /* \r */ ? b - 1 : b;
    if (general || format !== 'csv' || !fast(buf, a, e)) handle(buf.toString('utf8', a, b));
  };
  try {
    for (;;) {
      if (have === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
      if (bytesRead === 0) break;
      const end = have + bytesRead;
      let a = 0;
      for (let b = buf.indexOf(10, have); b >= 0 && b < end; b = buf.indexOf(10, a)) {
        line(a, b);
        a = b + 1;
      }
      have = end - a;
      if (have > 0 && a > 0) buf.copy(buf, 0, a, end);
      if (opts.onProgress && Date.now() >= progressAt) {
        progressAt = Date.now() + 1000;
        opts.onProgress(stats.samples, Date.now() - started);
      }
    }
    if (have > 0) line(0, have);
  } catch (e) {
    // A directory opens but cannot be read (EISDIR); a disk can fail mid-file (EIO).
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof SamplesError || code === undefined) throw e;
    throw new SamplesError([`${file}: cannot read samples (${code === 'EISDIR' ? 'a directory, not a file' : code}) after line ${lineNo}; pass a CSV or JSON Lines file with --samples`]);
  } finally {
    await fh.close();
  }
  stats.elapsed_ms = Date.now() - started;
  if (stats.samples === 0) {
    const what = format === undefined
      ? 'is empty: no header and no samples'
      : format === 'csv' && stats.skipped === 0 && stats.duplicates.count === 0 ? 'has only a header line, no samples'
        : `has no valid sample${stats.skipped > 0 ? ` (${stats.skipped} bad line${stats.skipped === 1 ? '' : 's'} skipped)` : ''}`;
    throw new SamplesError([`${file}: ${what}; a samples file has one probe outcome a line: CSV under a header "timestamp,target,success" or JSON Lines such as {"timestamp":"2026-11-01T00:00:00Z","target":"api","success":true}`]);
  }
  return Object.assign(evidence, { stats });
}

/**
 * The warnings of a samples file that was read: samples nothing will count and why. `at`
 * prints an instant; `range` is the reported periods' span, with its label.
 */
export function sampleWarnings(file: string, stats: SampleStats, at: (t: number) => string, range?: { label: string }): string[] {
  const out: string[] = [];
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  if (stats.milliseconds.count > 0) {
    out.push(`${file}: ${n(stats.milliseconds.count, 'timestamp looks', 'timestamps look')} like Unix milliseconds, not seconds (first on line ${stats.milliseconds.line}: ${stats.milliseconds.value} as seconds is the year ${Math.floor(1970 + Number(stats.milliseconds.value) / 31_556_952)}); they fall in no period and are not counted: divide them by 1000`);
  }
  if (stats.future.count > 0) out.push(`${file}: ${n(stats.future.count, 'sample is', 'samples are')} later than the report's now (first on line ${stats.future.line}); they are not counted: check the probing machine's clock or --now`);
  if (stats.outside.count > 0) {
    out.push(`${file}: ${n(stats.outside.count, 'sample', 'samples')} (${at(stats.outside.first)} to ${at(stats.outside.last)}) ${stats.outside.count === 1 ? 'falls' : 'fall'} outside the reported period${range ? ` ${range.label}` : ''}; they count only to measure a window that crosses into it`);
  }
  if (stats.duplicates.count > 0) {
    out.push(`${file}: ${n(stats.duplicates.count, 'line repeats', 'lines repeat')} an earlier line's target, region, timestamp and outcome (first: line ${stats.duplicates.line}, as line ${stats.duplicates.earlier}); each outcome is counted once`);
  }
  return out;
}
