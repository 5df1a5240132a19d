// No container engine runs here: the Dockerfile is checked as text, and what it runs (the
// compiled dist/cli.js under the image's layout) is built and run for real.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
// Continuation lines joined, so each instruction is one line.
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
const lines = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#'));
const stages = lines.filter((l) => l.startsWith('FROM '));

describe('Dockerfile', () => {
  it('builds and runs on Node 24 slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s).toMatch(/^FROM node:24-[a-z]+-slim\b/);
  });

  it('runs as a non-root user with ping working and the documented paths', () => {
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toMatch(/apt-get install[^\n]*iputils-ping/);
    // The system zone database the calendars read (src/availability/tzif.ts).
    expect(final).toMatch(/apt-get install[^\n]*\btzdata\b/);
    expect(final).toMatch(/setcap cap_net_raw\+ep \/usr\/bin\/ping/);
    const user = /^USER (\S+)/m.exec(final)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(final).toMatch(/^HEALTHCHECK .*\/healthz/m);
    expect(final).toContain('/etc/slaprobe/config.yaml');
    expect(final).toContain('/var/lib/slaprobe');
    expect(final).toMatch(/^EXPOSE 9917/m);
    expect(final).toMatch(/^ENTRYPOINT \["node", "\/opt\/slaprobe\/dist\/cli\.js"\]/m);
  });

  it('copies only files that exist', () => {
    for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
      const srcs = l.replace(/^COPY\s+/, '').split(/\s+/).slice(0, -1);
      for (const src of srcs) expect(() => readFileSync(join(root, src)), `${src} (in "${l}")`).not.toThrow(/ENOENT/);
    }
  });

  it('the compiled CLI it runs works: built as the image builds it, laid out as /opt/slaprobe, then check-config and version', () => {
    // A directory of its own (not the checkout's dist/, which other tests run): dist/,
    // node_modules, package.json and config/, as the image's COPY lines place them.
    const opt = mkdtempSync(join(tmpdir(), 'slaprobe-image-'));
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', join(opt, 'dist')], { stdio: 'pipe' });
      symlinkSync(join(root, 'node_modules'), join(opt, 'node_modules'));
      cpSync(join(root, 'package.json'), join(opt, 'package.json'));
      cpSync(join(root, 'config'), join(opt, 'config'), { recursive: true });
      const version = spawnSync(process.execPath, [join(opt, 'dist/cli.js'), 'version'], { encoding: 'utf8' });
      expect(version.status).toBe(0);
      expect(version.stdout).toMatch(/^slaprobe \d+\.\d+\.\d+/);
      const check = spawnSync(process.execPath, [join(opt, 'dist/cli.js'), 'check-config', join(opt, 'config/default.yaml')], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
    } finally {
      rmSync(opt, { recursive: true, force: true });
    }
  }, 120_000);
});
