// slaprobe_isolate_heap_* from a real `slaprobe run` with every isolate it can have: the main
// thread, the probe engine, the packet worker (started by the first udp-echo train) and the
// reflector. Each value is V8's own reading on that thread; the main thread's is checked
// against prom-client's nodejs_heap_size_used_bytes from the same scrape.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentUrl, killAgents, spawnAgent } from './support/agent-process.ts';
import { freeUdpPort } from './support/servers.ts';

const KEY = '0123456789abcdef0123';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
afterEach(killAgents);

/** The values of a gauge by its isolate label. */
function byIsolate(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{isolate="(\\w+)",region="[^"]*"\\} (\\S+)$`, 'gm'))) out[m[1]!] = Number(m[2]);
  return out;
}

describe('slaprobe_isolate_heap_* on the running agent', () => {
  it('reads each isolate from its own thread: used within size, the main thread\'s alongside prom-client\'s figure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-heap-'));
    const port = await freeUdpPort();
    writeFileSync(join(dir, 'config.yaml'), `
agent: {listen: "127.0.0.1:0", data_dir: ${dir}/data}
reflector: {listen: "127.0.0.1:${port}", keys: {k1: "${KEY}"}}
targets:
  - {name: echo, kind: udp-echo, address: "127.0.0.1:${port}", key: "${KEY}", key_id: k1, packets: 20, spacing: 5ms, interval: 1s, timeout: 900ms}
`);
    const agent = spawnAgent(['run', '--config', join(dir, 'config.yaml')]);
    const http = await agentUrl(agent);
    let text = '';
    for (let i = 0; i < 150 && Object.keys(byIsolate(text, 'slaprobe_isolate_heap_used_bytes')).length < 4; i++) {
      await sleep(100);
      text = await (await fetch(`${http}/metrics`)).text();
    }
    const used = byIsolate(text, 'slaprobe_isolate_heap_used_bytes');
    const size = byIsolate(text, 'slaprobe_isolate_heap_size_bytes');
    const external = byIsolate(text, 'slaprobe_isolate_external_memory_bytes');
    expect(Object.keys(used).sort()).toEqual(['engine', 'main', 'packet', 'reflector']);
    for (const isolate of Object.keys(used)) {
      // A V8 isolate with Node's bootstrap loaded holds megabytes; used never exceeds reserved.
      expect(used[isolate], isolate).toBeGreaterThan(1e6);
      expect(used[isolate]!, isolate).toBeLessThanOrEqual(size[isolate]!);
      expect(external[isolate], isolate).toBeGreaterThan(0);
    }
    // The main thread's isolate holds the metrics, sinks and server: the largest here.
    expect(used['main']).toBeGreaterThan(used['reflector']!);
    const nodeUsed = Number(/^nodejs_heap_size_used_bytes\{region="[^"]*"\} (\S+)$/m.exec(text)?.[1]);
    expect(used['main']! / nodeUsed).toBeGreaterThan(0.5);
    expect(used['main']! / nodeUsed).toBeLessThan(2);
  }, 40_000);
});
