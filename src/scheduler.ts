// One scheduler for every target (the cloudprober shape). Each target's runs are due at
// anchor + offset + n x interval: the anchor is the interval's boundary on the wall clock,
// the offset a stable hash of the target's name, so first runs spread over the interval
// (no thundering herd), restarts keep the same phase, and lateness never accumulates.
// A run still going when the next is due makes that one skipped and counted. Concurrency
// over all targets is bounded by p-limit; lateness (due -> actually started, including the
// wait for a free slot) is reported so the agent's delays are never taken for the network's.
// One timer serves every target: a min-heap of the entries by due time, and the timer armed
// for the earliest (a Timeout, its closure and context per target were 2 MiB of the engine's
// heap at 10,000 targets, issue 13). A target runs at most once at a time; a target whose
// last run used its whole timeout (slow or hanging) queues for one of at most half the slots
// first, so however many of them there are, the healthy targets keep the other half and
// their schedule.
import pLimit, { type LimitFunction } from 'p-limit';
import type { Target } from './config/types.ts';

export interface SchedulerDeps {
  /** Runs one probe of the target; resolves when it is done (never rejects). */
  run(target: Target, dueAt: number, startedAt: number): Promise<void>;
  onSkip(target: Target, dueAt: number): void;
  onLateness(seconds: number): void;
  concurrency: number;
  /** Wall clock in ms with sub-ms precision. */
  now?: () => number;
}

export interface Scheduler {
  /** Replaces the set of targets. Targets whose config is unchanged keep their schedule. */
  set(targets: readonly Target[]): void;
  /** Resolves once every target has completed (or skipped) its first run. */
  firstRound(): Promise<void>;
  stop(): Promise<void>;
  /** For tests and the CLI: the due time of a target's next run. */
  nextDue(name: string): number | undefined;
  /** Runs started or waiting for a slot. */
  busy(): number;
}

/** Longest delay setTimeout honours (2^31 - 1 ms). */
const MAX_TIMER = 2_147_483_647;

export const wallClock = (): number => performance.timeOrigin + performance.now();

/** Stable offset in [0, interval): FNV-1a of the name. */
export function offsetFor(name: string, interval: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % interval;
}

/** The first due time at or after `now` for a schedule of (interval, offset). */
export function firstDue(now: number, interval: number, offset: number): number {
  const anchor = Math.floor(now / interval) * interval + offset;
  return anchor >= now ? anchor : anchor + interval;
}

interface Entry {
  target: Target;
  next: number;
  /** Index in the heap of due times; -1 when not in it. */
  at: number;
  running?: Promise<void>;
  firstDone: boolean;
  /** The last run lasted its whole timeout. */
  slow?: boolean;
}

