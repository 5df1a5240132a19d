// slaprobe report and exclude, run as the user runs them (node src/cli.ts ...).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { T } from '../support/availability.ts';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'src/cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'slaprobe-report-'));

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { cwd: dir }, (e, out, err) => resolve({ code: e ? (e.code as number) : 0, out, err }));
  });
}

// One hour of runs every 10 s from 2026-11-01T00:00Z; the target fails from 00:10:00 up to
// the successful run at 00:16:00: a 6-minute window. Known time: 00:00 to 01:00 = 60 minutes.
const START = T('2026-11-01T00:00:00Z');
const runs = Array.from({ length: 360 }, (_, i) => {
  const t = START + i * 10_000;
  return { t, ok: !(t >= START + 600_000 && t < START + 960_000) };
});
const csv = join(dir, 'samples.csv');
writeFileSync(csv, `timestamp,target,success,region,rtt_ms,reason\n${runs.map((r) => `${new Date(r.t).toISOString()},api,${r.ok},eu,${r.ok ? 12 : ''},${r.ok ? '' : 'refused'}`).join('\n')}\n`);
const jsonl = join(dir, 'samples.jsonl');
writeFileSync(jsonl, `${runs.map((r) => JSON.stringify({ timestamp: r.t / 1000, target: 'api', success: r.ok })).join('\n')}\n`);
const base = ['--sla', 'udesk', '--period', '2026-11', '--now', '2026-12-01T00:00:00Z', '--interval', '10s'];

