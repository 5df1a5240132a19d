// slaprobe report: availability per service, policy and period, from the agent's store, a
// samples file or a Prometheus-compatible store (--source). Exit codes: 0 every reported
// period met its target (or has no data); 1 at least one missed (so far, for a period in
// progress); 2 bad usage, config, store, samples file or source; 3 an internal error (a
// crash must never read as a contract verdict).
import { formatInstant, parseInstant, periodAt, periodsFor } from '../availability/calendar.ts';
import type { RecordedExclusion } from '../availability/exclusions.ts';
import { FORMATS, type Format, render } from '../availability/format.ts';
import { PAGE_FORMATS, PageError, isPageFormat, writePages } from '../report/output.ts';
import { PdfError } from '../report/pdf.ts';
import { createEvidence, type Evidence } from '../availability/evidence.ts';
import { SamplesError, readSamples, sampleWarnings } from '../availability/samples.ts';
import { LOOKBACK, noDataReason, onlyRegion, reportService, type ServiceDef, type ServiceReport, type TimelineSource } from '../availability/service.ts';
import type { Period, SlaPolicy } from '../availability/types.ts';
import { loadCommandConfig, parse } from '../cli.ts';
import { parseDuration } from '../config/duration.ts';
import { DEFAULT_POLICY, loadPresets, policiesOf } from '../config/sla.ts';
import type { Config } from '../config/types.ts';
import { OUTCOME_METRIC } from '../fleet/wire.ts';
import { SOURCE_HELP, SOURCE_OPTIONS, SourceError, readSource, sourceAuth } from '../fleet/source.ts';
import { StoreError, openStore, type Store } from '../store/index.ts';
import { withGroupTargets } from '../fleet/sd.ts';
import { EXIT_INTERNAL } from './exit.ts';

export const REPORT_HELP = `Usage: slaprobe report [--period YYYY-MM | --year YYYY] [--service S] [--sla P]
                       [--format table|json|csv|markdown|html|pdf] [--out DIR] [--config FILE] [--data-dir DIR]
                       [--samples FILE] [--interval DURATION] [--max-bad-lines N] [--now TIME]
                       [--region R] [--source URL [--source.* ...]]

Availability of each service under each of its SLA policies: against the target, met or not,
minutes by state, error budget, every downtime window (counted, not counted, excluded, and
why), incidents with fault levels and recovery deadlines, and the credit owed.
Rules: docs/availability.md.

  --period YYYY-MM   the policy period ending with this month (a month; for rolling 12-month
                     policies the 12 months ending with it). Default: the current period.
  --year YYYY        every month of the year (monthly policies) or the year (others)
  --service S        only this service
  --sla P            only this policy (with --samples and no --config: the preset(s) to apply,
                     comma-separated, e.g. udesk,hedu; default a 99.9 % monthly policy)
  --format F         table (default), json, csv (one summary row per period), markdown,
                     html (a page a customer reads, one per period), pdf (that page printed
                     by headless Chromium: $SLAPROBE_CHROMIUM, default /usr/bin/chromium)
  --out DIR          html/pdf: one file per period in DIR (slaprobe-report-2026-11.html);
                     without it the one page goes to stdout
  --config FILE      services and policies (default: the embedded config/default.yaml)
  --data-dir DIR     the agent's store (default: agent.data_dir of the config)
  --samples FILE     recompute from probe outcomes instead of the store: CSV with a header
                     or JSON Lines; fields timestamp (RFC 3339 or Unix seconds), target,
                     success, optional region, agent, rtt_ms, reason. Without --config every
                     target is a service of its own.
  --interval D       run interval of sample targets not in the config (default 60s)
  --max-bad-lines N  bad sample lines to skip (each reported on stderr) before giving up (0)
  --now TIME         report as of TIME (RFC 3339), for reproducible what-ifs
${SOURCE_HELP}  --region R         only the evidence of region R: that region's own view (default: every
                     region, combined by each service's region rule; what some regions saw
                     down while the service was up is listed as regional path faults)
  -h, --help

Exit codes: 0 all met (or no data); 1 an SLA missed; 2 bad usage, config, store or samples;
3 internal error (a bug in slaprobe, not a verdict).
`;

/** The span of every period the report will show, for the samples reader's warnings. */
function reportedRange(policies: readonly SlaPolicy[], sel: { year: number; month?: number } | undefined, now: number): { start: number; end: number; label: string } | undefined {
  const periods = policies.flatMap((p) => (sel ? periodsFor(p.period, sel, p.time_zone) : [periodAt(p.period, now, p.time_zone)]).map((x) => ({ ...x, tz: p.time_zone })))
    .filter((x) => x.start <= now);
  if (periods.length === 0) return undefined;
  const start = Math.min(...periods.map((x) => x.start));
  const end = Math.max(...periods.map((x) => x.end));
  const labels = [...new Set(periods.map((x) => x.label))];
  const tz = periods[0]!.tz;
  const shown = labels.length > 3 ? `${labels[0]} ... ${labels[labels.length - 1]}` : labels.join(', ');
  return { start, end, label: `${shown} (${formatInstant(start, tz)} to ${formatInstant(end, tz)})` };
}

