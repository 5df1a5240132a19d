// A crash in any command but `run` exits 3, never 1 (a probe failed, an SLA missed, nothing
// to remove) nor 2 (bad input): a bug must not read as a verdict. No input produces a crash
// (each is refused with its message), so the tests make writing the output fail.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.ts';
import { EXIT_INTERNAL } from '../../src/cli/exit.ts';
import { reportCommand } from '../../src/cli/report.ts';

afterEach(() => vi.restoreAllMocks());

function failingStdout(): string[] {
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation(() => {
    throw new Error('stdout went away');
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  return err;
}

describe('internal errors of the commands', () => {
  it.each([
    ['version', ['version']],
    ['export', ['export', 'openslo', '--config', 'config/default.yaml']],
    ['check-config', ['check-config', '--no-secrets', 'config/default.yaml']],
  ])('%s: exit 3 with a message that says it is a bug', async (name, argv) => {
    const err = failingStdout();
    const code = await main(argv);
    expect(EXIT_INTERNAL).toBe(3);
    expect(code).toBe(3);
    expect(err.join('')).toContain(`slaprobe ${name}: internal error (a bug in slaprobe, not a verdict; please report it): Error: stdout went away`);
  });

  it('report: exit 3 with its own words, never 1 ("an SLA was missed")', async () => {
    const err = failingStdout();
    const file = join(import.meta.dirname, '../availability/testdata/samples/deduplicated.csv');
    const code = await reportCommand(['--samples', file, '--period', '2026-11', '--now', '2026-12-01T00:00:00Z', '--interval', '10s']);
    expect(code).toBe(3);
    expect(err.join('')).toContain('slaprobe report: internal error (a bug in slaprobe, not a verdict on any SLA; please report it): Error: stdout went away');
  });

  it('the same commands exit 0 when stdout works (the crash above is the only difference)', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await main(['version'])).toBe(0);
    expect(await main(['check-config', '--no-secrets', 'config/default.yaml'])).toBe(0);
  });
});
