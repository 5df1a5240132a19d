// Runs that only extend an open segment are committed together (src/store/index.ts, "Write
// volume"): appended to the extensions table on flush, folded into the segments in bulk.
// What the writer, a reader in another connection and a restart see at every step, and the
// disk pages one commit writes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { openOutbox } from '../../src/fleet/outbox.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { SCHEMA_VERSION, openStore, storePath, type Store } from '../../src/store/index.ts';
import { freePort } from '../support/coturn.ts';
import { storeAtVersion, storeRows } from '../support/store-rows.ts';

const stores: Store[] = [];
const track = (s: Store) => (stores.push(s), s);
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});
const tmp = () => mkdtempSync(join(tmpdir(), 'slaprobe-ext-'));
const I = 10_000;
/** [state, start, end] of the target's spans in seconds, uncut. */
const spans = (s: Store, target = 'api') => s.targetSpans(target, 0, 1e12, 1e12).flatMap((r) => r.spans.map((x) => [x.state, x.start / 1000, x.end / 1000]));
const extRows = (d: string) => Number(storeRows(d, 'SELECT count(*) AS n FROM extensions')[0]!['n']);

describe('extensions of open segments', () => {
  it('the writer sees them at once, a reader once flushed, and the latest row wins', () => {
    const d = tmp();
    const w = track(openStore(d));
    const r = track(openStore(d, { readOnly: true }));
    w.recordOutcome('api', 'eu', { t: 0, success: true }, I); // a new segment: committed at once
    expect(w.uncommitted()).toBe(0);
    expect(spans(r)).toEqual([['up', 0, 10]]);
    for (let t = 10; t <= 50; t += 10) w.recordOutcome('api', 'eu', { t: t * 1000, success: true }, I);
    expect(w.uncommitted()).toBe(1); // five runs, one segment, one pending extent
    expect(spans(w)).toEqual([['up', 0, 60]]);
    expect(spans(r)).toEqual([['up', 0, 10]]); // not committed yet
    w.flush();
    expect(w.uncommitted()).toBe(0);
    expect(extRows(d)).toBe(1);
    expect(spans(r)).toEqual([['up', 0, 60]]); // from the extensions table, not folded
    // A shorter interval (a reload) moves the end back: the latest row counts, not the largest end.
    w.recordOutcome('api', 'eu', { t: 51_000, success: true }, 1000);
    w.flush();
    expect(extRows(d)).toBe(2);
    expect(spans(r)).toEqual([['up', 0, 52]]);
    expect(spans(w)).toEqual([['up', 0, 52]]);
    w.close(); // folds: the same in the segments table
    expect(extRows(d)).toBe(0);
    expect(spans(r)).toEqual([['up', 0, 52]]);
  });

  it('a second writer beside the agent (exclude, a test) reads the agent\'s extensions from the table', () => {
    const d = tmp();
    const agent = track(openStore(d, { owner: true }));
    agent.recordOutcome('api', 'eu', { t: 0, success: true }, I);
    agent.recordOutcome('api', 'eu', { t: 10_000, success: true }, I);
    agent.flush();
    const other = track(openStore(d)); // folds what it finds at open
    expect(spans(other)).toEqual([['up', 0, 20]]);
    agent.recordOutcome('api', 'eu', { t: 20_000, success: true }, I);
    agent.flush(); // appended after the other opened: only the table has it
    expect(extRows(d)).toBe(1);
    expect(spans(other)).toEqual([['up', 0, 30]]);
    expect(spans(agent)).toEqual([['up', 0, 30]]);
  });

  it('a state change commits what is pending with it, and closes the segment at its latest extent', () => {
    const d = tmp();
    const w = track(openStore(d));
    const r = track(openStore(d, { readOnly: true }));
    w.recordOutcome('db', 'eu', { t: 0, success: true }, I);
    for (let t = 0; t <= 40; t += 10) w.recordOutcome('api', 'eu', { t: t * 1000, success: true }, I);
    w.recordOutcome('db', 'eu', { t: 10_000, success: true }, I);
    expect(w.uncommitted()).toBe(2);
    w.recordOutcome('api', 'eu', { t: 50_000, success: false }, I);
    expect(w.uncommitted()).toBe(0); // db's extent went with api's state change
    expect(spans(r)).toEqual([['up', 0, 50], ['down', 50, 60]]);
    expect(spans(r, 'db')).toEqual([['up', 0, 20]]);
  });

  it('a reader follows them across folds, and a restart after a kill folds what was left', () => {
    const d = tmp();
    const w = openStore(d, { foldAt: 6 });
    const r = track(openStore(d, { readOnly: true }));
    const targets = ['a', 'b', 'c', 'd'];
    let t = 0;
    const tick = (which = targets) => {
      t += 10;
      for (const x of which) w.recordOutcome(x, 'eu', { t: t * 1000, success: true }, I);
      w.flush();
    };
    for (const x of targets) w.recordOutcome(x, 'eu', { t: 0, success: true }, I);
    tick(); // 4 rows
    expect(extRows(d)).toBe(4);
    expect(spans(r, 'c')).toEqual([['up', 0, 20]]); // the reader caches rows 1-4
    tick(); // 8 rows >= 6: folded into the segments, the table emptied
    expect(extRows(d)).toBe(0);
    tick(['a', 'b']); // rows 9 and 10, none of them c's; the reader has not looked since row 4
    expect(extRows(d)).toBe(2);
    // c's extent is in the segments now; the cached row 3 (end 20) is gone from the table and must not count
    expect(spans(r, 'c')).toEqual([['up', 0, 30]]);
    expect(spans(r, 'a')).toEqual([['up', 0, 40]]);
    tick(); // 6 rows: folded again
    tick();
    expect(extRows(d)).toBe(4);
    expect(targets.map((x) => spans(r, x))).toEqual(targets.map(() => [['up', 0, 60]]));
    // One more run of each, never committed, and the process "killed": the database is left
    // as it is (close() would commit and fold, so the connection is dropped without it).
    for (const x of targets) w.recordOutcome(x, 'eu', { t: 60_000, success: true }, I);
    expect(w.uncommitted()).toBe(4);
    expect(extRows(d)).toBe(4);
    // A new writer folds the rows the killed one left; the uncommitted last runs are lost.
    const w2 = track(openStore(d));
    expect(extRows(d)).toBe(0);
    expect(spans(w2, 'a')).toEqual([['up', 0, 60]]);
    // and extends that segment from where the store had it
    w2.recordOutcome('a', 'eu', { t: 70_000, success: true }, I);
    expect(spans(w2, 'a')).toEqual([['up', 0, 80]]);
    // A clean close commits and folds: the segments table alone is the whole timeline.
    w2.close();
    expect(extRows(d)).toBe(0);
    const again = track(openStore(d, { readOnly: true }));
    expect(spans(again, 'a')).toEqual([['up', 0, 80]]);
  });

  it('one commit of many extensions writes a few pages, not one per run', () => {
    const d = tmp();
    const w = track(openStore(d));
    const n = 2000;
    for (let i = 0; i < n; i++) w.recordOutcome(`target-${i}`, 'eu', { t: 0, success: true }, I);
    const wal = new DatabaseSync(storePath(d));
    const frames = () => Number((wal.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { log: number }).log);
    frames(); // the WAL emptied: count from here
    for (let i = 0; i < n; i++) w.recordOutcome(`target-${i}`, 'eu', { t: 10_000, success: true }, I);
    w.flush();
    const written = wal.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number };
    wal.close();
    // Extending in place wrote two pages (the segment's and its index's) per run: 4,000 frames
    // here. Appended, 2,000 rows of about 20 bytes fill some 12 pages.
    expect(written.log).toBeGreaterThan(0);
    expect(written.log).toBeLessThan(n / 40);
    expect(spans(w, 'target-1999')).toEqual([['up', 0, 20]]);
  });

  it('the outbox joined to the store: the samples of a run are committed with its timeline, not before', async () => {
    const d = tmp();
    const w = track(openStore(d));
    const outbox = openOutbox({ dataDir: d, store: w, metrics: createMetrics({ region: 'eu', version: 'test', defaultMetrics: false }), log: createLogger('silent') });
    // A remote nobody listens on: the sender retries, so every committed sample stays in the table.
    const cfg = parseConfig(`remote_write: [{name: central, url: "http://127.0.0.1:${await freePort()}/api/v1/write", queue_config: {min_backoff: 1s, max_backoff: 1s}}]`, 'c.yaml');
    await outbox.setRemotes(cfg.remote_write);
    const rows = () => storeRows(d, 'SELECT ts FROM outbox ORDER BY id').map((r) => Number(r['ts']) / 1000);
    const run = (t: number, ok: boolean) => {
      // As the agent's sinks do: the push sink's samples, then the timeline.
      outbox.append([{ labels: [['__name__', 'slaprobe_run_success'], ['target', 'api']], ts: t * 1000, value: ok ? 1 : 0 }]);
      w.recordOutcome('api', 'eu', { t: t * 1000, success: ok }, I);
    };
    try {
      run(0, true); // a new segment: committed at once, its sample with it
      expect(rows()).toEqual([0]);
      run(10, true);
      run(20, true);
      expect(w.uncommitted()).toBe(3); // one extent, two samples
      expect(rows()).toEqual([0]); // neither is committed before the other
      w.flush();
      expect(rows()).toEqual([0, 10, 20]);
      run(30, true);
      run(40, false); // a state change carries the earlier run's samples too
      expect(w.uncommitted()).toBe(0);
      expect(rows()).toEqual([0, 10, 20, 30, 40]);
      expect(spans(w)).toEqual([['up', 0, 40], ['down', 40, 50]]);
      // A sample the table cannot hold is refused by append, so it never fails the store's commits.
      const refused = (value: number, ts: number) => {
        try {
          outbox.append([{ labels: [['__name__', 'slaprobe_run_success'], ['target', 'api']], ts, value }]);
        } catch (e) {
          return (e as { code?: string }).code;
        }
        return undefined;
      };
      expect(refused(Number.NaN, 50_000)).toBe('SLAPROBE_OUTBOX_BAD_SAMPLE');
      expect(refused(Number.POSITIVE_INFINITY, 50_000)).toBe('SLAPROBE_OUTBOX_BAD_SAMPLE');
      expect(refused(1, 50_000.5)).toBe('SLAPROBE_OUTBOX_BAD_SAMPLE');
      expect(w.uncommitted()).toBe(0); // nothing of them waits for the commit
      run(50, false);
      w.flush();
      expect(rows()).toEqual([0, 10, 20, 30, 40, 50]);
      expect(spans(w)).toEqual([['up', 0, 40], ['down', 40, 60]]);
      // At most 100,000 samples wait for the store's next commit (its commits failing, say):
      // past that append refuses the run's samples, with a code, and keeps what it holds.
      outbox.append(Array.from({ length: 99_999 }, (_, i) => ({ labels: [['__name__', 'slaprobe_run_success'], ['target', 'many']] as const, ts: 100_000 + i, value: 1 })));
      expect(refused(1, 200_000)).toBeUndefined();
      expect(w.uncommitted()).toBe(100_000);
      let message = '';
      try {
        outbox.append([{ labels: [['__name__', 'slaprobe_run_success'], ['target', 'api']], ts: 200_001, value: 1 }]);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('SLAPROBE_OUTBOX_UNCOMMITTED');
        message = (e as Error).message;
      }
      expect(message).toContain('slaprobe_store_errors_total');
      expect(w.uncommitted()).toBe(100_000);
      w.flush();
      expect(rows()).toHaveLength(6 + 100_000);
      expect(refused(1, 200_002)).toBeUndefined(); // taken again once committed
    } finally {
      await outbox.close();
    }
  });
});

