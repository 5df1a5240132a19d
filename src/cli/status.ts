// slaprobe status --out DIR: the agent's status page as static files (index.html and
// status.json) for hosting anywhere, from the agent's store or the fleet's evidence in a
// Prometheus-compatible store (--source). Exit codes: 0 written; 2 bad usage, config, store
// or source, or the folder cannot be written.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInstant } from '../availability/calendar.ts';
import type { RecordedExclusion } from '../availability/exclusions.ts';
import { loadCommandConfig, parse } from '../cli.ts';
import { parseDuration } from '../config/duration.ts';
import { SOURCE_HELP, SOURCE_OPTIONS, SourceError, readSource, sourceAuth } from '../fleet/source.ts';
import { renderStatus } from '../status/html.ts';
import { type StatusSource, buildStatus, statusJson, statusRange } from '../status/model.ts';
import { StoreError, openStore, type Store } from '../store/index.ts';

export const STATUS_HELP = `Usage: slaprobe status --out DIR [--config FILE] [--data-dir DIR] [--title TEXT] [--now TIME]
                       [--source URL [--source.* ...]]

Writes the status page the agent serves on GET /status as static files: DIR/index.html
(self-contained: no script, no external asset) and DIR/status.json. Per service: the
current state (per region where several), 90 daily bars, each policy's current period
against its target with the error budget left, incidents, planned maintenance. Figures come
from the same calculator as "slaprobe report". See docs/status-page.md.

  --out DIR          folder to write (created if missing; the two files are replaced)
  --config FILE      services and policies (default: the embedded config/default.yaml)
  --data-dir DIR     the agent's store (default: agent.data_dir of the config); with
                     --source, optional: where recorded exclusions are read from
${SOURCE_HELP}  --title TEXT       page title (default "Service status")
  --now TIME         the page as of TIME (RFC 3339), for reproducible pages
  -h, --help

Exit codes: 0 written; 2 bad usage, config or store, or DIR not writable.
`;

function usage(msg: string): number {
  process.stderr.write(`slaprobe status: ${msg}\n\nRun "slaprobe status --help" for the options.\n`);
  return 2;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const r = parse(argv, {
    out: { type: 'string', short: 'o' }, config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string', short: 'd' },
    title: { type: 'string' }, now: { type: 'string' }, ...SOURCE_OPTIONS,
  }, STATUS_HELP);
  if (r === 'help') return 0;
  if (!r) return 2;
  const v = r.values as Record<string, string | undefined>;
  if (v['out'] === undefined) return usage('--out DIR is required: the folder to write index.html and status.json to');
  const sourceFlags = Object.keys(v).filter((k) => k.startsWith('source.') && v[k] !== undefined);
  if (v['source'] === undefined && sourceFlags.length > 0) return usage(`--${sourceFlags[0]} goes with --source URL`);
  const chunk = v['source.chunk'] === undefined ? undefined : parseDuration(v['source.chunk']);
  if (v['source.chunk'] !== undefined && (chunk === undefined || chunk < 1000)) return usage(`--source.chunk ${JSON.stringify(v['source.chunk'])} is not a duration of 1s or more, e.g. 6h`);
  const timeout = v['source.timeout'] === undefined ? undefined : parseDuration(v['source.timeout']);
  if (v['source.timeout'] !== undefined && (timeout === undefined || timeout < 1000)) return usage(`--source.timeout ${JSON.stringify(v['source.timeout'])} is not a duration of 1s or more, e.g. 2m`);
  const now = v['now'] === undefined ? Date.now() : parseInstant(v['now']);
  if (now === undefined) return usage(`--now ${JSON.stringify(v['now'])} is not an RFC 3339 time with offset, e.g. 2026-12-01T00:00:00Z`);
  const config = loadCommandConfig('status', v['config']);
  if (!config) return 2;
  let store: Store | undefined;
  try {
    const intervals = new Map(config.targets.map((t) => [t.name, t.interval]));
    let source: StatusSource;
    let recorded: RecordedExclusion[] = [];
    if (v['source'] !== undefined) {
      const { from, to } = statusRange(config.services, now);
      source = await readSource({
        ...sourceAuth(r.values as Record<string, string | boolean | undefined>), url: v['source'], from, to,
        targets: [...new Set(config.services.flatMap((s) => s.targets))],
        ...(chunk !== undefined ? { chunk } : {}), ...(timeout !== undefined ? { timeout } : {}),
        ...(v['source.match'] !== undefined ? { match: v['source.match'] } : {}),
        intervalOf: (t) => intervals.get(t), defaultInterval: 60_000,
        onWarning: (msg) => process.stderr.write(`slaprobe status: warning: ${msg}\n`),
      });
      if (v['data-dir'] !== undefined) {
        store = openStore(v['data-dir'], { mustExist: true, readOnly: true });
        recorded = store.exclusions();
      }
    } else {
      store = openStore(v['data-dir'] ?? config.agent.data_dir, { mustExist: true, readOnly: true });
      source = store;
      recorded = store.exclusions();
    }
    const m = buildStatus({ services: config.services, intervals, maintenance: config.maintenance, recorded, source, now });
    const html = renderStatus(m, v['title'] !== undefined ? { title: v['title'] } : {});
    const json = `${JSON.stringify(statusJson(m), null, 2)}\n`;
    const dir = v['out'];
    try {
      mkdirSync(dir, { recursive: true });
      // Written aside and renamed: a web server never serves a half-written page.
      for (const [name, body] of [['index.html', html], ['status.json', json]] as const) {
        writeFileSync(join(dir, `.${name}.tmp`), body);
        renameSync(join(dir, `.${name}.tmp`), join(dir, name));
      }
    } catch (e) {
      return usage(`cannot write to ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path and its permissions`);
    }
    process.stderr.write(`slaprobe status: wrote ${join(dir, 'index.html')} and ${join(dir, 'status.json')}${m.stale ? ' (the data is stale: the page says so)' : ''}\n`);
    return 0;
  } catch (e) {
    if (e instanceof StoreError) {
      process.stderr.write(`slaprobe status: ${e.message}\n`);
      return 2;
    }
    if (e instanceof SourceError) {
      process.stderr.write(`slaprobe status: --source: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    store?.close();
  }
}
