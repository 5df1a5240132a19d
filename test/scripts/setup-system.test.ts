// scripts/setup-system.sh: `npm start` (--runtime) installs only what the agent needs, and
// every install says what it installs. apt-get and dpkg-query are replaced on PATH by
// recorders: the test must not install packages on the machine that runs it.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '../../scripts/setup-system.sh');

interface Machine {
  /** The installed tzdata's version; without it nothing is installed, as on a fresh machine. */
  tzdata?: string;
  /** The release tzdata.zi names, and apt's candidate version of tzdata. */
  zi?: string;
  candidate?: string;
}

function runSetup(args: string[] = [], m: Machine = {}) {
  const bin = mkdtempSync(join(tmpdir(), 'slaprobe-setup-'));
  const log = join(bin, 'apt.log');
  const zoneinfo = join(bin, 'zoneinfo');
  mkdirSync(zoneinfo);
  if (m.zi) writeFileSync(join(zoneinfo, 'tzdata.zi'), `# version ${m.zi}\n`);
  // dpkg-query: every package installed when m.tzdata is given, none otherwise; apt-get
  // records what it was asked for; apt-cache names the candidate.
  writeFileSync(join(bin, 'dpkg-query'), m.tzdata
    ? `#!/bin/sh\ncase "$*" in *Version*) echo '${m.tzdata}' ;; *) echo 'install ok installed' ;; esac\n`
    : '#!/bin/sh\nexit 1\n');
  writeFileSync(join(bin, 'apt-cache'), `#!/bin/sh\necho 'tzdata:'\necho '  Installed: ${m.tzdata ?? '(none)'}'\necho '  Candidate: ${m.candidate ?? m.tzdata ?? '(none)'}'\n`);
  for (const tool of ['apt-get', 'sudo']) writeFileSync(join(bin, tool), `#!/bin/sh\n[ "$1" = apt-get ] && shift\necho "$@" >> ${log}\n`);
  for (const f of ['dpkg-query', 'apt-get', 'apt-cache', 'sudo']) chmodSync(join(bin, f), 0o755);
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, TZDIR: zoneinfo, PATH: `${bin}:${process.env['PATH']}` } });
  let apt = '';
  try { apt = readFileSync(log, 'utf8'); } catch { /* apt-get never ran */ }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, updated: apt.includes('update'), installed: apt.split('\n').filter((l) => l.startsWith('install')).flatMap((l) => l.split(' ').filter((w) => !w.startsWith('-') && w !== 'install')) };
}

describe('scripts/setup-system.sh', () => {
  it('--runtime installs iputils-ping and tzdata only, and says so', () => {
    const r = runSetup(['--runtime']);
    expect(r.status).toBe(0);
    expect(r.installed).toEqual(['iputils-ping', 'tzdata']);
    expect(r.stdout).toContain('installing the agent\'s runtime packages with apt-get: iputils-ping tzdata');
  });

  // The agent reads the system's zone database when it is at least as new as Node's ICU.
  const icu = process.versions.tz!;
  const older = `${Number(icu.slice(0, 4)) - 1}a`;
  const newer = `${Number(icu.slice(0, 4)) + 1}a`;

  it('an installed tzdata older than Node\'s zone data is upgraded when Debian has a newer one', () => {
    const r = runSetup(['--runtime'], { tzdata: `${older}-0+deb12u1`, zi: older, candidate: `${newer}-0+deb12u1` });
    expect(r.status).toBe(0);
    expect(r.installed).toEqual(['tzdata']);
    expect(r.stdout).toContain('with apt-get: tzdata');
  });

  it('... and left, with a note, when Debian has none newer', () => {
    const r = runSetup(['--runtime'], { tzdata: `${older}-0+deb12u1`, zi: older });
    expect(r.status).toBe(0);
    expect(r.installed).toEqual([]);
    expect(r.stdout).toContain(`the system's zone database (${older}) is older than Node's (${icu})`);
  });

  it('a tzdata as new as Node\'s, with everything else installed: apt-get never runs', () => {
    const r = runSetup(['--runtime'], { tzdata: `${icu}-0+deb12u1`, zi: icu });
    expect(r.status).toBe(0);
    expect(r.updated).toBe(false);
    expect(r.installed).toEqual([]);
    expect(r.stdout).toContain('already installed (iputils-ping tzdata)');
  });

  it('without a flag installs the test toolchain and names every package', () => {
    const r = runSetup();
    expect(r.status).toBe(0);
    expect(r.installed).toEqual(expect.arrayContaining(['iputils-ping', 'tzdata', 'coturn', 'prometheus', 'chromium']));
    expect(r.stdout).toContain(`installing the test and benchmark toolchain with apt-get: ${r.installed.join(' ')}`);
  });

  it('an unknown option is refused, nothing installed', () => {
    const r = runSetup(['--everything']);
    expect(r.status).toBe(2);
    expect(r.installed).toEqual([]);
    expect(r.stderr).toContain('unknown option --everything');
  });
});
