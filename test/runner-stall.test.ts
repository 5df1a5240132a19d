// A stall of the agent is not a timeout of the target (src/runner.ts STALL_MS). The server
// runs in a child process, so it answers while this thread is busy; the stall is a busy
// callback in the poll phase (an fs callback), after which Node runs the due deadline timer
// before it polls for the answer that waits in the kernel: without the moved deadline the
// run of a healthy server was a timeout.
import { type ChildProcess, spawn } from 'node:child_process';
import { stat } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../src/config/types.ts';
import { maxRunMs } from '../src/probes/types.ts';
import { runProbe, STALL_MS } from '../src/runner.ts';
import { makeTarget } from './support/targets.ts';

const SERVER = `
  const s = require('node:http').createServer((q, r) => { if (q.url === '/slow') setTimeout(() => r.end('ok'), 100); });
  s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));`;

let child: ChildProcess;
let base = '';
beforeAll(async () => {
  child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((ok) => child.stdout!.once('data', (d: Buffer) => ok(d.toString().trim())));
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => { child?.kill(); });

/** Busies this thread for `ms` inside an fs callback (the poll phase), `after` ms from now. */
const stallInPoll = (after: number, ms: number) => new Promise<void>((done) => {
  setTimeout(() => stat('/', () => {
    const end = performance.now() + ms;
    while (performance.now() < end);
    done();
  }), after);
});

const TIMEOUT = 300;
const STALL = 600;
const target = (path: string): Target => makeTarget({ kind: 'http', url: `${base}${path}`, interval: '5s', timeout: `${TIMEOUT}ms` });

describe('the run deadline under a stall of the agent', () => {
  it('a healthy server answering in 100 ms is a success, not a timeout, when the agent stalls across the deadline', async () => {
    // Control, unstalled: the same target succeeds, no deadline moved.
    const calm = await runProbe(target('/slow'));
    expect(calm.result).toMatchObject({ success: true });
    expect(calm.stalledMs).toBe(0);

    // 50 ms into the run the thread is busy for 600 ms: the answer (at ~100 ms) and the
    // deadline (300 ms) both fall inside it.
    const [stalled] = await Promise.all([runProbe(target('/slow')), stallInPoll(50, STALL)]);
    expect(stalled.result, stalled.result.detail).toMatchObject({ success: true });
    // The deadline fired ~350 ms late and was moved by at most one timeout.
    expect(stalled.stalledMs).toBeGreaterThan(STALL_MS);
    expect(stalled.stalledMs).toBeLessThanOrEqual(TIMEOUT);
    expect(stalled.durationSeconds).toBeGreaterThan(0.6);
  });

  it('a server that never answers is still a timeout, said to be after a moved deadline, and the run ends within 2 x timeout + grace of the agent\'s attention', async () => {
    const [r] = await Promise.all([runProbe(target('/hang')), stallInPoll(50, STALL)]);
    expect(r.result).toMatchObject({ success: false, reason: 'timeout' });
    expect(r.stalledMs).toBeGreaterThan(STALL_MS);
    expect(r.result.detail).toContain(`the deadline was moved ${r.stalledMs} ms for a stall of the agent's event loop`);
    // Moved once, by at most one timeout: the run ends by then (the stall itself aside).
    expect(r.stalledMs).toBeLessThanOrEqual(TIMEOUT);
    expect(r.durationSeconds * 1000).toBeLessThan(STALL + maxRunMs(TIMEOUT));
    // Control: unstalled, the same target is a timeout too.
    const calm = await runProbe(target('/hang'));
    expect(calm.result).toMatchObject({ success: false, reason: 'timeout' });
  });
});
