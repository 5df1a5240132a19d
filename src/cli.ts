// The slaprobe command line. Exit codes: 0 success; 1 the thing checked failed (a probe
// failed, the agent stopped on an error); 2 bad usage or a bad config (nothing started).
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { ConfigError, EMBEDDED_DEFAULT, loadConfig, loadConfigFile } from './config/load.ts';
import { formatMs } from './config/check.ts';
import { policiesOf, policyRules } from './config/sla.ts';
import type { Config } from './config/types.ts';
import { LOG_FORMATS, type LogFormat } from './log.ts';
import { VERSION } from './version.ts';
import { execTuned } from './engine/isolate.ts';
import { EXIT_INTERNAL } from './cli/exit.ts';

const MAIN_HELP = `slaprobe ${VERSION}: synthetic uptime and network-quality probes for conferencing SLAs

Usage:
  slaprobe run [--config FILE] [--listen HOST:PORT] [--data-dir DIR]
  slaprobe check-config [--no-secrets] FILE
  slaprobe probe KIND TARGET [options]      KIND: http | tcp | icmp | stun | udp-echo
  slaprobe report [--period YYYY-MM | --year YYYY] [--service S] [--sla P] [--format F] ...
  slaprobe exclude --service S --from TIME --to TIME --reason TEXT ...
  slaprobe status --out DIR [--config FILE] [--data-dir DIR]
  slaprobe export openslo [--config FILE] [--out FILE]
  slaprobe version

Run "slaprobe COMMAND --help" for a command's options.
Exit codes: 0 ok; 1 failed (probe failed, SLA missed, runtime error); 2 bad usage or config.
`;

const RUN_HELP = `Usage: slaprobe run [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--web.config.file F] [--web.enable-lifecycle]

Runs the agent: probes every target on its schedule and serves /status, /status.json,
/metrics, /healthz, /readyz (and /-/healthy, /-/ready) on agent.listen. SIGHUP reloads the
config; SIGTERM/SIGINT stop cleanly.

  -c, --config FILE          YAML config (default: the embedded config/default.yaml, loopback only)
  -l, --listen HOST:PORT     overrides agent.listen
  -d, --data-dir DIR         overrides agent.data_dir
  --web.config.file FILE     TLS and basic auth for every endpoint (exporter-toolkit format)
  --web.enable-lifecycle     serve POST /-/reload (SIGHUP always reloads)
  --log.format logfmt|json   default: logfmt on a terminal, JSON otherwise
  -h, --help
`;

const CHECK_HELP = `Usage: slaprobe check-config [--no-secrets] FILE

Validates FILE as slaprobe would load it and prints a summary of its targets and services.
When ICMP targets exist, also checks that the system ping can run. Exit 0 valid, 2 invalid,
3 internal error.

  --no-secrets   check the structure only: \${ENV} and \${file:} references are not resolved
                 (for a machine, such as CI, without the secrets)
  -h, --help
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd] = argv;
  // `run` documents 1 for a runtime error; its failures are the agent's, logged as they happen.
  if (cmd === 'run') return command(argv);
  try {
    return await command(argv);
  } catch (e) {
    process.stderr.write(`slaprobe ${cmd ?? ''}: internal error (a bug in slaprobe, not a verdict; please report it): ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT_INTERNAL;
  }
}

