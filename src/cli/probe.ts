// `slaprobe probe KIND TARGET [options]`: one run, printed in full (phases, TLS, packets,
// failure reason and code), like curl -w or blackbox_exporter's debug output. The target is
// built from the flags and validated by the same code as a config file.
import { Ctx } from '../config/check.ts';
import type { Target } from '../config/types.ts';
import { validateConfig } from '../config/validate.ts';
import { PROBE_KINDS, type ProbeKind, type ProbeResult } from '../probes/types.ts';
import { runProbe } from '../runner.ts';
import { parse } from '../cli.ts';

const HELP = `Usage: slaprobe probe KIND TARGET [options]

Runs one probe and prints every measured phase, the packet times and the failure reason.
KIND: http (TARGET is a URL) | tcp (host:port) | icmp (host) | stun (host[:port]) | udp-echo (host[:port])

Common:   --timeout DUR (default 5s; packet kinds: enough for the train)  --ip4 | --ip6  --json
http:     --method M  --header "Name: value" (repeatable)  --body TEXT  --status CODE (repeatable)
          --must-match RE  --must-not-match RE  --max-body-bytes N  --no-follow  --max-redirects N
TLS:      --insecure  --ca-file F  --cert-file F  --key-file F  --server-name NAME
tcp:      --tls  --send TEXT  --expect RE
packets:  --packets N  --spacing DUR  --packet-timeout DUR  --size BYTES
stun:     --transport udp|tcp|tls
udp-echo: --key SECRET (or env SLAPROBE_ECHO_KEY)  --key-id ID

Exit codes: 0 the probe succeeded, 1 it failed, 2 bad usage.
`;

export async function probeCommand(args: string[]): Promise<number> {
  const r = parse(args, {
    timeout: { type: 'string' }, ip4: { type: 'boolean' }, ip6: { type: 'boolean' }, json: { type: 'boolean' },
    method: { type: 'string' }, header: { type: 'string', multiple: true }, body: { type: 'string' },
    status: { type: 'string', multiple: true }, 'must-match': { type: 'string', multiple: true },
    'must-not-match': { type: 'string', multiple: true }, 'max-body-bytes': { type: 'string' },
    'no-follow': { type: 'boolean' }, 'max-redirects': { type: 'string' },
    insecure: { type: 'boolean' }, 'ca-file': { type: 'string' }, 'cert-file': { type: 'string' },
    'key-file': { type: 'string' }, 'server-name': { type: 'string' },
    tls: { type: 'boolean' }, send: { type: 'string' }, expect: { type: 'string' },
    packets: { type: 'string' }, spacing: { type: 'string' }, 'packet-timeout': { type: 'string' }, size: { type: 'string' },
    transport: { type: 'string' }, key: { type: 'string' }, 'key-id': { type: 'string' },
  }, HELP, true);
  if (r === 'help') return 0;
  if (!r) return 2;
  const [kind, addr] = r.positionals;
  const usage = (msg: string) => {
    process.stderr.write(`slaprobe probe: ${msg}\nUsage: slaprobe probe KIND TARGET [options]; "slaprobe probe --help" lists the options\n`);
    return 2;
  };
  if (!kind) return usage(`give KIND (${PROBE_KINDS.join(' | ')}) and TARGET`);
  if (!(PROBE_KINDS as readonly string[]).includes(kind)) return usage(`unknown kind ${kind}; kinds are ${PROBE_KINDS.join(', ')}`);
  if (!addr) return usage(`give TARGET after ${kind}, e.g. ${EXAMPLES[kind as ProbeKind]}`);
  if (r.positionals.length > 2) return usage(`one TARGET only, got ${r.positionals.slice(1).join(' ')}`);
  const v = r.values as Record<string, string | string[] | boolean | undefined>;
  const target = buildTarget(kind as ProbeKind, addr, v);
  if (typeof target === 'string') {
    process.stderr.write(`slaprobe probe: ${target}\n`);
    return 2;
  }
  const { result, durationSeconds } = await runProbe(target);
  if (v['json']) process.stdout.write(`${JSON.stringify({ target: target.name, kind: target.kind, duration_seconds: durationSeconds, ...result }, null, 2)}\n`);
  else process.stdout.write(`${(await formatResult(target, result, durationSeconds)).join('\n')}\n`);
  return result.success ? 0 : 1;
}

