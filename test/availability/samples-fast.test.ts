// The samples reader's byte-level parser (the common unquoted CSV line, no string made) and
// its general parser (every line decoded, split, trimmed) give the same evidence, the same
// warnings, the same refusals and so the same report, byte for byte (issue 13): each file
// here is read both ways and the full JSON and CSV reports (UDESK-1.2 and HEDU-7.1 policies)
// compared.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { periodsFor } from '../../src/availability/calendar.ts';
import { render } from '../../src/availability/format.ts';
import { READ_BYTES, type ReadSamplesOptions, SamplesError, readSamples, type SamplesTimeline } from '../../src/availability/samples.ts';
import { reportService, type ServiceReport } from '../../src/availability/service.ts';
import type { SlaPolicy } from '../../src/availability/types.ts';
import { loadPresets } from '../../src/config/sla.ts';
import { T } from '../support/availability.ts';

const FIXTURES = join(import.meta.dirname, 'testdata/samples');
const dir = mkdtempSync(join(tmpdir(), 'slaprobe-samples-fast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const presets = loadPresets();
const POLICIES = ['udesk', 'hedu'].map((n) => presets.get(n) as SlaPolicy);
const NOW = T('2026-12-01T00:00:00Z');
const OPTS: ReadSamplesOptions = {
  intervalOf: (t) => (t.startsWith('slow') ? 60_000 : 10_000),
  now: NOW, range: { start: T('2026-11-01T00:00:00Z'), end: T('2026-12-01T00:00:00Z') },
};

/** What the report would print: each target a service, plus one of every target (rule any). */
function reports(ev: SamplesTimeline): string {
  const out: ServiceReport[] = [];
  const targets = ev.targets();
  const services = [...targets.map((t) => ({ name: t, targets: [t], rule: { type: 'all' as const } })), { name: 'all', targets, rule: { type: 'any' as const } }];
  for (const s of services) {
    for (const p of POLICIES) {
      for (const period of periodsFor(p.period, { year: 2026, month: 11 }, p.time_zone)) out.push(reportService(ev, s, p, period, [], [], NOW));
    }
  }
  return render(out, 'json') + render(out, 'csv');
}

type Outcome = { rejected: string[]; skipped: string[] } | { skipped: string[]; stats: unknown; targets: string[]; regions: string[]; counts: number[]; report: string };

async function readAs(file: string, generalOnly: boolean, more: Partial<ReadSamplesOptions>): Promise<Outcome> {
  const skipped: string[] = [];
  try {
    const ev = await readSamples(file, { ...OPTS, ...more, generalOnly, onBadLine: (m) => skipped.push(m) });
    const { elapsed_ms: _, ...stats } = ev.stats;
    return { skipped, stats, targets: ev.targets(), regions: ev.regions(), counts: [ev.count, ev.first, ev.last], report: reports(ev) };
  } catch (e) {
    if (e instanceof SamplesError) return { rejected: e.messages, skipped };
    throw e;
  }
}

/** Reads `file` both ways; they must agree entirely. Returns the general parser's outcome. */
async function same(file: string, more: Partial<ReadSamplesOptions> = {}): Promise<Outcome> {
  const fast = await readAs(file, false, more);
  const general = await readAs(file, true, more);
  expect(fast).toEqual(general);
  if ('report' in fast && 'report' in general) expect(fast.report === general.report).toBe(true);
  return general;
}

const write = (name: string, text: string | Buffer) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

/** Unix seconds of 2026-11-01T00:00:00Z + i x 10 s. */
const sec = (i: number) => T('2026-11-01T00:00:00Z') / 1000 + i * 10;

describe('the fast and the general parser agree', () => {
  it.each(readdirSync(FIXTURES))('on the fixture %s', async (name) => {
    await same(join(FIXTURES, name));
    await same(join(FIXTURES, name), { maxBadLines: 5 });
  });

  it('on quoted and unquoted fields mixed, CRLF and LF, comments, padding, and no newline at the end', async () => {
    const lines = ['timestamp,target,success,region,agent,rtt_ms,reason'];
    for (let i = 0; i < 400; i++) {
      const ok = !(i >= 100 && i < 140) && i % 97 !== 0;
      const eol = i % 3 === 0 ? '\r\n' : '\n';
      const v = [
        i % 11 === 0 ? `"${sec(i)}"` : i % 13 === 0 ? new Date(sec(i) * 1000).toISOString() : i % 17 === 0 ? `${sec(i)}.${['000', '5', '25', '125', '1234'][i % 5]}` : i % 19 === 0 ? ` ${sec(i)} ` : String(sec(i)),
        i % 5 === 0 ? '"api"' : i % 23 === 0 ? ' api ' : 'api',
        i % 7 === 0 ? (ok ? 'TRUE' : 'down') : i % 29 === 0 ? (ok ? '1' : '0') : String(ok),
        i % 2 === 0 ? 'eu' : '"eu"',
        i % 4 < 2 ? 'a1' : 'a2',
        ok ? '12.5' : '',
        ok ? '' : i % 6 === 0 ? '"refused, ""hard"""' : 'timeout',
      ];
      lines.push(v.join(','), ...(i % 50 === 0 ? [`# a comment${eol}`, ''] : []));
      if (eol === '\r\n') lines[lines.length - 1] += '\r';
    }
    // a second target with a 60 s interval, every run a state change, the last line unterminated
    for (let i = 0; i < 60; i++) lines.push(`${sec(i * 6)},slow,${i % 2 === 0},us,a1,,`);
    const f = write('mixed.csv', lines.join('\n'));
    const r = await same(f);
    expect('report' in r && r.targets).toEqual(['api', 'slow']);
    expect('report' in r && r.regions).toEqual(['eu', 'us']);
  });

  it('on a multi-byte target name split across two reads, quoted or not', async () => {
    const name = 'zürich-東京-1'; // ends in ASCII: the fast parser takes it (a name ending in U+3000 could need a trim)
    const head = 'timestamp,target,success\n';
    const pad = (i: number) => `${sec(i)},pad,true\n`;
    let text = head;
    let size = Buffer.byteLength(head);
    let i = 0;
    const before = (k: number) => Buffer.byteLength(`${sec(k)},z`);
    while (size + pad(i).length + before(i) + 3 < READ_BYTES) {
      text += pad(i);
      size += pad(i++).length;
    }
    // one comment line of the right length puts "ü" (2 bytes) at READ_BYTES - 1 and READ_BYTES
    text += `#${'x'.repeat(READ_BYTES - 1 - size - before(i) - 2)}\n`;
    const buf = Buffer.from(`${text}${[...Array(200)].map((_, k) => `${sec(i + k)},${k % 3 === 1 ? `"${name}"` : name},${k % 40 < 5 ? 'false' : 'true'}\n`).join('')}`);
    expect(buf[READ_BYTES - 1]).toBe(0xc3); // the first byte of ü
    expect(buf[READ_BYTES]).toBe(0xbc); // its second, in the second read
    const f = write('split.csv', buf);
    const r = await same(f);
    expect('report' in r && r.targets).toEqual(['pad', name]);
    expect('report' in r && (r.stats as { targets: Map<string, { count: number }> }).targets.get(name)?.count).toBe(200);
  });

  it('on a line longer than one read', async () => {
    const long = 'x'.repeat(READ_BYTES + READ_BYTES / 2);
    const f = write('long.csv', `timestamp,target,success,reason\n${sec(0)},api,true,\n${sec(1)},api,false,${long}\n${sec(2)},api,true,\n`);
    const r = await same(f);
    expect('report' in r && (r.stats as { samples: number }).samples).toBe(3);
  });

  it('on bad lines skipped, duplicates, milliseconds, future and outside samples', async () => {
    const rows = [
      'timestamp,target,success,region',
      `${sec(0)},api,true,eu`,
      `${sec(0)},api,true,eu`, // duplicate
      `${sec(1)},api,maybe,eu`, // bad success
      `${sec(2)},,true,eu`, // no target
      `${sec(3)},api,true`, // short
      `${sec(4)},api,true,eu,x`, // long
      `yesterday,api,true,eu`,
      `${sec(4)}.,api,true,eu`, // no decimals after the point
      `.${sec(4)},api,true,eu`,
      `${sec(5)}000,ms,true,eu`, // milliseconds
      `${sec(-10)},api,false,us`, // outside (October)
      `${sec(6)},api,true,eu`,
      `${sec(3)},api,true,eu`, // earlier than its previous line
      `${T('2026-12-02T00:00:00Z') / 1000},api,true,eu`, // future
    ];
    const f = write('bad.csv', `${rows.join('\n')}\n`);
    const r = await same(f, { maxBadLines: 10 });
    expect(r.skipped).toHaveLength(8);
    const s = (r as { stats: { duplicates: { count: number }; milliseconds: { count: number }; future: { count: number }; outside: { count: number } } }).stats;
    expect([s.duplicates.count, s.milliseconds.count, s.future.count, s.outside.count]).toEqual([1, 1, 1, 1]);
    // without the tolerance, the first bad line is the refusal, the same both ways
    expect(await same(f)).toEqual({ rejected: [`${f}:4: success "maybe" is not true or false`], skipped: [] });
  });

  it('on names that differ only in invalid UTF-8 (one name once decoded)', async () => {
    const f = write('invalid.csv', Buffer.concat([
      Buffer.from(`timestamp,target,success\n${sec(0)},t`), Buffer.from([0xff]), Buffer.from(`x,true\n${sec(1)},t`), Buffer.from([0xfe]), Buffer.from('x,false\n'),
    ]));
    const r = await same(f);
    expect('report' in r && r.targets).toEqual(['t\ufffdx']);
  });

  it('on conflicting outcomes and lines out of order', async () => {
    const conflict = write('conflict2.csv', `timestamp,target,success\n${sec(0)},api,true\n${sec(0)},api,false\n`);
    expect(await same(conflict)).toEqual({ rejected: [`${conflict}:3: api at ${sec(0)} has success=false here and success=true on line 2; one target and region has one outcome per instant: remove the wrong line`], skipped: [] });
    const order = write('order.csv', `timestamp,target,success,agent\n${sec(5)},api,true,a\n${sec(3)},api,true,b\n${sec(2)},api,true,b\n`);
    expect(await same(order)).toEqual({ rejected: [`${order}:4: api at ${sec(2)} is earlier than its previous line; samples of a target must be in time order (sort the file by timestamp)`], skipped: [] });
  });
});
