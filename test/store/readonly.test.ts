// A store this user cannot write (issue 11, section 4): the data dir of an agent that runs as
// another user, or a read-only mount. Run as user nobody over a store root made, the real
// case; as root nothing is read-only to a permission check. The agent must say "not
// writable" with the path and the fix, never "corrupt" (whose advice, move it aside, would
// throw good history away); `slaprobe report` opens it read-only and works.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, storePath } from '../../src/store/index.ts';
import { BIN } from '../support/agent-process.ts';

// CAP_DAC_READ_SEARCH lets nobody read the checkout wherever it lies (a clone under a 0700
// mktemp folder, as CI may make) and grants no write: the store stays unwritable to it.
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search'];
const asNobody = (args: string[]) => spawnSync(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

function storeOwnedByRoot(): { dir: string; cfg: string } {
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-ro-'));
  chmodSync(dir, 0o755); // mkdtemp makes it 0700: nobody could not even read it
  const data = join(dir, 'data');
  const s = openStore(data);
  const t = Date.parse('2026-11-02T00:00:00Z');
  // Half an hour up, then down: the report has something to count.
  for (let i = 0; i <= 30; i++) s.recordOutcome('web', 'r1', { t: t + i * 60_000, success: true, seen: t + i * 60_000 }, 60_000);
  for (let i = 31; i <= 40; i++) s.recordOutcome('web', 'r1', { t: t + i * 60_000, success: false, seen: t + i * 60_000 }, 60_000);
  s.close(); // a clean stop: no -wal, no -shm left, which SQLite cannot recreate here
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, `
agent: {listen: "127.0.0.1:0", data_dir: ${data}}
targets:
  - {name: web, kind: tcp, address: "127.0.0.1:9", interval: 60s, timeout: 1s}
services:
  - {name: meeting, targets: [web]}
`);
  return { dir, cfg };
}

describe('a store this user cannot write', () => {
  it('report opens it read-only and reports from it', () => {
    const { dir, cfg } = storeOwnedByRoot();
    const before = readFileSync(storePath(join(dir, 'data')));
    const r = asNobody(['report', '--config', cfg, '--period', '2026-11', '--now', '2026-11-03T00:00:00Z', '--format', 'json']);
    expect(r.stderr).not.toMatch(/move it aside|cannot be read as a database/);
    expect(r.status, r.stderr).toBe(1); // 10 minutes down in the month so far: 99.9 % missed
    expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
    expect(r.stdout).toContain('"meeting"');
    expect(readFileSync(storePath(join(dir, 'data'))).equals(before)).toBe(true);
  });

  it('exclude list opens it read-only and lists what it holds', () => {
    const { dir, cfg } = storeOwnedByRoot();
    const s = openStore(join(dir, 'data'));
    s.addExclusion({ service: 'meeting', start: Date.parse('2026-11-02T00:40:00Z'), end: Date.parse('2026-11-02T00:45:00Z'), reason: 'carrier fault 4711', created_at: Date.now() });
    s.close();
    const before = readFileSync(storePath(join(dir, 'data')));
    const r = asNobody(['exclude', 'list', '--config', cfg, '--format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as { service: string; reason: string }[];
    expect(list.map((x) => [x.service, x.reason])).toEqual([['meeting', 'carrier fault 4711']]);
    expect(readFileSync(storePath(join(dir, 'data'))).equals(before)).toBe(true);
  });

  it('the agent refuses it as "not writable", with the path and the fix, not as corrupt', () => {
    const { dir, cfg } = storeOwnedByRoot();
    const r = asNobody(['run', '--config', cfg]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('not writable');
    expect(r.stderr).toContain(join(dir, 'data'));
    expect(r.stderr).toContain('write access');
    // The corrupt-store messages, each of which says to move the store aside.
    expect(r.stderr).not.toMatch(/move it aside|integrity check|cannot be read as a database|not an SQLite database/);
  });
});
