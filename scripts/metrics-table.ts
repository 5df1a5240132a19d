// Prints the README's metric reference (name, type, labels, unit, help) from src/metrics.ts,
// so the documentation cannot drift from the code: test/metrics-doc.test.ts compares them.
import { createMetrics } from '../src/metrics.ts';

export async function metricsTable(): Promise<string> {
  const m = createMetrics({ region: 'x', version: '0', defaultMetrics: false });
  const rows = (await m.registry.getMetricsAsJSON()).map((x) => {
    const labels = ((m.registry.getSingleMetric(x.name) as unknown as { labelNames?: string[] }).labelNames ?? []);
    const unit = /_seconds(_total)?$/.test(x.name) ? 'seconds' : /_timestamp_seconds$/.test(x.name) ? 'Unix seconds'
      : /_ratio/.test(x.name) ? 'ratio (0-1)' : /_packets$/.test(x.name) ? 'packets' : x.name === 'slaprobe_mos' ? 'MOS (1-4.5)' : '-';
    const t = String(x.type);
    const type = t === 'counter' || t === 'histogram' || t === 'summary' ? t : 'gauge';
    return `| \`${x.name}\` | ${type} | ${[...labels, 'region'].map((l) => `\`${l}\``).join(', ')} | ${x.name.endsWith('_timestamp_seconds') ? 'Unix seconds' : unit} | ${x.help.replace(/\|/g, '\\|')} |`;
  });
  return ['| name | type | labels | unit | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await metricsTable()}\n`);