describe('report --samples', () => {
  // udesk counts the Shanghai month (UTC+8): 2026-10-31T16:00Z to 2026-11-30T16:00Z; the
  // 8 hours before the first sample are not in service, the rest after the hour unknown.
  it.each([['CSV', csv], ['JSON Lines', jsonl]])('%s: one counted 6-minute window; (60 - 6) / 60 of known time', async (_f, file) => {
    const r = await cli('report', '--samples', file, ...base, '--format', 'json');
    expect(r.err).toBe('');
    expect(r.code).toBe(1); // 90 % < 99.9 %: missed
    const rep = JSON.parse(r.out).reports[0];
    expect(rep.service).toBe('api');
    expect(rep.availability).toBeCloseTo(((60 - 6) / 60) * 100, 9);
    expect(rep.period.time_zone).toBe('Asia/Shanghai');
    expect(rep.minutes.not_in_service).toBe(8 * 60);
    expect(rep.minutes.unknown).toBe(43_200 - 8 * 60 - 60);
    expect(rep.windows).toEqual([expect.objectContaining({ start: '2026-11-01T08:10:00+08:00', end: '2026-11-01T08:16:00+08:00', status: 'counted', counted_minutes: 6 })]);
    expect(rep.credit).toMatchObject({ unit: 'minutes', amount: 6 }); // UDESK-13.2(1): missed, equal time
  });

  it('csv is one summary row per period', async () => {
    const r = await cli('report', '--samples', csv, ...base, '--format', 'csv');
    const [head, row, more] = r.out.trim().split('\n');
    expect(more).toBeUndefined();
    const rec = Object.fromEntries(head!.split(',').map((k, i) => [k, row!.split(',')[i]]));
    // fixed places: minutes 3, availability 4; (60 - 6) / 60 = 90 %; budget 0.1 % of the 60 known minutes
    expect(rec).toMatchObject({ service: 'api', sla: 'udesk', period: '2026-11', time_zone: 'Asia/Shanghai', availability_percent: '90.0000', verdict: 'MISSED', minutes_down_counted: '6.000', budget_allowed_minutes: '0.060', windows_counted: '1', credit: '6.000', credit_unit: 'minutes' });
  });

  it('markdown has the summary, windows and incidents', async () => {
    const r = await cli('report', '--samples', csv, ...base, '--format', 'markdown');
    expect(r.out).toContain('## api / udesk / 2026-11');
    expect(r.out).toContain('| period | 2026-11 in Asia/Shanghai (2026-11-01T00:00:00+08:00 to 2026-12-01T00:00:00+08:00, 43200 min) |');
    expect(r.out).toContain('| 2026-11-01T08:10:00+08:00 | 2026-11-01T08:16:00+08:00 | 6m | counted | 6.000 |');
    expect(r.out).toContain('| L1 | 2026-11-01T08:10:00+08:00 | 2026-11-01T08:16:00+08:00 | 6m |');
  });

  it('a month with no data says so, never 100 %', async () => {
    const r = await cli('report', '--samples', csv, '--sla', 'udesk', '--period', '2026-10', '--now', '2026-12-01T00:00:00Z', '--format', 'json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out).reports[0];
    expect(rep.no_data).toBe(true);
    expect(rep.availability).toBeNull();
    expect(rep.verdict).toBe('NO DATA');
  });

  it.each([
    ['a bad timestamp', 'timestamp,target,success\nyesterday,api,true\n', [], 2, 'bad.csv:2: timestamp "yesterday" is not RFC 3339 with offset (2026-11-01T00:00:00Z) or Unix seconds'],
    ['a bad success', 'timestamp,target,success\n2026-11-01T00:00:00Z,api,maybe\n', [], 2, 'bad.csv:2: success "maybe" is not true or false'],
    ['a header without success', 'timestamp,target,ok\n', [], 2, 'bad.csv:1: CSV header lacks success'],
    ['lines out of order', 'timestamp,target,success\n2026-11-01T00:01:00Z,api,true\n2026-11-01T00:00:00Z,api,true\n', [], 2, 'is earlier than its previous line; samples of a target must be in time order'],
    ['broken JSON', '{"timestamp": 1, "target": "api", "success": true}\n{oops\n', [], 2, 'bad.csv:2: not valid JSON'],
    ['a bad line skipped with --max-bad-lines', 'timestamp,target,success\nyesterday,api,true\n2026-11-01T00:00:00Z,api,true\n', ['--max-bad-lines', '1'], 0, 'skipped'],
  ])('%s', async (_what, text, extra, code, msg) => {
    const f = join(dir, 'bad.csv');
    writeFileSync(f, text);
    const r = await cli('report', '--samples', f, ...base, ...extra);
    expect(r.code).toBe(code);
    expect(r.err).toContain(msg);
  });
});

describe('report usage errors exit 2', () => {
  it.each([
    [['--period', '2026-13'], '--period "2026-13" is not a month; write YYYY-MM'],
    [['--period', '2026-11', '--year', '2026'], 'give --period or --year, not both'],
    [['--format', 'xml'], '--format "xml" is not one of table, json, csv, markdown'],
    [['--samples', '/nonexistent.csv'], '/nonexistent.csv: cannot read samples (no such file)'],
    [['--data-dir', '/nonexistent-slaprobe'], '/nonexistent-slaprobe/slaprobe.db: no store here'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('%j', async (args, msg) => {
    const r = await cli('report', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });

  it('--help exits 0', async () => {
    const r = await cli('report', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: slaprobe report');
  });
});

describe('report from the store, with maintenance and an exclusion added after the fact', () => {
  const data = join(dir, 'data');
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(cfg, `agent: { region: eu, data_dir: ${JSON.stringify(data)} }
targets:
  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
  - { name: web, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
services:
  - { name: meet, targets: [api, web], rule: all, sla: [udesk, { preset: hedu, time_zone: Asia/Shanghai }] }
maintenance:
  - { name: upgrade, reason: announced upgrade, start: "2026-11-02T00:00:00Z", end: "2026-11-02T00:30:00Z" }
`);
  // Both targets up all November except: both down 2026-11-02 00:20-00:40 (half in the
  // maintenance: 10 minutes count) and 2026-11-05 10:00-10:08 (8 minutes; later excluded).
  const s = openStore(data);
  const down = (t: number) => (t >= T('2026-11-02T00:20:00Z') && t < T('2026-11-02T00:40:00Z')) || (t >= T('2026-11-05T10:00:00Z') && t < T('2026-11-05T10:08:00Z'));
  for (let t = T('2026-11-01T00:00:00Z'); t < T('2026-12-01T00:00:00Z'); t += 10_000) {
    for (const target of ['api', 'web']) s.recordOutcome(target, 'eu', { t, success: !down(t) }, 10_000);
  }
  s.close();
  const NOV = 43_200;

  it('counts 10 + 8 minutes; the maintenance leaves 30 minutes out (UDESK-1.2: removed)', async () => {
    const r = await cli('report', '--config', cfg, '--period', '2026-11', '--sla', 'udesk', '--now', '2026-12-01T00:00:00Z', '--format', 'json');
    const rep = JSON.parse(r.out).reports[0];
    expect(rep.minutes.excluded).toBe(30);
    expect(rep.minutes.down_counted).toBe(18);
    // the Shanghai November starts 8 h before the first run: not in service
    expect(rep.minutes.not_in_service).toBe(480);
    expect(rep.availability).toBeCloseTo(((NOV - 480 - 30 - 18) / (NOV - 480 - 30)) * 100, 9);
    expect(r.code).toBe(0); // 99.958 % >= 99.9 %
  });

  it('exclude adds, lists and removes; the report follows', async () => {
    const add = await cli('exclude', '--config', cfg, '--service', 'meet', '--from', '2026-11-05T18:00:00+08:00', '--to', '2026-11-05T18:10:00+08:00', '--reason', 'carrier fault, ticket 4711');
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/^exclusion 1 recorded: meet from 2026-11-05T10:00:00Z to 2026-11-05T10:10:00Z/);
    const list = await cli('exclude', 'list', '--config', cfg, '--format', 'json');
    expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ id: 1, service: 'meet', reason: 'carrier fault, ticket 4711' })]);
    const rep = JSON.parse((await cli('report', '--config', cfg, '--period', '2026-11', '--sla', 'udesk', '--now', '2026-12-01T00:00:00Z', '--format', 'json')).out).reports[0];
    expect(rep.minutes.excluded).toBe(40);
    expect(rep.minutes.down_counted).toBe(10);
    expect(rep.windows.map((w: { status: string }) => w.status)).toEqual(['counted', 'excluded']);
    expect(rep.windows[1].why).toContain('exclude#1 (carrier fault, ticket 4711)');
    expect((await cli('exclude', 'remove', '1', '--config', cfg)).code).toBe(0);
    expect((await cli('exclude', 'remove', '1', '--config', cfg)).code).toBe(1);
  });

  it('HEDU in Shanghai time: the Shanghai November, no minimum outage', async () => {
    const r = await cli('report', '--config', cfg, '--period', '2026-11', '--sla', 'hedu', '--now', '2026-12-02T00:00:00Z', '--format', 'json');
    const rep = JSON.parse(r.out).reports[0];
    expect(rep.period.start).toBe('2026-11-01T00:00:00+08:00');
    // the Shanghai November is 2026-10-31T16:00Z to 2026-11-30T16:00Z: the 8 hours before the
    // first run are not in service (partial_period: from_first_sample)
    expect(rep.minutes.not_in_service).toBe(8 * 60);
    expect(rep.minutes.unknown).toBe(0);
    expect(rep.minutes.down_counted).toBe(18);
    // HEDU-7.1: the 30 maintenance minutes count as available: (42,720 - 18) / 42,720
    expect(rep.availability).toBeCloseTo(((NOV - 480 - 18) / (NOV - 480)) * 100, 9);
    expect(r.code).toBe(1); // 18 min > 13.8 allowed
  });

  it.each([
    [['--service', 'chat', '--from', '2026-11-05T10:00:00Z', '--to', '2026-11-05T11:00:00Z', '--reason', 'x'], 'no service named "chat"'],
    [['--service', 'meet', '--from', '2026-11-05T10:00:00', '--to', '2026-11-05T11:00:00Z', '--reason', 'x'], '--from "2026-11-05T10:00:00" is not an RFC 3339 time with offset'],
    [['--service', 'meet', '--from', '2026-11-05T11:00:00Z', '--to', '2026-11-05T10:00:00Z', '--reason', 'x'], '--to must be after --from'],
    [['--service', 'meet', '--from', '2026-11-05T10:00:00Z', '--to', '2026-11-05T11:00:00Z'], '--reason is required'],
    [['remove', 'x'], 'remove takes one exclusion ID'],
  ])('exclude %j exits 2', async (args, msg) => {
    const r = await cli('exclude', '--config', cfg, ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });
});
