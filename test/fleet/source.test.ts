// report --source (issue 10, section 2): the fleet's evidence read back from a real
// VictoriaMetrics (and Prometheus 2.42) gives the same report as --samples on an export of
// the same runs, minute for minute; the region rule counts what the regions agree on and
// lists the rest as regional path faults (UMEET-7.1(2) / HEDU-7.1(2)); the 5-minute rule
// (UDESK-1.2) applies to the combined timeline. Auth, TLS and bad answers are refused clearly.
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUT_SHORT_RETRIES } from '../../src/fleet/source.ts';
import { DEGRADED_METRIC, INTERVAL_METRIC, OUTCOME_METRIC } from '../../src/fleet/wire.ts';
import { freePort, startServer, tempDir, tool, waitFor, httpOk, type Server } from '../deploy/tools.ts';
import { makePki } from '../support/certs.ts';
import { startVictoria, type Tsdb } from '../support/tsdb.ts';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'src/cli.ts');
const dir = tempDir('source');

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { cwd: dir, maxBuffer: 64 << 20 }, (e, out, err) => resolve({ code: e ? (e.code as number) : 0, out, err }));
  });
}

interface Run { target: string; region: string; agent: string; t: number; ok: boolean }

// Three hours at 10 s from 2026-11-10T00:00Z, three regions, eu an HA pair. Each agent's runs
// start a few hundred ms off the minute, as real runs do; ap's api runs at hh:mm:x9.999, on
// the query chunks' boundaries (whole minutes minus 1 ms).
const T0 = Date.parse('2026-11-10T00:00:00Z');
const at = (m: number) => T0 + m * 60_000;
const AGENTS = [['ap', 'ap-1'], ['eu', 'eu-1'], ['eu', 'eu-2'], ['us', 'us-1']] as const;
const TARGETS = ['api', 'web'];
function down(target: string, region: string, agent: string, t: number): boolean | undefined {
  if (agent === 'us-1' && t >= at(120) && t < at(140)) return undefined; // us agent stopped: no runs
  if (region === 'eu' && target === 'api' && t >= at(20) && t < at(32)) return true; // eu's path to api: 12 min
  if (target === 'web' && t >= at(60) && t < at(67)) return true; // web down everywhere: 7 min, counted
  if (target === 'api' && t >= at(90) && t < at(94)) return true; // api down everywhere: 4 min, not counted
  if (agent === 'eu-2' && target === 'api' && t >= at(150) && t < at(160)) return true; // one of the eu pair: not eu's view
  return false;
}
const runs: Run[] = [];
AGENTS.forEach(([region, agent], ai) => TARGETS.forEach((target, ti) => {
  for (let t = T0 + (ai === 0 && ti === 0 ? 9999 : 137 + ai * 211 + ti * 53); t < at(180); t += 10_000) {
    const d = down(target, region, agent, t);
    if (d !== undefined) runs.push({ target, region, agent, t, ok: !d });
  }
}));

const configFile = join(dir, 'fleet.yaml');
writeFileSync(configFile, `agent: { region: eu, data_dir: ${JSON.stringify(join(dir, 'data'))} }
targets:
  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
  - { name: web, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
services:
  - { name: meet, targets: [api, web], rule: any, sla: [udesk] }
  - { name: portal, targets: [web], regions: { rule: { at_least_down: 2 }, min_reporting: 2 }, sla: [udesk, hedu] }
`);
const samplesFile = join(dir, 'export.csv');
writeFileSync(samplesFile, `timestamp,target,success,region,agent\n${[...runs].sort((a, b) => a.t - b.t).map((r) => `${(r.t / 1000).toFixed(3)},${r.target},${r.ok},${r.region},${r.agent}`).join('\n')}\n`);
const ARGS = ['--config', configFile, '--period', '2026-11', '--now', '2026-11-10T03:00:00Z', '--format', 'json'];

