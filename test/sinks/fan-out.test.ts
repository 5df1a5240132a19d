// The agent's fan-out of results to its sinks: a sink that throws is counted by name and
// logged at most once a minute (with how many failures the line stands for), and the other
// sinks still get every result. The failing sink here is the real push sink on a real outbox
// joined to a real store that has not committed for 100,000 samples (its commits failing).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { openOutbox } from '../../src/fleet/outbox.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { SINK_LOG_EVERY, createFanOut } from '../../src/sinks/fan-out.ts';
import { createMetricsSink } from '../../src/sinks/metrics.ts';
import { createPushSink } from '../../src/sinks/push.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { closedPort } from '../support/servers.ts';
import { jsonLineStream } from '../support/log-lines.ts';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe('fan-out to the sinks', () => {
  it('a throwing sink is counted by name, logged once a minute with what it suppressed, and the other sinks get every result', async () => {
    const d = mkdtempSync(join(tmpdir(), 'slaprobe-fanout-'));
    const config = parseConfig(`
agent: {region: eu, name: a1, data_dir: ${d}}
targets:
  - {name: api, kind: tcp, address: "127.0.0.1:${await closedPort()}", interval: 10s, timeout: 1s}
services:
  - {name: portal, targets: [api]}
remote_write:
  - {name: central, url: "http://127.0.0.1:${await closedPort()}/api/v1/write", queue_config: {min_backoff: 1s, max_backoff: 1s}}
`, 'agent.yaml');
    const store: Store = openStore(d);
    closers.push(() => store.close());
    const metrics = createMetrics({ region: 'eu', version: 'test', defaultMetrics: false });
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('info', jsonLineStream(lines));
    const outbox = openOutbox({ dataDir: d, store, metrics, log });
    closers.push(() => outbox.close());
    await outbox.setRemotes(config.remote_write);
    // 99,999 samples wait for a commit that does not come: the next run's three do not fit.
    outbox.append(Array.from({ length: 99_999 }, (_, i) => ({ labels: [['__name__', 'slaprobe_run_success'], ['target', 'x']] as const, ts: i, value: 1 })));

    let clock = 1_000_000;
    const fanOut = createFanOut([
      { name: 'push', sink: createPushSink({ config, outbox, sizes: new Map([['portal', 1]]) }) },
      { name: 'metrics', sink: createMetricsSink(metrics) },
    ], { metrics, log, now: () => clock });
    const target = config.targets[0]!;
    const run = (i: number) => fanOut(target, { success: false, reason: 'refused' }, { dueAt: i * 10_000, startedAt: i * 10_000, finishedAt: i * 10_000 + 1, durationSeconds: 0.001 });
    const value = async (re: RegExp) => Number(re.exec(await metrics.registry.metrics())?.[1]);
    const sinkErrors = (sink: string) => value(new RegExp(`^slaprobe_sink_errors_total\\{sink="${sink}"[^}]*\\} (\\d+)`, 'm'));
    const probes = () => value(/^slaprobe_probes_total\{target="api"[^}]*result="failure"[^}]*\} (\d+)/m);

    expect(await sinkErrors('push')).toBe(0); // born at 0, so rate() sees the first failure
    for (let i = 1; i <= 5; i++) run(i);
    expect(await sinkErrors('push')).toBe(5);
    expect(await sinkErrors('metrics')).toBe(0);
    expect(await probes()).toBe(5); // the metrics sink, after the failing one, got every run
    const failed = lines.filter((l) => l['sink'] === 'push');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'error', sink: 'push', target: 'api', code: 'SLAPROBE_OUTBOX_UNCOMMITTED' });

    clock += SINK_LOG_EVERY;
    run(6);
    expect(await sinkErrors('push')).toBe(6);
    expect(lines.filter((l) => l['sink'] === 'push').map((l) => l['suppressed_since_last_line'])).toEqual([undefined, 4]);

    // Once the store commits, the push sink takes the runs again.
    store.flush();
    run(7);
    expect(await sinkErrors('push')).toBe(6);
    expect(await probes()).toBe(7);
    expect(store.uncommitted()).toBe(3); // run 7's three samples, for the next commit
  });
});
