// Stack traces in the probe engine (docs/bench-core.md "An eighth look"). A probe's errors
// are data: the runner and the probes read their `code` and `message` (src/probes/errors.ts),
// never their stack. undici builds an error for the normal end of every one-shot connection
// (InformationalError 'reset', ClientDestroyedError), and Node's stream destroy() formats its
// stack at once (it reads `err.stack`); capturing and formatting those stacks was about a
// fifth of the engine's CPU per HTTP probe at 500 probes/s.
//
// So in this isolate an error keeps one frame (where it was thrown: all a bug's report,
// "probe crashed: <message> <frame>", ever showed), and undici's own errors are formatted
// without frames (their frames are undici's internals). Every other error's stack is
// formatted by Node's formatter as before.

type Formatter = (error: Error, frames: NodeJS.CallSite[]) => unknown;

/** True for undici's errors (every one has a code UND_ERR_*): their stacks say nothing about a probe. */
export const isUndiciError = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('UND_ERR_');
};

/** Sets this isolate's stack policy; `formatter` is the one in place before (Node's). */
export function quietStacks(formatter: Formatter | undefined = Error.prepareStackTrace): void {
  Error.stackTraceLimit = 1;
  Error.prepareStackTrace = (error, frames) => {
    try {
      if (isUndiciError(error)) return `${error.name}: ${error.message}`;
    } catch {
      // An error whose code cannot be read is formatted as any other.
    }
    return formatter ? formatter(error, frames) : `${String(error)}${frames.map((f) => `\n    at ${String(f)}`).join('')}`;
  };
}
