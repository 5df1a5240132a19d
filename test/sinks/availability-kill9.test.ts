// kill -9 in the middle of an outage (issue 4, section 4): the outage stays one window, the
// minutes the agent was dead are unknown, not up, and every run reported committed is kept.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { periodEnding } from '../../src/availability/calendar.ts';
import { reportService } from '../../src/availability/service.ts';
import { loadPresets } from '../../src/config/sla.ts';
import { openStore } from '../../src/store/index.ts';
import { T } from '../support/availability.ts';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const SCRIPT = join(process.cwd(), 'test/support/availability-agent.ts');
const STEP = 10_000;

/** Runs the stand-in agent; with killAfter, kill -9 once it reports that run committed. */
function agent(args: number[], dir: string, killAfter?: number): Promise<{ lastOk: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [SCRIPT, dir, ...args.map(String), ...(killAfter !== undefined ? ['hold'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastOk = -1;
    let buf = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) lastOk = Number(l.slice(3));
      if (killAfter !== undefined && lastOk >= killAfter && child.exitCode === null) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (killAfter === undefined && code !== 0) reject(new Error(`agent exited ${code}: ${err}`));
      else resolve({ lastOk, signal });
    });
  });
}

describe('kill -9 in the middle of an outage', () => {
  it('keeps one window, and the dead time is unknown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-kill9-'));
    const start = T('2026-11-10T00:00:00Z');
    const failFrom = start + 600 * STEP; // 01:40:00
    const recoverAt = failFrom + 3 * 3_600_000; // a 3-hour outage
    // First life: up, then the outage; killed once a run 100 runs (1000 s) into it is
    // committed. It runs at full speed until the kill lands, at most to 400 runs into the
    // 1,080-run outage, and waits there. Runs that only extend a segment are committed once a
    // second, so the kill usually finds the last of them in the extensions table, not yet
    // folded into the segments: the second life's store folds them in.
    const first = await agent([start, failFrom, recoverAt, STEP, 1000], dir, failFrom + 100 * STEP);
    expect(first.signal).toBe('SIGKILL');
    expect(first.lastOk).toBeGreaterThanOrEqual(failFrom + 100 * STEP);
    // The child runs on until the kill lands, and 'exit' can come before its last lines are
    // read: on a loaded machine (CI) the store held many runs past lastOk. The dead time
    // starts after the last run the store holds, which is at least the last one reported.
    const held = openStore(dir, { readOnly: true });
    const lastHeld = held.targetSpans('api', 0, Infinity, Infinity)[0]!.spans.at(-1)!.end - STEP;
    held.close();
    expect(lastHeld).toBeGreaterThanOrEqual(first.lastOk);
    // Dead for 20 minutes after the last run it recorded; then a second life until after recovery.
    const restart = lastHeld + 20 * 60_000 + STEP;
    const aligned = restart - ((restart - start) % STEP);
    await agent([aligned, failFrom, recoverAt, STEP, (recoverAt - aligned) / STEP + 60], dir);

    const store = openStore(dir);
    try {
      const spans = store.targetSpans('api', 0, Infinity, Infinity)[0]!.spans;
      // up, down (first life), down (second life), up
      expect(spans.map((s) => s.state)).toEqual(['up', 'down', 'down', 'up']);
      const deadFrom = spans[1]!.end;
      // every run the first life reported committed is in the store
      expect(deadFrom).toBeGreaterThanOrEqual(first.lastOk + STEP);
      expect(spans[2]!.start).toBe(aligned);

      const policy = loadPresets().get('udesk');
      if (typeof policy !== 'object') throw new Error('udesk preset missing');
      const period = periodEnding('month', 2026, 11, 'UTC');
      const now = recoverAt + 3_600_000;
      const r = reportService(store, { name: 'meet', targets: ['api'], rule: { type: 'all' } }, policy, period, [], [], now);
      expect(r.windows).toHaveLength(1);
      const w = r.windows[0]!;
      expect(w.start).toBe(failFrom);
      expect(w.end).toBe(recoverAt);
      expect(w.status).toBe('counted');
      expect(w.unknown_ms).toBe(aligned - deadFrom);
      expect(w.down_ms).toBe(recoverAt - failFrom - (aligned - deadFrom));
      // unknown_in_outage: down (udesk): down before and after the dead time, never seen back,
      // so the whole window is unavailable; exact here, the period's sum is rounded once
      expect(w.counted_minutes).toBe((recoverAt - failFrom) / 60_000);
      expect(r.minutes.down_counted).toBe(Math.ceil((recoverAt - failFrom) / 60_000));
      expect(r.incidents).toHaveLength(1);
      // dead time is unknown, never up
      expect(r.minutes.unknown).toBeGreaterThanOrEqual(20);
      expect(store.agentRuns()).toHaveLength(2);
      expect(store.agentRuns()[0]!.stopped_at).toBeNull(); // killed: no clean stop
      expect(store.agentRuns()[1]!.stopped_at).not.toBeNull();
    } finally {
      store.close();
    }
  }, 60_000);
});