const EXAMPLES: Record<ProbeKind, string> = {
  http: 'slaprobe probe http https://127.0.0.1:8443/health',
  tcp: 'slaprobe probe tcp 127.0.0.1:5061',
  icmp: 'slaprobe probe icmp 127.0.0.1',
  stun: 'slaprobe probe stun 127.0.0.1:3478',
  'udp-echo': 'slaprobe probe udp-echo 127.0.0.1:8622 --key-id default',
};

/** What to try next for a failure the flags can fix. */
function hintFor(target: Target, r: ProbeResult): string | undefined {
  if (r.reason !== 'tls') return undefined;
  if (r.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'the certificate is not for this name: pass --server-name NAME (the name it was issued for), or --insecure to skip verification';
  if (r.code === 'CERT_HAS_EXPIRED') return 'the server\'s certificate has expired; --insecure skips verification (to measure only)';
  if (r.code && /CERT|SELF_SIGNED|ISSUER|LEAF/.test(r.code)) return `the server's certificate is not trusted: pass --ca-file FILE with the CA that signs it, or --insecure to skip verification${target.kind === 'tcp' ? ' (with --tls)' : ''}`;
  return undefined;
}

const num = (s: unknown) => (typeof s === 'string' && /^\d+$/.test(s) ? Number(s) : s);

/** The flags as a one-target config, validated like a file; returns the error text on failure. */
export function buildTarget(kind: ProbeKind, addr: string, v: Record<string, string | string[] | boolean | undefined>): Target | string {
  const t: Record<string, unknown> = { name: 'cli', kind, ...(kind === 'http' ? { url: addr } : { address: addr }) };
  const set = (key: string, val: unknown) => { if (val !== undefined && val !== false) t[key] = val; };
  set('timeout', v['timeout']);
  if (v['ip4']) t['ip_protocol'] = 'ip4';
  if (v['ip6']) t['ip_protocol'] = 'ip6';
  const tls: Record<string, unknown> = {};
  if (v['insecure']) tls['insecure_skip_verify'] = true;
  for (const [flag, key] of [['ca-file', 'ca_file'], ['cert-file', 'cert_file'], ['key-file', 'key_file'], ['server-name', 'server_name']] as const) {
    if (v[flag] !== undefined) tls[key] = v[flag];
  }
  if (kind === 'http') {
    set('method', v['method']);
    set('body', v['body']);
    if (v['header']) t['headers'] = Object.fromEntries((v['header'] as string[]).map((h) => { const i = h.indexOf(':'); return [h.slice(0, i).trim(), h.slice(i + 1).trim()]; }));
    if (v['status']) t['valid_status_codes'] = (v['status'] as string[]).map(num);
    set('must_match', v['must-match']);
    set('must_not_match', v['must-not-match']);
    set('max_body_bytes', num(v['max-body-bytes']));
    if (v['no-follow']) t['follow_redirects'] = false;
    set('max_redirects', num(v['max-redirects']));
    if (Object.keys(tls).length) t['tls'] = tls;
  }
  if (kind === 'tcp') {
    if (v['tls']) t['tls'] = Object.keys(tls).length ? tls : true;
    set('send', v['send']);
    set('expect', v['expect']);
  }
  if (kind === 'icmp' || kind === 'stun' || kind === 'udp-echo') {
    set('packets', num(v['packets']));
    set('spacing', v['spacing']);
    if (kind !== 'icmp') set('packet_timeout', v['packet-timeout']);
    if (kind !== 'stun') set('size', num(v['size']));
  }
  if (kind === 'stun') {
    set('transport', v['transport']);
    if (Object.keys(tls).length) t['tls'] = tls;
  }
  if (kind === 'udp-echo') {
    set('key', v['key'] ?? process.env['SLAPROBE_ECHO_KEY']);
    set('key_id', v['key-id']);
  }
  if (t['timeout'] === undefined) t['timeout'] = defaultTimeout(t);
  t['interval'] = `${Math.max(60_000, parseMsLoose(t['timeout']) + 1000)}ms`;
  const ctx = new Ctx();
  const cfg = validateConfig({ targets: [t] }, '<command line>', ctx);
  if (!cfg) return ctx.issues.map((i) => `${flagName(i.path)}: ${i.message}`).join('\n');
  return cfg.targets[0]!;
}

/** Long enough for the packet train the flags ask for. */
function defaultTimeout(t: Record<string, unknown>): string {
  const packets = typeof t['packets'] === 'number' ? t['packets'] : t['kind'] === 'udp-echo' ? 250 : 10;
  const spacing = parseMsLoose(t['spacing'] ?? (t['kind'] === 'udp-echo' ? '20ms' : t['kind'] === 'stun' ? '250ms' : '200ms'));
  return `${Math.max(5000, (packets - 1) * spacing + 2000)}ms`;
}

function parseMsLoose(v: unknown): number {
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v) : null;
  if (!m) return 5000;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

function flagName(path: readonly (string | number)[]): string {
  const key = String(path[2] ?? path[path.length - 1]);
  return key === 'url' || key === 'address' ? 'TARGET' : `--${key.replace(/_/g, '-')}`;
}

async function formatResult(target: Target, r: ProbeResult, duration: number): Promise<string[]> {
  const ms = (s: number | undefined) => (s === undefined ? '-' : `${(s * 1000).toFixed(3)} ms`);
  const out = [`${target.kind} ${'url' in target ? target.url : target.address}: ${r.success ? 'SUCCESS' : `FAILURE reason=${r.reason}${r.code ? ` code=${r.code}` : ''}`}`];
  if (r.detail) out.push(`  detail:   ${r.detail}`);
  const hint = hintFor(target, r);
  if (hint) out.push(`  hint:     ${hint}`);
  out.push(`  duration: ${ms(duration)}`);
  for (const [k, v] of Object.entries(r.phases ?? {})) out.push(`  ${`${k}:`.padEnd(10)}${ms(v)}`);
  if (r.http) out.push(`  http:     status=${r.http.status ?? '-'} redirects=${r.http.redirects ?? 0} body_bytes=${r.http.bodyBytes ?? 0}${r.http.remoteAddress ? ` remote=${r.http.remoteAddress}` : ''}`);
  if (r.tls) {
    out.push(`  tls:      ${r.tls.version ?? '-'} ${r.tls.cipher ?? ''} subject=${r.tls.subject ?? '-'} issuer=${r.tls.issuer ?? '-'}`);
    if (r.tls.certNotAfter !== undefined) out.push(`  cert:     earliest expiry in chain ${new Date(r.tls.certNotAfter * 1000).toISOString()} (${((r.tls.certNotAfter - Date.now() / 1000) / 86_400).toFixed(1)} days)`);
  }
  for (const [k, v] of Object.entries(r.info ?? {})) out.push(`  ${`${k}:`.padEnd(10)}${String(v)}`);
  const p = r.packets;
  if (p) {
    out.push(`  packets:  sent=${p.sent} received=${p.received} lost=${p.lost ?? p.sent - p.received}${p.duplicated ? ` duplicated=${p.duplicated}` : ''}${p.late ? ` late=${p.late}` : ''}${p.unobserved ? ` unobserved=${p.unobserved}` : ''}${p.reordered ? ` reordered=${p.reordered}` : ''}`);
    const seqs = p.seqs ?? p.rtts.map((_, i) => i + 1);
    const times = p.rtts.map((rtt, i) => `#${seqs[i]}=${(rtt * 1000).toFixed(3)}`);
    for (let i = 0; i < times.length; i += 8) out.push(`  ${i === 0 ? 'rtt ms:' : '       '}   ${times.slice(i, i + 8).join(' ')}`);
    try {
      const q = await import('../quality/summary.ts');
      out.push(...q.summarizeRun(target, r).map((l: string) => `  ${l}`));
    } catch {
      // The statistics summary ships with the quality module; without it the raw times stand.
    }
  }
  return out;
}
