// Quality breaches travel like outcomes: a udp-echo stream through a relay that adds 5 ms,
// against a 2 ms latency target, breaches; slaprobe_run_degraded reaches a real Prometheus
// with 0 at the runs before, a 1 at the verdict change (the very instant the agent's own store
// records the breach's start), and 1 at the runs after.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent.ts';
import { createLogger } from '../../src/log.ts';
import { storePath } from '../../src/store/index.ts';
import { tempDir, waitFor } from '../deploy/tools.ts';
import { type Relay, startRelay } from '../support/impair-relay.ts';
import { freeUdpPort } from '../support/servers.ts';
import { type Tsdb, startPrometheusReceiver } from '../support/tsdb.ts';

let agent: Agent | undefined;
let relay: Relay | undefined;
let db: Tsdb | undefined;
afterAll(async () => {
  await agent?.stop();
  await relay?.close();
  await db?.stop();
});

describe('degraded samples', () => {
  it('carry the verdict in force at each run and the change at its own time', async () => {
    db = await startPrometheusReceiver({ oooWindow: '1d' });
    const reflectorPort = await freeUdpPort();
    relay = await startRelay({ upstreamPort: reflectorPort, seed: 7, up: { delayMs: 5 } });
    const dir = tempDir('rw-degraded');
    const key = '0123456789abcdef0123';
    writeFileSync(join(dir, 'c.yaml'), [
      `agent: {region: eu-test, name: agent-a, listen: "127.0.0.1:0", data_dir: ${dir}/data}`,
      'targets:',
      `  - {name: media, kind: udp-echo, address: "127.0.0.1:${relay.port}", key: "${key}", packets: 150, spacing: 2ms, packet_timeout: 200ms, interval: 1s, timeout: 900ms, quality: {latency: 2ms}}`,
      `reflector: {listen: "127.0.0.1:${reflectorPort}", keys: {default: "${key}"}}`,
      `remote_write: [{name: central, url: "${db.writeUrl}", queue_config: {batch_send_deadline: 100ms}}]`,
    ].join('\n'));
    agent = await startAgent({ configFile: join(dir, 'c.yaml'), logger: createLogger('silent') });
    const series = await waitFor('a breach and two runs after it in the store', async () => {
      const s = await db!.raw('slaprobe_run_degraded');
      const v = s[0]?.samples ?? [];
      const first = v.findIndex((x) => x.value === 1);
      return first >= 0 && v.length - first >= 3 ? s : undefined;
    }, 30_000, 200);
    await agent.stop();
    agent = undefined;

    expect(series).toHaveLength(1);
    expect(series[0]!.labels).toMatchObject({ __name__: 'slaprobe_run_degraded', target: 'media', region: 'eu-test', agent: 'agent-a' });
    const d = new DatabaseSync(storePath(`${dir}/data`), { readOnly: true });
    const breach = d.prepare('SELECT start FROM degraded WHERE target = ? ORDER BY start LIMIT 1').get('media') as { start: number };
    d.close();
    const v = series[0]!.samples;
    const change = v.findIndex((x) => x.value === 1);
    expect(change).toBeGreaterThan(0);
    // The change sample: the breach's start as the store has it, to the millisecond.
    expect(v[change]!.ts).toBe(Math.floor(breach.start));
    // Runs before it carried 0; the runs pushed after it carry 1, at their own start times.
    const runs = new Set((await db.raw('slaprobe_run_success{target="media"}'))[0]!.samples.map((x) => x.ts));
    expect(v.slice(0, change).every((x) => x.value === 0 && runs.has(x.ts))).toBe(true);
    expect(runs.has(v[change]!.ts)).toBe(false);
    expect(v.slice(change + 1).every((x) => runs.has(x.ts))).toBe(true);
    expect(v.slice(change + 1, change + 3).map((x) => x.value)).toEqual([1, 1]);
  });
});
