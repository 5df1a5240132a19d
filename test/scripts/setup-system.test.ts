// scripts/setup-system.sh: `npm start` (--runtime) installs only what the agent needs, and
// every install says what it installs. apt-get and dpkg-query are replaced on PATH by
// recorders: the test must not install packages on the machine that runs it.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '../../scripts/setup-system.sh');

function runSetup(...args: string[]) {
  const bin = mkdtempSync(join(tmpdir(), 'slaprobe-setup-'));
  const log = join(bin, 'apt.log');
  // Nothing is installed, as on a fresh machine; apt-get records what it was asked for.
  writeFileSync(join(bin, 'dpkg-query'), '#!/bin/sh\nexit 1\n');
  for (const tool of ['apt-get', 'sudo']) writeFileSync(join(bin, tool), `#!/bin/sh\n[ "$1" = apt-get ] && shift\necho "$@" >> ${log}\n`);
  for (const f of ['dpkg-query', 'apt-get', 'sudo']) chmodSync(join(bin, f), 0o755);
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` } });
  let apt = '';
  try { apt = readFileSync(log, 'utf8'); } catch { /* apt-get never ran */ }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, installed: apt.split('\n').filter((l) => l.startsWith('install')).flatMap((l) => l.split(' ').filter((w) => !w.startsWith('-') && w !== 'install')) };
}

describe('scripts/setup-system.sh', () => {
  it('--runtime installs iputils-ping only, and says so', () => {
    const r = runSetup('--runtime');
    expect(r.status).toBe(0);
    expect(r.installed).toEqual(['iputils-ping']);
    expect(r.stdout).toContain('installing the agent\'s runtime packages with apt-get: iputils-ping');
  });

  it('without a flag installs the test toolchain and names every package', () => {
    const r = runSetup();
    expect(r.status).toBe(0);
    expect(r.installed).toEqual(expect.arrayContaining(['iputils-ping', 'coturn', 'prometheus', 'chromium']));
    expect(r.stdout).toContain(`installing the test and benchmark toolchain with apt-get: ${r.installed.join(' ')}`);
  });

  it('an unknown option is refused, nothing installed', () => {
    const r = runSetup('--everything');
    expect(r.status).toBe(2);
    expect(r.installed).toEqual([]);
    expect(r.stderr).toContain('unknown option --everything');
  });
});
