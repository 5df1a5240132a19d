import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, StoreError, openStore, storePath, type Store } from '../../src/store/index.ts';

const dirs: string[] = [];
const stores: Store[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'slaprobe-store-'));
  dirs.push(d);
  return d;
};
const open = (d: string, mustExist = false) => {
  const s = openStore(d, { mustExist });
  stores.push(s);
  return s;
};
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof StoreError ? e.code : `not a StoreError: ${(e as Error).message}`;
  }
  return undefined;
};

describe('refuses a store it must not touch, and leaves it as it was', () => {
  it.each([
    ['garbage', () => Buffer.from('this is not a database, it is a text file that happens to be long enough to pass size checks '.repeat(3)), 'SLAPROBE_STORE_CORRUPT'],
    ['a truncated SQLite header', () => Buffer.from('SQLite format 3\0' + 'x'.repeat(20)), 'SLAPROBE_STORE_CORRUPT'],
    ['another application\'s database', (f: string) => {
      const db = new DatabaseSync(f);
      db.exec('CREATE TABLE notes (x TEXT)');
      db.close();
      return readFileSync(f);
    }, 'SLAPROBE_STORE_FOREIGN'],
    ['a store from a newer slaprobe', (f: string) => {
      const db = new DatabaseSync(f);
      db.exec(`PRAGMA application_id = ${0x534c4150}; PRAGMA user_version = ${SCHEMA_VERSION + 1}; CREATE TABLE future (x)`);
      db.close();
      return readFileSync(f);
    }, 'SLAPROBE_STORE_NEWER'],
  ])('%s', (_what, make, want) => {
    const d = tmp();
    const f = storePath(d);
    const bytes = make(f);
    writeFileSync(f, bytes);
    expect(code(() => openStore(d))).toBe(want);
    expect(readFileSync(f).equals(bytes)).toBe(true);
  });

  it('a corrupt page fails the integrity check', () => {
    const d = tmp();
    const s = openStore(d);
    for (let i = 0; i < 2000; i++) s.recordOutcome(`t${i % 50}`, 'r', { t: i * 1000, success: i % 3 === 0 }, 1000);
    s.close();
    // checkpointed into the main file on close; scribble over a b-tree page in the middle
    const f = storePath(d);
    const buf = readFileSync(f);
    buf.fill(0xa5, 4096 * 3, 4096 * 3 + 4096);
    writeFileSync(f, buf);
    expect(code(() => openStore(d))).toBe('SLAPROBE_STORE_CORRUPT');
    expect(readFileSync(f).equals(buf)).toBe(true);
  });

  it('a missing store is an error when one must exist', () => {
    expect(code(() => openStore(join(tmp(), 'nothing'), { mustExist: true }))).toBe('SLAPROBE_STORE_MISSING');
  });
});

describe('schema', () => {
  it('a new store is at the latest version, in WAL mode', () => {
    const d = tmp();
    open(d).close();
    const db = new DatabaseSync(storePath(d));
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
  });
});

describe('the timeline', () => {
  // runs every 10 s: up x3, down x4, up x2; then a 100 s silence (agent stopped), up x2
  const I = 10_000;
  const runs: [number, boolean][] = [
    [0, true], [10, true], [20, true], [30, false], [40, false], [50, false], [60, false], [70, true], [80, true],
    [180, true], [190, true],
  ];
  it('is kept as segments and survives a reopen', () => {
    const d = tmp();
    let s = open(d);
    for (const [t, ok] of runs.slice(0, 6)) s.recordOutcome('api', 'eu', { t: t * 1000, success: ok }, I);
    s.close();
    s = open(d); // the open down segment is picked up again
    for (const [t, ok] of runs.slice(6)) s.recordOutcome('api', 'eu', { t: t * 1000, success: ok }, I);
    const spans = s.targetSpans('api', 0, 1e9, 1e9);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.region).toBe('eu');
    expect(spans[0]!.spans.map((x) => [x.state, x.start / 1000, x.end / 1000])).toEqual([
      ['up', 0, 30], // until the first failed run
      ['down', 30, 70], // until the first successful run
      ['up', 70, 90], // last run + one interval: then 90 s with no run
      ['up', 180, 200],
    ]);
  });

  it('ignores a run older than the latest', () => {
    const s = open(tmp());
    s.recordOutcome('api', '', { t: 20_000, success: true }, I);
    s.recordOutcome('api', '', { t: 10_000, success: false }, I);
    expect(s.targetSpans('api', 0, 1e9, 1e9)[0]!.spans).toEqual([{ start: 20_000, end: 30_000, state: 'up', seen: 20_000 }]);
  });

  it('cuts open segments at now', () => {
    const s = open(tmp());
    s.recordOutcome('api', '', { t: 0, success: false }, 60_000);
    expect(s.targetSpans('api', 0, 1e9, 15_000)[0]!.spans).toEqual([{ start: 0, end: 15_000, state: 'down', seen: 0 }]);
  });
});

describe('quality breaches', () => {
  it('an open breach of a killed run ends at its last heartbeat', () => {
    const d = tmp();
    const s = openStore(d);
    s.startRun(1000, 1);
    s.setDegraded('api', true, 5000);
    s.beat(9000);
    s.close(); // as if killed: no stopRun, breach still open
    const s2 = open(d);
    s2.startRun(20_000, 2);
    expect(s2.degradedSpans('api', 0, 1e9, 30_000)).toEqual([{ start: 5000, end: 9000, state: 'degraded' }]);
    s2.setDegraded('api', true, 26_000); // still breached after the restart: a new stretch
    expect(s2.degradedSpans('api', 0, 1e9, 30_000)).toEqual([
      { start: 5000, end: 9000, state: 'degraded' },
      { start: 26_000, end: 30_000, state: 'degraded' },
    ]);
  });
});

describe('exclusions', () => {
  it('are added, listed and removed (kept on record)', () => {
    const s = open(tmp());
    const id = s.addExclusion({ service: 'meet', start: 1000, end: 2000, reason: 'carrier fault', created_at: 5 });
    expect(s.exclusions()).toEqual([{ id, service: 'meet', start: 1000, end: 2000, reason: 'carrier fault', created_at: 5 }]);
    expect(s.removeExclusion(id, 6)).toBe(true);
    expect(s.removeExclusion(id, 7)).toBe(false);
    expect(s.exclusions()).toEqual([]);
  });
});
