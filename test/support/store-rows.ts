// Rows of an agent's store read as they stand: read-only, on a connection of its own, so a
// test can look at a live or killed agent's store without touching it.
import { DatabaseSync } from 'node:sqlite';
import { storePath } from '../../src/store/index.ts';

export function storeRows(dataDir: string, query: string): Record<string, number | string>[] {
  const db = new DatabaseSync(storePath(dataDir), { readOnly: true });
  try {
    return db.prepare(query).all() as Record<string, number | string>[];
  } finally {
    db.close();
  }
}
