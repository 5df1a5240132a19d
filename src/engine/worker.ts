// The probe engine: scheduler, runner and probes in a worker thread of their own, so that
// nothing on the main thread (a /metrics scrape, a store write, a report, a reload) can
// delay a timer or a socket callback and inflate a measured time. Results go back to the
// main thread's sinks as messages.
import { parentPort } from 'node:worker_threads';
import { createScheduler } from '../scheduler.ts';
import { runProbe } from '../runner.ts';
import { PROBES } from '../probes/index.ts';
import { packetWorkerHeap } from '../probes/train/index.ts';
import { icmpStreamProbe, retainStreams, stopStreams } from './ping-stream.ts';
import type { FromEngine, ToEngine } from './protocol.ts';
import { quietStacks } from './stacks.ts';
import { scheduleSettling } from './isolate.ts';

// First, before any state: outside a worker thread (execTuned's compile-cache warm-up imports
// every module of src/) this module stops here.
const port = parentPort;
if (!port) throw new Error('the engine worker must run in a worker thread (src/engine/index.ts starts it)');
// Errors keep one frame, undici's none (stacks.ts): their stacks were about a fifth of
// this thread's CPU per HTTP probe.
quietStacks();
// Messages go out in batches, at most every BATCH_MS: one postMessage per probe was half
// the engine's CPU at 500 probes/s (docs/bench-core.md). Each message also wakes the main
// thread, which costs both threads more than its contents on a VM: at 500 results/s, 50 ms
// batches took 18 µs less of this thread's CPU per result than 10 ms and 19 µs less of the
// main thread's ("An eighth look"). The delay is in delivery only; every time was measured
// when it happened.
const BATCH_MS = 50;
let batch: FromEngine[] = [];
let flushTimer: NodeJS.Timeout | undefined;
const flush = () => {
  flushTimer = undefined;
  if (batch.length === 0) return;
  port.postMessage(batch);
  batch = [];
};
const post = (m: FromEngine, now = false) => {
  batch.push(m);
  if (now) flush();
  else flushTimer ??= setTimeout(flush, BATCH_MS);
};
const stopCtl = new AbortController();
let concurrency = 64;
// The agent's icmp targets run through one long-lived ping each (ping-stream.ts); a one-shot
// run (slaprobe probe, check-config) keeps the train of src/probes/icmp.ts.
const probes = { ...PROBES, icmp: icmpStreamProbe };

const scheduler = (() => {
  let s: ReturnType<typeof createScheduler> | undefined;
  return () => (s ??= createScheduler({
    concurrency,
    run: async (target, dueAt, startedAt) => {
      const { result, durationSeconds, stalledMs } = await runProbe(target, stopCtl.signal, probes);
      // A run cut short by the agent's own shutdown observed nothing about the target:
      // recording it would write a false failure into the availability timeline.
      if (stopCtl.signal.aborted) return;
      post({ type: 'result', target: target.name, result, meta: { dueAt, startedAt, finishedAt: Date.now(), durationSeconds, stalledMs } });
    },
    onSkip: (t) => post({ type: 'skip', target: t.name }),
    // Lateness travels inside each result's meta (startedAt - dueAt).
    onLateness: () => undefined,
  }));
})();

// Under `slaprobe run` (the 'set' message's `settle`), 10 s after the first round of probes
// and every minute from then on, as the main thread does, this isolate gives back what it
// no longer uses (settleHeap, a pause of 50-80 ms idle), at a moment when no probe is
// running or waiting for a slot, so that the pause is in no measured time (scheduleSettling
// tries again for about a minute, then leaves it to the next time: an agent that is never
// idle, such as one at hundreds of probes a second, never pauses for it). Right after the
// first round instead of 10 s later measured 0.5 MiB more.
let stopSettling: (() => void) | undefined;

port.on('message', (m: ToEngine) => {
  if (m.type === 'set') {
    if (m.concurrency) concurrency = m.concurrency;
    const s = scheduler();
    s.set(m.targets);
    retainStreams(new Set(m.targets.filter((t) => t.kind === 'icmp').map((t) => t.name)));
    void s.firstRound().then(() => {
      post({ type: 'first-round' }, true);
      if (m.settle && !stopSettling && !stopCtl.signal.aborted) stopSettling = scheduleSettling(() => scheduler().busy() === 0);
    });
  } else if (m.type === 'heap') {
    void packetWorkerHeap().then((packet) => post({ type: 'heap', id: m.id, packet }, true));
  } else if (m.type === 'stop') {
    stopCtl.abort();
    stopSettling?.();
    void scheduler().stop().then(() => {
      stopStreams();
      if (flushTimer) clearTimeout(flushTimer);
      post({ type: 'stopped' }, true);
      port.close();
    });
  }
});
