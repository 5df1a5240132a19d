import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';
import type { Target } from '../../src/config/types.ts';
import type { ProbeResult } from '../../src/probes/types.ts';
import { createMetricsSink } from '../../src/sinks/metrics.ts';
import { echoTarget } from '../support/targets.ts';

const meta = (durationSeconds: number) => ({ dueAt: 0, startedAt: 0, finishedAt: 0, durationSeconds });
const http = (name: string) => ({ ...echoTarget(1), name, kind: 'http' }) as unknown as Target;
const lines = (text: string, target: string) => text.split('\n').filter((l) => l.includes(`target="${target}"`));
/** The value of `series` (name{labels}) in an exposition, whatever the order of its labels. */
const value = (text: string, series: string) => {
  const key = (s: string) => { const [name, rest = ''] = s.split('{'); return `${name}{${rest.replace(/}$/, '').split(',').filter(Boolean).sort().join(',')}}`; };
  const want = key(series);
  const line = text.split('\n').find((l) => !l.startsWith('#') && key(l.slice(0, l.lastIndexOf(' '))) === want);
  return Number(line?.slice(line.lastIndexOf(' ') + 1));
};

describe('metrics sink', () => {
  it('writes every series of a run to its target, and a removed target leaves none behind', async () => {
    const m = createMetrics({ region: 'r', version: '0', defaultMetrics: false });
    const sink = createMetricsSink(m);
    const web = http('web');
    const echo = echoTarget(2);
    sink.onResult(web, { success: true, phases: { connect: 0.001, ttfb: 0.004 }, tls: { certNotAfter: 2e9 } }, meta(0.01));
    sink.onResult(web, { success: true, phases: { connect: 0.003, ttfb: 0.002 } }, meta(0.02));
    sink.onResult(web, { success: false, reason: 'status', phases: { connect: 0.002 } }, meta(0.03));
    const lostRun: ProbeResult = { success: true, packets: { sent: 10, received: 8, rtts: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008], lostUpstream: 1, lostDownstream: 1, invalid: { bad_mac: 3 }, lossBurstMax: 1 } };
    sink.onResult(echo, lostRun, meta(0.5));
    sink.onResult(echo, lostRun, meta(0.5));
    let text = await m.registry.metrics();
    expect(value(text, 'slaprobe_probes_total{target="web",kind="http",result="success",region="r"}')).toBe(2);
    expect(value(text, 'slaprobe_probe_failures_total{target="web",kind="http",reason="status",region="r"}')).toBe(1);
    expect(value(text, 'slaprobe_probe_success{target="web",kind="http",region="r"}')).toBe(0);
    expect(value(text, 'slaprobe_probe_duration_seconds_count{target="web",kind="http",region="r"}')).toBe(3);
    expect(value(text, 'slaprobe_probe_duration_seconds_sum{target="web",kind="http",region="r"}')).toBeCloseTo(0.06, 12);
    // Phases: sum and count per phase, no quantile series.
    expect(value(text, 'slaprobe_http_phase_duration_seconds_sum{target="web",phase="connect",region="r"}')).toBeCloseTo(0.006, 12);
    expect(value(text, 'slaprobe_http_phase_duration_seconds_count{target="web",phase="connect",region="r"}')).toBe(3);
    expect(value(text, 'slaprobe_http_phase_duration_seconds_count{target="web",phase="ttfb",region="r"}')).toBe(2);
    expect(text).not.toMatch(/slaprobe_http_phase_duration_seconds\{/);
    expect(value(text, 'slaprobe_tls_cert_expiry_timestamp_seconds{target="web",region="r"}')).toBe(2e9);
    expect(value(text, `slaprobe_packets_sent_total{target="${echo.name}",kind="udp-echo",region="r"}`)).toBe(20);
    expect(value(text, `slaprobe_packets_lost_total{target="${echo.name}",kind="udp-echo",direction="upstream",region="r"}`)).toBe(2);
    expect(value(text, `slaprobe_packets_lost_total{target="${echo.name}",kind="udp-echo",direction="round_trip",region="r"}`)).toBe(0);
    expect(value(text, `slaprobe_packets_invalid_total{target="${echo.name}",kind="udp-echo",reason="bad_mac",region="r"}`)).toBe(6);
    expect(value(text, `slaprobe_rtt_seconds_count{target="${echo.name}",kind="udp-echo",region="r"}`)).toBe(16);
    expect(value(text, `slaprobe_rtt_seconds_bucket{le="0.005",target="${echo.name}",kind="udp-echo",region="r"}`)).toBe(10);
    const webSeries = lines(text, 'web').length;
    expect(webSeries).toBeGreaterThan(20);

    sink.forget('web');
    text = await m.registry.metrics();
    expect(lines(text, 'web')).toEqual([]);
    expect(lines(text, echo.name).length).toBeGreaterThan(20);
    sink.forget(echo.name);
    expect(lines(await m.registry.metrics(), echo.name)).toEqual([]);
    // Back after a reload: the series start again from nothing.
    sink.onResult(web, { success: true, phases: { connect: 0.001 } }, meta(0.01));
    text = await m.registry.metrics();
    expect(value(text, 'slaprobe_probes_total{target="web",kind="http",result="success",region="r"}')).toBe(1);
    expect(value(text, 'slaprobe_http_phase_duration_seconds_count{target="web",phase="connect",region="r"}')).toBe(1);
  });

  it('a target whose kind changed under the same name keeps no series of the old kind', async () => {
    const m = createMetrics({ region: 'r', version: '0', defaultMetrics: false });
    const sink = createMetricsSink(m);
    sink.onResult(http('x'), { success: true }, meta(0.01));
    sink.onResult({ ...http('x'), kind: 'tcp' } as Target, { success: true }, meta(0.01));
    const text = await m.registry.metrics();
    expect(lines(text, 'x').filter((l) => l.includes('kind="http"'))).toEqual([]);
    expect(value(text, 'slaprobe_probes_total{target="x",kind="tcp",result="success",region="r"}')).toBe(1);
  });
});
