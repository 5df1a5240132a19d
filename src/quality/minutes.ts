// A target's per-minute packet counters and delay sums (the quality sink's rolling windows),
// in one Float64Array used as a ring: 7 numbers a minute, not an object and two boxed
// doubles (112 bytes). At the default 1 h window that is 3.4 KiB per packet target instead
// of 6.7, once the window is full (issue 13, docs/scale.md).
import type { DelayWindow } from './verdict.ts';

const MINUTE = 60_000;
const F = 7; // minute, sent, lost, rttCount, rttSum, jitterCount, jitterSum

export class MinuteRing {
  private a: Float64Array;
  private head = 0;
  private n = 0;

  /** Room for `minutes` buckets to start with; it grows if a clock step back asks for more. */
  constructor(minutes: number) {
    this.a = new Float64Array(Math.max(2, minutes) * F);
  }

  get size(): number {
    return this.n;
  }

  private at(i: number): number {
    return ((this.head + i) % (this.a.length / F)) * F;
  }

  /** Adds a run to its minute: the last bucket if it is that minute, else a new one after it. */
  add(minute: number, run: DelayWindow): void {
    let o = this.n ? this.at(this.n - 1) : -1;
    if (o < 0 || this.a[o] !== minute) {
      if (this.n === this.a.length / F) this.grow();
      o = this.at(this.n++);
      this.a.fill(0, o, o + F);
      this.a[o] = minute;
    }
    const a = this.a;
    a[o + 1]! += run.sent; a[o + 2]! += run.lost;
    a[o + 3]! += run.rttCount; a[o + 4]! += run.rttSum;
    a[o + 5]! += run.jitterCount; a[o + 6]! += run.jitterSum;
  }

  /** Drops buckets from the oldest while they end at or before `fromMs` (the longest window's start). */
  evict(fromMs: number): void {
    while (this.n && (this.a[this.at(0)]! + 1) * MINUTE <= fromMs) {
      this.head = (this.head + 1) % (this.a.length / F);
      this.n--;
    }
  }

  /** Adds into `w` every bucket that ends after `fromMs`. */
  sumInto(w: DelayWindow, fromMs: number): void {
    const a = this.a;
    for (let i = 0; i < this.n; i++) {
      const o = this.at(i);
      if ((a[o]! + 1) * MINUTE <= fromMs) continue;
      w.sent += a[o + 1]!; w.lost += a[o + 2]!;
      w.rttCount += a[o + 3]!; w.rttSum += a[o + 4]!;
      w.jitterCount += a[o + 5]!; w.jitterSum += a[o + 6]!;
    }
  }

  private grow(): void {
    const b = new Float64Array(this.a.length * 2);
    for (let i = 0; i < this.n; i++) b.set(this.a.subarray(this.at(i), this.at(i) + F), i * F);
    this.a = b;
    this.head = 0;
  }
}
