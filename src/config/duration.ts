const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses "500ms", "30s", "5m", "1h30m", "1.5s", "2d" into milliseconds (Prometheus-style
 * units, plus fractions). Returns undefined for anything else, including a bare number:
 * "30" is ambiguous between seconds and milliseconds, so it is refused.
 */
export function parseDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let i = 0;
  const t = s.trim();
  if (t === '') return undefined;
  while (i < t.length) {
    re.lastIndex = i;
    const m = re.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    i = re.lastIndex;
  }
  return Math.round(total);
}
