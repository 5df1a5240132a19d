// An internal error of report exits 3, never 1 ("an SLA was missed") nor 2 (bad input): a
// crash must not read as a contract verdict. A crash cannot be produced by any input (each
// is refused with its message), so the test makes writing the report fail.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT_INTERNAL, reportCommand } from '../../src/cli/report.ts';

afterEach(() => vi.restoreAllMocks());

describe('report internal errors', () => {
  it('exit 3 with a message that says it is a bug, not a verdict', async () => {
    const err: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(() => {
      throw new Error('stdout went away');
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    const file = join(import.meta.dirname, '../availability/testdata/samples/deduplicated.csv');
    const code = await reportCommand(['--samples', file, '--period', '2026-11', '--now', '2026-12-01T00:00:00Z', '--interval', '10s']);
    expect(EXIT_INTERNAL).toBe(3);
    expect(code).toBe(3);
    expect(err.join('')).toContain('slaprobe report: internal error (a bug in slaprobe, not a verdict on any SLA; please report it): Error: stdout went away');
  });
});
