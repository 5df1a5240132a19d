// Runs one probe: applies the run's deadline and times it. The runner, not the probes, owns
// timeouts and timing (the agent fans results out to the sinks); a probe that
// ignores its abort signal is abandoned at the deadline (plus a grace period) so one broken
// target never holds a concurrency slot for long.
import type { Target } from './config/types.ts';
import { PROBES } from './probes/index.ts';
import { ABANDON_GRACE_MS, STALL_MS, type ProbeFn, type ProbeKind, type ProbeResult, fail } from './probes/types.ts';

export { STALL_MS } from './probes/types.ts';

export async function runProbe(target: Target, parent?: AbortSignal, probes: Record<ProbeKind, ProbeFn> = PROBES): Promise<{ result: ProbeResult; durationSeconds: number; stalledMs: number }> {
  // One controller per run, aborted by the deadline or by the parent (shutdown). Not
  // AbortSignal.timeout/any: they keep a timer or a dependent on the long-lived parent
  // after the run, and at a thousand runs a second that is garbage the heap keeps growing on.
  const ctl = new AbortController();
  const signal = ctl.signal;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  let abandon: (r: ProbeResult) => void = () => undefined;
  const abandoned = new Promise<ProbeResult>((resolve) => { abandon = resolve; });
  // Past the abort, a probe that ignores its signal is left behind after the grace.
  const abort = (reason: unknown) => {
    ctl.abort(reason);
    timer ??= setTimeout(() => abandon(fail('timeout', `probe did not finish within ${target.timeout} ms (+${ABANDON_GRACE_MS} ms grace); abandoned`, { code: 'ABANDONED' })), ABANDON_GRACE_MS);
  };
  let stalledMs = 0;
  let due = performance.now() + target.timeout;
  let deadline: NodeJS.Timeout;
  const onDeadline = () => {
    const late = performance.now() - due;
    const give = Math.min(late, target.timeout - stalledMs);
    if (late > STALL_MS && give > 0) {
      stalledMs += give;
      due = performance.now() + give;
      deadline = setTimeout(onDeadline, give);
      return;
    }
    timedOut = true;
    abort(Object.assign(new Error('deadline'), { name: 'TimeoutError', code: 'ABORT_ERR' }));
  };
  deadline = setTimeout(onDeadline, target.timeout);
  const onParent = () => abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  const t0 = process.hrtime.bigint();
  let result: ProbeResult;
  try {
    result = await Promise.race([probes[target.kind](target, signal), abandoned]);
  } catch (e) {
    // A probe rejects only on a bug; the run is still recorded, as reason "error".
    result = fail('error', `probe crashed: ${(e as Error)?.stack?.split('\n').slice(0, 2).join(' ') ?? String(e)}`, { code: 'PROBE_BUG' });
  } finally {
    clearTimeout(timer);
    clearTimeout(deadline);
    parent?.removeEventListener('abort', onParent);
  }
  const durationSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // A failure caused by our own deadline is a timeout, whatever error surfaced first.
  if (!result.success && timedOut && result.reason !== 'timeout' && result.reason !== 'loss') {
    result = { ...result, reason: 'timeout', detail: `timed out after ${target.timeout} ms (${result.detail ?? result.reason})` };
  }
  const moved = Math.round(stalledMs);
  if (!result.success && timedOut && moved > 0) {
    result = { ...result, detail: `${result.detail ?? 'timeout'}; the deadline was moved ${moved} ms for a stall of the agent's event loop` };
  }
  return { result, durationSeconds, stalledMs: moved };
}