function progressLine(samples: number, ms: number): string {
  const rate = ms > 0 ? Math.round(samples / (ms / 1000)) : samples;
  return `slaprobe report: read ${samples.toLocaleString('en-US')} samples in ${(ms / 1000).toFixed(1)} s (${rate.toLocaleString('en-US')}/s)`;
}

function usage(msg: string): number {
  process.stderr.write(`slaprobe report: ${msg}\n\nRun "slaprobe report --help" for the options.\n`);
  return 2;
}

export async function reportCommand(argv: string[]): Promise<number> {
  try {
    return await report(argv);
  } catch (e) {
    process.stderr.write(`slaprobe report: internal error (a bug in slaprobe, not a verdict on any SLA; please report it): ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT_INTERNAL;
  }
}

async function report(argv: string[]): Promise<number> {
  const r = parse(argv, {
    period: { type: 'string' }, year: { type: 'string' }, service: { type: 'string' }, sla: { type: 'string' },
    format: { type: 'string', short: 'f' }, out: { type: 'string', short: 'o' }, config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string', short: 'd' },
    samples: { type: 'string' }, interval: { type: 'string' }, 'max-bad-lines': { type: 'string' }, now: { type: 'string' },
    region: { type: 'string' }, ...SOURCE_OPTIONS,
  }, REPORT_HELP);
  if (r === 'help') return 0;
  if (!r) return 2;
  const v = r.values as Record<string, string | undefined>;

  if (v['period'] !== undefined && v['year'] !== undefined) return usage('give --period or --year, not both');
  let sel: { year: number; month?: number } | undefined;
  if (v['period'] !== undefined) {
    const m = /^(\d{4})-(\d{2})$/.exec(v['period']);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return usage(`--period ${JSON.stringify(v['period'])} is not a month; write YYYY-MM, e.g. --period 2026-11`);
    sel = { year: Number(m[1]), month: Number(m[2]) };
  }
  if (v['year'] !== undefined) {
    if (!/^\d{4}$/.test(v['year'])) return usage(`--year ${JSON.stringify(v['year'])} is not a year; write YYYY, e.g. --year 2026`);
    sel = { year: Number(v['year']) };
  }
  const format = (v['format'] ?? 'table') as Format;
  if (!FORMATS.includes(format) && !isPageFormat(format)) return usage(`--format ${JSON.stringify(v['format'])} is not one of ${[...FORMATS, ...PAGE_FORMATS].join(', ')}`);
  if (v['out'] !== undefined && !isPageFormat(format)) return usage('--out is for --format html or pdf; other formats go to stdout');
  const now = v['now'] === undefined ? Date.now() : parseInstant(v['now']);
  if (now === undefined) return usage(`--now ${JSON.stringify(v['now'])} is not an RFC 3339 time with offset, e.g. 2026-12-01T00:00:00Z`);
  const interval = v['interval'] === undefined ? 60_000 : parseDuration(v['interval']);
  if (interval === undefined || interval < 1000) return usage(`--interval ${JSON.stringify(v['interval'])} is not a duration of 1s or more, e.g. 10s`);
  const maxBad = v['max-bad-lines'] === undefined ? 0 : Number(v['max-bad-lines']);
  if (!Number.isInteger(maxBad) || maxBad < 0) return usage(`--max-bad-lines ${JSON.stringify(v['max-bad-lines'])} is not a whole number`);

  if (v['samples'] !== undefined && v['source'] !== undefined) return usage('give --samples or --source, not both');
  const fromEvidence = v['samples'] !== undefined || v['source'] !== undefined;
  const sourceFlags = Object.keys(v).filter((k) => k.startsWith('source.') && v[k] !== undefined);
  if (v['source'] === undefined && sourceFlags.length > 0) return usage(`--${sourceFlags[0]} goes with --source URL`);
  let config: Config | undefined;
  if (v['config'] !== undefined || !fromEvidence) {
    config = loadCommandConfig('report', v['config']);
    if (!config) return 2;
  }

  let store: Store | undefined;
  try {
    let source: TimelineSource;
    /** Regions the evidence holds, where the source can tell (not the agent's store: one region). */
    let regions: string[] | undefined;
    let services: (ServiceDef & { sla: readonly SlaPolicy[] })[];
    /** The targets the source has evidence of, to say why a period has none. */
    let known: string[];
    if (fromEvidence) {
      const intervals = new Map(config?.targets.map((t) => [t.name, t.interval]) ?? []);
      let policies: SlaPolicy[] = [];
      if (!config) {
        const presets = loadPresets();
        const names = v['sla']?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
        for (const n of names) {
          const p = presets.get(n);
          if (typeof p !== 'object') return usage(`--sla ${n}: ${p ?? `no such preset; presets: ${[...presets.keys()].join(', ')}`}`);
          policies.push(p);
        }
        if (policies.length === 0) policies = [DEFAULT_POLICY];
      }
      let evidence: Evidence;
      if (v['source'] !== undefined) {
        // Only the time the reports read: their periods, LOOKBACK before, up to now.
        const wanted = config ? config.services.filter((s) => v['service'] === undefined || s.name === v['service']) : [];
        const ps = config ? wanted.flatMap((s) => policiesOf(s).filter((p) => v['sla'] === undefined || p.name === v['sla'])) : policies;
        const spans = ps.flatMap((p) => (sel ? periodsFor(p.period, sel, p.time_zone) : [periodAt(p.period, now, p.time_zone)]));
        const from = Math.min(...spans.map((x) => x.start)) - LOOKBACK;
        const to = Math.min(Math.max(...spans.map((x) => x.end)) + LOOKBACK, now);
        const chunk = v['source.chunk'] === undefined ? undefined : parseDuration(v['source.chunk']);
        if (v['source.chunk'] !== undefined && (chunk === undefined || chunk < 1000)) return usage(`--source.chunk ${JSON.stringify(v['source.chunk'])} is not a duration of 1s or more, e.g. 6h`);
        const timeout = v['source.timeout'] === undefined ? undefined : parseDuration(v['source.timeout']);
        if (v['source.timeout'] !== undefined && (timeout === undefined || timeout < 1000)) return usage(`--source.timeout ${JSON.stringify(v['source.timeout'])} is not a duration of 1s or more, e.g. 2m`);
        evidence = ps.length === 0 || to <= from ? createEvidence() : await readSource({
            ...sourceAuth(r.values as Record<string, string | boolean | undefined>), url: v['source'], from, to,
            ...(chunk !== undefined ? { chunk } : {}), ...(timeout !== undefined ? { timeout } : {}),
            ...(config ? { targets: [...new Set(wanted.flatMap((s) => s.targets))] } : v['service'] !== undefined ? { targets: [v['service']] } : {}),
            ...(v['source.match'] !== undefined ? { match: v['source.match'] } : {}),
            intervalOf: (t) => intervals.get(t), defaultInterval: interval,
            onWarning: (m) => process.stderr.write(`slaprobe report: warning: ${m}\n`),
          });
        if (evidence.count === 0) process.stderr.write(`slaprobe report: ${v['source']} holds no ${OUTCOME_METRIC} samples for the reported time; every period will say no data\n`);
      } else {
        const candidates = config ? config.services.flatMap((s) => policiesOf(s)) : policies;
        const range = reportedRange(candidates, sel, now);
        const tty = process.stderr.isTTY === true;
        const file = v['samples']!;
        const samples = await readSamples(file, {
          intervalOf: (t) => intervals.get(t) ?? interval,
          maxBadLines: maxBad,
          onBadLine: (m) => process.stderr.write(`slaprobe report: skipped ${m}\n`),
          now,
          ...(range ? { range } : {}),
          // Progress only on a terminal: a pipe or a log file gets the report and its warnings.
          ...(tty ? { onProgress: (n: number, ms: number) => process.stderr.write(`\r${progressLine(n, ms)}`) } : {}),
        });
        if (tty) process.stderr.write(`\r${progressLine(samples.stats.samples, samples.stats.elapsed_ms)}, done\n`);
        const warnings = sampleWarnings(file, samples.stats, (t) => formatInstant(t, candidates[0]!.time_zone), range);
        if (config) {
          const named = new Set(config.targets.map((t) => t.name));
          const strangers = [...samples.stats.targets].filter(([t]) => !named.has(t));
          if (strangers.length > 0) {
            warnings.push(`${file}: samples of targets the config does not name: ${strangers.map(([t, x]) => `${t} (${x.count} sample${x.count === 1 ? '' : 's'})`).join(', ')}; they belong to no service and are not counted: add them to targets: or correct the names`);
          }
        }
        for (const w of warnings) process.stderr.write(`slaprobe report: warning: ${w}\n`);
        evidence = samples;
      }
      source = evidence;
      regions = evidence.regions();
      known = evidence.targets();
      services = config ? config.services : evidence.targets().map((t) => ({ name: t, targets: [t], rule: { type: 'all' as const }, sla: policies }));
      if (v['data-dir'] !== undefined) store = openStore(v['data-dir'], { mustExist: true, readOnly: true });
    } else {
      store = openStore(v['data-dir'] ?? config!.agent.data_dir, { mustExist: true, readOnly: true });
      source = store;
      services = config!.services;
      // The store keeps what the agent recorded under an older config too: say what this
      // config no longer names, as for a samples file.
      const named = new Set(config!.targets.map((t) => t.name));
      known = store.targets();
      const strangers = known.filter((t) => !named.has(t));
      if (strangers.length > 0) process.stderr.write(`slaprobe report: warning: the store holds runs of targets the config does not name: ${strangers.join(', ')}; they belong to no service and are not counted\n`);
      // Runs after the real clock (not after a --now what-if) mean the agent's clock was ahead.
      // The clock is read after the store: a live agent's runs of the moments since the report
      // began are after `now` (and not counted), but never after the time they were read at.
      if (v['now'] === undefined) {
        const st = store;
        const starts = known.flatMap((t) => st.targetSpans(t, now, Infinity, Infinity).flatMap((r) => r.spans.map((x) => x.start)));
        const clock = Date.now();
        const ahead = starts.filter((t) => t > clock);
        if (ahead.length > 0) process.stderr.write(`slaprobe report: warning: the store holds runs from after now (the first at ${new Date(Math.min(...ahead)).toISOString()}); they are not counted: check the agent machine's clock (NTP)\n`);
      }
    }
    // A service may list a target group (target_groups[]): its targets are the evidence's "<group>:..." names.
    if (config?.target_groups.length) services = withGroupTargets(services, config.target_groups, (source as Partial<Pick<Store, 'targets'>>).targets?.() ?? []);
    const recorded: RecordedExclusion[] = store?.exclusions() ?? [];
    if (v['region'] !== undefined) {
      if (regions && !regions.includes(v['region'])) return usage(`--region ${JSON.stringify(v['region'])}: the evidence has no such region; regions: ${regions.map((x) => JSON.stringify(x)).join(', ') || '(none)'}`);
      source = onlyRegion(source, v['region']);
    }

    if (v['service'] !== undefined) {
      services = services.filter((s) => s.name === v['service']);
      if (services.length === 0) return usage(`no service named "${v['service']}"; services: ${(config?.services ?? []).map((s) => s.name).join(', ') || `(the targets of the ${v['source'] !== undefined ? 'store' : 'samples file'})`}`);
    }
    const reports: ServiceReport[] = [];
    const filterSla = config !== undefined ? v['sla'] : undefined;
    let matched = false;
    for (const s of services) {
      for (const p of policiesOf(s)) {
        if (filterSla !== undefined && p.name !== filterSla) continue;
        matched = true;
        const periods: Period[] = sel ? periodsFor(p.period, sel, p.time_zone) : [periodAt(p.period, now, p.time_zone)];
        for (const period of periods) {
          if (period.start > now) continue; // not begun: nothing to say yet
          const rep = reportService(source, s, p, period, config?.maintenance ?? [], recorded, now);
          if (rep.no_data) rep.notes.push(noDataReason(source, s, period, now, (t) => formatInstant(t, p.time_zone), known));
          reports.push(rep);
        }
      }
    }
    if (filterSla !== undefined && !matched) return usage(`no policy named "${filterSla}" on the selected services`);
    if (isPageFormat(format)) {
      const policyOf = (svc: string, sla: string) => services.find((x) => x.name === svc)?.sla.find((p) => p.name === sla) ?? (sla === DEFAULT_POLICY.name ? DEFAULT_POLICY : undefined);
      for (const f of await writePages(reports, format, v['out'], policyOf)) process.stderr.write(`slaprobe report: wrote ${f}\n`);
    } else process.stdout.write(render(reports, format));
    return reports.some((x) => x.met === false) ? 1 : 0;
  } catch (e) {
    if (e instanceof StoreError) {
      process.stderr.write(`slaprobe report: ${e.message}\n`);
      return 2;
    }
    if (e instanceof PageError || e instanceof PdfError) {
      process.stderr.write(`slaprobe report: ${e.message}\n`);
      return 2;
    }
    if (e instanceof SourceError) {
      process.stderr.write(`slaprobe report: --source: ${e.message}\n`);
      return 2;
    }
    if (e instanceof SamplesError) {
      process.stderr.write(`slaprobe report: samples rejected:\n${e.messages.map((m) => `  ${m}`).join('\n')}\n`);
      return 2;
    }
    throw e;
  } finally {
    store?.close();
  }
}
