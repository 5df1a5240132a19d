// slaprobe export openslo: the config's services and SLA policies as OpenSLO v1 documents
// (src/export/openslo.ts). Exit codes: 0 written; 2 bad usage or config.
import { writeFileSync } from 'node:fs';
import { parseInstant } from '../availability/calendar.ts';
import { loadCommandConfig, parse } from '../cli.ts';
import { policiesOf } from '../config/sla.ts';
import { toOpenSlo, toYaml } from '../export/openslo.ts';

export const EXPORT_HELP = `Usage: slaprobe export openslo [--config FILE] [--out FILE] [--now TIME]

Writes the services and SLA policies of the config as OpenSLO v1 YAML (one document each,
separated by ---): a Service per service and an SLO per service and policy, with a
calendar-aligned time window (duration 1M = one month, 1Y = one year; 12M rolling for
rolling_12_months), Timeslices budgeting over 1-minute slices, the target as a ratio, and
an SLI over slaprobe_service_seconds_total. The rules OpenSLO cannot express (minimum
outage, rounding, unknown time, exclusions, credits, recovery deadlines per fault level)
are metadata.annotations "slaprobe/<key>". See docs/status-page.md, section 3.

  --config FILE   services and policies (default: the embedded config/default.yaml)
  --out FILE      write there instead of stdout
  --now TIME      anchor calendar windows at the period containing TIME (default now)
  -h, --help

Exit codes: 0 written; 2 bad usage or config.
`;

function usage(msg: string): number {
  process.stderr.write(`slaprobe export: ${msg}\n\nRun "slaprobe export --help" for the options.\n`);
  return 2;
}

export function exportCommand(argv: string[]): number {
  const r = parse(argv, { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' }, now: { type: 'string' } }, EXPORT_HELP, true);
  if (r === 'help') return 0;
  if (!r) return 2;
  const [what, ...more] = r.positionals;
  if (what !== 'openslo' || more.length > 0) return usage(what === undefined ? 'say what to export: slaprobe export openslo' : `cannot export "${[what, ...more].join(' ')}"; formats: openslo`);
  const v = r.values as Record<string, string | undefined>;
  const now = v['now'] === undefined ? Date.now() : parseInstant(v['now']);
  if (now === undefined) return usage(`--now ${JSON.stringify(v['now'])} is not an RFC 3339 time with offset, e.g. 2026-12-01T00:00:00Z`);
  const config = loadCommandConfig('export', v['config']);
  if (!config) return 2;
  let yaml: string;
  try {
    yaml = toYaml(toOpenSlo(config.services.map((s) => ({ ...s, sla: policiesOf(s) })), { now }));
  } catch (e) {
    return usage((e as Error).message);
  }
  if (v['out'] === undefined) {
    process.stdout.write(yaml);
    return 0;
  }
  try {
    writeFileSync(v['out'], yaml);
  } catch (e) {
    return usage(`cannot write ${v['out']} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return 0;
}
