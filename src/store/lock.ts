// One agent per data dir, as Prometheus's TSDB has it: a `lock` file naming the holder. Two
// agents on one store would each keep open segments in memory and write over each other's
// timeline. Node has no flock(2), so the file carries the holder's PID and, on Linux, its
// start time from /proc: a lock left by a killed agent (kill -9, OOM, power loss) is stale
// and taken over, even when a new process has been given the same PID since (PID 1 in a
// container restarted after a kill is the common case).
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError, notWritable } from './index.ts';

export const LOCK_FILE = 'lock';

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock if it is still this process's. */
  release(): void;
}

interface Holder { pid: number; start?: string; started_at?: string }

/** Field 22 of /proc/PID/stat: the process's start time in clock ticks since boot. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(h: Holder): boolean {
  if (h.pid === process.pid) return false; // an earlier life of this PID: we are starting now
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(h.pid);
  return h.start === undefined || now === undefined || now === h.start;
}

/** Takes the data dir's lock, or throws SLAPROBE_STORE_LOCKED naming the agent that holds it. */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  const me: Holder = { pid: process.pid, ...(startTime(process.pid) ? { start: startTime(process.pid)! } : {}), started_at: new Date().toISOString() };
  const body = `${JSON.stringify(me)}\n`;
  const fail = (e: unknown): never => {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (['EACCES', 'EPERM', 'EROFS'].includes(code)) throw notWritable(file, `cannot create its lock file (${code})`);
    throw new StoreError('SLAPROBE_STORE_IO', file, `cannot create the lock file (${code || (e as Error).message}); check agent.data_dir`);
  };
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (e) {
    fail(e);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, body);
      } finally {
        closeSync(fd);
      }
      return {
        file,
        release() {
          try {
            if (readFileSync(file, 'utf8') === body) unlinkSync(file);
          } catch { /* gone already */ }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) fail(e);
    }
    let holder: Holder | undefined;
    try {
      const h = JSON.parse(readFileSync(file, 'utf8')) as Holder;
      if (Number.isInteger(h.pid) && h.pid > 0) holder = h;
    } catch { /* unreadable or half-written: treated as stale */ }
    if (holder && alive(holder)) {
      throw new StoreError('SLAPROBE_STORE_LOCKED', file, `is held by another slaprobe agent, PID ${holder.pid}${holder.started_at ? ` (started ${holder.started_at})` : ''}: two agents must not share a data dir. Stop that agent, or give this one its own --data-dir`);
    }
    try {
      unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fail(e);
    }
  }
}
