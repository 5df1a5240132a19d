// README's metric reference is generated from src/metrics.ts; this keeps the two equal, and
// checks each metric follows Prometheus naming (base units, _total only on counters).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.ts';
import { metricsTable } from '../scripts/metrics-table.ts';

describe('metric documentation and naming', () => {
  it('README carries the generated metric table', async () => {
    const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
    const m = /<!-- metrics:begin[^>]*-->\n([\s\S]*?)\n?<!-- metrics:end -->/.exec(readme);
    expect(m, 'README has the metrics markers').not.toBeNull();
    expect(m![1]!.trim()).toBe((await metricsTable()).trim());
  });

  it('names follow Prometheus conventions', async () => {
    const m = createMetrics({ region: 'x', version: '0', defaultMetrics: false });
    for (const x of await m.registry.getMetricsAsJSON()) {
      expect(x.name).toMatch(/^slaprobe_[a-z0-9_]+$/);
      expect(x.name.endsWith('_total'), `${x.name}: _total is for counters only`).toBe(String(x.type) === 'counter');
      expect(x.name, 'base units: seconds, not ms').not.toMatch(/_(ms|milliseconds|minutes)$/);
      expect(x.help.length).toBeGreaterThan(20);
    }
  });
});