describe('a store from before the extensions table (schema version 3)', () => {
  it('is migrated in place, keeps its timeline, and its open segment goes on', () => {
    const d = tmp();
    // The store as slaprobe with schema 3 left it: the first three migrations, a closed
    // segment and the open one it extended in place.
    storeAtVersion(d, 3, (old) => old.exec(`INSERT INTO segments (target, region, state, start, last, "end", seen, runs, open) VALUES
      ('api', 'eu', 0, 0, 20000, 30000, 0, 3, 0),
      ('api', 'eu', 1, 30000, 90000, 100000, 30000, 7, 1)`));
    const w = track(openStore(d));
    expect(storeRows(d, 'PRAGMA user_version')).toEqual([{ user_version: SCHEMA_VERSION }]);
    expect(storeRows(d, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'extensions'")).toEqual([{ n: 1 }]);
    expect(spans(w)).toEqual([['down', 0, 30], ['up', 30, 100]]);
    w.recordOutcome('api', 'eu', { t: 100_000, success: true }, I);
    expect(w.uncommitted()).toBe(1);
    w.close();
    const r = track(openStore(d, { readOnly: true }));
    expect(spans(r)).toEqual([['down', 0, 30], ['up', 30, 110]]);
    expect(storeRows(d, 'SELECT runs FROM segments WHERE open = 1')).toEqual([{ runs: 8 }]);
  });
});
