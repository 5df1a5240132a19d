// kill -9 of the real agent (node src/cli.ts run) in the middle of an outage of a real TCP
// server on loopback: after the restart the outage is one window, and the time the agent was
// dead is unknown, not up and not down.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { periodAt } from '../../src/availability/calendar.ts';
import { reportService } from '../../src/availability/service.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { openStore } from '../../src/store/index.ts';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'src/cli.ts');

const listen = (port = 0): Promise<Server> => new Promise((resolve, reject) => {
  const s = createServer((c) => c.destroy());
  s.once('error', reject);
  s.listen(port, '127.0.0.1', () => resolve(s));
});
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

function start(cfg: string): ChildProcess {
  return spawn(NODE, [CLI, 'run', '--config', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

describe('the real agent killed with SIGKILL mid-outage', () => {
  it('one window across the dead time, which is unknown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-agent-kill9-'));
    let server = await listen();
    const port = (server.address() as { port: number }).port;
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(cfg, `agent: { region: test, listen: "127.0.0.1:0", data_dir: ${JSON.stringify(join(dir, 'data'))}, log_level: warn }
targets:
  - { name: api, kind: tcp, address: "127.0.0.1:${port}", interval: 500ms, timeout: 300ms }
services:
  - { name: meet, targets: [api], sla: [{ preset: udesk, min_outage: 1s }] }
`);
    let agent = start(cfg);
    await sleep(3000); // up
    await close(server);
    const downAt = Date.now();
    await sleep(2500); // down, agent watching
    agent.kill('SIGKILL');
    await exited(agent);
    await sleep(4000); // dead
    agent = start(cfg);
    await sleep(3000); // down again, seen by the second life
    server = await listen(port);
    const upAt = Date.now();
    await sleep(2500);
    agent.kill('SIGTERM');
    await exited(agent);
    await close(server);

    const config = loadConfigFile(cfg);
    const store = openStore(config.agent.data_dir, { mustExist: true });
    try {
      const now = Date.now();
      const svc = config.services[0]!;
      const policy = svc.sla[0]!;
      const r = reportService(store, svc, policy, periodAt(policy.period, now, policy.time_zone), [], [], now);
      expect(r.windows).toHaveLength(1);
      const w = r.windows[0]!;
      // the window starts at the first failed run after the server closed (runs every 500 ms)
      expect(w.start).toBeGreaterThanOrEqual(downAt - 50);
      expect(w.start).toBeLessThan(downAt + 1500);
      expect(w.end).toBeGreaterThanOrEqual(upAt - 50);
      expect(w.end).toBeLessThan(upAt + 1500);
      // dead: from the last run's coverage (<= kill + 500 ms) to the first run of the second
      // life (>= kill + 4 s): at least 3.5 s of unknown, never counted as down
      expect(w.unknown_ms).toBeGreaterThanOrEqual(3500);
      expect(w.down_ms + w.unknown_ms).toBe(w.duration_ms);
      expect(store.agentRuns().map((x) => x.stopped_at === null)).toEqual([true, false]);
    } finally {
      store.close();
    }
  }, 60_000);
});
