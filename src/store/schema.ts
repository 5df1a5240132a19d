// The store's schema, as migrations: MIGRATIONS[i] takes a store from version i to i + 1
// (PRAGMA user_version). Append, never edit a released one.
//
// The outcome timeline is kept compactly: one row per stretch of one state of one target
// seen from one region (a "segment"), extended in place while runs keep the same state. 100
// targets at 10 s for a month is 26 million runs but only as many rows as state changes and
// agent restarts. A segment covers [start, end): end is the first run of the next state, or
// the last run plus one interval; time no segment covers is unknown (the agent was not
// running, or the target was not probed).
export const APPLICATION_ID = 0x534c4150; // "SLAP"

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    region TEXT NOT NULL,
    state INTEGER NOT NULL CHECK (state IN (0, 1)), -- 1 up, 0 down
    start INTEGER NOT NULL,  -- first run, Unix ms
    last INTEGER NOT NULL,   -- latest run
    "end" INTEGER NOT NULL,  -- covered until, Unix ms
    seen INTEGER NOT NULL,   -- when the agent had the first run's result
    runs INTEGER NOT NULL,
    open INTEGER NOT NULL    -- 1 while later runs may extend it
  );
  CREATE INDEX segments_by_target ON segments (target, region, "end");
  CREATE TABLE degraded (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER,           -- NULL while the breach lasts
    run_id INTEGER NOT NULL
  );
  CREATE INDEX degraded_by_target ON degraded (target, start);
  CREATE TABLE exclusions (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,   -- a service name, or * for all
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER       -- kept, not deleted: a removal is on the record too
  );
  CREATE TABLE agent_runs (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    last_beat INTEGER NOT NULL,
    stopped_at INTEGER       -- NULL: still running, or killed (then last_beat is the last sign of life)
  );
  `,
  // 2: the remote-write outbox (src/fleet/outbox.ts). Every pushed sample is written here
  // first; each remote keeps the id of the last sample its store acknowledged (2xx) or
  // refused for good (4xx), and rows every remote is past are deleted. AUTOINCREMENT: ids
  // never go back, even when the table was emptied, so a cursor never skips a new sample.
  `
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series TEXT NOT NULL,    -- the label set, JSON [[name, value], ...] sorted by name, __name__ included
    ts INTEGER NOT NULL,     -- Unix ms: the run's start
    value REAL NOT NULL
  );
  CREATE TABLE outbox_cursors (
    remote TEXT PRIMARY KEY, -- remote_write[].name
    last_id INTEGER NOT NULL -- every sample up to this id is done for this remote
  );
  `,
  // 3: notifications Alertmanager delivered to the agent's webhook (HEDU-5.7 / UMEET-5.7: the
  // report shows, per incident, when the first one arrived).
  `
  CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL, -- when the agent received it: the delivery time, Unix ms
    receiver TEXT NOT NULL,       -- the Alertmanager receiver that sent it
    status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertname TEXT NOT NULL,
    service TEXT NOT NULL,
    sla TEXT,
    level TEXT,
    severity TEXT,
    region TEXT,
    starts_at INTEGER,            -- the alert's startsAt, Unix ms
    fingerprint TEXT
  );
  CREATE INDEX notifications_by_service ON notifications (service, received_at);
  `,
  // 4: extensions of open segments, appended (src/store/index.ts, "Write volume"). An open
  // segment's row was rewritten in place by every run: one 4 KiB page of the table and one
  // of its index per run, 3 MB/s at 10,000 targets. Runs that only extend a segment are now
  // appended here, the latest per segment once a second, and folded into the segments in
  // bulk. The latest row of a segment (highest id) is its true extent while it is open.
  // AUTOINCREMENT: ids never go back after a fold empties the table, so a reader's cache of
  // the rows it has seen stays valid.
  `
  CREATE TABLE extensions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    segment INTEGER NOT NULL, -- segments.id of an open segment
    last INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    runs INTEGER NOT NULL
  );
  `,
  // 5: the outbox's label sets, interned (src/fleet/outbox.ts). A row carried its series as
  // JSON text, about 100 of the 257 bytes each pushed sample wrote; now each label set is
  // stored once and a row holds its id. The rows keep their ids and the table its
  // AUTOINCREMENT sequence (carried from the renamed table), so no remote's cursor moves.
  `
  CREATE TABLE outbox_series (
    id INTEGER PRIMARY KEY,
    labels TEXT NOT NULL UNIQUE -- JSON [[name, value], ...] sorted by name, __name__ included
  );
  INSERT OR IGNORE INTO outbox_series (labels) SELECT series FROM outbox ORDER BY id;
  ALTER TABLE outbox RENAME TO outbox_v4;
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series INTEGER NOT NULL, -- outbox_series.id
    ts INTEGER NOT NULL,     -- Unix ms: the run's start
    value REAL NOT NULL
  );
  INSERT INTO outbox (id, series, ts, value)
    SELECT o.id, s.id, o.ts, o.value FROM outbox_v4 o JOIN outbox_series s ON s.labels = o.series ORDER BY o.id;
  -- The old table's sequence is at least every id it held, copied or pruned: it becomes the new one's.
  DELETE FROM sqlite_sequence WHERE name = 'outbox';
  UPDATE sqlite_sequence SET name = 'outbox' WHERE name = 'outbox_v4';
  DROP TABLE outbox_v4;
  `,
];
