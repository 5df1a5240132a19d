// The outbox's label sets, stored once each (schema version 5, table outbox_series): a store
// from version 4 keeps its backlog, ids and cursors; label sets no row refers to are pruned,
// never one a row still needs; a row whose label set is gone is counted, not sent, not lost
// silently. Against a real VictoriaMetrics on loopback.
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { openOutbox } from '../../src/fleet/outbox.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { SCHEMA_VERSION, openStore, storePath } from '../../src/store/index.ts';
import { tempDir } from '../deploy/tools.ts';
import { closedPort } from '../support/servers.ts';
import { storeAtVersion, storeRows } from '../support/store-rows.ts';
import { type Tsdb, startVictoria } from '../support/tsdb.ts';
import { jsonLineStream } from '../support/log-lines.ts';

let vm: Tsdb;
beforeAll(async () => {
  vm = await startVictoria();
});
afterAll(async () => {
  await vm?.stop();
});

const labels = (metric: string, target: string) => [['__name__', metric], ['agent', 'a'], ['region', 'r'], ['target', target]] as const;
const json = (metric: string, target: string) => JSON.stringify(labels(metric, target));
const remote = (name: string, url: string) => `{name: ${name}, url: "${url}", queue_config: {batch_send_deadline: 0s, min_backoff: 10ms, max_backoff: 20ms}}`;
const remotes = (...r: string[]) => parseConfig(`remote_write: [${r.join(', ')}]`, 'c.yaml').remote_write;
const count = (d: string, table: string) => Number(storeRows(d, `SELECT count(*) AS n FROM ${table}`)[0]!['n']);
const sent = async (metric: string) => Object.fromEntries((await vm.raw(metric)).map((s) => [s.labels['target'], s.samples.map((x) => [x.ts, x.value])]));
const counter = async (m: ReturnType<typeof createMetrics>, name: string, r = 'central') => (await m.registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels['remote'] === r)?.value;

