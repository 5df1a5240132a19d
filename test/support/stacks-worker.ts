// A worker thread with the probe engine's stack policy (src/engine/stacks.ts), for
// test/engine/stacks.test.ts: it runs real HTTP probes against the test's servers and reports
// what every error's stack became. Not the engine itself (its module starts a scheduler).
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { quietStacks } from '../../src/engine/stacks.ts';
import { httpProbe } from '../../src/probes/http.ts';
import type { ProbeFn } from '../../src/probes/types.ts';
import { runProbe } from '../../src/runner.ts';
import { makeTarget } from './targets.ts';

quietStacks();
// Every stack this isolate formats, by error name, as the policy formatted it.
const formatted: { name: string; stack: string }[] = [];
const policy = Error.prepareStackTrace!;
Error.prepareStackTrace = (e, frames) => {
  const s = policy(e, frames) as string;
  formatted.push({ name: e.name, stack: s });
  return s;
};

const { InformationalError } = createRequire(import.meta.url)('undici/lib/core/errors.js') as { InformationalError: new (m: string) => Error };

const makesAnError = (): Error => Object.assign(new Error('plain'), { code: 'ECONNREFUSED' });
const callsIt = (): Error => makesAnError();

function readsAMissingField(x: { a?: { b: number } }): number {
  return x.a!.b;
}

const { urls } = workerData as { urls: Record<string, string> };
const probes: Record<string, unknown> = {};
for (const [k, url] of Object.entries(urls)) {
  const { result } = await runProbe(makeTarget({ kind: 'http', url }), undefined, { http: httpProbe } as Record<string, ProbeFn> as never);
  probes[k] = result;
}
const crashing: ProbeFn = async () => ({ success: true, phases: { ttfb: readsAMissingField({}) } });
const bug = await runProbe(makeTarget({ kind: 'http', url: urls['keepAlive']! }), undefined, { http: crashing } as never);
parentPort!.postMessage({
  probes,
  bug: bug.result,
  undiciStack: new InformationalError('reset').stack,
  plainStack: callsIt().stack,
  formatted,
});
