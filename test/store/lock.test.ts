// One agent per data dir (issue 11, section 4), with real `slaprobe run` processes: the second
// refuses to start and names the holder's PID; a lock left by a kill -9 does not block.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/index.ts';
import { LOCK_FILE, lockDataDir } from '../../src/store/lock.ts';
import { agentUrl, killAgents, spawnAgent } from '../support/agent-process.ts';
import { closedPort } from '../support/servers.ts';

afterEach(killAgents);
const tmp = () => mkdtempSync(join(tmpdir(), 'slaprobe-lock-'));

describe('the data dir lock', () => {
  it('a second agent on the same data dir refuses to start, naming the holder; after kill -9 a new one starts', async () => {
    const dir = tmp();
    const refused = await closedPort();
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, `
agent: {listen: "127.0.0.1:0", data_dir: ${dir}/data}
targets:
  - {name: refused, kind: tcp, address: "127.0.0.1:${refused}", interval: 1s, timeout: 500ms}
`);
    const first = spawnAgent(['run', '--config', cfg]);
    await agentUrl(first);
    const second = spawnAgent(['run', '--config', cfg]);
    expect(await second.exited(20_000)).toBe(2);
    expect(second.stderr()).toContain(`PID ${first.child.pid}`);
    expect(second.stderr()).toContain(join(dir, 'data', LOCK_FILE));

    first.child.kill('SIGKILL');
    expect(await first.exited(10_000)).toBe(null);
    expect(existsSync(join(dir, 'data', LOCK_FILE))).toBe(true); // left behind: stale
    const third = spawnAgent(['run', '--config', cfg]);
    await agentUrl(third);
    third.child.kill('SIGTERM');
    expect(await third.exited(20_000)).toBe(0);
    expect(existsSync(join(dir, 'data', LOCK_FILE))).toBe(false); // a clean stop gives it back
  }, 60_000);

  const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
  it.each([
    ['a dead PID', () => JSON.stringify({ pid: deadPid() })],
    ['this very PID (a restarted container is PID 1 again)', () => JSON.stringify({ pid: process.pid })],
    ['a live PID with another start time (the PID was reused)', () => JSON.stringify({ pid: process.ppid, start: '1' })],
    ['a half-written file', () => '{"pid": 12'],
  ])('a stale lock holding %s is taken over', (_what, content) => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), content());
    const lock = lockDataDir(dir);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('a live holder is refused with SLAPROBE_STORE_LOCKED', () => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid }));
    let err: unknown;
    try { lockDataDir(dir); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('SLAPROBE_STORE_LOCKED');
    expect((err as StoreError).message).toContain(`PID ${process.ppid}`);
  });
});
