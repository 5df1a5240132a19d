// Builders for availability tests: timelines written as consecutive (state, duration) steps.
import { parseDuration } from '../../src/config/duration.ts';
import { POLICY_DEFAULTS } from '../../src/config/sla.ts';
import type { ServiceState, SlaPolicy, Span } from '../../src/availability/types.ts';

export const T = (iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`bad time ${iso}`);
  return t;
};

export const ms = (d: string): number => {
  const v = parseDuration(d);
  if (v === undefined) throw new Error(`bad duration ${d}`);
  return v;
};

/** tl('2026-11-10T00:00:00Z', ['up', '10m'], ['down', '4m59s']) -> consecutive spans. */
export function tl<S extends string = ServiceState>(start: string, ...steps: [S, string][]): Span<S>[] {
  let t = T(start);
  return steps.map(([state, d]) => {
    const s = { start: t, end: t + ms(d), state };
    t = s.end;
    return s;
  });
}

export function pol(over: Partial<SlaPolicy> = {}): SlaPolicy {
  return { name: 'test', target: 99.9, ...POLICY_DEFAULTS, ...over };
}
