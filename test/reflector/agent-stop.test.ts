// A real `slaprobe run` process (issue 11, section 1): the packet that used to end the
// reflector's thread, then SIGTERM. The agent must answer /readyz about its reflector and
// stop by itself, whatever state its workers are in; a hang is what this test catches.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRequest } from '../../src/reflector/wire.ts';
import { agentUrl, killAgents, spawnAgent } from '../support/agent-process.ts';
import { sendRawUdp } from '../support/raw-udp.ts';
import { closedPort, freeUdpPort } from '../support/servers.ts';

const KEY = '0123456789abcdef0123';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
afterEach(killAgents);

describe('slaprobe run with a reflector', () => {
  it('survives a request from source port 0, stays ready, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-stop-'));
    const refused = await closedPort();
    const reflPort = await freeUdpPort();
    writeFileSync(join(dir, 'config.yaml'), `
agent: {listen: "127.0.0.1:0", data_dir: ${dir}/data}
targets:
  - {name: refused, kind: tcp, address: "127.0.0.1:${refused}", interval: 1s, timeout: 500ms}
reflector: {listen: "127.0.0.1:${reflPort}", keys: {k1: "${KEY}"}}
`);
    const agent = spawnAgent(['run', '--config', join(dir, 'config.yaml')]);
    const http = await agentUrl(agent);
    const req = encodeRequest(KEY, { keyId: 'k1', session: randomBytes(8), seq: 0, wallSeconds: Math.floor(Date.now() / 1000), sendNs: 1n }, 172);
    sendRawUdp(reflPort, 0, req);
    // The counts reach /metrics within a second or two; by then a dead worker would show.
    let text = '';
    for (let i = 0; i < 100 && !/slaprobe_reflector_packets_total\{result="unanswerable"/.test(text); i++) {
      await sleep(100);
      text = await (await fetch(`${http}/metrics`)).text();
    }
    expect(text).toMatch(/slaprobe_reflector_packets_total\{result="unanswerable",region="[^"]*"\} 1/);
    expect(text).toMatch(/slaprobe_reflector_up\{region="[^"]*"\} 1/);
    let ready = 503;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await fetch(`${http}/readyz`)).status;
      if (ready !== 200) await sleep(100);
    }
    expect(ready).toBe(200);
    agent.child.kill('SIGTERM');
    // A liveness bound, not a timing check: a clean stop takes well under a second.
    expect(await agent.exited(20_000)).toBe(0);
  }, 40_000);
});
