// The quality sink's per-minute ring (src/quality/minutes.ts) against the plain list of
// bucket objects it replaced, run by run: the same window sums, exactly, over hours of runs
// with gaps, several runs a minute, clock steps back and a window that grows on reload.
import { describe, expect, it } from 'vitest';
import { MinuteRing } from '../../src/quality/minutes.ts';
import type { DelayWindow } from '../../src/quality/verdict.ts';

const MINUTE = 60_000;
const empty = (): DelayWindow => ({ sent: 0, lost: 0, rttCount: 0, rttSum: 0, jitterCount: 0, jitterSum: 0 });
function add(into: DelayWindow, from: DelayWindow): void {
  into.sent += from.sent; into.lost += from.lost;
  into.rttCount += from.rttCount; into.rttSum += from.rttSum;
  into.jitterCount += from.jitterCount; into.jitterSum += from.jitterSum;
}

describe('MinuteRing', () => {
  it('gives the window sums of the list of buckets it replaced, with the same floating-point results', () => {
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let windows = [15 * MINUTE, 60 * MINUTE];
    const ring = new MinuteRing(62);
    const list: Array<DelayWindow & { minute: number }> = [];
    let now = Date.UTC(2026, 11, 1);
    let maxSize = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = rand();
      // Mostly 30 s apart; some runs in the same minute, gaps of hours, and steps back.
      now += r < 0.7 ? 30_000 : r < 0.85 ? 1_000 : r < 0.95 ? 7 * MINUTE : r < 0.97 ? 3 * 3_600_000 : -5 * MINUTE;
      if (i === 10_000) windows = [15 * MINUTE, 4 * 3_600_000];
      const run = { sent: 50, lost: rand() < 0.1 ? 1 : 0, rttCount: 49, rttSum: rand() * 2, jitterCount: 48, jitterSum: rand() / 10 };
      const minute = Math.floor(now / MINUTE);
      const longest = Math.max(...windows, MINUTE);
      const tail = list[list.length - 1];
      if (tail && tail.minute === minute) add(tail, run);
      else list.push({ minute, ...run });
      while (list.length && (list[0]!.minute + 1) * MINUTE <= now - longest) list.shift();
      ring.add(minute, run);
      ring.evict(now - longest);
      expect(ring.size).toBe(list.length);
      maxSize = Math.max(maxSize, ring.size);
      for (const w of windows) {
        const want = empty();
        for (const b of list) if ((b.minute + 1) * MINUTE > now - w) add(want, b);
        const got = empty();
        ring.sumInto(got, now - w);
        expect(got).toEqual(want);
      }
    }
    // The 4 h window after the reload needed the ring to grow past its first 62 minutes.
    expect(maxSize).toBeGreaterThan(62);
  });
});
