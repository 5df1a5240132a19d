// The durable outbox: every pushed sample is committed to the local store (table `outbox`,
// schema version 2; its label sets in `outbox_series` since version 5) before anything is
// sent. In the agent it joins the store's commits (the store's "Write volume"): a run's
// samples are committed in the same transaction as the run's timeline, once a second or at
// once with a state change, so a kill -9 loses the last
// second's samples only with the same runs of the local timeline, never one without the
// other. Each remote's sender reads the outbox oldest first,
// in id order, which is also each series' time order. A remote's cursor moves past a batch
// only after the store answered 2xx (or refused it for good), in one commit, so:
//
// - kill -9 before the answer: the batch is still pending and is sent again after restart;
// - kill -9 between the 2xx and the commit (a window of one statement): the batch is sent
//   twice. Every sample repeats the same series, timestamp and value, which the stores treat
//   as one sample (README "Remote write": Prometheus and Mimir drop an identical sample,
//   VictoriaMetrics keeps one per timestamp with -dedup.minScrapeInterval, and slaprobe's
//   reader collapses identical points), so no result changes. A sample is never lost.
//
// One request per remote is in flight: series must arrive in order, and one agent's few
// samples a second do not need shards.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type pino from 'pino';
import { lineLimiter } from '../log.ts';
import type { RemoteWriteConfig } from '../config/types.ts';
import type { Metrics } from '../metrics.ts';
import { type Store, storePath, transaction } from '../store/index.ts';
import { type SendOutcome, type Series, createRemoteClient } from './remote-write.ts';

export interface OutboxSample {
  /** Sorted by name, `__name__` included. */
  labels: readonly (readonly [string, string])[];
  ts: number;
  value: number;
}

/** An outbox row with its label set's JSON (null: the label set is missing, never expected). */
interface Row { id: number; series: string | null; ts: number; value: number }

export interface Outbox {
  /** Commits the samples, in one transaction, and wakes the senders. */
  append(samples: readonly OutboxSample[]): void;
  /** Starts (or, after a config reload, restarts) one sender per remote. */
  setRemotes(remotes: readonly RemoteWriteConfig[]): Promise<void>;
  /** Resolves when every remote's backlog is empty (tests, clean shutdown). */
  drained(): Promise<void>;
  close(): Promise<void>;
}

export interface OutboxDeps {
  dataDir: string;
  /**
   * The agent's store: appended samples are committed in its commits (once a second, or with
   * a run that changes a state), so a run's timeline and its samples are committed together;
   * one commit a second instead of one per run. Without it, append commits at once.
   */
  store?: Store;
  metrics: Metrics;
  log: pino.Logger;
  now?: () => number;
}

// Each label set is stored once (outbox_series, schema version 5), and a row holds its id:
// a pending sample takes about 22 bytes of the store instead of 133 with its labels as JSON.
// A row is inserted from its label set's row, so a sample of a known series is one statement;
// a new series is inserted first, then the row. Both in the caller's transaction, so a row
// never points at a label set that a prune (pruneSeries) removed.
const SQL_SERIES = 'INSERT OR IGNORE INTO outbox_series (labels) VALUES (?)';
const SQL_INSERT = 'INSERT INTO outbox (series, ts, value) SELECT id, ?, ? FROM outbox_series WHERE labels = ?';
interface Inserts { series: StatementSync; row: StatementSync }
const prepareInserts = (db: DatabaseSync): Inserts => ({ series: db.prepare(SQL_SERIES), row: db.prepare(SQL_INSERT) });
/** The samples as outbox rows, on one connection or the other, inside the caller's transaction. */
const insertRows = (ins: Inserts, samples: readonly OutboxSample[]) => {
  for (const s of samples) {
    const labels = JSON.stringify(s.labels);
    if (Number(ins.row.run(s.ts, s.value, labels).changes) === 1) continue;
    ins.series.run(labels);
    ins.row.run(s.ts, s.value, labels);
  }
};
/** Label sets no row refers to are dropped once the backlog is at most this many rows, */
const SERIES_PRUNE_ROWS = 100_000;
/** and at most once in this long (ms): the check scans what is left of the outbox; */
const SERIES_PRUNE_EVERY = 3_600_000;
/** with a larger backlog, the rows are counted again this much later (ms). */
const SERIES_PRUNE_RETRY = 60_000;

/** A run's samples append() did not take: SLAPROBE_OUTBOX_BAD_SAMPLE, or _UNCOMMITTED while the store's commits fail. */
export class OutboxRefused extends Error {
  readonly code: 'SLAPROBE_OUTBOX_BAD_SAMPLE' | 'SLAPROBE_OUTBOX_UNCOMMITTED';
  constructor(code: OutboxRefused['code'], message: string) {
    super(message);
    this.name = 'OutboxRefused';
    this.code = code;
  }
}
/** Samples that wait for the store's next commit, at most (a second holds a few thousand). */
const MAX_UNCOMMITTED = 100_000;

