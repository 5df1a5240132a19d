// The embedded store under the data dir: node:sqlite, WAL. It holds the outcome timeline
// (segments), quality breaches, after-the-fact exclusions, the agent's heartbeats and the
// alert notifications Alertmanager delivered to the agent.
//
// Durability: journal_mode=WAL with synchronous=NORMAL. A commit is in the WAL file (the OS
// page cache) when the statement returns, so a killed process (kill -9, OOM) loses nothing
// committed; only a power loss or kernel crash can lose the last commits, and never corrupts
// the database. Losing them makes those seconds unknown, never up. FULL would add an fsync
// to every commit (about 1 ms each on a VM disk) for no gain against the failure the agent
// meets in operation, the killed process.
//
// Write volume: a run that only extends its target's open segment is not committed on its
// own. The store keeps the latest extent of each open segment in memory and appends them to
// the extensions table in one commit a second (COMMIT_EVERY); a run that changes a state
// (a new segment) commits at once, with everything pending. Once the table holds two rows
// per open segment, they are folded into the segments in one commit. Before this, every run
// rewrote a page of the segments table and one of its index: 3 MB/s of disk writes at
// 10,000 targets. So a kill -9 loses at most the last second of extensions, which then
// reads as unknown; never a state change. This process's reads see the pending extents;
// another process (a report on a live store) sees them within a second.
//
// A store that is not SQLite, fails its integrity check, belongs to another application or
// comes from a newer slaprobe is refused with a StoreError and left untouched. One this user
// cannot write is reported as not writable, never as corrupt: "move it aside" would make an
// operator throw good history away over a permission. Readers (reports) open it read-only.
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { applyOutcome, type OpenSegment, type Outcome } from '../availability/timeline.ts';
import type { RecordedExclusion } from '../availability/exclusions.ts';
import type { RegionSpans } from '../availability/service.ts';
import type { Notice, Span, TargetState } from '../availability/types.ts';
import { APPLICATION_ID, MIGRATIONS } from './schema.ts';

export const STORE_FILE = 'slaprobe.db';
export const SCHEMA_VERSION = MIGRATIONS.length;

export type StoreErrorCode =
  | 'SLAPROBE_STORE_MISSING' | 'SLAPROBE_STORE_CORRUPT' | 'SLAPROBE_STORE_NEWER' | 'SLAPROBE_STORE_FOREIGN' | 'SLAPROBE_STORE_IO'
  | 'SLAPROBE_STORE_READONLY' | 'SLAPROBE_STORE_OLDER' | 'SLAPROBE_STORE_LOCKED';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly file: string;
  constructor(code: StoreErrorCode, file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'StoreError';
    this.code = code;
    this.file = file;
  }
}

/** One alert of one notification Alertmanager delivered to the agent's webhook. */
export interface NotificationRecord extends Notice {
  /** at: when the agent received it (the delivery time), Unix ms. */
  receiver: string;
  service: string;
  sla: string | null;
  level: string | null;
  severity: string | null;
  region: string | null;
  /** The alert's startsAt, Unix ms. */
  starts_at: number | null;
  fingerprint: string | null;
}

export interface AgentRun {
  id: number;
  pid: number;
  started_at: number;
  last_beat: number;
  stopped_at: number | null;
}

/**
 * Another writer's rows that go into the store's commits (the remote-write outbox's samples):
 * written inside the store's transaction on its connection, so a run's timeline and its
 * pushed samples are committed together or not at all.
 */
export interface CommitPart {
  pending(): number;
  /** Inserts the pending rows, inside the store's transaction. */
  write(db: DatabaseSync): void;
  /** The transaction committed: the rows are no longer pending. */
  committed(): void;
}

