// `slaprobe run` as a real child process (the way operators and init systems run it), for
// tests of what only a process shows: signals, exit codes, locks, mounts, users.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '../../bin/slaprobe.js');

export interface AgentProcess {
  child: ChildProcess;
  /** Everything written to stderr so far (the JSON log and the CLI's own lines). */
  stderr(): string;
  /** Resolves with the first JSON log line `match` accepts; rejects if the process exits first. */
  logLine(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code, or 'hung' if the process is still running after `ms`. */
  exited(ms: number): Promise<number | null | 'hung'>;
}

const running = new Set<ChildProcess>();

/** Starts `node bin/slaprobe.js ARGS`; `wrap` is a command line to run it under (unshare, setpriv). */
export function spawnAgent(args: string[], wrap: string[] = []): AgentProcess {
  const argv = [...wrap, process.execPath, BIN, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let err = '';
  const lines: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += String(d);
    partial += String(d);
    for (let i = partial.indexOf('\n'); i >= 0; i = partial.indexOf('\n')) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      let l: Record<string, unknown>;
      try { l = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
      lines.push(l);
      for (const w of waiters.splice(0)) {
        if (w.match(l)) w.resolve(l);
        else waiters.push(w);
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { running.delete(child); resolve(code); }));
  return {
    child,
    stderr: () => err,
    logLine(match) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exit.then((code) => reject(new Error(`agent exited (${code}) before the expected log line; stderr:\n${err}`)));
      });
    },
    exited(ms) {
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve('hung'), ms);
        void exit.then((code) => { clearTimeout(t); resolve(code); });
      });
    },
  };
}

/** SIGKILLs every agent process still running (afterEach). */
export function killAgents(): void {
  for (const c of running) c.kill('SIGKILL');
}

/** The agent's HTTP address, from its start line. */
export async function agentUrl(a: AgentProcess): Promise<string> {
  return `http://${String((await a.logLine((l) => String(l['msg']).startsWith('slaprobe agent started')))['listen'])}`;
}
