// The samples reader refuses or warns, never guesses (issue 8, section 2): one fixture per
// case in testdata/samples/, each with its exact message.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatInstant } from '../../src/availability/calendar.ts';
import { type ReadSamplesOptions, SamplesError, readSamples, sampleWarnings } from '../../src/availability/samples.ts';
import { T } from '../support/availability.ts';

const DIR = join(import.meta.dirname, 'testdata/samples');
const f = (name: string) => join(DIR, name);
const read = (name: string, more: Partial<ReadSamplesOptions> = {}) =>
  readSamples(f(name), { intervalOf: () => 10_000, ...more });

async function rejection(name: string, more: Partial<ReadSamplesOptions> = {}): Promise<string[]> {
  try {
    await read(name, more);
  } catch (e) {
    if (e instanceof SamplesError) return e.messages;
    throw e;
  }
  throw new Error(`${name} was accepted`);
}

const OBJ = 'such as {"timestamp":"2026-11-01T00:00:00Z","target":"api","success":true}';
const EMPTY_HINT = `a samples file has one probe outcome a line: CSV under a header "timestamp,target,success" or JSON Lines ${OBJ}`;

describe('a line that is not a sample is refused with file:line and what is wrong', () => {
  it.each([
    ['jsonl-null.jsonl', `jsonl-null.jsonl:2: expected one JSON object a line ${OBJ}, got null`],
    ['jsonl-array.jsonl', `jsonl-array.jsonl:1: expected one JSON object a line ${OBJ}, got an array`],
    ['jsonl-number.jsonl', `jsonl-number.jsonl:1: expected one JSON object a line ${OBJ}, got a number (1793491200)`],
    ['jsonl-string.jsonl', `jsonl-string.jsonl:2: expected one JSON object a line ${OBJ}, got a string ("api")`],
    ['jsonl-target-number.jsonl', 'jsonl-target-number.jsonl:1: target must be a string (the target\'s name), got a number (5)'],
    ['jsonl-region-array.jsonl', 'jsonl-region-array.jsonl:1: region must be a string (the probing region\'s name), got an array'],
    ['jsonl-no-timestamp.jsonl', 'jsonl-no-timestamp.jsonl:1: timestamp is missing; every line has "timestamp" (RFC 3339 with offset, or Unix seconds)'],
    ['csv-short-line.csv', 'csv-short-line.csv:3: has 3 fields, the header has 4; quote a field that holds a comma ("a,b")'],
    ['csv-unquoted-comma.csv', 'csv-unquoted-comma.csv:2: has 5 fields, the header has 4; quote a field that holds a comma ("a,b")'],
  ])('%s', async (name, msg) => {
    expect(await rejection(name)).toEqual([f(msg.split(':')[0]!) + msg.slice(msg.indexOf(':'))]);
  });
});

describe('two outcomes of one target, region and instant', () => {
  it.each([
    // either order is refused, naming both lines: the result never depends on line order
    ['conflict.csv', 'conflict.csv:4: api@eu at 2026-11-01T00:00:10Z has success=false here and success=true on line 3; one target and region has one outcome per instant: remove the wrong line'],
    ['conflict-reversed.csv', 'conflict-reversed.csv:4: api@eu at 2026-11-01T00:00:10Z has success=true here and success=false on line 3; one target and region has one outcome per instant: remove the wrong line'],
  ])('%s is refused', async (name, msg) => {
    expect(await rejection(name)).toEqual([join(DIR, msg)]);
  });

  it('is refused even when bad lines may be skipped (skipping one would pick the other)', async () => {
    expect(await rejection('conflict.csv', { maxBadLines: 10 })).toHaveLength(1);
  });

  it('a repeated line with the same outcome is folded once, with a warning', async () => {
    const dup = await read('duplicates.csv');
    const clean = await read('deduplicated.csv');
    expect(dup.targetSpans('api', 0, Infinity, Infinity)).toEqual(clean.targetSpans('api', 0, Infinity, Infinity));
    expect(sampleWarnings('duplicates.csv', dup.stats, String)).toEqual([
      'duplicates.csv: 1 line repeats an earlier line\'s target, region, timestamp and outcome (first: line 4, as line 3); each outcome is counted once',
    ]);
  });
});

describe('a file with no sample is refused', () => {
  it.each([
    ['empty.csv', 'is empty: no header and no samples'],
    ['comments-only.csv', 'is empty: no header and no samples'],
    ['header-only.csv', 'has only a header line, no samples'],
  ])('%s', async (name, what) => {
    expect(await rejection(name)).toEqual([`${f(name)}: ${what}; ${EMPTY_HINT}`]);
  });

  it('all-bad.jsonl with its one bad line skipped', async () => {
    expect(await rejection('all-bad.jsonl', { maxBadLines: 1 })).toEqual([`${f('all-bad.jsonl')}: has no valid sample (1 bad line skipped); ${EMPTY_HINT}`]);
  });
});

describe('samples nothing counts are warned about, with counts', () => {
  const at = (t: number) => formatInstant(t, 'UTC');
  it('Unix milliseconds', async () => {
    const s = await read('millis.jsonl');
    // 1793491200000 s / 31,556,952 s a year = 56,833 years after 1970: the year 58803
    expect(sampleWarnings('millis.jsonl', s.stats, at)).toEqual([
      'millis.jsonl: 2 timestamps look like Unix milliseconds, not seconds (first on line 2: 1793491200000 as seconds is the year 58803); they fall in no period and are not counted: divide them by 1000',
    ]);
  });

  it('samples after now', async () => {
    const s = await read('future.csv', { now: T('2026-12-01T00:00:00Z') });
    // 00:00:00 is now itself (not later); 00:00:10 is later
    expect(sampleWarnings('future.csv', s.stats, at)).toEqual([
      'future.csv: 1 sample is later than the report\'s now (first on line 4); they are not counted: check the probing machine\'s clock or --now',
    ]);
  });

  it('samples outside the reported period', async () => {
    const s = await read('outside.csv', { range: { start: T('2026-11-01T00:00:00Z'), end: T('2026-12-01T00:00:00Z') } });
    expect(sampleWarnings('outside.csv', s.stats, at, { label: '2026-11' })).toEqual([
      'outside.csv: 2 samples (2026-10-31T23:59:00Z to 2026-10-31T23:59:30Z) fall outside the reported period 2026-11; they count only to measure a window that crosses into it',
    ]);
  });

  it('a clean file has no warning, and per-target counts', async () => {
    const s = await read('deduplicated.csv', { now: T('2026-12-01T00:00:00Z'), range: { start: T('2026-11-01T00:00:00Z'), end: T('2026-12-01T00:00:00Z') } });
    expect(sampleWarnings('deduplicated.csv', s.stats, at)).toEqual([]);
    expect(s.stats.targets.get('api')).toEqual({ count: 3, first: T('2026-11-01T00:00:00Z'), last: T('2026-11-01T00:00:20Z') });
  });
});
