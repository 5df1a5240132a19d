// report over several regions (issue 10, section 2): the region rule counts only what the
// regions agree on; what one region saw down while the service was up is a regional path
// fault, listed apart and not unavailable time (UMEET-7.1(2) / HEDU-7.1(2)); --region gives
// one region's own view, where its own outage counts under the 5-minute rule (UDESK-1.2).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { T } from '../support/availability.ts';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'src/cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'slaprobe-report-regions-'));

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { cwd: dir }, (e, out, err) => resolve({ code: e ? (e.code as number) : 0, out, err }));
  });
}

// One hour at 10 s from three regions. eu's own path fails 00:20-00:30 (10 min, longer than
// the 5-minute rule); every region sees the target fail 00:40-00:46.
const START = T('2026-11-01T00:00:00Z');
const min = (m: number) => START + m * 60_000;
const lines: string[] = ['timestamp,target,success,region'];
for (let t = START; t < min(60); t += 10_000) {
  for (const region of ['ap', 'eu', 'us']) {
    const down = (t >= min(40) && t < min(46)) || (region === 'eu' && t >= min(20) && t < min(30));
    lines.push(`${t / 1000},api,${!down},${region}`);
  }
}
const csv = join(dir, 'fleet.csv');
writeFileSync(csv, `${lines.join('\n')}\n`);
// udesk's month is Shanghai's (UTC+8): times print with +08:00
const base = ['--samples', csv, '--sla', 'udesk', '--period', '2026-11', '--now', '2026-12-01T00:00:00Z', '--interval', '10s'];

describe('report over three regions', () => {
  it('counts the 6 minutes every region saw; lists eu\'s 10 minutes as a regional path fault', async () => {
    const r = await cli('report', ...base, '--format', 'json');
    expect(r.err).toBe('');
    const rep = JSON.parse(r.out).reports[0];
    expect(rep.regions).toEqual(['ap', 'eu', 'us']);
    expect(rep.windows.map((w: { start: string; status: string; counted_minutes: number }) => [w.start, w.status, w.counted_minutes]))
      .toEqual([['2026-11-01T08:40:00+08:00', 'counted', 6]]);
    expect(rep.minutes.down_counted).toBe(6);
    expect(rep.regional_faults).toEqual([{ region: 'eu', start: '2026-11-01T08:20:00+08:00', end: '2026-11-01T08:30:00+08:00', duration_ms: 600_000 }]);
  });

  it('--region eu is eu\'s own view: both outages count, no path fault', async () => {
    const r = await cli('report', ...base, '--region', 'eu', '--format', 'json');
    const rep = JSON.parse(r.out).reports[0];
    expect(rep.regions).toEqual(['eu']);
    expect(rep.windows.map((w: { counted_minutes: number }) => w.counted_minutes)).toEqual([10, 6]);
    expect(rep.regional_faults).toEqual([]);
  });

  it('the table and csv show the faults; an unknown --region is refused with the regions there are', async () => {
    const t = await cli('report', ...base);
    expect(t.out).toContain('regions       ap, eu, us; 1 regional path fault (not unavailable time)');
    expect(t.out).toMatch(/regional path faults \(not unavailable time\):\nregion +start +end +duration\neu +2026-11-01T08:20:00\+08:00 +2026-11-01T08:30:00\+08:00 +10m/);
    const c = await cli('report', ...base, '--format', 'csv');
    const [head, row] = c.out.trim().split('\n');
    const rec = Object.fromEntries(head!.split(',').map((k, i) => [k, row!.split(',')[i]]));
    expect(rec).toMatchObject({ regions: 'ap eu us', regional_faults: '1', regional_fault_minutes: '10.000', minutes_down_counted: '6.000' });
    const bad = await cli('report', ...base, '--region', 'eu-wset');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--region "eu-wset": the evidence has no such region; regions: "ap", "eu", "us"');
  });
});

describe('the region rules at_least_down and fraction_down, through report --config', () => {
  // Every region down 00:40-00:46; eu and us (2 of 3) down 00:20-00:30; eu alone 00:50-00:56.
  const rows: string[] = ['timestamp,target,success,region'];
  for (let t = START; t < min(60); t += 10_000) {
    for (const region of ['ap', 'eu', 'us']) {
      const down = (t >= min(40) && t < min(46)) || (region !== 'ap' && t >= min(20) && t < min(30)) || (region === 'eu' && t >= min(50) && t < min(56));
      rows.push(`${t / 1000},api,${!down},${region}`);
    }
  }
  const file = join(dir, 'rules.csv');
  writeFileSync(file, `${rows.join('\n')}\n`);
  const report = async (rule: string) => {
    const cfg = join(dir, `rule-${rule.replace(/\W/g, '')}.yaml`);
    writeFileSync(cfg, `targets:\n  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s }\nservices:\n  - { name: meet, targets: [api], sla: [udesk], regions: { rule: ${rule}, min_reporting: 3 } }\n`);
    const r = await cli('report', '--samples', file, '--config', cfg, '--period', '2026-11', '--now', '2026-12-01T00:00:00Z', '--format', 'json');
    expect(r.err).toBe('');
    const rep = JSON.parse(r.out).reports[0];
    return {
      windows: rep.windows.map((w: { start: string; end: string; counted_minutes: number }) => [w.start.slice(11, 16), w.end.slice(11, 16), w.counted_minutes]),
      faults: rep.regional_faults.map((f: { region: string; start: string }) => `${f.region} ${f.start.slice(11, 16)}`),
    };
  };

  it.each([
    // 2 of 3 down is down with at_least_down: 2 and fraction_down: 0.5 (2/3 >= 0.5), not with 0.7 or any_up.
    ['{ at_least_down: 2 }', [['08:20', '08:30', 10], ['08:40', '08:46', 6]], ['eu 08:50']],
    ['{ fraction_down: 0.5 }', [['08:20', '08:30', 10], ['08:40', '08:46', 6]], ['eu 08:50']],
    ['{ fraction_down: 0.7 }', [['08:40', '08:46', 6]], ['eu 08:20', 'us 08:20', 'eu 08:50']],
    ['any_up', [['08:40', '08:46', 6]], ['eu 08:20', 'us 08:20', 'eu 08:50']],
    // at_least_down: 1 is down where any region is: eu's own 6 minutes count (UDESK-1.2: >= 5 min).
    ['{ at_least_down: 1 }', [['08:20', '08:30', 10], ['08:40', '08:46', 6], ['08:50', '08:56', 6]], []],
  ])('rule %s', async (rule, windows, faults) => {
    const r = await report(rule);
    expect(r.windows).toEqual(windows);
    expect(r.faults).toEqual(faults);
  });
});
