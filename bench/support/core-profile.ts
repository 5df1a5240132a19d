// Summarizes the .cpuprofile files that `node --cpu-prof` writes (one per thread: the main
// thread and the engine worker) into lines of self time: by area of the code, then the
// heaviest functions. Self time of a node = its sample hits x the mean sampling interval.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

interface CpuProfile {
  nodes: { id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** Where a function lives, in the few areas that say where an agent's time goes. */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/node_modules/prom-client/')) return 'prom-client';
  if (url.includes('/node_modules/p-limit/') || url.includes('/node_modules/yocto-queue/')) return 'p-limit';
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.startsWith('node:')) return url.replace(/^node:internal\/([^/]+).*$/, 'node:$1');
  if (url.includes('/src/')) return `src/${url.split('/src/')[1]}`;
  return basename(url);
}

export function summarizeProfiles(dir: string, top = 15): string[] {
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  let totalMs = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const perSample = (p.endTime - p.startTime) / 1000 / Math.max(1, p.samples.length);
    for (const n of p.nodes) {
      const fn = n.callFrame.functionName || '(anonymous)';
      if (fn === '(idle)' || !n.hitCount) continue;
      const ms = n.hitCount * perSample;
      totalMs += ms;
      const a = area(n.callFrame.url, fn);
      byArea.set(a, (byArea.get(a) ?? 0) + ms);
      const k = `${fn} ${n.callFrame.url ? `${basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
      byFn.set(k, (byFn.get(k) ?? 0) + ms);
    }
  }
  const pct = (ms: number) => `${((100 * ms) / Math.max(1, totalMs)).toFixed(1).padStart(5)} %`;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `  busy ${(totalMs / 1000).toFixed(1)} s over the whole run (start-up and warm-up included); by area:`,
    ...sorted(byArea).map(([k, ms]) => `  ${pct(ms)}  ${k}`),
    '  heaviest functions:',
    ...sorted(byFn).map(([k, ms]) => `  ${pct(ms)}  ${k}`),
  ];
}