/** JSON lines for /api/v1/import: one line per series, outcome and interval beside it. */
function importLines(rs: Run[]): string {
  const series = new Map<string, { metric: Record<string, string>; values: number[]; timestamps: number[] }>();
  const push = (name: string, r: Run, value: number) => {
    const key = `${name}\0${r.target}\0${r.region}\0${r.agent}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { metric: { __name__: name, target: r.target, region: r.region, agent: r.agent }, values: [], timestamps: [] }));
    s.values.push(value);
    s.timestamps.push(r.t);
  };
  for (const r of rs) {
    push(OUTCOME_METRIC, r, r.ok ? 1 : 0);
    push(INTERVAL_METRIC, r, 10);
  }
  return [...series.values()].map((s) => JSON.stringify(s)).join('\n');
}

async function load(db: Tsdb, base: string, body: string, headers: Record<string, string> = {}, dispatcher?: unknown): Promise<void> {
  const { fetch } = await import('undici');
  const r = await fetch(`${base}/api/v1/import`, { method: 'POST', body, headers, ...(dispatcher ? { dispatcher: dispatcher as never } : {}) });
  if (!r.ok) throw new Error(`import: ${r.status} ${await r.text()}`);
  await db.raw(`{__name__=~"slaprobe_.*"}`); // until every row is searchable
}

describe('report --source against VictoriaMetrics', () => {
  let vm: Tsdb;
  let base: string;
  beforeAll(async () => {
    vm = await startVictoria();
    base = `http://127.0.0.1:${vm.port}`;
    await load(vm, base, importLines(runs));
  }, 120_000);
  afterAll(async () => {
    await vm?.stop();
  });

  it('gives exactly the report --samples gives on an export of the same runs', async () => {
    const [src, smp] = await Promise.all([cli('report', ...ARGS, '--source', base, '--source.chunk', '50m'), cli('report', ...ARGS, '--samples', samplesFile)]);
    expect(src.err).toBe('');
    expect(smp.err).toBe('');
    expect(src.code).toBe(smp.code);
    const a = JSON.parse(src.out).reports;
    expect(a).toEqual(JSON.parse(smp.out).reports);

    // ... and that report is the one worked out here, minute for minute.
    const meet = a.find((r: { service: string }) => r.service === 'meet');
    expect(meet.regions).toEqual(['ap', 'eu', 'us']);
    // Down where every region saw it down: web from us's first failed run (01:00:00.823) to
    // ap's first good (01:07:00.190), counted (>= 5 min); api from ap's (01:30:09.999) to
    // eu-1's (01:34:00.348), recorded, not counted. eu-2 alone saw api down 02:30-02:40 while
    // eu-1 saw it up: neither eu's fault nor downtime.
    const s = (x: string) => (Date.parse(x) - T0) / 1000; // printed to the second
    expect(meet.windows.map((w: { start: string; end: string; status: string; counted_minutes: number }) => [s(w.start), s(w.end), w.status]))
      .toEqual([[3600, 4020, 'counted'], [5409, 5640, 'not_counted']]);
    expect(meet.windows[0].counted_minutes).toBeCloseTo((6 * 60 + 59.367) / 60, 6);
    expect(meet.minutes.down).toBeCloseTo((6 * 60 + 59.367 + 3 * 60 + 50.349) / 60, 6);
    // eu's 12 minutes on its own path: a regional path fault. eu (the pair merged: up while
    // either saw it up) is down from eu-2's first failed run (.559) to eu-1's first good (.348).
    expect(meet.regional_faults.map((f: { region: string; start: string; end: string; duration_ms: number }) => [f.region, s(f.start), s(f.end), f.duration_ms]))
      .toEqual([['eu', 1200, 1920, 12 * 60_000 - 211]]);
    // Known from eu's first view of both targets (00:00:00.401) to now (before: not in
    // service, udesk's partial month); the us agent's 20 minutes without runs are carried by
    // ap and eu: no unknown time.
    expect(meet.minutes.unknown).toBe(0);
    expect(meet.minutes.not_in_service).toBeCloseTo(meet.minutes.total - 180 + 0.401 / 60, 6);
    // portal needs 2 regions reporting; while us was stopped ap and eu still were
    const portal = a.filter((r: { service: string }) => r.service === 'portal');
    // (two regions down from eu's .612 to eu-1's first good at 01:07:00.401)
    expect(portal.map((r: { sla: string; windows: { start: string; end: string }[] }) => [r.sla, ...r.windows.map((w) => [s(w.start), s(w.end)])]))
      .toEqual([['udesk', [3600, 4020]], ['hedu', [3600, 4020]]]);
    expect(portal.map((r: { minutes: { down_counted: number } }) => r.minutes.down_counted)).toEqual([7, 7]);
  });

  it('--region gives one region\'s own view, the same from both paths', async () => {
    const [src, smp] = await Promise.all([
      cli('report', ...ARGS, '--source', base, '--region', 'eu', '--service', 'meet'),
      cli('report', ...ARGS, '--samples', samplesFile, '--region', 'eu', '--service', 'meet'),
    ]);
    const a = JSON.parse(src.out).reports;
    expect(a).toEqual(JSON.parse(smp.out).reports);
    // eu's own: api from .559 to .348 (12 min less 211 ms), web from .612 to .401, api again 4 min: not counted
    expect(a[0].windows.map((w: { counted_minutes: number }) => w.counted_minutes.toFixed(5))).toEqual([(719.789 / 60).toFixed(5), (419.789 / 60).toFixed(5), '0.00000']);
  });

  it('reads quality verdicts (degraded) per region', async () => {
    const deg = runs.filter((r) => r.target === 'web' && r.region === 'ap');
    await load(vm, base, JSON.stringify({
      metric: { __name__: DEGRADED_METRIC, target: 'web', region: 'ap', agent: 'ap-1' },
      values: deg.map((r) => (r.t >= at(40) && r.t < at(50) ? 1 : 0)), timestamps: deg.map((r) => r.t),
    }));
    const r = await cli('report', ...ARGS, '--source', base, '--service', 'meet');
    const rep = JSON.parse(r.out).reports[0];
    // ap saw web degraded 00:40-00:50, but eu and us saw it up: the best view is the service's
    expect(rep.minutes.degraded).toBe(0);
    const ap = JSON.parse((await cli('report', ...ARGS, '--source', base, '--service', 'meet', '--region', 'ap')).out).reports[0];
    expect(ap.minutes.degraded).toBeCloseTo(10, 6); // 00:40:00.190 to 00:50:00.190
    expect(ap.incidents.filter((i: { level: string }) => i.level === 'L2')).toHaveLength(1);
  }, 120_000);

  it.each([
    [['--source', 'http://127.0.0.1:1'], 'cannot read from the store (ECONNREFUSED'],
    [['--source', 'http://127.0.0.1:9/api/v1/query'], 'give the API root, the part before /api/v1 (e.g. http://127.0.0.1:9)'],
    [['--source', 'ftp://x'], 'scheme "ftp" is not supported'],
    [['--source', 'http://u:p@127.0.0.1:1'], 'no credentials in the URL'],
    [['--source', 'http://127.0.0.1:1', '--source.chunk', 'soon'], '--source.chunk "soon" is not a duration'],
    [['--source.ca-file', '/x'], '--source.ca-file goes with --source URL'],
    [['--source', 'http://127.0.0.1:1', '--samples', '/x'], 'give --samples or --source, not both'],
    [['--source', 'http://127.0.0.1:1', '--source.bearer-token-file', '/nonexistent'], '--source.bearer-token-file /nonexistent: cannot read (ENOENT)'],
  ])('refuses %j', async (args, msg) => {
    const r = await cli('report', ...ARGS, ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });

  it('refuses an answer that is not the query API, and bad samples, naming the series', async () => {
    // a path VictoriaMetrics does not serve: its answer passed on
    const notApi = await cli('report', ...ARGS, '--source', `${base}/metrics`);
    expect(notApi.code).toBe(2);
    expect(notApi.err).toMatch(/the store answered 400 \(.*requestURI: \/metrics\/api\/v1\/query/);
    await load(vm, base, JSON.stringify({ metric: { __name__: OUTCOME_METRIC, target: 'api', region: 'zz', agent: 'x' }, values: [0.5], timestamps: [at(100)] }));
    const r = await cli('report', ...ARGS, '--source', base);
    expect(r.code).toBe(2);
    expect(r.err).toContain('slaprobe_run_success{agent="x",region="zz",target="api"} at 2026-11-10T01:40:00.000Z: value 0.5 is not 1 (run succeeded) or 0 (failed)');
  }, 120_000);
});