describe('outbox label sets (schema 5)', () => {
  it('a store from schema 4 keeps its backlog, its row ids and its sequence, and sends what was pending', async () => {
    const d = `${tempDir('outbox-v4')}/data`;
    const t0 = Date.now() - 60_000;
    // The store as slaprobe with schema 4 left it: rows 11 and 12 sent and pruned (the
    // sequence is at 12), rows 13-15 pending for "central", whose cursor is at 12.
    storeAtVersion(d, 4, (db) => {
      const ins = db.prepare('INSERT INTO outbox (id, series, ts, value) VALUES (?, ?, ?, ?)');
      ins.run(11, json('m_v4', 'x'), t0, 1);
      ins.run(12, json('m_v4', 'x'), t0 + 1000, 1);
      ins.run(13, json('m_v4', 'x'), t0 + 2000, 0);
      ins.run(14, json('m_v4', 'y'), t0 + 2000, 1);
      ins.run(15, json('m_v4', 'x'), t0 + 3000, 1);
      db.exec("DELETE FROM outbox WHERE id <= 12; INSERT INTO outbox_cursors (remote, last_id) VALUES ('central', 12)");
    });
    // A second one, emptied: all its rows pruned, only the sequence says where ids are.
    const e = `${tempDir('outbox-v4-empty')}/data`;
    storeAtVersion(e, 4, (db) => {
      db.prepare('INSERT INTO outbox (id, series, ts, value) VALUES (?, ?, ?, ?)').run(40, json('m_v4', 'z'), t0, 1);
      db.exec('DELETE FROM outbox');
    });

    const store = openStore(d);
    const storeE = openStore(e);
    try {
      expect(storeRows(d, 'PRAGMA user_version')).toEqual([{ user_version: SCHEMA_VERSION }]);
      expect(storeRows(d, 'SELECT o.id, s.labels, o.ts, o.value FROM outbox o JOIN outbox_series s ON s.id = o.series ORDER BY o.id')).toEqual([
        { id: 13, labels: json('m_v4', 'x'), ts: t0 + 2000, value: 0 },
        { id: 14, labels: json('m_v4', 'y'), ts: t0 + 2000, value: 1 },
        { id: 15, labels: json('m_v4', 'x'), ts: t0 + 3000, value: 1 },
      ]);
      expect(count(d, 'outbox_series')).toBe(2);
      expect(storeRows(d, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")).toEqual([{ seq: 15 }]);
      expect(storeRows(e, "SELECT name, seq FROM sqlite_sequence WHERE name LIKE 'outbox%'")).toEqual([{ name: 'outbox', seq: 40 }]);

      const metrics = createMetrics({ region: 'r', version: 'test', defaultMetrics: false });
      const outbox = openOutbox({ dataDir: d, metrics, log: createLogger('silent') });
      await outbox.setRemotes(remotes(remote('central', vm.writeUrl)));
      outbox.append([{ labels: labels('m_v4', 'y'), ts: t0 + 4000, value: 0 }]);
      await outbox.drained();
      expect(await counter(metrics, 'slaprobe_remote_write_samples_sent_total')).toBe(4);
      await outbox.close();
      expect(await sent('m_v4')).toEqual({ x: [[t0 + 2000, 0], [t0 + 3000, 1]], y: [[t0 + 2000, 1], [t0 + 4000, 0]] });
      // The new sample took the id after the carried sequence, and the cursor is past it.
      expect(storeRows(d, 'SELECT last_id FROM outbox_cursors')).toEqual([{ last_id: 16 }]);

      // The emptied store: a new sample's id is past every id it ever gave.
      const outboxE = openOutbox({ dataDir: e, metrics: createMetrics({ region: 'r', version: 'test', defaultMetrics: false }), log: createLogger('silent') });
      await outboxE.setRemotes(remotes(remote('central', `http://127.0.0.1:${await closedPort()}/api/v1/write`)));
      outboxE.append([{ labels: labels('m_v4e', 'z'), ts: t0, value: 1 }]);
      expect(storeRows(e, 'SELECT id FROM outbox')).toEqual([{ id: 41 }]);
      await outboxE.close();
    } finally {
      store.close();
      storeE.close();
    }
  });

  it('stores each label set once; prunes those no row refers to, at most hourly, and keeps those a remote still needs', async () => {
    const d = `${tempDir('outbox-series')}/data`;
    const store = openStore(d);
    const t0 = Date.now() - 60_000;
    let clock = t0;
    const metrics = createMetrics({ region: 'r', version: 'test', defaultMetrics: false });
    const outbox = openOutbox({ dataDir: d, metrics, log: createLogger('silent'), now: () => clock });
    const dead = `http://127.0.0.1:${await closedPort()}/api/v1/write`;
    try {
      await outbox.setRemotes(remotes(remote('central', vm.writeUrl)));
      const s = (target: string, i: number, value = 1) => ({ labels: labels('m_series', target), ts: t0 + i * 1000, value });
      outbox.append([s('x', 0), s('y', 0), s('x', 1), s('y', 1), s('x', 2), s('y', 2, 0)]);
      await outbox.drained();
      // The first batch pruned both: no row is left to need them.
      expect(count(d, 'outbox_series')).toBe(0);
      outbox.append([s('x', 3)]);
      await outbox.drained();
      expect(count(d, 'outbox')).toBe(0);
      expect(count(d, 'outbox_series')).toBe(1); // within the hour: not pruned
      clock += 3_600_000;
      outbox.append([s('y', 4)]);
      await outbox.drained();
      expect(count(d, 'outbox_series')).toBe(0);

      // A second remote that is down holds rows back: their label set stays through a prune.
      // (New senders: central's counters start again from 0.)
      await outbox.setRemotes(remotes(remote('central', vm.writeUrl), remote('down', dead)));
      clock += 3_600_000;
      outbox.append([s('x', 5, 0), s('y', 5)]);
      const waitSent = async (n: number) => {
        for (let i = 0; i < 200 && (await counter(metrics, 'slaprobe_remote_write_samples_sent_total')) !== n; i++) await new Promise((r) => setTimeout(r, 20));
      };
      await waitSent(2);
      expect(await counter(metrics, 'slaprobe_remote_write_samples_sent_total')).toBe(2);
      expect(count(d, 'outbox')).toBe(2);
      expect(storeRows(d, 'SELECT labels FROM outbox_series ORDER BY labels').map((r) => r['labels'])).toEqual([json('m_series', 'x'), json('m_series', 'y')]);
      expect(await sent('m_series')).toEqual({
        x: [[t0, 1], [t0 + 1000, 1], [t0 + 2000, 1], [t0 + 3000, 1], [t0 + 5000, 0]],
        y: [[t0, 1], [t0 + 1000, 1], [t0 + 2000, 0], [t0 + 4000, 1], [t0 + 5000, 1]],
      });
    } finally {
      await outbox.close();
      store.close();
    }
  });

  it('with a backlog over 100,000 rows, label sets are not pruned; the rows are counted again a minute later, not at every batch nor an hour later', async () => {
    const d = `${tempDir('outbox-series-defer')}/data`;
    const store = openStore(d);
    const t0 = Date.now() - 60_000;
    // Before the outbox opens: a backlog of 100,001 rows that only a remote that is down still
    // needs (central's cursor past them), and the label set of a target since removed, which
    // no row refers to.
    const db = new DatabaseSync(storePath(d));
    db.exec('BEGIN');
    const setOf = (target: string) => Number(db.prepare('INSERT INTO outbox_series (labels) VALUES (?)').run(json('m_defer', target)).lastInsertRowid);
    const x = setOf('x');
    setOf('gone');
    const ins = db.prepare('INSERT INTO outbox (series, ts, value) VALUES (?, ?, 1)');
    for (let i = 1; i <= 100_001; i++) ins.run(x, t0 - 100_002 + i);
    db.exec("INSERT INTO outbox_cursors (remote, last_id) VALUES ('down', 0), ('central', (SELECT max(id) FROM outbox))");
    db.exec('COMMIT');
    db.close();

    let clock = t0;
    const outbox = openOutbox({ dataDir: d, metrics: createMetrics({ region: 'r', version: 'test', defaultMetrics: false }), log: createLogger('silent'), now: () => clock });
    const dead = `http://127.0.0.1:${await closedPort()}/api/v1/write`;
    const labelSets = () => storeRows(d, 'SELECT labels FROM outbox_series ORDER BY labels').map((r) => r['labels']);
    const both = [json('m_defer', 'gone'), json('m_defer', 'x')];
    // drained() waits for every remote; one of these is down for good.
    const q = "SELECT count(*) AS n FROM outbox WHERE id > (SELECT last_id FROM outbox_cursors WHERE remote = 'central')";
    const batch = async (i: number) => {
      outbox.append([{ labels: labels('m_defer', 'x'), ts: t0 + i * 1000, value: 1 }]);
      for (let k = 0; k < 500 && Number(storeRows(d, q)[0]!['n']) > 0; k++) await new Promise((r) => setTimeout(r, 20));
      expect(Number(storeRows(d, q)[0]!['n'])).toBe(0);
    };
    try {
      await outbox.setRemotes(remotes(remote('central', vm.writeUrl), remote('down', dead)));
      await batch(0);
      expect(labelSets()).toEqual(both); // 100,002 rows left: not pruned, counted again in a minute
      // The remote that is down leaves the config: every row goes with the next batch, and the
      // label sets wait for the next count.
      clock += 30_000;
      await outbox.setRemotes(remotes(remote('central', vm.writeUrl)));
      await batch(1);
      expect(count(d, 'outbox')).toBe(0);
      expect(labelSets()).toEqual(both);
      clock += 29_999;
      await batch(2);
      expect(labelSets()).toEqual(both);
      clock += 1;
      await batch(3);
      expect(labelSets()).toEqual([]);
      expect((await sent('m_defer'))['x']!.map((s: number[]) => s[0])).toEqual([0, 1, 2, 3].map((i) => t0 + i * 1000));
    } finally {
      await outbox.close();
      store.close();
    }
  });

  it('a row whose label set is gone (a store edited by hand) is counted as failed and logged, and the rest is sent', async () => {
    const d = `${tempDir('outbox-orphan')}/data`;
    const store = openStore(d);
    const t0 = Date.now() - 60_000;
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('info', jsonLineStream(lines));
    try {
      // Held for a remote that is down, then the label set of y deleted.
      const first = openOutbox({ dataDir: d, metrics: createMetrics({ region: 'r', version: 'test', defaultMetrics: false }), log: createLogger('silent') });
      await first.setRemotes(remotes(remote('central', `http://127.0.0.1:${await closedPort()}/api/v1/write`)));
      first.append([{ labels: labels('m_orphan', 'x'), ts: t0, value: 1 }, { labels: labels('m_orphan', 'y'), ts: t0, value: 1 }, { labels: labels('m_orphan', 'x'), ts: t0 + 1000, value: 0 }]);
      await first.close();
      const db = new DatabaseSync(storePath(d));
      db.prepare('DELETE FROM outbox_series WHERE labels = ?').run(json('m_orphan', 'y'));
      db.close();

      const metrics = createMetrics({ region: 'r', version: 'test', defaultMetrics: false });
      const outbox = openOutbox({ dataDir: d, metrics, log });
      await outbox.setRemotes(remotes(remote('central', vm.writeUrl)));
      await outbox.drained();
      expect(await counter(metrics, 'slaprobe_remote_write_samples_sent_total')).toBe(2);
      expect(await counter(metrics, 'slaprobe_remote_write_samples_failed_total')).toBe(1);
      await outbox.close();
      expect(await sent('m_orphan')).toEqual({ x: [[t0, 1], [t0 + 1000, 0]] });
      expect(lines.find((l) => String(l['msg']).includes('no label set'))).toMatchObject({ level: 'error', remote: 'central', samples: 1, first_id: 2 });
      expect(count(d, 'outbox')).toBe(0);
    } finally {
      store.close();
    }
  });
});
