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

export type SamplesTimeline = Evidence;

export interface ReadSamplesOptions {
  /** Interval of a target's runs, ms: the gap rule needs it (config, else --interval). */
  intervalOf: (target: string) => number;
  /** Bad lines tolerated (reported) before giving up; default 0. */
  maxBadLines?: number;
  /** Called with each bad line's message when it is tolerated. */
  onBadLine?: (msg: string) => void;
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
    opts.onBadLine?.(m);
  };

  const handle = (raw: string) => {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.charCodeAt(0) === 35 /* # */) return;
    if (format === undefined) {
      if (line.trimStart().startsWith('{')) format = 'jsonl';
      else {
        format = 'csv';
        const cols = splitCsv(line).map((c) => c.trim().toLowerCase());
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
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return fail('not valid JSON; each line must be one object such as {"timestamp":"2026-11-01T00:00:00Z","target":"api","success":true}');
      }
      ts = o['timestamp'];
      target = o['target'];
      success = o['success'];
      region = o['region'] ?? '';
      agent = o['agent'] ?? '';
    } else {
      const f = splitCsv(line);
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
    if (!evidence.add(target, reg, t, ok, opts.intervalOf(target), typeof agent === 'string' ? agent : String(agent))) return fail(`${target}${reg ? `@${reg}` : ''} at ${String(ts)} is earlier than its previous line; samples of a target must be in time order (sort the file by timestamp)`);
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
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    let a = 0;
    for (let b = text.indexOf('\n'); b >= 0; b = text.indexOf('\n', a)) {
      handle(text.slice(a, b));
      a = b + 1;
    }
    rest = text.slice(a);
  }
  if (rest !== '') handle(rest);

  return evidence;
}