describe('report --source through auth and TLS', () => {
  const pki = makePki();
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('basic auth over https with the CA given; refused without the password or the CA', async () => {
    const vm = await startVictoria({ tls: { certFile: join(pki.dir, 'server.pem'), keyFile: join(pki.dir, 'server.key'), ca: pki.ca }, auth: { username: 'fleet', password: 's3cret-pass' } });
    cleanup.push(() => vm.stop());
    const base = `https://127.0.0.1:${vm.port}`;
    const { Agent } = await import('undici');
    await load(vm, base, importLines(runs.filter((r) => r.target === 'web')), { authorization: `Basic ${Buffer.from('fleet:s3cret-pass').toString('base64')}` }, new Agent({ connect: { ca: pki.ca } }));
    const pw = join(dir, 'pw');
    writeFileSync(pw, 's3cret-pass\n');
    const ok = await cli('report', ...ARGS, '--service', 'portal', '--source', base, '--source.ca-file', pki.caFile, '--source.basic-auth-user', 'fleet', '--source.basic-auth-password-file', pw);
    expect(ok.err).toBe('');
    expect(JSON.parse(ok.out).reports[0].minutes.down_counted).toBe(7);
    const noCa = await cli('report', ...ARGS, '--service', 'portal', '--source', base, '--source.basic-auth-user', 'fleet', '--source.basic-auth-password-file', pw);
    expect(noCa.code).toBe(2);
    expect(noCa.err).toMatch(/cannot read from the store \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
    const noPw = await cli('report', ...ARGS, '--service', 'portal', '--source', base, '--source.ca-file', pki.caFile);
    expect(noPw.code).toBe(2);
    expect(noPw.err).toContain('the store answered 401');
  }, 120_000);

  it('a bearer token, through vmauth', async () => {
    const vm = await startVictoria();
    cleanup.push(() => vm.stop());
    await load(vm, `http://127.0.0.1:${vm.port}`, importLines(runs.filter((r) => r.target === 'web')));
    const port = await freePort();
    const cfg = join(dir, 'vmauth.yml');
    writeFileSync(cfg, `users:\n  - bearer_token: "fleet-token-1"\n    url_prefix: "http://127.0.0.1:${vm.port}"\n`);
    const auth: Server = startServer(tool('vmauth'), [`-auth.config=${cfg}`, `-httpListenAddr=127.0.0.1:${port}`, '-loggerLevel=WARN']);
    cleanup.push(() => auth.stop());
    await waitFor(`vmauth ready (${auth.output()})`, async () => ((await httpOk(`http://127.0.0.1:${port}/health`)) ? true : undefined), 30_000, 100);
    const tok = join(dir, 'token');
    writeFileSync(tok, 'fleet-token-1\n');
    const ok = await cli('report', ...ARGS, '--service', 'portal', '--source', `http://127.0.0.1:${port}`, '--source.bearer-token-file', tok);
    // vmauth 1.79 now and then ends an answer early as if complete (seen in CI at 32,768
    // bytes); the reader asks again with a warning (tested below with a proxy that does it).
    expect(ok.err.replace(/^slaprobe report: warning: .* the answer broke off after \d+ bytes .*\n/gm, '')).toBe('');
    expect(JSON.parse(ok.out).reports[0].minutes.down_counted).toBe(7);
    writeFileSync(tok, 'wrong\n');
    const bad = await cli('report', ...ARGS, '--service', 'portal', '--source', `http://127.0.0.1:${port}`, '--source.bearer-token-file', tok);
    expect(bad.code).toBe(2);
    // vmauth 1.79 answers 400 with its reason: passed on as it is
    expect(bad.err).toContain('the store answered 400 ("cannot find the provided auth token \\"Bearer wrong\\" in config")');
  }, 120_000);
});

describe('report --source against Prometheus 2.42', () => {
  let prom: Server | undefined;
  afterAll(async () => {
    await prom?.stop();
  });

  it('gives the same report (blocks backfilled from the same runs by promtool)', async () => {
    // Prometheus includes both ends of a range: the chunks must not read a boundary sample twice.
    const om = join(dir, 'runs.om');
    const lines: string[] = [`# TYPE ${OUTCOME_METRIC} gauge`, `# TYPE ${INTERVAL_METRIC} gauge`];
    const byMetric = new Map<string, string[]>();
    for (const r of runs) {
      const l = `{agent="${r.agent}",region="${r.region}",target="${r.target}"}`;
      (byMetric.get(`${OUTCOME_METRIC}${l}`) ?? byMetric.set(`${OUTCOME_METRIC}${l}`, []).get(`${OUTCOME_METRIC}${l}`)!).push(`${r.ok ? 1 : 0} ${(r.t / 1000).toFixed(3)}`);
      (byMetric.get(`${INTERVAL_METRIC}${l}`) ?? byMetric.set(`${INTERVAL_METRIC}${l}`, []).get(`${INTERVAL_METRIC}${l}`)!).push(`10 ${(r.t / 1000).toFixed(3)}`);
    }
    for (const [k, vs] of [...byMetric].sort(([a], [b]) => a.localeCompare(b))) for (const v of vs) lines.push(`${k} ${v}`);
    writeFileSync(om, `${lines.join('\n')}\n# EOF\n`);
    const data = join(dir, 'prom-data');
    execFileSync(tool('promtool'), ['tsdb', 'create-blocks-from', 'openmetrics', om, data], { stdio: 'pipe' });
    const port = await freePort();
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(cfg, 'global: {}\n');
    prom = startServer(tool('prometheus'), [`--config.file=${cfg}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=100y', '--log.level=warn']);
    await waitFor(`prometheus ready (${prom.output()})`, async () => ((await httpOk(`http://127.0.0.1:${port}/-/ready`)) ? true : undefined), 60_000, 200);
    // 10 minutes: many chunk boundaries, and some fall on a run's timestamp
    const [src, smp] = await Promise.all([
      cli('report', ...ARGS, '--source', `http://127.0.0.1:${port}`, '--source.chunk', '10m'),
      cli('report', ...ARGS, '--samples', samplesFile),
    ]);
    expect(src.err).toBe('');
    expect(JSON.parse(src.out).reports).toEqual(JSON.parse(smp.out).reports);
  }, 120_000);
});

// A proxy between the reader and the store that ends answers early as if complete, as vmauth
// 1.79 does when its read from the store fails: a real VictoriaMetrics behind a real HTTP
// server on loopback that passes the first 32,768 bytes of an answer on and ends it cleanly.
describe('report --source through a proxy that cuts answers short', () => {
  let vm: Tsdb;
  let proxy: import('node:http').Server;
  let cutsLeft = 0;
  /** Answers cut short, by the query asked. */
  const cut = new Map<string, number>();
  let port = 0;
  beforeAll(async () => {
    vm = await startVictoria();
    await load(vm, `http://127.0.0.1:${vm.port}`, importLines(runs.filter((r) => r.target === 'web')));
    const { createServer, request } = await import('node:http');
    proxy = createServer((req, res) => {
      const asked: Buffer[] = [];
      req.on('data', (d: Buffer) => asked.push(d));
      req.on('end', () => {
        const query = Buffer.concat(asked);
        const up = request({ host: '127.0.0.1', port: vm.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
          const chunks: Buffer[] = [];
          ur.on('data', (d: Buffer) => chunks.push(d));
          ur.on('end', () => {
            let body = Buffer.concat(chunks);
            // Only an answer longer than the cut is cut, as vmauth's was.
            if (cutsLeft > 0 && body.length > 32_768) {
              cutsLeft--;
              cut.set(String(query), (cut.get(String(query)) ?? 0) + 1);
              body = body.subarray(0, 32_768);
            }
            res.writeHead(ur.statusCode ?? 502, { 'content-type': ur.headers['content-type'] ?? 'application/json' });
            res.end(body);
          });
        });
        up.end(query);
      });
    });
    port = await new Promise<number>((r) => proxy.listen(0, '127.0.0.1', () => r((proxy.address() as import('node:net').AddressInfo).port)));
  }, 60_000);
  afterAll(async () => {
    proxy?.close();
    await vm?.stop();
  });

  it('asks again, with a warning, and reports what the store holds', async () => {
    const direct = await cli('report', ...ARGS, '--service', 'portal', '--source', `http://127.0.0.1:${vm.port}`);
    expect(direct.err).toBe('');
    cutsLeft = 2;
    cut.clear();
    const r = await cli('report', ...ARGS, '--service', 'portal', '--source', `http://127.0.0.1:${port}`);
    expect(r.code).toBe(direct.code);
    expect([...cut.values()].reduce((a, b) => a + b, 0)).toBe(2);
    const warnings = r.err.split('\n').filter((l) => l.includes('the answer broke off after 32768 bytes'));
    expect(warnings).toHaveLength(2);
    expect(r.err.replace(/^slaprobe report: warning: .* the answer broke off after 32768 bytes .*\n/gm, '')).toBe('');
    expect(JSON.parse(r.out).reports).toEqual(JSON.parse(direct.out).reports);
    expect(JSON.parse(r.out).reports[0].minutes.down_counted).toBe(7);
  }, 120_000);

  it(`refuses once an answer broke off ${CUT_SHORT_RETRIES + 1} times in a row`, async () => {
    cutsLeft = 1_000;
    cut.clear();
    const r = await cli('report', ...ARGS, '--service', 'portal', '--source', `http://127.0.0.1:${port}`);
    expect(r.code).toBe(2);
    // Each query whose answer was cut was asked three times, no more.
    expect(cut.size).toBeGreaterThan(0);
    for (const n of cut.values()) expect(n).toBe(CUT_SHORT_RETRIES + 1);
    expect(r.err).toMatch(/answered 200 with something that is not a Prometheus query API answer \("\{\\"status\\":\\"success\\"/);
    cutsLeft = 0;
  }, 120_000);
});