export interface Store {
  readonly file: string;
  /** Always true: the store holds this agent's own region (TimelineSource.ownView). */
  readonly ownView: true;
  /** Folds one run's outcome into the target's timeline and commits it. */
  recordOutcome(target: string, region: string, o: Outcome, interval: number): void;
  /** A quality breach of the target started (true) or ended (false) at `at`. */
  setDegraded(target: string, degraded: boolean, at: number): void;
  /** The target's spans per region overlapping [from, to); open segments cut at `now`. */
  targetSpans(target: string, from: number, to: number, now: number): RegionSpans<TargetState>[];
  degradedSpans(target: string, from: number, to: number, now: number): Span<'degraded'>[];
  /** Every target name with recorded outcomes. */
  targets(): string[];
  addExclusion(e: { service: string; start: number; end: number; reason: string; created_at: number }): number;
  /** Marks an exclusion removed; false if there is no such active exclusion. */
  removeExclusion(id: number, at: number): boolean;
  exclusions(): RecordedExclusion[];
  /** Starts this process's heartbeat record. */
  startRun(now: number, pid: number): number;
  beat(now: number): void;
  stopRun(now: number): void;
  agentRuns(): AgentRun[];
  /** Stores the alerts of one delivered notification, all or none. */
  recordNotifications(rows: readonly NotificationRecord[]): void;
  /** The service's notifications received in [from, to), oldest first. */
  notifications(service: string, from: number, to: number): NotificationRecord[];
  /** Open segments extended in memory, and joined parts' rows, not committed yet. */
  uncommitted(): number;
  /** Commits `part`'s rows with the store's from now on. */
  join(part: CommitPart): void;
  /** Commits the pending extensions (the writer calls it every COMMIT_EVERY; close() does too). */
  flush(): void;
  close(): void;
}

export interface OpenStoreOptions {
  /** Refuse to create a store that does not exist (reports and exclude read an agent's store). */
  mustExist?: boolean;
  /** Open for reading only (reports): works on a store this user cannot write. */
  readOnly?: boolean;
  /**
   * The agent, which holds the data dir's lock: the only process that records runs, so the
   * extensions in the table are all its own, and its reads take them from its memory.
   * Any other opener (a report, `exclude`, a test beside a live agent) reads the table.
   */
  owner?: boolean;
  /** Tests: fold the extensions at this many rows (default: two per open segment, at least FOLD_MIN). */
  foldAt?: number;
}

/** The writer (the availability sink) commits pending extensions this often, ms. */
export const COMMIT_EVERY = 1000;
/** The extensions table is folded into the segments at no fewer rows than this. */
const FOLD_MIN = 5000;

/** SQLite's "attempt to write a readonly database" and "unable to open database file" (the -wal or -shm cannot be created). */
function isNotWritable(e: unknown): boolean {
  const c = (e as { errcode?: number }).errcode;
  return c !== undefined && ((c & 0xff) === 8 || (c & 0xff) === 14);
}

const WRITE_ERRNO = new Set(['EACCES', 'EPERM', 'EROFS']);

/** The StoreError for a store or data dir this process cannot write. */
export function notWritable(file: string, why: string): StoreError {
  const dir = dirname(file);
  const uid = process.getuid?.();
  return new StoreError('SLAPROBE_STORE_READONLY', file, `is not writable${uid === undefined ? '' : ` by this user (uid ${uid})`}: ${why}. The store was not modified and is not corrupt. Give the user that runs slaprobe write access to ${dir} and the files in it (e.g. chown -R that user ${dir}), or point --data-dir at a writable folder; slaprobe report needs read access only`);
}

const SQLITE_MAGIC = 'SQLite format 3\0';

export function storePath(dataDir: string): string {
  return join(dataDir, STORE_FILE);
}

function checkHeader(file: string): void {
  const size = statSync(file).size;
  if (size === 0) return; // an empty file holds nothing; SQLite initialises it
  const buf = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 100 || buf.toString('latin1') !== SQLITE_MAGIC) {
    throw new StoreError('SLAPROBE_STORE_CORRUPT', file, 'is not an SQLite database (bad header); the store is corrupt or another file took its place. It was not modified: move it aside (keep it for inspection) and start again, or point --data-dir at the right folder');
  }
}

/**
 * Runs `fn` in one write transaction: all of it is committed, or none. With `read`, a read
 * transaction instead: every statement of `fn` sees the same snapshot of the store.
 */
