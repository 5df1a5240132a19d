// slaprobe exclude: record, list and remove exclusions after the fact (a third-party network
// fault, a customer's own misconfiguration: HEDU-7.1, UMEET-7.1, UDESK-13.2). They are kept in
// the agent's store (safe while the agent runs) and leave both sides of availability.
// Exit codes: 0 done; 1 nothing to remove (no such active exclusion); 2 bad usage, config or store.
import { formatInstant, parseInstant } from '../availability/calendar.ts';
import { loadCommandConfig, parse } from '../cli.ts';
import { StoreError, openStore } from '../store/index.ts';

export const EXCLUDE_HELP = `Usage:
  slaprobe exclude --service S --from TIME --to TIME --reason TEXT [--config FILE] [--data-dir DIR]
  slaprobe exclude list [--service S] [--format table|json] [--config FILE] [--data-dir DIR]
  slaprobe exclude remove ID [--config FILE] [--data-dir DIR]

Records an exclusion after the fact: the time from --from to --to no longer counts for the
service (neither as available nor as unavailable), e.g. a carrier fault outside the
provider's network. Times are RFC 3339 with an offset (2026-11-03T02:00:00+08:00) or Unix
seconds. --service * applies to every service. Removal keeps the record, marked removed.

  --service S     a service of the config, or * for all
  --from TIME     start of the excluded time
  --to TIME       end of the excluded time (after --from)
  --reason TEXT   why: shown next to every window and incident it covers
  --format F      for list: table (default) or json
  --config FILE   the agent's config (default: the embedded config/default.yaml)
  --data-dir DIR  the agent's store (default: agent.data_dir of the config)
  -h, --help

Exit codes: 0 done; 1 remove found no such active exclusion; 2 bad usage, config or store.
`;

function usage(msg: string): number {
  process.stderr.write(`slaprobe exclude: ${msg}\n\nRun "slaprobe exclude --help" for the options.\n`);
  return 2;
}

export async function excludeCommand(argv: string[]): Promise<number> {
  const r = parse(argv, {
    service: { type: 'string', short: 's' }, from: { type: 'string' }, to: { type: 'string' }, reason: { type: 'string' },
    format: { type: 'string' }, config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string', short: 'd' },
  }, EXCLUDE_HELP, true);
  if (r === 'help') return 0;
  if (!r) return 2;
  const v = r.values as Record<string, string | undefined>;
  const [sub, ...pos] = r.positionals;
  if (sub !== undefined && sub !== 'list' && sub !== 'remove') return usage(`unknown subcommand "${sub}"; use list, remove ID, or no subcommand to add`);

  const config = loadCommandConfig('exclude', v['config']);
  if (!config) return 2;
  const names = config.services.map((s) => s.name);
  const svc = v['service'];
  if (svc !== undefined && svc !== '*' && !names.includes(svc)) {
    return usage(`no service named "${svc}" in ${config.source}; services: ${names.join(', ') || 'none'} (or * for all)`);
  }

  let add: { start: number; end: number; reason: string; service: string } | undefined;
  let removeId: number | undefined;
  if (sub === undefined) {
    if (pos.length > 0) return usage(`unexpected argument "${pos[0]}"`);
    if (svc === undefined) return usage('--service is required: the service the exclusion applies to (or * for all)');
    const start = parseInstant(v['from']);
    const end = parseInstant(v['to']);
    if (v['from'] === undefined || start === undefined) return usage(`--from ${JSON.stringify(v['from'] ?? '')} is not an RFC 3339 time with offset (e.g. 2026-11-03T02:00:00+08:00) or Unix seconds`);
    if (v['to'] === undefined || end === undefined) return usage(`--to ${JSON.stringify(v['to'] ?? '')} is not an RFC 3339 time with offset (e.g. 2026-11-03T04:00:00+08:00) or Unix seconds`);
    if (end <= start) return usage('--to must be after --from');
    const reason = v['reason']?.trim();
    if (!reason) return usage('--reason is required: why this time is excluded, e.g. "carrier fault, ticket 4711"');
    add = { start, end, reason, service: svc };
  } else if (sub === 'remove') {
    removeId = Number(pos[0]);
    if (pos.length !== 1 || !Number.isInteger(removeId) || removeId < 1) return usage('remove takes one exclusion ID (see "slaprobe exclude list")');
  }
  const format = v['format'] ?? 'table';
  if (format !== 'table' && format !== 'json') return usage(`--format ${JSON.stringify(format)} is not table or json`);

  let store;
  try {
    // Adding may create the store (exclusions recorded before the agent's first run); list
    // and remove need one. Listing only reads, so it works on a store this user cannot write.
    const listing = add === undefined && removeId === undefined;
    store = openStore(v['data-dir'] ?? config.agent.data_dir, { mustExist: add === undefined, readOnly: listing });
  } catch (e) {
    if (e instanceof StoreError) {
      process.stderr.write(`slaprobe exclude: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  try {
    if (add) {
      const id = store.addExclusion({ ...add, created_at: Date.now() });
      process.stdout.write(`exclusion ${id} recorded: ${add.service} from ${formatInstant(add.start, 'UTC')} to ${formatInstant(add.end, 'UTC')}: ${add.reason}\n`);
      return 0;
    }
    if (removeId !== undefined) {
      if (!store.removeExclusion(removeId, Date.now())) {
        process.stderr.write(`slaprobe exclude: no active exclusion ${removeId}; see "slaprobe exclude list"\n`);
        return 1;
      }
      process.stdout.write(`exclusion ${removeId} removed\n`);
      return 0;
    }
    const list = store.exclusions().filter((x) => svc === undefined || x.service === svc || x.service === '*');
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify(list.map((x) => ({ ...x, start: formatInstant(x.start, 'UTC'), end: formatInstant(x.end, 'UTC'), created_at: formatInstant(x.created_at, 'UTC') })), null, 2)}\n`);
    } else {
      process.stdout.write(list.length === 0 ? 'no exclusions\n' : `${list.map((x) => `${x.id}\t${x.service}\t${formatInstant(x.start, 'UTC')}\t${formatInstant(x.end, 'UTC')}\t${x.reason}`).join('\n')}\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}