async function command(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return runCommand(rest);
    case 'check-config':
      return checkConfigCommand(rest);
    case 'probe':
      // Imported on use: the agent's main thread never runs a probe, so it does not load
      // undici and ping (the engine worker does).
      return (await import('./cli/probe.ts')).probeCommand(rest);
    case 'report':
      return (await import('./cli/report.ts')).reportCommand(rest);
    case 'exclude':
      return (await import('./cli/exclude.ts')).excludeCommand(rest);
    case 'status':
      return (await import('./cli/status.ts')).statusCommand(rest);
    case 'export':
      return (await import('./cli/export.ts')).exportCommand(rest);
    case 'version':
    case '--version':
      process.stdout.write(`slaprobe ${VERSION} (node ${process.version})\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(MAIN_HELP);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`slaprobe: unknown command "${cmd}"\n\n${MAIN_HELP}`);
      return 2;
  }
}

export type Parsed = { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };

/** parseArgs with --help and a usage message on a bad flag: 'help' = printed, undefined = bad usage. */
export function parse(args: string[], options: ParseArgsOptionsConfig, help: string, positionals = false): Parsed | 'help' | undefined {
  try {
    const r = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals, strict: true });
    if (r.values['help']) {
      process.stdout.write(help);
      return 'help';
    }
    return r as Parsed;
  } catch (e) {
    const cmd = /^Usage: (slaprobe(?: [a-z-]+)?)/.exec(help)?.[1] ?? 'slaprobe';
    process.stderr.write(`${cmd}: ${usageError(e, options)}\n${help.split('\n')[0]}\nRun "${cmd} --help" for every option.\n`);
    return undefined;
  }
}

/** parseArgs's error in slaprobe's words; classified by its code, the flag taken from it. */
function usageError(e: unknown, options: ParseArgsOptionsConfig): string {
  const code = (e as NodeJS.ErrnoException).code;
  const msg = (e as Error).message;
  const flag = /--[\w.-]+/.exec(msg)?.[0] ?? /'(-[^' ,]+)/.exec(msg)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `option ${flag} ${Object.entries(options).some(([k, o]) => `--${k}` === flag && o.type === 'boolean') ? 'takes no value' : 'needs a value'}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec((e as Error).message)?.[1] ?? ''}; this command takes options only`;
    default:
      return (e as Error).message;
  }
}

/** Loads the config for a command; prints the rejection and returns undefined (exit 2) when bad. */
export function loadCommandConfig(cmd: string, file: string | undefined): Config | undefined {
  try {
    return loadConfigFile(file ?? EMBEDDED_DEFAULT);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`slaprobe ${cmd}: config rejected:\n${e.messages.map((m) => `  ${m}`).join('\n')}\n`);
      return undefined;
    }
    throw e;
  }
}

/** The longest SIGTERM may take: above the engine's and the reflector's own grace periods. */
const STOP_DEADLINE_MS = 20_000;

async function runCommand(args: string[]): Promise<number> {
  const r = parse(args, {
    config: { type: 'string', short: 'c' },
    listen: { type: 'string', short: 'l' },
    'data-dir': { type: 'string', short: 'd' },
    'web.config.file': { type: 'string' },
    'web.enable-lifecycle': { type: 'boolean' },
    'log.format': { type: 'string' },
  }, RUN_HELP);
  if (r === 'help') return 0;
  if (!r) return 2;
  const v = r.values as { config?: string; listen?: string; 'data-dir'?: string; 'web.config.file'?: string; 'web.enable-lifecycle'?: boolean; 'log.format'?: string };
  const logFormat = v['log.format'];
  if (logFormat !== undefined && !(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    process.stderr.write(`slaprobe run: --log.format must be ${LOG_FORMATS.join(' or ')}, got "${logFormat}"\n`);
    return 2;
  }
  let agent;
  try {
    const webFile = v['web.config.file'];
    // Imported here, not at the top: `slaprobe run` first replaces its process (execTuned,
    // src/engine/isolate.ts), and the process before the exec should load only the CLI.
    agent = await (await import('./agent.ts')).startAgent({
      configFile: v.config ?? EMBEDDED_DEFAULT,
      ...(v.listen ? { listen: v.listen } : {}),
      ...(v['data-dir'] ? { dataDir: v['data-dir'] } : {}),
      ...(webFile ? { webFile } : {}),
      ...(v['web.enable-lifecycle'] ? { lifecycle: true } : {}),
      ...(logFormat ? { logFormat: logFormat as LogFormat } : {}),
      settleHeap: true,
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`slaprobe: config rejected, nothing started:\n${e.messages.map((m) => `  ${m}`).join('\n')}\n`);
      return 2;
    }
    throw e;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`slaprobe: ${sig}, stopping\n`);
      // agent.stop() bounds each of its steps; this is the backstop if one still hangs.
      setTimeout(() => {
        process.stderr.write(`slaprobe: did not stop within ${STOP_DEADLINE_MS / 1000} s; exiting anyway\n`);
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      agent.stop().then(() => resolve(0), () => resolve(1));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => { void agent.reload(); });
  });
}

async function checkConfigCommand(args: string[]): Promise<number> {
  const r = parse(args, { 'no-secrets': { type: 'boolean' } }, CHECK_HELP, true);
  if (r === 'help') return 0;
  if (!r) return 2;
  const noSecrets = r.values['no-secrets'] === true;
  const file = r.positionals[0];
  if (!file || r.positionals.length > 1) {
    process.stderr.write(`slaprobe check-config: give exactly one config file\n\n${CHECK_HELP}`);
    return 2;
  }
  let cfg;
  try {
    cfg = await loadConfig(file, noSecrets ? { noSecrets } : {});
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.messages.join('\n')}\n`);
      return 2;
    }
    throw e;
  }
  const out: string[] = [`${file}: valid${noSecrets ? ' (structure only: secrets not resolved)' : ''}`, `  agent: region=${cfg.agent.region} listen=${cfg.agent.listen} data_dir=${cfg.agent.data_dir}`];
  for (const t of cfg.targets) out.push(`  target ${t.name}: ${t.kind} every ${formatMs(t.interval)}, timeout ${formatMs(t.timeout)}`);
  if (cfg.agent.shard) out.push(`  shard ${cfg.agent.shard.index} of ${cfg.agent.shard.count} (Prometheus hashmod of each target's address)`);
  for (const g of cfg.target_groups) {
    const from = [...g.file_sd_configs.flatMap((f) => f.files.map((x) => `file_sd ${x}`)), ...g.http_sd_configs.map((h) => `http_sd ${h.url}`)];
    out.push(`  target group ${g.name}: ${g.kind} targets from ${from.join(', ')}`);
  }
  // Origin and path only: a query string may carry a token.
  for (const r of cfg.remote_write) out.push(`  remote_write ${r.name}: ${new URL(r.url).origin}${new URL(r.url).pathname}`);
  for (const s of cfg.services) {
    out.push(`  service ${s.name}: ${s.targets.join(', ')} (rule ${s.rule.type === 'at_least' ? `at_least ${s.rule.k}` : s.rule.type})`);
    for (const p of policiesOf(s)) {
      out.push(`    sla ${p.name}${s.sla.length > 0 ? '' : ' (the service names none)'}: ${p.target} % per ${p.period} in ${p.time_zone}, ${p.min_outage > 0 ? `outages under ${formatMs(p.min_outage)} not counted` : 'every outage counted'}, unknown time ${p.unknown}`);
      out.push(`      ${policyRules(p)}`);
    }
  }
  if (cfg.maintenance.length > 0) out.push(`  maintenance: ${cfg.maintenance.length} window${cfg.maintenance.length === 1 ? '' : 's'}`);
  if (cfg.reflector) {
    const n = Object.keys(cfg.reflector.keys).length;
    out.push(`  reflector on ${cfg.reflector.listen} (${n} key${n === 1 ? '' : 's'})`);
  }
  let code = 0;
  if (cfg.targets.some((t) => t.kind === 'icmp')) {
    const { findPing, icmpProbe } = await import('./probes/icmp.ts');
    const ping = findPing();
    if (!ping) {
      out.push('  ping: NOT FOUND on PATH; icmp targets will fail with reason ping_unavailable. Install iputils-ping.');
      code = 2;
    } else {
      const res = await icmpProbe({ name: 'check', kind: 'icmp', address: '127.0.0.1', host: '127.0.0.1', packets: 1, spacing: 200, size: 56, ip_protocol: 'ip4', interval: 10_000, timeout: 2_000, labels: {} }, AbortSignal.timeout(3_000));
      if (res.success) out.push(`  ping: ${ping} works (echo to 127.0.0.1 answered)`);
      else {
        out.push(`  ping: ${ping} does not work: ${res.reason} (${res.detail}); as non-root it needs cap_net_raw or net.ipv4.ping_group_range (see README)`);
        code = 2;
      }
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return code;
}

// Run when executed directly (bin/slaprobe.js or node src/cli.ts), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[/\\])(?:cli\.(?:ts|js)|slaprobe(?:\.js)?)$/.test(invoked)) {
  // The agent sizes its own heap (src/engine/isolate.ts): no flag for anyone to pass.
  if (process.argv[2] === 'run') execTuned();
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => {
      process.stderr.write(`slaprobe: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