/** 400: a sample the store refuses (too old, out of order); 413: too big; 409/422: conflicts. */
const SPLIT_ON = new Set([400, 409, 413, 422]);

export function openOutbox(deps: OutboxDeps): Outbox {
  const { metrics: m, log } = deps;
  const now = deps.now ?? Date.now;
  // Its own connection to the store's file (openStore has migrated it): each statement is
  // synchronous, so the two connections of this thread never wait on each other.
  const db = new DatabaseSync(storePath(deps.dataDir));
  db.exec('PRAGMA busy_timeout = 5000');
  // synchronous is per connection: without this the outbox ran at FULL, one fsync per run's
  // commit (about 1,000 samples/s from one agent). NORMAL in WAL mode, as the store's own
  // connection has: a kill -9 loses no commit; only an OS crash can lose the last ones.
  db.exec('PRAGMA synchronous = NORMAL');
  const inserts = prepareInserts(db);
  const cursorQ = db.prepare('SELECT last_id FROM outbox_cursors WHERE remote = ?');
  const cursorNew = db.prepare('INSERT OR IGNORE INTO outbox_cursors (remote, last_id) VALUES (?, (SELECT coalesce(max(id), 0) FROM outbox))');
  const cursorSet = db.prepare('UPDATE outbox_cursors SET last_id = ? WHERE remote = ? AND last_id < ?');
  // LEFT JOIN: a row whose label set is missing is still read (and refused, counted), not skipped.
  const batchQ = db.prepare('SELECT o.id, s.labels AS series, o.ts, o.value FROM outbox o LEFT JOIN outbox_series s ON s.id = o.series WHERE o.id > ? ORDER BY o.id LIMIT ?');
  const countQ = db.prepare('SELECT count(*) AS n FROM outbox WHERE id > ?');
  const countUpTo = db.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM outbox WHERE id > ? LIMIT ?)');
  const oldestQ = db.prepare('SELECT ts FROM outbox WHERE id > ? ORDER BY id LIMIT 1');
  const maxIdQ = db.prepare('SELECT coalesce(max(id), 0) AS id FROM outbox');
  const prune = db.prepare('DELETE FROM outbox WHERE id <= ?');
  const rowsLeft = db.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM outbox LIMIT ?)');
  const pruneSeries = db.prepare('DELETE FROM outbox_series WHERE id NOT IN (SELECT series FROM outbox)');
  let nextSeriesPrune = -Infinity;

  const tx = (fn: () => void) => transaction(db, fn);

  let senders: Sender[] = [];
  let wakers: (() => void)[] = [];
  const wake = () => {
    const w = wakers;
    wakers = [];
    for (const f of w) f();
  };
  const cursor = (remote: string) => Number((cursorQ.get(remote) as { last_id: number } | undefined)?.last_id ?? 0);

  const advance = (remote: string, id: number) => {
    tx(() => {
      cursorSet.run(id, remote, id);
      // Rows every configured remote is past are done with. A remote removed from the config
      // no longer holds rows back.
      const names = senders.map((s) => s.cfg.name);
      const min = Math.min(...names.map(cursor));
      if (Number.isFinite(min) && min > 0) prune.run(min);
      // Label sets of targets since removed: dropped when few rows are left to scan.
      const t = now();
      if (t >= nextSeriesPrune) {
        // A backlog being sent: counted again in a minute, not at every batch.
        const small = Number((rowsLeft.get(SERIES_PRUNE_ROWS + 1) as { n: number }).n) <= SERIES_PRUNE_ROWS;
        if (small) pruneSeries.run();
        nextSeriesPrune = t + (small ? SERIES_PRUNE_EVERY : SERIES_PRUNE_RETRY);
      }
    });
  };

  m.remoteBacklog.read = () => senders.map((s) => {
    const c = cursor(s.cfg.name);
    const oldest = oldestQ.get(c) as { ts: number } | undefined;
    return {
      remote: s.cfg.name,
      // Ids above a cursor are never deleted and come one by one (a rolled-back insert
      // leaves a gap), so this is the count without a scan of a day-long backlog.
      pending: Math.max(0, Number((maxIdQ.get() as { id: number }).id) - c),
      oldestAgeSeconds: oldest ? Math.max(0, (now() - oldest.ts) / 1000) : undefined,
    };
  });

  interface Sender { cfg: RemoteWriteConfig; stop(): Promise<void> }

  const startSender = (cfg: RemoteWriteConfig): Sender => {
    const client = createRemoteClient(cfg);
    const q = cfg.queue_config;
    const abort = new AbortController();
    const l = { remote: cfg.name };
    cursorNew.run(cfg.name);
    // From zero, so that rate() and increase() have a start before the first event.
    for (const c of [m.remoteWriteSent, m.remoteWriteFailed, m.remoteWriteRetries]) c.inc(l, 0);
    let failingSince: number | undefined;
    const retryLines = lineLimiter(60_000, now);
    const rejectLines = lineLimiter(10_000, now);
    let retryAfter = 0;

    const sleep = (ms: number, wakeEarly: boolean) => new Promise<void>((resolve) => {
      if (abort.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      abort.signal.addEventListener('abort', done);
      if (wakeEarly) wakers.push(done);
    });

    const logReject = (o: Extract<SendOutcome, { result: 'rejected' }>, rows: Row[]) => {
      // A store that refuses everything (wrong URL, a retention limit) would otherwise write a
      // line per sample: one line per 10 s, with the count of the ones not shown.
      const suppressed = rejectLines.take(rows.length);
      if (suppressed === undefined) return;
      const first = rows[0]!.series === null ? [] : JSON.parse(rows[0]!.series) as [string, string][];
      log.error({
        remote: cfg.name, status: o.status, answer: o.detail, samples: rows.length, suppressed_since_last_line: suppressed,
        series: Object.fromEntries(first), timestamp: new Date(rows[0]!.ts).toISOString(),
      }, `remote write: ${cfg.name} refused ${rows.length} sample${rows.length === 1 ? '' : 's'} (HTTP ${o.status}); counted in slaprobe_remote_write_samples_failed_total and not sent again`);
    };

    /** Sends `rows` (contiguous, oldest first); a sample-level refusal is narrowed by halving. */
    const deliver = async (rows: Row[]): Promise<'done' | 'retry'> => {
      // A row whose label set is missing cannot be sent: it goes with its batch, counted as
      // failed once the batch is done with. Only a store edited by hand has one.
      const orphans = rows.reduce((n, r) => n + (r.series === null ? 1 : 0), 0);
      const o = orphans === rows.length ? undefined : await client.send(toSeries(rows), abort.signal);
      if (abort.signal.aborted) return 'retry';
      const last = rows[rows.length - 1]!.id;
      if (!o || o.result === 'sent') {
        advance(cfg.name, last);
        m.remoteWriteSent.inc(l, rows.length - orphans);
        if (orphans > 0) {
          m.remoteWriteFailed.inc(l, orphans);
          log.error({ remote: cfg.name, samples: orphans, first_id: rows.find((r) => r.series === null)!.id }, `remote write: ${orphans} sample${orphans === 1 ? '' : 's'} in the outbox ha${orphans === 1 ? 's' : 've'} no label set (table outbox_series); counted in slaprobe_remote_write_samples_failed_total and not sent`);
        }
        if (o) m.remoteWriteLastSuccess.set(l, now() / 1000);
        return 'done';
      }
      if (o.result === 'retry') {
        m.remoteWriteRetries.inc(l);
        const t = now();
        failingSince ??= t;
        if (retryLines.take() !== undefined) {
          log.warn({ remote: cfg.name, status: o.status, code: o.code, answer: o.detail, failing_for_seconds: Math.round((t - failingSince) / 1000) }, `remote write: ${cfg.name} did not take the samples; they stay in the outbox and are retried with backoff`);
        }
        retryAfter = o.retryAfterMs ?? 0;
        return 'retry';
      }
      // Prometheus refuses a whole request for one bad sample (an out-of-order one, say):
      // halve until the refused samples are alone, so that no good sample goes with them.
      if (rows.length > 1 && SPLIT_ON.has(o.status)) {
        const half = Math.ceil(rows.length / 2);
        const a = await deliver(rows.slice(0, half));
        return a === 'done' ? deliver(rows.slice(half)) : a;
      }
      logReject(o, rows);
      advance(cfg.name, last);
      m.remoteWriteFailed.inc(l, rows.length);
      return 'done';
    };

    let backoff = q.min_backoff;
    let partialSince: number | undefined;
    const loop = async () => {
      while (!abort.signal.aborted) {
        try {
          await step();
        } catch (e) {
          // The store itself failed (disk full, I/O error): the samples stay where they are.
          log.error({ err: e, code: (e as { code?: string }).code, remote: cfg.name }, 'remote write: reading the outbox failed; retrying with backoff');
          await sleep(backoff, false);
          backoff = Math.min(backoff * 2, q.max_backoff);
        }
      }
    };
    /** One turn of the sender: wait for a batch, or send one. */
    const step = async () => {
      const c = cursor(cfg.name);
      const n = Number((countUpTo.get(c, q.max_samples_per_send) as { n: number }).n);
      if (n === 0) {
        partialSince = undefined;
        await sleep(60_000, true);
        return;
      }
      if (n < q.max_samples_per_send) {
        partialSince ??= now();
        const left = partialSince + q.batch_send_deadline - now();
        if (left > 0) {
          await sleep(left, true);
          return;
        }
      }
      partialSince = undefined;
      const rows = batchQ.all(c, q.max_samples_per_send) as unknown as Row[];
      let r: 'done' | 'retry';
      try {
        r = await deliver(rows);
      } catch (e) {
        log.error({ err: e, remote: cfg.name }, 'remote write: sending failed unexpectedly; retrying with backoff');
        r = 'retry';
      }
      if (r === 'done') {
        if (failingSince !== undefined) log.info({ remote: cfg.name, failed_for_seconds: Math.round((now() - failingSince) / 1000) }, `remote write: ${cfg.name} takes samples again; the backlog is being sent`);
        failingSince = undefined;
        backoff = q.min_backoff;
      } else {
        // A 429's Retry-After is honoured when it asks for more than the backoff.
        await sleep(Math.max(backoff, retryAfter), false);
        retryAfter = 0;
        backoff = Math.min(backoff * 2, q.max_backoff);
      }
    };
    const running = loop();
    return {
      cfg,
      async stop() {
        abort.abort();
        await running;
        client.close();
        for (const c of [m.remoteWriteSent, m.remoteWriteFailed, m.remoteWriteRetries, m.remoteWriteLastSuccess]) c.remove(l);
      },
    };
  };

  // Joined to the store: samples wait here for its next commit, written on its connection.
  let buffer: OutboxSample[] = [];
  let storeInserts: Inserts | undefined;
  deps.store?.join({
    pending: () => buffer.length,
    write(sdb) {
      storeInserts ??= prepareInserts(sdb);
      insertRows(storeInserts, buffer);
    },
    committed() {
      buffer = [];
      wake();
    },
  });

  return {
    append(samples) {
      if (samples.length === 0 || senders.length === 0) return;
      // Refused here, not in the commit: joined to the store, a row that fails to insert
      // would fail the store's commit, and every commit after it, timeline and all.
      const bad = samples.find((s) => !Number.isFinite(s.value) || !Number.isSafeInteger(s.ts));
      if (bad) throw new OutboxRefused('SLAPROBE_OUTBOX_BAD_SAMPLE', `remote write: a sample of ${JSON.stringify(Object.fromEntries(bad.labels))} has value ${bad.value} at ${bad.ts}; values must be finite numbers and timestamps whole Unix ms. The run's samples are not recorded`);
      if (deps.store) {
        // The store's commits failing (disk full): bounded, as a failing insert was before.
        if (buffer.length + samples.length > MAX_UNCOMMITTED) {
          throw new OutboxRefused('SLAPROBE_OUTBOX_UNCOMMITTED', `remote write: the store has not committed for a while (${buffer.length} samples wait for it; see slaprobe_store_errors_total); this run's samples are not recorded`);
        }
        for (const s of samples) buffer.push(s);
        return;
      }
      tx(() => insertRows(inserts, samples));
      wake();
    },
    async setRemotes(remotes) {
      const same = remotes.length === senders.length && remotes.every((r, i) => JSON.stringify(r) === JSON.stringify(senders[i]!.cfg));
      if (same) return;
      await Promise.all(senders.map((s) => s.stop()));
      senders = remotes.map(startSender);
    },
    async drained() {
      // Joined to a store, the samples waiting for its next commit are backlog too.
      while ((senders.length > 0 && buffer.length > 0) || senders.some((s) => Number((countQ.get(cursor(s.cfg.name)) as { n: number }).n) > 0)) await new Promise((r) => setTimeout(r, 50));
    },
    async close() {
      await Promise.all(senders.map((s) => s.stop()));
      senders = [];
      m.remoteBacklog.read = () => [];
      if (db.isOpen) db.close();
    },
  };
}

/** Rows, oldest first, grouped by series in order of first appearance; order within a series kept. */
function toSeries(rows: readonly Row[]): Series[] {
  const by = new Map<string, { ts: number; value: number }[]>();
  for (const r of rows) {
    if (r.series === null) continue;
    let l = by.get(r.series);
    if (!l) by.set(r.series, (l = []));
    l.push({ ts: r.ts, value: r.value });
  }
  return [...by].map(([k, samples]) => ({ labels: JSON.parse(k) as [string, string][], samples }));
}