export function transaction<T>(db: DatabaseSync, fn: () => T, read = false): T {
  db.exec(read ? 'BEGIN' : 'BEGIN IMMEDIATE');
  try {
    const r = fn();
    db.exec('COMMIT');
    return r;
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}

export function openStore(dataDir: string, opts: OpenStoreOptions = {}): Store {
  const file = storePath(dataDir);
  const exists = existsSync(file);
  if (!exists && (opts.mustExist || opts.readOnly)) {
    throw new StoreError('SLAPROBE_STORE_MISSING', file, `no store here; run the agent with this data dir first (agent.data_dir or --data-dir), or report from a file with --samples`);
  }
  if (!exists) {
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (e) {
      throw new StoreError('SLAPROBE_STORE_IO', file, `cannot create the data dir (${(e as NodeJS.ErrnoException).code}); check agent.data_dir and its permissions`);
    }
  } else {
    checkHeader(file);
  }
  if (!opts.readOnly) {
    // The WAL needs the folder as well as the file: SQLite creates -wal and -shm beside it.
    for (const p of exists ? [dataDir, file] : [dataDir]) {
      try {
        accessSync(p, constants.W_OK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (WRITE_ERRNO.has(code)) throw notWritable(file, `${p}: ${code}`);
      }
    }
  }
  let db: DatabaseSync;
  try {
    db = opts.readOnly ? openReadOnly(file) : new DatabaseSync(file);
  } catch (e) {
    if (e instanceof StoreError) throw e;
    if (isNotWritable(e)) throw notWritable(file, (e as Error).message);
    throw new StoreError('SLAPROBE_STORE_IO', file, `cannot open (${(e as Error).message}); check the path and its permissions`);
  }
  try {
    prepare(db, file, exists, opts.readOnly === true);
  } catch (e) {
    db.close();
    throw e;
  }
  return createStore(db, file, opts);
}

/**
 * Read-only, for reports. A WAL store needs its -shm; when the agent stopped cleanly there is
 * none, and in a folder this user cannot write SQLite cannot make one. With no -wal either,
 * nothing is pending, so the file alone is the whole store: open it as immutable.
 */
function openReadOnly(file: string): DatabaseSync {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    db.prepare('PRAGMA user_version').get();
    return db;
  } catch (e) {
    db.close();
    if (!isNotWritable(e) || existsSync(`${file}-wal`)) throw e;
    const url = pathToFileURL(file);
    url.search = 'immutable=1';
    return new DatabaseSync(url, { readOnly: true });
  }
}

function prepare(db: DatabaseSync, file: string, existed: boolean, readOnly = false): void {
  const one = (sql: string) => Object.values(db.prepare(sql).get() ?? {})[0];
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    const check = existed ? String(one('PRAGMA quick_check')) : 'ok';
    if (check !== 'ok') {
      throw new StoreError('SLAPROBE_STORE_CORRUPT', file, `fails its integrity check (${check.split('\n')[0]}). It was not modified: move it aside (keep it for inspection), or try "sqlite3 ${file} .recover"`);
    }
  } catch (e) {
    if (e instanceof StoreError) throw e;
    if (isNotWritable(e)) throw notWritable(file, (e as Error).message);
    throw new StoreError('SLAPROBE_STORE_CORRUPT', file, `cannot be read as a database (${(e as Error).message}). It was not modified: move it aside (keep it for inspection) and start again`);
  }
  const appId = Number(one('PRAGMA application_id'));
  const version = Number(one('PRAGMA user_version'));
  const tables = Number(one("SELECT count(*) FROM sqlite_master WHERE type = 'table'"));
  if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
    throw new StoreError('SLAPROBE_STORE_FOREIGN', file, 'is an SQLite database but not a slaprobe store; it was not modified. Point --data-dir at a folder of its own');
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreError('SLAPROBE_STORE_NEWER', file, `has schema version ${version}, but this slaprobe knows versions up to ${SCHEMA_VERSION}: it was written by a newer slaprobe. It was not modified; run that newer version (or a newer release), or use another --data-dir`);
  }
  if (readOnly) {
    if (version < SCHEMA_VERSION) {
      throw new StoreError('SLAPROBE_STORE_OLDER', file, `has schema version ${version}; this slaprobe reads version ${SCHEMA_VERSION}. It was not modified; run "slaprobe run" once with this data dir (it migrates the store), then report again`);
    }
    return;
  }
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
  } catch (e) {
    if (isNotWritable(e)) throw notWritable(file, (e as Error).message);
    throw e;
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      if (isNotWritable(e)) throw notWritable(file, (e as Error).message);
      throw new StoreError('SLAPROBE_STORE_IO', file, `migration to schema version ${v + 1} failed (${(e as Error).message}); the store was left at version ${v}`);
    }
  }
}

