// Config reloads, one at a time and at most one a second, from SIGHUP or POST /-/reload.
// A reload asked for while one runs is queued (once: later asks join it), so the last edit
// is always loaded; a burst of HTTP asks is refused with 429 rather than queued, so no
// caller can keep the agent re-reading files.
export type ReloadOutcome = { ok: boolean; messages: string[] };

export interface Reloader {
  /** SIGHUP: always reloads, after the one running and the minimum gap. */
  request(): Promise<ReloadOutcome>;
  /** HTTP: 'too-soon' when one is queued or the last ended under the gap ago. */
  tryRequest(): Promise<ReloadOutcome> | 'too-soon';
}

export function createReloader(run: () => Promise<ReloadOutcome>, minGapMs = 1_000, now: () => number = Date.now): Reloader {
  let running: Promise<ReloadOutcome> | undefined;
  let queued: Promise<ReloadOutcome> | undefined;
  let lastEnd = -Infinity;
  const start = (): Promise<ReloadOutcome> => {
    running = run().catch((e: unknown) => ({ ok: false, messages: [String(e)] })).finally(() => {
      lastEnd = now();
      running = undefined;
    });
    return running;
  };
  const request = (): Promise<ReloadOutcome> => {
    if (queued) return queued;
    if (!running && now() - lastEnd >= minGapMs) return start();
    const before = running ?? Promise.resolve();
    queued = before.then(async () => {
      const wait = lastEnd + minGapMs - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      queued = undefined;
      return start();
    });
    return queued;
  };
  return {
    request,
    tryRequest() {
      if (queued || now() - lastEnd < minGapMs) return 'too-soon';
      return request();
    },
  };
}
