// Slow or hanging targets must not take every concurrency slot from healthy ones (issue 11,
// section 4): a real HTTP server on loopback whose /hang accepts and never answers, twelve
// targets on it, three healthy targets on /ok, four slots, the real runner and probes. The
// hanging ones ask for 12 x 0.4 s of slot time per 0.5 s, far more than four slots give:
// somebody must skip runs, and it must be them, not the healthy targets a service's
// availability is computed from (UDESK-3.1: every minute of it needs evidence).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../src/config/types.ts';
import { runProbe } from '../src/runner.ts';
import { createScheduler } from '../src/scheduler.ts';
import { type Running, httpServer } from './support/servers.ts';
import { makeTarget } from './support/targets.ts';

let web: Running;
beforeAll(async () => { web = await httpServer(); });
afterAll(async () => { await web?.close(); });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('concurrency slots under hanging targets', () => {
  it('healthy targets keep their schedule while twelve hanging ones share what is left', async () => {
    const mk = (name: string, path: string): Target => ({ ...makeTarget({ kind: 'http', url: `${web.url}${path}`, interval: '500ms', timeout: '400ms' }), name });
    const hanging = Array.from({ length: 12 }, (_, i) => mk(`hang-${i}`, '/hang'));
    const healthy = Array.from({ length: 3 }, (_, i) => mk(`ok-${i}`, '/ok'));
    const runs = new Map<string, number>();
    const skips = new Map<string, number>();
    const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    let counting = false;
    const s = createScheduler({
      concurrency: 4,
      run: async (t) => {
        if (counting) inc(runs, t.name);
        await runProbe(t);
      },
      onSkip: (t) => { if (counting) inc(skips, t.name); },
      onLateness: () => undefined,
    });
    s.set([...hanging, ...healthy]);
    // The first round cannot know which targets hang: judge the steady state after it.
    await sleep(2_500);
    counting = true;
    await sleep(4_000);
    counting = false;
    await s.stop();
    // 4 s at 500 ms: 8 runs due per target.
    for (const t of healthy) {
      expect(skips.get(t.name) ?? 0, `${t.name} skipped`).toBeLessThanOrEqual(1);
      expect(runs.get(t.name) ?? 0, `${t.name} runs`).toBeGreaterThanOrEqual(7);
    }
    // The hanging ones did run, only less often than due: they had at most half the slots.
    const hangRuns = hanging.reduce((n, t) => n + (runs.get(t.name) ?? 0), 0);
    expect(hangRuns).toBeGreaterThan(0);
    expect(hanging.reduce((n, t) => n + (skips.get(t.name) ?? 0), 0)).toBeGreaterThan(hangRuns);
  }, 30_000);
});
