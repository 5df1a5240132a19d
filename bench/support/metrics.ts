// Reading an agent's /metrics in the benches: sums of a family's samples and a histogram's
// quantile over the deltas of two scrapes, as PromQL's histogram_quantile computes it.

/** Scrapes a /metrics endpoint once. */
export async function scrape(url: string): Promise<ReturnType<typeof parseMetrics>> {
  return parseMetrics(await (await fetch(url)).text());
}

/** Sums of every sample of a metric family, and the cumulative buckets of a histogram. */
export function parseMetrics(text: string) {
  const sum = (name: string, labelFilter = '') => {
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
        if (labelFilter && !line.includes(labelFilter)) continue;
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  };
  const buckets = (name: string): [number, number][] => {
    const out: [number, number][] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}_bucket{`)) continue;
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le !== undefined) out.push([le === '+Inf' ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(' ') + 1))]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  };
  return { sum, buckets };
}

/** histogram_quantile over the deltas of two scrapes of cumulative buckets. */
export function bucketQuantile(q: number, before: [number, number][], after: [number, number][]): number {
  const d = after.map(([le, c], i) => [le, c - (before[i]?.[1] ?? 0)] as [number, number]);
  const total = d.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, c] of d) {
    if (c >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, c - below);
    }
    lower = le;
    below = c;
  }
  return lower;
}

