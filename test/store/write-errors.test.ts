// A store whose disk fills up under a running agent (issue 11, section 4). The agent runs as a
// real process in a mount namespace of its own with its data dir on a 4 MB tmpfs, so the
// mount vanishes with it; the test fills that tmpfs through /proc/PID/root. Failed writes
// must be counted (slaprobe_store_errors_total{op}) and make /readyz fail while they last:
// the time they cover reads as unknown in the report, and whoever scrapes must be told: a real
// Prometheus with the shipped rules scrapes the agent, and SlaprobeRecordingFailed fires.
import { closeSync, mkdirSync, mkdtempSync, openSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentUrl, killAgents, spawnAgent } from '../support/agent-process.ts';
import { closedPort } from '../support/servers.ts';
import { type Prometheus, prometheusConfigForTest, shippedRuleFiles, startPrometheus } from '../deploy/stack.ts';

let prom: Prometheus | undefined;
afterEach(async () => {
  await prom?.stop();
  prom = undefined;
  await killAgents();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poll<T>(fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(100);
  }
}

function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

describe('store write failures', () => {
  it('a full disk is counted by op and fails /readyz until writes succeed again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-full-'));
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const refused = await closedPort();
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, `
agent: {listen: "127.0.0.1:0", data_dir: ${mnt}/data}
targets:
  - {name: refused, kind: tcp, address: "127.0.0.1:${refused}", interval: 200ms, timeout: 150ms}
`);
    const agent = spawnAgent(['run', '--config', cfg], ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=4m tmpfs ${mnt} && exec "$0" "$@"`]);
    const http = await agentUrl(agent);
    const readyz = async () => { const r = await fetch(`${http}/readyz`); return { status: r.status, body: await r.text() }; };
    const errors = async () => {
      const m = /slaprobe_store_errors_total\{op="outcome"[^}]*\} (\d+)/.exec(await (await fetch(`${http}/metrics`)).text());
      return m ? Number(m[1]) : undefined;
    };
    await poll(async () => ((await readyz()).status === 200 ? true : undefined));
    expect(await errors()).toBe(0); // born at 0: increase() counts the first failures
    const rules = shippedRuleFiles();
    prom = await startPrometheus(prometheusConfigForTest({ agent: http, region: 'full', interval: '1s', ruleFiles: Object.keys(rules) }), rules);
    const firing = async () => ((await prom!.query('ALERTS{alertname="SlaprobeRecordingFailed",alertstate="firing"}')).data?.result ?? []).map((r) => r.metric['cause']);
    // Scraped at 0 first, so the rule has a start to count from.
    await poll(async () => ((await prom!.query('slaprobe_store_errors_total{op="outcome"}')).data?.result.length === 1 ? true : undefined));
    expect(await firing()).toEqual([]);

    const filler = join(`/proc/${agent.child.pid}/root`, mnt, 'fill');
    fill(filler);
    // The heartbeat (every 10 s) can meet the full disk before the next run's write does, and
    // /readyz then names it alone for a moment: wait for the outcome's line.
    const down = await poll(async () => { const r = await readyz(); return r.status === 503 && r.body.includes('(outcome') ? r : undefined; });
    expect(down.status).toBe(503);
    expect(down.body).toContain('store writes failing (outcome');
    expect(await errors()).toBeGreaterThan(0);
    // The heartbeat's writes can fail on the full disk too, and fire beside it: nothing else can.
    const causes = await poll(async () => { const c = await firing(); return c.includes('store_outcome') ? c : undefined; });
    expect(causes.filter((c) => c !== 'store_heartbeat')).toEqual(['store_outcome']);

    unlinkSync(filler);
    await poll(async () => ((await readyz()).status === 200 ? true : undefined));
    const after = await errors();
    await sleep(1_000); // five more runs: all recorded
    expect(await errors()).toBe(after);
    agent.child.kill('SIGTERM');
    expect(await agent.exited(20_000)).toBe(0);
  }, 60_000);
});
