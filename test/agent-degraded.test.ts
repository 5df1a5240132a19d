// The media path's verdict reaches the availability calculator (HEDU-5.8 / UMEET-5.8 L2):
// a udp-echo stream through a relay that adds 5 ms, against a 2 ms latency target, breaches;
// the agent then reports the service degraded, and the service is still up (degraded time
// is recorded but is not unavailable time).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../src/agent.ts';
import { createLogger } from '../src/log.ts';
import { type Relay, startRelay } from './support/impair-relay.ts';
import { freeUdpPort } from './support/servers.ts';
import { jsonLineStream } from './support/log-lines.ts';

let agent: Agent | undefined;
let relay: Relay | undefined;
afterAll(async () => {
  await agent?.stop();
  await relay?.close();
});

describe('quality breach -> degraded service', () => {
  it('a latency breach on the media path makes the service degraded, not down', async () => {
    const reflectorPort = await freeUdpPort();
    relay = await startRelay({ upstreamPort: reflectorPort, seed: 7, up: { delayMs: 5 } });
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-degraded-'));
    const key = '0123456789abcdef0123';
    writeFileSync(join(dir, 'c.yaml'), [
      `agent: {listen: "127.0.0.1:0", data_dir: ${dir}/data}`,
      'targets:',
      `  - {name: media, kind: udp-echo, address: "127.0.0.1:${relay.port}", key: "${key}", packets: 150, spacing: 2ms, packet_timeout: 200ms, interval: 1s, timeout: 900ms, quality: {latency: 2ms}}`,
      'services:',
      '  - {name: meeting, targets: [media], sla: [hedu]}',
      `reflector: {listen: "127.0.0.1:${reflectorPort}", keys: {default: "${key}"}}`,
    ].join('\n'));
    const logs: Record<string, unknown>[] = [];
    const sink = jsonLineStream(logs);
    agent = await startAgent({ configFile: join(dir, 'c.yaml'), logger: createLogger('info', sink) });
    const metrics = async () => (await fetch(`http://127.0.0.1:${agent!.address().port}/metrics`)).text();
    let text = '';
    for (let i = 0; i < 100; i++) {
      // The log line first, then the scrape: a scrape begun before the change would not show it.
      const degraded = logs.some((l) => l['service'] === 'meeting' && l['to'] === 'degraded');
      text = await metrics();
      if (degraded) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toMatch(/slaprobe_quality_breached\{target="media",quantity="latency",window="15m",region="local"\} 1/);
    expect(logs.find((l) => l['service'] === 'meeting' && l['to'] === 'degraded')).toBeDefined();
    // The L2 deadline's clock: when the breach began, in the same second as the state change.
    expect(text).toMatch(/slaprobe_quality_breached_since_timestamp_seconds\{target="media",region="local"\} \d+/);
    expect(text).toMatch(/slaprobe_service_up\{service="meeting",region="local"\} 1/);
    expect(text).not.toMatch(/slaprobe_outage_open_since_timestamp_seconds\{service="meeting"/);
  });
});
