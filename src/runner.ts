// Runs one probe: applies the run's deadline, times it, and hands the result to every sink
// in one fan-out loop. The runner, not the probes, owns timeouts and timing; a probe that
// ignores its abort signal is abandoned at the deadline (plus a grace period) so one broken
// target never holds a concurrency slot for long.
import type { Target } from './config/types.ts';
import type { Logger } from './log.ts';
import { PROBES } from './probes/index.ts';
import { type ProbeFn, type ProbeKind, type ProbeResult, fail } from './probes/types.ts';
import type { RunMeta, Sink } from './sinks/types.ts';

/** How long past its deadline a probe may take to wind down before it is abandoned. */
export const ABANDON_GRACE_MS = 1_000;

export async function runProbe(target: Target, parent?: AbortSignal, probes: Record<ProbeKind, ProbeFn> = PROBES): Promise<{ result: ProbeResult; durationSeconds: number }> {
  const timeout = AbortSignal.timeout(target.timeout);
  const signal = parent ? AbortSignal.any([timeout, parent]) : timeout;
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
  }
  const durationSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // A failure caused by our own deadline is a timeout, whatever error surfaced first.
  if (!result.success && timeout.aborted && result.reason !== 'timeout' && result.reason !== 'loss') {
    result = { ...result, reason: 'timeout', detail: `timed out after ${target.timeout} ms (${result.detail ?? result.reason})` };
  }
  return { result, durationSeconds };
}

export function createRunner(deps: { sinks: () => readonly Sink[]; log: Logger; signal?: AbortSignal; now?: () => number }) {
  const now = deps.now ?? Date.now;
  return async (target: Target, dueAt: number, startedAt: number): Promise<void> => {
    const { result, durationSeconds } = await runProbe(target, deps.signal);
    const meta: RunMeta = { dueAt, startedAt, finishedAt: now(), durationSeconds };
    for (const sink of deps.sinks()) {
      try {
        sink.onResult(target, result, meta);
      } catch (e) {
        deps.log.error({ err: e, target: target.name }, 'a result sink failed; the result still reached the other sinks');
      }
    }
  };
}
