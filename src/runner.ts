// Runs one probe: applies the run's deadline and times it. The runner, not the probes, owns
// timeouts and timing (the agent fans results out to the sinks); a probe that
// ignores its abort signal is abandoned at the deadline (plus a grace period) so one broken
// target never holds a concurrency slot for long.
import type { Target } from './config/types.ts';
import { PROBES } from './probes/index.ts';
import { type ProbeFn, type ProbeKind, type ProbeResult, fail } from './probes/types.ts';

/** How long past its deadline a probe may take to wind down before it is abandoned. */
export const ABANDON_GRACE_MS = 1_000;

export async function runProbe(target: Target, parent?: AbortSignal, probes: Record<ProbeKind, ProbeFn> = PROBES): Promise<{ result: ProbeResult; durationSeconds: number }> {
  // One controller per run, aborted by the deadline or by the parent (shutdown). Not
  // AbortSignal.timeout/any: they keep a timer or a dependent on the long-lived parent
  // after the run, and at a thousand runs a second that is garbage the heap keeps growing on.
  const ctl = new AbortController();
  const signal = ctl.signal;
  let timedOut = false;
  const deadline = setTimeout(() => { timedOut = true; ctl.abort(Object.assign(new Error('deadline'), { name: 'TimeoutError', code: 'ABORT_ERR' })); }, target.timeout);
  const onParent = () => ctl.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  const t0 = process.hrtime.bigint();
  let timer: NodeJS.Timeout | undefined;
  const abandoned = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve(fail('timeout', `probe did not finish within ${target.timeout} ms (+${ABANDON_GRACE_MS} ms grace); abandoned`, { code: 'ABANDONED' })), target.timeout + ABANDON_GRACE_MS);
  });
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
  return { result, durationSeconds };
}