/** Slots slow targets may hold at once, of `concurrency`. */
export function slowSlots(concurrency: number): number {
  return Math.max(1, Math.floor(concurrency / 2));
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const now = deps.now ?? wallClock;
  const limit: LimitFunction = pLimit(deps.concurrency);
  const slowLimit: LimitFunction = pLimit(slowSlots(deps.concurrency));
  const entries = new Map<string, Entry>();
  let stopped = false;
  let firstWaiters: (() => void)[] = [];

  const checkFirst = () => {
    if ([...entries.values()].every((e) => e.firstDone)) {
      const w = firstWaiters;
      firstWaiters = [];
      w.forEach((f) => f());
    }
  };

  // The heap of due times: heap[0] is due first; each entry knows its index (Entry.at).
  const heap: Entry[] = [];
  const swap = (i: number, j: number) => {
    const a = heap[i]!, b = heap[j]!;
    heap[i] = b; b.at = i;
    heap[j] = a; a.at = j;
  };
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]!.next <= heap[i]!.next) break;
      swap(i, p);
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && heap[l]!.next < heap[m]!.next) m = l;
      if (r < heap.length && heap[r]!.next < heap[m]!.next) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  const unqueue = (e: Entry) => {
    const i = e.at;
    if (i < 0) return;
    e.at = -1;
    const last = heap.pop()!;
    if (last === e) return;
    heap[i] = last;
    last.at = i;
    up(i);
    down(last.at);
  };

  let timer: NodeJS.Timeout | undefined;
  /** When the armed timer is due (Infinity: none armed). */
  let timerAt = Infinity;
  /** Inside tick(): the runs it starts re-enter the heap, and it arms the timer once, after them. */
  let ticking = false;
  const wake = () => {
    const first = heap[0];
    if (stopped || ticking || !first || first.next >= timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = first.next;
    // setTimeout takes a 32-bit delay: a longer one fires at once (and every ms after).
    timer = setTimeout(tick, Math.min(MAX_TIMER, Math.max(0, first.next - now())));
  };
  const tick = () => {
    timer = undefined;
    timerAt = Infinity;
    ticking = true;
    try {
      // Whatever woke us (a clamped delay, a timer firing early), a run never starts before
      // it is due (1 ms of slack for timers' integer rounding): those wait for the next tick,
      // as do the runs that come due while this one starts the others.
      const t = now() + 1;
      while (!stopped && heap[0] && heap[0].next <= t) {
        const e = heap[0];
        unqueue(e);
        fire(e);
      }
    } finally {
      ticking = false;
      wake();
    }
  };
  const arm = (e: Entry) => {
    if (stopped) return;
    e.at = heap.length;
    heap.push(e);
    up(e.at);
    wake();
  };

  // Only tick() fires, and only what is in the heap: set() unqueues the entries it replaces
  // or removes, and nothing fires once stopped.
  const fire = (e: Entry) => {
    const dueAt = e.next;
    // The n-th run is due at anchor + n x interval, whatever happened to run n-1; if the
    // process was suspended past several due times, those runs are skipped, not bunched.
    const t = now();
    e.next = dueAt + e.target.interval;
    while (e.next <= t) {
      e.next += e.target.interval;
      deps.onSkip(e.target, e.next);
    }
    arm(e);
    if (e.running) {
      deps.onSkip(e.target, dueAt);
      return;
    }
    const job = async () => {
      if (stopped) return;
      const startedAt = now();
      deps.onLateness(Math.max(0, startedAt - dueAt) / 1000);
      await deps.run(e.target, dueAt, startedAt);
      e.slow = now() - startedAt >= e.target.timeout;
    };
    const p = (e.slow ? slowLimit(() => limit(job)) : limit(job)).catch(() => undefined).finally(() => {
      e.running = undefined;
      if (!e.firstDone) {
        e.firstDone = true;
        checkFirst();
      }
    });
    e.running = p;
  };

  return {
    set(targets) {
      const keep = new Set<string>();
      for (const target of targets) {
        keep.add(target.name);
        const old = entries.get(target.name);
        if (old && sameConfig(old.target, target)) {
          old.target = target;
          continue;
        }
        if (old) unqueue(old);
        const e: Entry = { target, next: firstDue(now(), target.interval, offsetFor(target.name, target.interval)), at: -1, firstDone: old?.firstDone ?? false };
        entries.set(target.name, e);
        arm(e);
      }
      for (const [name, e] of entries) {
        if (!keep.has(name)) {
          unqueue(e);
          entries.delete(name);
        }
      }
      checkFirst();
    },
    firstRound() {
      if ([...entries.values()].every((e) => e.firstDone)) return Promise.resolve();
      return new Promise((resolve) => firstWaiters.push(resolve));
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      // Queued runs see `stopped` and return at once; clearQueue would leave them pending.
      await Promise.all([...entries.values()].map((e) => e.running));
      const w = firstWaiters;
      firstWaiters = [];
      w.forEach((f) => f());
    },
    nextDue(name) {
      return entries.get(name)?.next;
    },
    busy() {
      return limit.activeCount + limit.pendingCount + slowLimit.pendingCount;
    },
  };
}

/**
 * Two configs of a target that schedule and probe the same way. Compared when targets are
 * set, not kept as a key per entry: a JSON copy of every target (291 bytes on average in
 * bench:scale's mix) was 2.8 MiB of the engine worker's heap at 10,000 targets (issue 13).
 */
function sameConfig(a: Target, b: Target): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