interface SegmentRow {
  id: number;
  region: string;
  state: number;
  start: number;
  last: number;
  end: number;
  seen: number;
  runs: number;
}

function createStore(db: DatabaseSync, file: string, opts: OpenStoreOptions): Store {
  const q = (sql: string): StatementSync => db.prepare(sql);
  const readOnly = opts.readOnly === true;
  const findOpen = q("SELECT id, region, state, start, last, \"end\", seen, runs FROM segments WHERE target = ? AND region = ? AND open = 1 ORDER BY id DESC LIMIT 1");
  const closeSeg = q('UPDATE segments SET last = ?, "end" = ?, runs = ?, open = 0 WHERE id = ?');
  const insertSeg = q('INSERT INTO segments (target, region, state, start, last, "end", seen, runs, open) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)');
  // An open segment's row may be behind its latest extension, so open rows are read whatever their end.
  const spansQ = q('SELECT id, region, state, start, "end", seen, open FROM segments WHERE target = ? AND ("end" > ? OR open = 1) AND start < ? ORDER BY region, start');
  const degOpen = q('SELECT id FROM degraded WHERE target = ? AND "end" IS NULL ORDER BY id DESC LIMIT 1');
  const degInsert = q('INSERT INTO degraded (target, start, "end", run_id) VALUES (?, ?, NULL, ?)');
  const degClose = q('UPDATE degraded SET "end" = ? WHERE id = ?');
  const degQ = q('SELECT d.start, d."end", r.last_beat, r.id = ? AS current FROM degraded d LEFT JOIN agent_runs r ON r.id = d.run_id WHERE d.target = ? AND (d."end" IS NULL OR d."end" > ?) AND d.start < ? ORDER BY d.start');
  const exclIns = q('INSERT INTO exclusions (service, start, "end", reason, created_at) VALUES (?, ?, ?, ?, ?)');
  const exclRm = q('UPDATE exclusions SET removed_at = ? WHERE id = ? AND removed_at IS NULL');
  const exclAll = q('SELECT id, service, start, "end", reason, created_at FROM exclusions WHERE removed_at IS NULL ORDER BY start, id');
  const runIns = q('INSERT INTO agent_runs (pid, started_at, last_beat) VALUES (?, ?, ?)');
  const runBeat = q('UPDATE agent_runs SET last_beat = ? WHERE id = ?');
  const runStop = q('UPDATE agent_runs SET last_beat = ?, stopped_at = ? WHERE id = ?');
  const runsAll = q('SELECT id, pid, started_at, last_beat, stopped_at FROM agent_runs ORDER BY id');
  const targetsQ = q('SELECT DISTINCT target FROM segments ORDER BY target');
  const notifIns = q('INSERT INTO notifications (received_at, receiver, status, alertname, service, sla, level, severity, region, starts_at, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const notifQ = q('SELECT received_at AS at, receiver, status, alertname, service, sla, level, severity, region, starts_at, fingerprint FROM notifications WHERE service = ? AND received_at >= ? AND received_at < ? ORDER BY received_at, id');

  const open = new Map<string, { id: number; seg: OpenSegment }>();
  let runId = 0;

  const tx = (fn: () => void) => transaction(db, fn);

  // Extensions (see "Write volume" at the top). The writer: the latest extent per open
  // segment id, waiting for the next commit.
  const pending = new Map<number, OpenSegment>();
  let extRows = 0;
  const parts: CommitPart[] = [];
  const partsPending = () => parts.reduce((a, p) => a + p.pending(), 0);
  const ext = readOnly ? undefined : {
    add: q('INSERT INTO extensions (segment, last, "end", runs) VALUES (?, ?, ?, ?)'),
    // The latest row of each segment wins (an interval shortened by a reload can move an end back).
    fold: q('UPDATE segments SET last = e.last, "end" = e."end", runs = e.runs FROM (SELECT segment, last, "end", runs FROM extensions WHERE id IN (SELECT max(id) FROM extensions GROUP BY segment)) AS e WHERE segments.id = e.segment AND segments.open = 1'),
    clear: q('DELETE FROM extensions'),
    count: q('SELECT count(*) AS n FROM extensions'),
  };
  const foldNow = () => {
    ext!.fold.run();
    ext!.clear.run();
  };
  /**
   * One transaction: the pending extents appended, folded if the table is due (or `fold`),
   * then `fn`. Only once it is committed are they no longer pending: a failed commit rolls
   * back and leaves them for the next one.
   */
  const commit = (fold: boolean, fn?: () => void) => {
    const rows = extRows + pending.size;
    const folding = fold || rows >= (opts.foldAt ?? Math.max(FOLD_MIN, 2 * open.size));
    const with_ = parts.filter((p) => p.pending() > 0);
    tx(() => {
      for (const [id, sg] of pending) ext!.add.run(id, sg.last, sg.end, sg.runs);
      for (const p of with_) p.write(db);
      if (folding) foldNow();
      fn?.();
    });
    pending.clear();
    extRows = folding ? 0 : rows;
    for (const p of with_) p.committed();
  };
  const flush = () => {
    if (pending.size > 0 || partsPending() > 0) commit(false);
  };
  // A writer starts from a whole timeline: a killed agent's last extensions are folded in.
  if (ext && Number((ext.count.get() as { n: number }).n) > 0) tx(foldNow);

  // Any opener but the agent (a report on a live store, `exclude`): the latest extent per
  // open segment from the extensions table, read incrementally by id. A fold empties the
  // table (the rows are in the segments then), which a lowest id above the cached one
  // shows: the cache starts again.
  const readsTable = opts.owner !== true;
  const extBounds = readsTable ? q('SELECT min(id) AS lo, max(id) AS hi FROM extensions') : undefined;
  const extSince = readsTable ? q('SELECT id, segment, "end" FROM extensions WHERE id > ? ORDER BY id') : undefined;
  const seen = { lo: 0, hi: 0, ends: new Map<number, number>() };
  const readExtensions = () => {
    const b = extBounds!.get() as { lo: number | null; hi: number | null };
    if (b.lo === null || b.lo > seen.lo) {
      seen.ends.clear();
      seen.hi = 0;
      seen.lo = b.lo ?? 0;
    }
    if (b.hi === null || b.hi <= seen.hi) return;
    for (const r of extSince!.iterate(seen.hi) as Iterable<{ id: number; segment: number; end: number }>) seen.ends.set(r.segment, r.end);
    seen.hi = b.hi;
  };

  const loadOpen = (target: string, region: string) => {
    const key = `${target}\0${region}`;
    let cur = open.get(key);
    if (!cur) {
      const r = findOpen.get(target, region) as unknown as SegmentRow | undefined;
      if (r) {
        cur = { id: r.id, seg: { start: r.start, last: r.last, end: r.end, state: r.state === 1 ? 'up' : 'down', seen: r.seen, runs: r.runs } };
        open.set(key, cur);
      }
    }
    return { key, cur };
  };

  return {
    file,
    // One agent's store holds its own region's runs: its report is that region's own view.
    ownView: true,
    recordOutcome(target, region, o, interval) {
      const { key, cur } = loadOpen(target, region);
      const res = applyOutcome(cur?.seg, o, interval);
      if (res.outOfOrder) return;
      const s = res.open;
      if (cur && !res.closed) {
        pending.set(cur.id, s);
        cur.seg = s;
        return;
      }
      // With what is pending (cur's own extent too: the fold passes over closed segments).
      commit(false, () => {
        if (cur && res.closed) closeSeg.run(cur.seg.last, res.closed.end, cur.seg.runs, cur.id);
        const r = insertSeg.run(target, region, s.state === 'up' ? 1 : 0, s.start, s.last, s.end, s.seen, s.runs);
        open.set(key, { id: Number(r.lastInsertRowid), seg: s });
      });
    },
    setDegraded(target, degraded, at) {
      const cur = degOpen.get(target) as { id: number } | undefined;
      if (degraded && !cur) degInsert.run(target, at, runId);
      else if (!degraded && cur) degClose.run(at, cur.id);
    },
    targetSpans(target, from, to, now) {
      const segments = () => spansQ.all(target, from, to) as unknown as (SegmentRow & { open: number })[];
      // Reading the table: the segments and the extensions of one snapshot.
      const rows = readsTable ? transaction(db, () => {
        const r = segments();
        readExtensions();
        return r;
      }, true) : segments();
      const byRegion = new Map<string, Span<TargetState>[]>();
      for (const r of rows) {
        if (r.open === 1) {
          // This process's own extent first (it may be newer than its last commit), then the table's.
          const mine = open.get(`${target}\0${r.region}`);
          const end = mine?.id === r.id ? mine.seg.end : seen.ends.get(r.id);
          if (end !== undefined) r.end = end;
          if (r.end <= from) continue;
        }
        const end = Math.min(r.end, now);
        if (end <= r.start) continue;
        let l = byRegion.get(r.region);
        if (!l) byRegion.set(r.region, (l = []));
        l.push({ start: r.start, end, state: r.state === 1 ? 'up' : 'down', seen: r.seen });
      }
      return [...byRegion].map(([region, spans]) => ({ region, spans }));
    },
    degradedSpans(target, from, to, now) {
      const rows = degQ.all(runId, target, from, to) as { start: number; end: number | null; last_beat: number | null; current: number }[];
      // An open breach of a run that is gone (killed) ends at that run's last heartbeat.
      return rows.flatMap((r) => {
        const end = r.end ?? (r.current ? now : r.last_beat ?? r.start);
        return end > r.start ? [{ start: r.start, end: Math.min(end, now), state: 'degraded' as const }] : [];
      });
    },
    targets() {
      return (targetsQ.all() as { target: string }[]).map((r) => r.target);
    },
    addExclusion(e) {
      return Number(exclIns.run(e.service, e.start, e.end, e.reason, e.created_at).lastInsertRowid);
    },
    removeExclusion(id, at) {
      return Number(exclRm.run(at, id).changes) > 0;
    },
    exclusions() {
      return exclAll.all() as unknown as RecordedExclusion[];
    },
    startRun(now, pid) {
      // Breaches left open by a run that died end at its last sign of life: dead time is unknown.
      db.exec('UPDATE degraded SET "end" = max(start, coalesce((SELECT last_beat FROM agent_runs r WHERE r.id = degraded.run_id), start)) WHERE "end" IS NULL');
      runId = Number(runIns.run(pid, now, now).lastInsertRowid);
      return runId;
    },
    beat(now) {
      if (runId) runBeat.run(now, runId);
    },
    stopRun(now) {
      if (runId) runStop.run(now, now, runId);
    },
    agentRuns() {
      return runsAll.all() as unknown as AgentRun[];
    },
    recordNotifications(rows) {
      if (rows.length === 0) return;
      tx(() => {
        for (const n of rows) notifIns.run(n.at, n.receiver, n.status, n.alertname, n.service, n.sla, n.level, n.severity, n.region, n.starts_at, n.fingerprint);
      });
    },
    notifications(service, from, to) {
      return notifQ.all(service, from, to) as unknown as NotificationRecord[];
    },
    uncommitted: () => pending.size + partsPending(),
    join(part) {
      parts.push(part);
    },
    flush,
    close() {
      if (!db.isOpen) return;
      try {
        // A clean stop leaves the timeline whole in the segments table.
        if (ext) commit(true);
      } finally {
        db.close();
      }
    },
  };
}
