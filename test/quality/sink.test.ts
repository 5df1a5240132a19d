import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';
import { estimateMos } from '../../src/quality/mos.ts';
import type { ProbeResult } from '../../src/probes/types.ts';
import { createQualitySink, windowLabel } from '../../src/sinks/quality.ts';
import { echoTarget } from '../support/targets.ts';

const meta = { dueAt: 0, startedAt: 0, finishedAt: 0, durationSeconds: 1 };

/** A run of n packets, `lost` of them lost, RTTs alternating rtt and rtt + step (|D| = step). */
function run(n: number, lost: number, rtt = 0.02, step = 0.002): ProbeResult {
  const rtts = Array.from({ length: n - lost }, (_, i) => rtt + (i % 2) * step);
  return { success: true, packets: { sent: n, received: n - lost, lost, rtts, seqs: rtts.map((_, i) => i) } };
}

async function gauge(m: ReturnType<typeof createMetrics>, name: 'qualityBreached' | 'lossUpperBound' | 'lossPacketsNeeded' | 'jitter' | 'mos', labels: Record<string, string>) {
  const g = await m[name].get();
  return g.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k as keyof typeof v.labels] === x))?.value;
}

describe('quality sink', () => {
  it.each([[15 * 60_000, '15m'], [3_600_000, '1h'], [86_400_000, '1d'], [90_000, '90s']])('window label of %d ms is %s', (w, l) => {
    expect(windowLabel(w)).toBe(l);
  });

  it('accumulates loss over the window until the verdict can be met, and forgets what slides out', async () => {
    const m = createMetrics({ region: 't', version: '0', defaultMetrics: false });
    let now = Date.UTC(2026, 10, 21, 12, 0, 0);
    const sink = createQualitySink({ metrics: m, now: () => now });
    const t = echoTarget(1);
    sink.onResult(t, run(250, 0), meta);
    expect(await gauge(m, 'qualityBreached', { target: t.name, quantity: 'loss', window: '15m' })).toBe(-1);
    expect(await gauge(m, 'lossPacketsNeeded', { target: t.name, window: '15m' })).toBe(5990 - 250);
    // 24 runs of 250 loss-free packets = 6,000 packets, inside 15 minutes.
    for (let i = 0; i < 23; i++) { now += 30_000; sink.onResult(t, run(250, 0), meta); }
    expect(await gauge(m, 'qualityBreached', { target: t.name, quantity: 'loss', window: '15m' })).toBe(0);
    expect(await gauge(m, 'lossUpperBound', { target: t.name, window: '15m' })).toBeCloseTo(1 - Math.pow(0.05, 1 / 6000), 12);
    expect(await gauge(m, 'qualityBreached', { target: t.name, quantity: 'jitter', window: '1h' })).toBe(0);
    expect(sink.verdicts(t.name)?.['month']?.loss.verdict).toBe('met');
    // 20 minutes later, one more run: the 15 m window holds only it; the hour and the month still have everything.
    now += 20 * 60_000;
    sink.onResult(t, run(250, 0), meta);
    expect(sink.verdicts(t.name)?.['15m']?.loss.verdict).toBe('insufficient_data');
    expect(sink.verdicts(t.name)?.['1h']?.loss.verdict).toBe('met');
  });

  it('reports entering and leaving breach, and resets the month at the UTC month boundary', async () => {
    const m = createMetrics({ region: 't', version: '0', defaultMetrics: false });
    let now = Date.UTC(2026, 10, 30, 23, 50, 0);
    const changes: Array<[string, boolean]> = [];
    const sink = createQualitySink({ metrics: m, now: () => now, onBreachChange: (name, b) => changes.push([name, b]) });
    const t = echoTarget(1);
    sink.onResult(t, run(250, 25), meta); // 10 % loss: breached at once
    expect(changes).toEqual([[t.name, true]]);
    expect(sink.verdicts(t.name)?.['month']?.loss.verdict).toBe('breached');
    now = Date.UTC(2026, 11, 1, 0, 20, 0); // December; the loss left the 15 m window too
    sink.onResult(t, run(250, 0), meta);
    expect(changes).toEqual([[t.name, true], [t.name, false]]);
    expect(sink.verdicts(t.name)?.['month']?.loss).toMatchObject({ verdict: 'insufficient_data', needed: 5990 - 250 });
    expect(sink.verdicts(t.name)?.['1h']?.loss.verdict).toBe('breached');
  });

  it('jitter breach from RFC 3550 jitter above the target, and the gauges removed on reload', async () => {
    const m = createMetrics({ region: 't', version: '0', defaultMetrics: false });
    const sink = createQualitySink({ metrics: m, now: () => 1_000_000 });
    const t = echoTarget(1);
    sink.onResult(t, run(250, 0, 0.02, 0.06), meta); // |D| = 60 ms > 50 ms
    expect(await gauge(m, 'jitter', { target: t.name })).toBeCloseTo(0.06, 9);
    expect(sink.verdicts(t.name)?.['15m']?.jitter).toBe('breached');
    // Mean RTT 50 ms (half at 20, half at 80), jitter 60 ms, no loss.
    expect(await gauge(m, 'mos', { target: t.name })).toBeCloseTo(estimateMos(50, 60, 0), 9);
    sink.reload([]);
    expect(await gauge(m, 'jitter', { target: t.name })).toBeUndefined();
    expect(sink.verdicts(t.name)).toBeUndefined();
  });
});
