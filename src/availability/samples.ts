// Probe outcomes from a file, for `slaprobe report --samples`: CSV with a header row or JSON
// Lines, one outcome a line, read as a stream (a month of 100 targets at 10 s is 27 million
// lines; only the per-target segments are kept). Fields: timestamp (RFC 3339 with offset, or
// Unix seconds), target, success (true/false, 1/0), and optional region, agent, rtt_ms, reason.
import { createReadStream } from 'node:fs';
import { parseInstant } from './calendar.ts';
import { createEvidence, type Evidence } from './evidence.ts';

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

export async function readSamples(file: string, opts: ReadSamplesOptions): Promise<SamplesTimeline> {
  const evidence = createEvidence();
  const stats: SampleStats = {
    samples: 0, skipped: 0, duplicates: { count: 0 }, future: { count: 0 }, milliseconds: { count: 0 },
    outside: { count: 0, first: Infinity, last: -Infinity }, targets: new Map(), elapsed_ms: 0,
  };
  // Last sample per target and region: duplicates of one instant are adjacent in time order.
  const lastOf = new Map<string, { t: number; ok: boolean; line: number }>();
  const now = opts.now ?? Infinity;
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

  const handle = (raw: string) => {
    lineNo++;
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
    const key = `${target}\u0000${reg}`;
    const prev = lastOf.get(key);
    if (prev && prev.t === t) {
      // Two outcomes of one run cannot both be true: which one is, only the file's author
      // knows. Taking either would make the figure depend on the order of lines.
      if (prev.ok !== ok) {
        throw new SamplesError([`${file}:${lineNo}: ${who} at ${String(ts)} has success=${ok} here and success=${prev.ok} on line ${prev.line}; one target and region has one outcome per instant: remove the wrong line`]);
      }
      stats.duplicates.count++;
      if (stats.duplicates.line === undefined) [stats.duplicates.line, stats.duplicates.earlier] = [lineNo, prev.line];
      return;
    }
    if (!evidence.add(target, reg, t, ok, opts.intervalOf(target), typeof agent === 'string' ? agent : String(agent))) return fail(`${who} at ${String(ts)} is earlier than its previous line; samples of a target must be in time order (sort the file by timestamp)`);
    lastOf.set(key, { t, ok, line: lineNo });
    stats.samples++;
    const numeric = typeof ts === 'number' || (typeof ts === 'string' && /^\d+(\.\d+)?$/.test(ts));
    if (numeric && Number(ts) > MS_LIKE) {
      stats.milliseconds.count++;
      if (stats.milliseconds.line === undefined) [stats.milliseconds.line, stats.milliseconds.value] = [lineNo, String(ts)];
    } else if (t > now) {
      stats.future.count++;
      stats.future.line ??= lineNo;
    } else if (opts.range && (t < opts.range.start || t >= opts.range.end)) {
      stats.outside.count++;
      stats.outside.first = Math.min(stats.outside.first, t);
      stats.outside.last = Math.max(stats.outside.last, t);
    }
    const pt = stats.targets.get(target);
    if (pt) {
      pt.count++;
      pt.first = Math.min(pt.first, t);
      pt.last = Math.max(pt.last, t);
    } else stats.targets.set(target, { count: 1, first: t, last: t });
  };

  let stream: ReturnType<typeof createReadStream>;
  try {
    stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SamplesError([`${file}: cannot read samples (${code === 'ENOENT' ? 'no such file' : code}); pass an existing CSV or JSON Lines file with --samples`]);
  }
  // Lines are cut from each chunk by hand: no per-line promise, as readline's iterator has.
  let rest = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest + chunk;
      let a = 0;
      for (let b = text.indexOf('\n'); b >= 0; b = text.indexOf('\n', a)) {
        handle(text.slice(a, b));
        a = b + 1;
      }
      rest = text.slice(a);
      if (opts.onProgress && Date.now() >= progressAt) {
        progressAt = Date.now() + 1000;
        opts.onProgress(stats.samples, Date.now() - started);
      }
    }
  } catch (e) {
    // A directory opens but cannot be read (EISDIR); a disk can fail mid-file (EIO).
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof SamplesError || code === undefined) throw e;
    throw new SamplesError([`${file}: cannot read samples (${code === 'EISDIR' ? 'a directory, not a file' : code}) after line ${lineNo}; pass a CSV or JSON Lines file with --samples`]);
  }
  if (rest !== '') handle(rest);
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
