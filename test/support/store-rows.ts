// Rows of an agent's store read as they stand: read-only, on a connection of its own, so a
// test can look at a live or killed agent's store without touching it. And a store as an
// older slaprobe left it, for the migration tests.
import { mkdirSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { storePath } from '../../src/store/index.ts';
import { APPLICATION_ID, MIGRATIONS } from '../../src/store/schema.ts';

export function storeRows(dataDir: string, query: string): Record<string, number | string>[] {
  const db = new DatabaseSync(storePath(dataDir), { readOnly: true });
  try {
    return db.prepare(query).all() as Record<string, number | string>[];
  } finally {
    db.close();
  }
}

/** A store at schema `version`, as that slaprobe left it (its migrations only), with `fill` run on it. */
export function storeAtVersion(dataDir: string, version: number, fill: (db: DatabaseSync) => void): void {
  mkdirSync(dataDir, { recursive: true });
  const db = new DatabaseSync(storePath(dataDir));
  try {
    db.exec('PRAGMA journal_mode = WAL');
    for (let v = 0; v < version; v++) db.exec(MIGRATIONS[v]!);
    db.exec(`PRAGMA application_id = ${APPLICATION_ID}; PRAGMA user_version = ${version}`);
    fill(db);
  } finally {
    db.close();
  }
}
