// The per-target families of src/metric-family.ts against prom-client's own classes: the same
// operations through both give the same exposition, byte for byte, the same JSON and the
// same errors.
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type LabelValues, LeanCounter, LeanGauge, LeanHistogram, LeanSumCount } from '../src/metric-family.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];

function pair() {
  const ref = new Registry();
  const lean = new Registry();
  for (const r of [ref, lean]) r.setDefaultLabels({ region: 'eu-1' });
  const labelNames = ['target', 'kind', 'result'];
  return {
    ref, lean,
    counter: [new Counter({ name: 'x_total', help: 'a counter\nwith \\ two lines', labelNames, registers: [ref] }), new LeanCounter({ name: 'x_total', help: 'a counter\nwith \\ two lines', labelNames, registers: [lean] })] as const,
    gauge: [new Gauge({ name: 'x_gauge', help: 'a gauge', labelNames: ['target', 'window', 'region'], registers: [ref] }), new LeanGauge({ name: 'x_gauge', help: 'a gauge', labelNames: ['target', 'window', 'region'], registers: [lean] })] as const,
    histogram: [new Histogram({ name: 'x_seconds', help: 'a histogram', labelNames: ['target', 'kind'], buckets: BUCKETS, registers: [ref] }), new LeanHistogram({ name: 'x_seconds', help: 'a histogram', labelNames: ['target', 'kind'], buckets: BUCKETS, registers: [lean] })] as const,
    summary: [new Summary({ name: 'x_phase_seconds', help: 'a summary', labelNames: ['target', 'phase'], percentiles: [], registers: [ref] }), new LeanSumCount({ name: 'x_phase_seconds', help: 'a summary', labelNames: ['target', 'phase'], registers: [lean] })] as const,
  };
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

describe('per-target metric families (src/metric-family.ts)', () => {
  it('write what prom-client writes for the same operations, names and values that need escaping included', async () => {
    const p = pair();
    const rand = rng(7);
    const names = ['a', 'b"quoted"', 'c\\back', 'd\nnewline', 'é-ünïcode', 'f'];
    const held = new Map<string, LabelValues>();
    for (let i = 0; i < 3000; i++) {
      const target = names[Math.floor(rand() * names.length)]!;
      const kind = rand() < 0.5 ? 'http' : 'icmp';
      const op = rand();
      // A label object kept and passed again (the sinks' way) and a fresh one (everyone else's).
      const key = `${target}/${kind}`;
      const kept = held.get(key) ?? { target, kind };
      held.set(key, kept);
      const labels = rand() < 0.5 ? kept : { kind, target };
      const v = Math.round(rand() * 2000) / 1000;
      for (const k of [0, 1] as const) {
        if (op < 0.3) p.counter[k].inc({ ...labels, result: v > 1 ? 'success' : 'failure' }, v);
        else if (op < 0.5) p.histogram[k].observe(labels, v);
        else if (op < 0.6) {
          // The lean family through a kept series handle, prom-client through the labels.
          if (k === 0) p.histogram[0].observe(labels, v * 1e-3);
          else p.histogram[1].observe(p.histogram[1].series(labels), v * 1e-3);
        }
        else if (op < 0.75) p.gauge[k].set({ target, window: v > 1 ? '1h' : '15m' }, op < 0.7 ? v : op < 0.72 ? NaN : -Infinity);
        else if (op < 0.8) p.gauge[k].set({ target, window: 'month', region: 'pinned' }, v);
        else if (op < 0.95) p.summary[k].observe({ target, phase: v > 1 ? 'connect' : 'tls' }, v);
        else if (op < 0.98) p.histogram[k].remove({ target, kind });
        else p.counter[k].remove({ target, kind, result: 'failure' });
      }
    }
    const want = await p.ref.metrics();
    const got = await p.lean.metrics();
    expect(want.split('\n').length).toBeGreaterThan(100);
    expect(got).toBe(want);

    // Values compared whatever their order and the order of their keys.
    const canon = (v: object): string => JSON.stringify(Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, x && typeof x === 'object' ? canon(x) : x])));
    const json = async (r: Registry) => (await r.getMetricsAsJSON()).map((x) => ({ ...x, values: x.values.map(canon).sort() }));
    expect(await json(p.lean)).toEqual(await json(p.ref));
  });

  it('chunks() writes the same bytes as the registry, in pieces of about 64 KiB', async () => {
    const reg = new Registry();
    reg.setDefaultLabels({ region: 'r' });
    const h = new LeanHistogram({ name: 'y_seconds', help: 'h', labelNames: ['target', 'kind'], buckets: BUCKETS, registers: [reg] });
    for (let i = 0; i < 5000; i++) h.observe({ target: `t-${i}`, kind: 'tcp' }, (i % 100) / 1000);
    const parts = [...h.chunks({ region: 'r' })];
    expect(parts.join('')).toBe(await reg.getSingleMetricAsString('y_seconds'));
    expect(parts.length).toBeGreaterThan(10);
    expect(Math.max(...parts.map((x) => x.length))).toBeLessThan(64 * 1024 + 2048);
  });

  it('a kept series handle survives remove() and reset(): the next update makes the series again', async () => {
    const reg = new Registry();
    const c = new LeanCounter({ name: 'z_total', help: 'c', labelNames: ['target'], registers: [reg] });
    const cell = c.series({ target: 'a' });
    c.inc(cell, 2);
    c.remove(cell);
    expect(c.size).toBe(0);
    c.inc(cell, 3);
    expect(c.size).toBe(1);
    expect(await reg.metrics()).toContain('z_total{target="a"} 3');
    c.reset();
    c.inc(cell);
    expect(await reg.metrics()).toContain('z_total{target="a"} 1');
  });

  it('refuses what prom-client refuses, with its words', () => {
    const p = pair();
    for (const [fn, message] of [
      [(k: 0 | 1) => p.counter[k].inc({ target: 'a' }, -1), 'It is not possible to decrease a counter'],
      [(k: 0 | 1) => p.counter[k].inc({ target: 'a' }, Infinity), 'Value is not a valid number'],
      [(k: 0 | 1) => p.histogram[k].observe({ target: 'a' }, NaN), 'Value is not a valid number'],
      [(k: 0 | 1) => p.histogram[k].observe({ target: 'a', zone: 'z' } as never, 1), 'Added label "zone" is not included in initial labelset'],
    ] as const) {
      expect(() => fn(0)).toThrow(message);
      expect(() => fn(1)).toThrow(message);
    }
  });
});
