// slaprobe status --source: the page from the fleet's evidence in a real VictoriaMetrics is
// the page the agent's own store gives for the same runs (the same calculator over the same
// timeline); recorded exclusions come from --data-dir. Bad source flags are refused clearly.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERVAL_METRIC, OUTCOME_METRIC } from '../../src/fleet/wire.ts';
import { freePort } from '../deploy/tools.ts';
import { HISTORY_STEP, type History, history, historyRuns, statusConfig, writeHistory } from '../support/status-store.ts';
import { startVictoria, type Tsdb } from '../support/tsdb.ts';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'src/cli.ts');

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { maxBuffer: 1 << 26 }, (e, out, err) => resolve({ code: e ? (e.code as number) : 0, out, err }));
  });
}

let dir: string;
let h: History;
let vm: Tsdb;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slaprobe-status-source-'));
  h = history(Date.now());
  // No quality breach: the pushed runs here carry no verdicts.
  writeHistory(join(dir, 'data'), h, { degraded: false });
  writeFileSync(join(dir, 'c.yaml'), statusConfig(h, join(dir, 'data'), '127.0.0.1:9'));
  vm = await startVictoria();
  base = `http://127.0.0.1:${vm.port}`;
  const series = new Map<string, { metric: Record<string, string>; values: number[]; timestamps: number[] }>();
  const push = (name: string, region: string, t: number, value: number) => {
    const key = `${name}\0${region}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { metric: { __name__: name, target: 'api', region, agent: `${region}-1` }, values: [], timestamps: [] }));
    s.values.push(value);
    s.timestamps.push(t);
  };
  for (const r of historyRuns(h)) {
    push(OUTCOME_METRIC, r.region, r.t, r.ok ? 1 : 0);
    push(INTERVAL_METRIC, r.region, r.t, HISTORY_STEP / 1000);
  }
  const res = await fetch(`${base}/api/v1/import`, { method: 'POST', body: [...series.values()].map((s) => JSON.stringify(s)).join('\n') });
  expect(res.ok).toBe(true);
  await vm.raw(`{__name__=~"slaprobe_.*"}`); // until every row is searchable
}, 90_000);

afterAll(async () => {
  await vm?.stop();
});

interface StatusJson {
  stale: boolean;
  services: {
    state: string; range_availability: number | null;
    regions: { region: string; state: string; as_of: string | null }[];
    days: { date: string; kind: string; availability: number | null; minutes: unknown }[];
    periods: { sla: string; availability: number | null; minutes: unknown; windows: { start: string; status: string; counted_minutes: number }[] }[];
    incidents: { level: string; start: string; duration_ms: number; counted: boolean; why: string[] }[];
  }[];
}

describe('slaprobe status --source', () => {
  it('gives the page the local store gives for the same runs', async () => {
    const now = new Date(h.d0 + 3_600_000).toISOString();
    const [local, fleet] = await Promise.all([
      cli('status', '--config', join(dir, 'c.yaml'), '--now', now, '--out', join(dir, 'local')),
      cli('status', '--config', join(dir, 'c.yaml'), '--now', now, '--out', join(dir, 'fleet'), '--source', base, '--source.chunk', '2d', '--data-dir', join(dir, 'data')),
    ]);
    expect(local.code).toBe(0);
    expect(fleet.code, fleet.err).toBe(0);
    const read = (d: string) => JSON.parse(readFileSync(join(dir, d, 'status.json'), 'utf8')) as StatusJson;
    const a = read('local').services[0]!;
    const b = read('fleet').services[0]!;
    expect(b.days.map((d) => [d.date, d.kind, d.availability, d.minutes])).toEqual(a.days.map((d) => [d.date, d.kind, d.availability, d.minutes]));
    expect(b.periods.map((p) => [p.sla, p.availability, p.minutes, p.windows])).toEqual(a.periods.map((p) => [p.sla, p.availability, p.minutes, p.windows]));
    expect(b.incidents.map((i) => [i.level, i.start, i.duration_ms, i.counted, i.why])).toEqual(a.incidents.map((i) => [i.level, i.start, i.duration_ms, i.counted, i.why]));
    expect(b.regions.map((r) => [r.region, r.state, r.as_of])).toEqual(a.regions.map((r) => [r.region, r.state, r.as_of]));
    expect(b.range_availability).toBe(a.range_availability);
    // The outage day is counted, the excluded one (a recorded exclusion, from --data-dir) is not.
    const kind = (n: number) => b.days.find((d) => d.date === h.date(n))!.kind;
    expect([kind(3), kind(4), kind(5), kind(6), kind(8)]).toEqual(['counted', 'not_counted', 'maintenance', 'unknown', 'not_counted']);
  });

  it.each([
    [['--source.match', 'env="prod"'], '--source.match goes with --source URL'],
    [['--source', 'http://127.0.0.1:1', '--source.chunk', 'often'], '--source.chunk "often" is not a duration'],
  ])('%j is refused: %s', async (args, msg) => {
    const r = await cli('status', '--config', join(dir, 'c.yaml'), '--out', join(dir, 'x'), ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });

  it('a source nobody answers on is exit 2, naming it', async () => {
    const port = await freePort();
    const r = await cli('status', '--config', join(dir, 'c.yaml'), '--out', join(dir, 'y'), '--source', `http://127.0.0.1:${port}`, '--source.timeout', '5s');
    expect(r.code).toBe(2);
    expect(r.err).toContain('slaprobe status: --source:');
    expect(r.err).toContain(`127.0.0.1:${port}`);
  });
});
