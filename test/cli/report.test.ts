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
    // the file has samples, none in October: the report says so. The last run (00:59:50Z)
    // covers one interval (the default 60 s here): to 01:00:50Z
    expect(rep.notes).toEqual(["the evidence of this service's targets runs from 2026-11-01T08:00:00+08:00 to 2026-11-01T09:00:50+08:00, none of it in 2026-10 (2026-10-01T00:00:00+08:00 to 2026-11-01T00:00:00+08:00)"]);
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

describe('bad samples are never silent', () => {
  const fixture = (name: string) => join(process.cwd(), 'test/availability/testdata/samples', name);
  const args = ['--period', '2026-11', '--now', '2026-12-01T00:00:00Z', '--interval', '10s'];
  it.each([
    // never an uncaught TypeError, never exit 1 (a verdict)
    ['jsonl-null.jsonl', 'jsonl-null.jsonl:2: expected one JSON object a line such as'],
    ['jsonl-number.jsonl', 'jsonl-number.jsonl:1: expected one JSON object a line such as'],
    ['empty.csv', 'empty.csv: is empty: no header and no samples'],
    ['header-only.csv', 'header-only.csv: has only a header line, no samples'],
    ['conflict.csv', 'conflict.csv:4: api@eu at 2026-11-01T00:00:10Z has success=false here and success=true on line 3'],
    ['.', 'cannot read samples (a directory, not a file) after line 0'],
  ])('%s exits 2 with its message', async (name, msg) => {
    const r = await cli('report', '--samples', fixture(name), ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
    expect(r.err).not.toContain('TypeError');
    expect(r.out).toBe('');
  });

  it.each([
    ['outside.csv', [], 'outside.csv: 2 samples (2026-10-31T23:59:00Z to 2026-10-31T23:59:30Z) fall outside the reported period 2026-11 (2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z); they count only to measure a window that crosses into it'],
    ['future.csv', ['--period', '2026-11'], "future.csv: 1 sample is later than the report's now (first on line 4); they are not counted: check the probing machine's clock or --now"],
    ['millis.jsonl', [], 'millis.jsonl: 2 timestamps look like Unix milliseconds, not seconds (first on line 2: 1793491200000 as seconds is the year 58803)'],
    ['duplicates.csv', [], "duplicates.csv: 1 line repeats an earlier line's target, region, timestamp and outcome (first: line 4, as line 3)"],
  ])('%s warns on stderr and reports', async (name, extra, msg) => {
    // no --sla: the default policy, a UTC month
    const r = await cli('report', '--samples', fixture(name), ...args, ...extra, '--format', 'json');
    expect(r.err).toContain(`slaprobe report: warning: ${fixture(name)}: ${msg.slice(msg.indexOf(': ') + 2)}`);
    expect(JSON.parse(r.out).reports).toHaveLength(1);
  });

  it('samples of targets the config does not name are named', async () => {
    const cfg = join(dir, 'api-only.yaml');
    writeFileSync(cfg, 'agent: { region: eu }\ntargets:\n  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s }\nservices:\n  - { name: meet, targets: [api], sla: [udesk] }\n');
    const f = join(dir, 'strangers.csv');
    writeFileSync(f, 'timestamp,target,success\n2026-11-01T00:00:00Z,api,true\n2026-11-01T00:00:00Z,web,true\n2026-11-01T00:00:10Z,web,true\n2026-11-01T00:00:00Z,wbe,false\n');
    const r = await cli('report', '--samples', f, '--config', cfg, ...args);
    expect(r.err).toContain(`slaprobe report: warning: ${f}: samples of targets the config does not name: web (2 samples), wbe (1 sample); they belong to no service and are not counted: add them to targets: or correct the names`);
  });

  it('shows progress on a terminal, and nothing when stderr is not one', async () => {
    const plain = await cli('report', '--samples', csv, ...base);
    expect(plain.err).toBe('');
    // script(1) gives the command a pseudo-terminal; its output is the terminal's
    const tty = await new Promise<string>((resolve) => {
      execFile('script', ['-qec', [NODE, CLI, 'report', '--samples', csv, ...base].map((a) => `'${a}'`).join(' '), '/dev/null'], { cwd: dir }, (_e, out) => resolve(out));
    });
    expect(tty).toMatch(/slaprobe report: read 360 samples in \d+\.\d s \([\d,]+\/s\), done/);
  });
});

describe('a store with runs from after now', () => {
  it('is warned about: the agent clock was ahead', async () => {
    const data = join(dir, 'ahead');
    const cfg = join(dir, 'ahead.yaml');
    writeFileSync(cfg, `agent: { region: eu, data_dir: ${JSON.stringify(data)} }\ntargets:\n  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s }\nservices:\n  - { name: meet, targets: [api], sla: [udesk] }\n`);
    const s = openStore(data);
    // a run an hour ahead of the clock: the report, without --now, runs at the real clock
    const ahead = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
    s.recordOutcome('api', 'eu', { t: ahead, success: true }, 10_000);
    s.close();
    const r = await cli('report', '--config', cfg, '--format', 'json');
    expect(r.err).toContain(`slaprobe report: warning: the store holds runs from after now (the first at ${new Date(ahead).toISOString()}); they are not counted: check the agent machine's clock (NTP)`);
  });
});

describe('a store an agent is writing while the report runs', () => {
  it('is not warned about: runs since the report began are not ahead of the clock', async () => {
    const data = join(dir, 'live');
    const cfg = join(dir, 'live.yaml');
    writeFileSync(cfg, `agent: { region: eu, data_dir: ${JSON.stringify(data)} }\ntargets:\n  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 1s }\nservices:\n  - { name: meet, targets: [api], sla: [hedu] }\n`);
    openStore(data).close();
    // A writer in another process, as the agent is: a run every 10 ms at the clock, failing
    // and succeeding in turn, so that each one starts a span (the warning reads span starts).
    const writer = `
      import { openStore } from ${JSON.stringify(join(process.cwd(), 'src/store/index.ts'))};
      const s = openStore(${JSON.stringify(data)});
      let ok = true;
      const beat = () => { s.recordOutcome('api', 'eu', { t: Date.now(), success: ok = !ok }, 1000); s.flush(); };
      beat();
      process.stdout.write('writing\\n');
      const timer = setInterval(beat, 10);
      process.stdin.on('end', () => { clearInterval(timer); s.close(); }).resume();`;
    const child = execFile(NODE, ['--input-type=module', '-e', writer], { cwd: dir });
    try {
      await new Promise<void>((ok, fail) => {
        child.stdout!.once('data', () => ok());
        child.once('exit', (code) => fail(new Error(`the writer exited with ${code}`)));
      });
      for (let i = 0; i < 3; i++) {
        const r = await cli('report', '--config', cfg, '--format', 'json');
        expect(r.err).toBe('');
        // the runs until the report began are in it: the writer's failures are incidents
        const rep = JSON.parse(r.out).reports[0];
        expect(rep.no_data).toBe(false);
        expect(rep.incidents.length).toBeGreaterThan(0);
      }
    } finally {
      child.stdin!.end();
      await new Promise((ok) => child.once('exit', ok));
    }
  });
});

describe('report usage errors exit 2', () => {
  it.each([
    [['--period', '2026-13'], '--period "2026-13" is not a month; write YYYY-MM'],
    [['--period', '2026-11', '--year', '2026'], 'give --period or --year, not both'],
    [['--format', 'xml'], '--format "xml" is not one of table, json, csv, markdown'],
    [['--samples', '/nonexistent.csv'], '/nonexistent.csv: cannot read samples (no such file)'],
    [['--data-dir', '/nonexistent-slaprobe'], '/nonexistent-slaprobe/slaprobe.db: no store here'],
    [['--bogus'], 'slaprobe report: unknown option --bogus'],
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
  // runs of a target an older config had: the report names it
  for (let t = T('2026-11-01T00:00:00Z'); t < T('2026-11-01T00:01:00Z'); t += 10_000) s.recordOutcome('legacy', 'eu', { t, success: true }, 10_000);
  s.close();
  const NOV = 43_200;

  it('names the targets the store has and the config does not; a month before the data says why it has none', async () => {
    const r = await cli('report', '--config', cfg, '--period', '2026-10', '--sla', 'udesk', '--now', '2026-12-01T00:00:00Z', '--format', 'json');
    expect(r.err).toContain('slaprobe report: warning: the store holds runs of targets the config does not name: legacy; they belong to no service and are not counted');
    const rep = JSON.parse(r.out).reports[0];
    expect(rep.no_data).toBe(true);
    expect(rep.notes).toEqual(["the evidence of this service's targets runs from 2026-11-01T08:00:00+08:00 to 2026-12-01T08:00:00+08:00, none of it in 2026-10 (2026-10-01T00:00:00+08:00 to 2026-11-01T00:00:00+08:00)"]);
  });

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
