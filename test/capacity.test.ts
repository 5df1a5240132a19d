// Capacity (issue 11, section 4): the demand a config puts on the engine is computed at load,
// published, and warned about beyond the benchmarked figures; lateness is measured up to a
// minute, so an overloaded agent's p99 is a number, not +Inf.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../src/agent.ts';
import { ENGINE_CAPACITY, capacityWarnings, demandOf } from '../src/engine/capacity.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics.ts';
import { closedPort } from './support/servers.ts';
import { echoTarget, makeTarget } from './support/targets.ts';
import { jsonLineStream } from './support/log-lines.ts';

describe('demand of a config', () => {
  it.each([
    ['100 http targets at 10 s', Array.from({ length: 100 }, () => makeTarget({ kind: 'http', url: 'http://127.0.0.1:1/', interval: '10s' })), 10, 0],
    ['100,000 targets at 60 s (the case that ran 17.6 s late)', Array.from({ length: 100_000 }, () => makeTarget({ kind: 'tcp', address: '127.0.0.1:1', interval: '60s' })), 100_000 / 60, 0],
    ['a udp-echo stream of 250 packets every 6 s', [echoTarget(1, { packets: 250, interval: 6000 })], 1 / 6, 250 / 6],
  ])('%s', (_what, targets, runs, packets) => {
    const d = demandOf(targets);
    expect(d.runs).toBeCloseTo(runs, 6);
    expect(d.train_packets).toBeCloseTo(packets, 6);
  });

  it('warns per resource beyond the measured capacity, and only then', () => {
    expect(capacityWarnings({ runs: ENGINE_CAPACITY.runs, train_packets: ENGINE_CAPACITY.train_packets })).toEqual([]);
    const w = capacityWarnings({ runs: 100_000 / 60, train_packets: 0 });
    expect(w).toHaveLength(1);
    expect(w[0]).toContain('1,667 probe runs/s');
    expect(w[0]).toContain('1,000/s');
    expect(capacityWarnings({ runs: 1, train_packets: 8_000 })[0]).toContain('train packets');
  });
});

describe('the agent at load', () => {
  it('warns in the log and publishes demand and capacity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-cap-'));
    const refused = await closedPort();
    // 1,200 runs/s asked; long timeouts are not needed, the agent is stopped at once.
    const targets = Array.from({ length: 1_200 }, (_, i) => `  - {name: t${i}, kind: tcp, address: "127.0.0.1:${refused}", interval: 1s, timeout: 100ms}`).join('\n');
    writeFileSync(join(dir, 'config.yaml'), `agent: {listen: "127.0.0.1:0", data_dir: ${dir}/data}\ntargets:\n${targets}\n`);
    const lines: Record<string, unknown>[] = [];
    const sink = jsonLineStream(lines);
    const agent = await startAgent({ configFile: join(dir, 'config.yaml'), logger: createLogger('info', sink) });
    try {
      const text = await agent.metrics.registry.metrics();
      expect(text).toMatch(/slaprobe_config_demand_per_second\{resource="runs",region="[^"]*"\} 1200/);
      expect(text).toMatch(/slaprobe_engine_capacity_per_second\{resource="runs",region="[^"]*"\} 1000/);
    } finally {
      await agent.stop();
    }
    const warn = lines.find((l) => l['level'] === 'warn' && String(l['msg']).includes('1,200 probe runs/s'));
    expect(warn, JSON.stringify(lines.filter((l) => l['level'] !== 'info'))).toBeDefined();
  }, 30_000);
});

describe('lateness buckets', () => {
  it('reach 60 s: a run 17.6 s late lands in a finite bucket', async () => {
    const m = createMetrics({ region: 'r', version: '0', defaultMetrics: false });
    m.schedulerLateness.observe(17.6);
    const text = await m.registry.metrics();
    expect(text).toMatch(/slaprobe_scheduler_lateness_seconds_bucket\{le="10",region="r"\} 0/);
    expect(text).toMatch(/slaprobe_scheduler_lateness_seconds_bucket\{le="30",region="r"\} 1/);
    expect(text).toMatch(/slaprobe_scheduler_lateness_seconds_bucket\{le="60",region="r"\} 1/);
  });
});
