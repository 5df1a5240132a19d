import { describe, expect, it } from 'vitest';
import type { Target } from '../src/config/types.ts';
import { createScheduler, firstDue, offsetFor } from '../src/scheduler.ts';
import { makeTarget } from './support/targets.ts';

describe('schedule arithmetic', () => {
  it.each([
    // now, interval, offset -> first due
    [1_000_000, 30_000, 0, 1_020_000],
    [1_020_000, 30_000, 0, 1_020_000],
    [1_000_000, 30_000, 25_000, 1_015_000],
    [1_000_001, 10_000, 0, 1_010_000],
    [1_019_999, 30_000, 29_999, 1_019_999],
  ])('firstDue(%d, %d, %d) = %d', (now, interval, offset, due) => {
    expect(firstDue(now, interval, offset)).toBe(due);
  });

  it('offsets are stable, inside the interval, and spread 1,000 targets evenly', () => {
    expect(offsetFor('api', 30_000)).toBe(offsetFor('api', 30_000));
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      const o = offsetFor(`target-${i}`, 30_000);
      expect(o).toBeGreaterThanOrEqual(0);
      expect(o).toBeLessThan(30_000);
      buckets[Math.floor(o / 3000)]++;
    }
    // Uniform would be 100 per tenth of the interval; no tenth gets more than twice that.
    for (const b of buckets) {
      expect(b).toBeGreaterThan(50);
      expect(b).toBeLessThan(200);
    }
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduler (real timers)', () => {
  it('runs at anchor + offset + n x interval without drift', async () => {
    const t = makeTarget({ kind: 'tcp', address: '127.0.0.1:1', interval: '100ms', timeout: '50ms' });
    const dues: number[] = [];
    const s = createScheduler({
      concurrency: 4,
      run: async (_t, dueAt) => { dues.push(dueAt); },
      onSkip: () => undefined,
      onLateness: () => undefined,
    });
    s.set([t]);
    await sleep(1_050);
    await s.stop();
    expect(dues.length).toBeGreaterThanOrEqual(9);
    const off = offsetFor(t.name, 100);
    for (let i = 0; i < dues.length; i++) {
      expect(dues[i]! % 100).toBe(off);
      if (i > 0) expect(dues[i]! - dues[i - 1]!).toBe(100);
    }
  });

  it('a run still going when the next is due makes that one skipped and counted', async () => {
    const t = makeTarget({ kind: 'tcp', address: '127.0.0.1:1', interval: '100ms', timeout: '50ms' });
    let runs = 0;
    const skipped: number[] = [];
    const s = createScheduler({
      concurrency: 4,
      run: async () => { runs++; await sleep(250); },
      onSkip: (_t, due) => skipped.push(due),
      onLateness: () => undefined,
    });
    s.set([t]);
    await sleep(1_000);
    await s.stop();
    // Each run spans 2.5 intervals: after every run, the next two due times are skipped.
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(skipped.length).toBeGreaterThanOrEqual(runs);
    expect(runs + skipped.length).toBeGreaterThanOrEqual(8);
  });

  it('the concurrency limit holds, and waiting for a slot shows as lateness', async () => {
    // Six targets due within one 1 s interval, 600 ms of work each, two slots: 3.6 s of work
    // must queue, and the queueing is the agent's own lateness.
    const targets: Target[] = Array.from({ length: 6 }, (_, i) => makeTarget({ name: `t${i}`, kind: 'tcp', address: '127.0.0.1:1', interval: '1s', timeout: '500ms' }));
    let inFlight = 0;
    let maxInFlight = 0;
    const lateness: number[] = [];
    const s = createScheduler({
      concurrency: 2,
      run: async () => { inFlight++; maxInFlight = Math.max(maxInFlight, inFlight); await sleep(600); inFlight--; },
      onSkip: () => undefined,
      onLateness: (sec) => lateness.push(sec),
    });
    s.set(targets);
    expect(s.busy()).toBe(0);
    // Mid-round: two runs in their slots and the rest of the due ones queued, all counted busy.
    const busy: number[] = [];
    const probe = setInterval(() => busy.push(s.busy()), 50);
    await s.firstRound();
    clearInterval(probe);
    await s.stop();
    expect(s.busy()).toBe(0);
    expect(Math.max(...busy)).toBeGreaterThan(2);
    expect(maxInFlight).toBe(2);
    expect(lateness.length).toBeGreaterThanOrEqual(6);
    expect(Math.max(...lateness)).toBeGreaterThan(0.5);
  });

  it('set() keeps the timers of unchanged targets and drops removed ones', async () => {
    const a = makeTarget({ name: 'a', kind: 'tcp', address: '127.0.0.1:1', interval: '50s', timeout: '1s' });
    const b = makeTarget({ name: 'b', kind: 'tcp', address: '127.0.0.1:1', interval: '50s', timeout: '1s' });
    const s = createScheduler({ concurrency: 1, run: async () => undefined, onSkip: () => undefined, onLateness: () => undefined });
    s.set([a, b]);
    const dueA = s.nextDue('a');
    s.set([a]);
    expect(s.nextDue('a')).toBe(dueA);
    expect(s.nextDue('b')).toBeUndefined();
    const a2 = makeTarget({ name: 'a', kind: 'tcp', address: '127.0.0.1:1', interval: '40s', timeout: '1s' });
    s.set([a2]);
    expect(s.nextDue('a')! % 40_000).toBe(offsetFor('a', 40_000));
    await s.stop();
  });

  it('one timer serves many targets: each runs on its own schedule, and set() removes and re-times targets in the middle of the queue', async () => {
    const mk = (i: number, interval: string) => makeTarget({ name: `t${i}`, kind: 'tcp', address: '127.0.0.1:1', interval, timeout: '50ms' });
    const first = Array.from({ length: 60 }, (_, i) => mk(i, '200ms'));
    const runs = new Map<string, { due: number; started: number }[]>();
    const s = createScheduler({
      concurrency: 64,
      run: async (t, due, started) => { runs.set(t.name, [...(runs.get(t.name) ?? []), { due, started }]); },
      onSkip: () => undefined,
      onLateness: () => undefined,
    });
    s.set(first);
    await sleep(600);
    // Keep t0-t29; t20-t29 now every 300 ms; t30-t59 removed.
    const changedAt = performance.timeOrigin + performance.now();
    s.set([...first.slice(0, 20), ...Array.from({ length: 10 }, (_, i) => mk(20 + i, '300ms'))]);
    await sleep(900);
    await s.stop();
    for (let i = 0; i < 60; i++) {
      const name = `t${i}`;
      const r = runs.get(name) ?? [];
      // Never started before it was due (1 ms of slack for the timer's rounding).
      for (const x of r) expect(x.started, name).toBeGreaterThanOrEqual(x.due - 1);
      // Split by when a run started, not by when it was due: a run due up to 1 ms after the
      // set() may have started just before it (the slack above), on the old schedule.
      const before = r.filter((x) => x.started < changedAt).map((x) => x.due);
      const after = r.filter((x) => x.started >= changedAt).map((x) => x.due);
      expect(before.length, name).toBeGreaterThanOrEqual(2);
      for (const d of before) expect(d % 200, name).toBe(offsetFor(name, 200));
      if (i >= 30) {
        expect(after, name).toEqual([]);
        continue;
      }
      const every = i < 20 ? 200 : 300;
      expect(after.length, name).toBeGreaterThanOrEqual(i < 20 ? 3 : 2);
      for (const d of after) expect(d % every, name).toBe(offsetFor(name, every));
      // Whole intervals apart: one more than one apart only if this process stalled past a due time (counted as skipped).
      const all = i < 20 ? [...before, ...after] : after;
      for (let k = 1; k < all.length; k++) expect((all[k]! - all[k - 1]!) % every, name).toBe(0);
    }
  });
});

