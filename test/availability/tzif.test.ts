// The TZif reader against glibc: zdump (libc-bin) prints, for a zone file or a POSIX TZ
// string, every change of UTC offset with the offset on each side, by glibc's own reading of
// the same data. So the control reads the same release as the code under test, whatever
// tzdata this machine has; and ICU (Node's own data) checks the contracts' zones.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { compareVersions, loadZone, parsePosixTz, parseTzif, systemVersion, zoneDir, zoneNames, type Zone } from '../../src/availability/tzif.ts';
import { icuZone } from '../../src/availability/calendar.ts';

const run = promisify(execFile);
const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
// "Europe/Oslo  Sun Mar 29 01:00:00 2026 UT = Sun Mar 29 03:00:00 2026 CEST isdst=1 gmtoff=7200"
const LINE = /^(\S+)\s+\w{3} (\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (-?\d+) UT = .* gmtoff=(-?\d+)$/;

interface Change { zone: string; t: number; offset: number }

/** zdump -v: both sides of every offset change in [from, to), as (instant, offset in ms). */
async function zdump(zones: string[], from: number, to: number): Promise<Change[]> {
  const { stdout } = await run('zdump', ['-v', '-c', `${from},${to}`, ...zones], { maxBuffer: 256 << 20 });
  const out: Change[] = [];
  for (const line of stdout.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const t = Date.UTC(Number(m[7]), MONTHS[m[2]!]!, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    out.push({ zone: m[1]!, t, offset: Number(m[8]) * 1000 });
  }
  return out;
}

function mismatches(changes: Change[], zoneOf: (name: string) => Zone | undefined): string[] {
  const bad: string[] = [];
  for (const c of changes) {
    const got = zoneOf(c.zone)?.offsetAt(c.t);
    if (got !== c.offset) bad.push(`${c.zone} at ${new Date(c.t).toISOString()}: ${got} ms, glibc ${c.offset}`);
  }
  return bad;
}

const tmp = mkdtempSync(join(tmpdir(), 'slaprobe-tzif-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the system zone database, read as TZif', () => {
  it('agrees with glibc at both sides of every offset change of every zone, 1970 to 2060', async () => {
    // Every Zone line of the database (links name the same files). The fat files carry their
    // transitions to 2037 and the footer's rule after it, so both paths are read.
    const zi = readFileSync(join(zoneDir(), 'tzdata.zi'), 'utf8');
    const zones = zi.split('\n').filter((l) => l.startsWith('Z ')).map((l) => l.split(' ')[1]!);
    expect(zones.length).toBeGreaterThan(300);
    const loaded = new Map(zones.map((z) => [z, loadZone(z)]));
    expect([...loaded].filter(([, z]) => !z).map(([n]) => n)).toEqual([]);
    const changes = await zdump(zones, 1970, 2060);
    expect(changes.length).toBeGreaterThan(20_000);
    expect(new Set(changes.map((c) => c.zone)).size).toBeGreaterThan(300);
    expect(mismatches(changes, (n) => loaded.get(n))).toEqual([]);
  }, 120_000);

  it('reads a slim file (few transitions, the rest from its footer) as glibc does', async () => {
    // zic -b slim writes transitions only until the footer's rule takes over.
    const src = join(tmp, 'zones.txt');
    writeFileSync(src, [
      'Rule\tTst\t2000\tmax\t-\tMar\tlastSun\t2:00\t1:00\tD',
      'Rule\tTst\t2000\tmax\t-\tOct\tlastSun\t3:00\t0\tS',
      'Zone\tTest/North\t1:00\tTst\tC%sT',
      'Rule\tSth\t2008\tmax\t-\tApr\tSun>=1\t2:00s\t0\tS',
      'Rule\tSth\t2008\tmax\t-\tOct\tSun>=1\t2:00s\t1:00\tD',
      'Zone\tTest/South\t10:00\tSth\tAE%sT',
      'Zone\tTest/Half\t5:45\t-\t+0545',
      '',
    ].join('\n'));
    const dir = join(tmp, 'zoneinfo');
    execFileSync('zic', ['-b', 'slim', '-d', dir, src]);
    const names = ['Test/North', 'Test/South', 'Test/Half'];
    const zones = new Map(names.map((n) => [join(dir, n), loadZone(n, dir)]));
    expect([...zones.values()].every(Boolean)).toBe(true);
    const changes = await zdump([...zones.keys()], 2020, 2040);
    expect(changes.length).toBe(2 * 2 * 20 * 2); // two zones with DST, 2 changes a year, both sides
    expect(mismatches(changes, (n) => zones.get(n))).toEqual([]);
    expect(zones.get(join(dir, 'Test/Half'))!.offsetAt(Date.UTC(2030, 5, 1))).toBe((5 * 60 + 45) * 60_000);
  });
});

describe('POSIX TZ rules (RFC 8536 footers)', () => {
  it.each([
    ['M rules, northern', 'CET-1CEST,M3.5.0,M10.5.0/3'],
    ['M rules, southern', 'AEST-10AEDT,M10.1.0,M4.1.0/3'],
    ['negative DST (Europe/Dublin)', 'IST-1GMT0,M10.5.0,M3.5.0/1'],
    ['J: 1-365, no February 29', '<+03>-3<+04>,J60/2,J300/3'],
    ['n: 0-365, February 29 counted', '<+03>-3<+04>,59/2,300/3'],
    ['a time past midnight (Asia/Jerusalem)', 'IST-2IDT,M3.4.4/26,M10.5.0'],
    ['negative times (America/Nuuk)', '<-02>2<-01>,M3.5.0/-1,M10.5.0/0'],
    ['west of UTC with minutes', 'NST3:30NDT,M3.2.0,M11.1.0'],
    ['a DST offset of its own (Antarctica/Troll)', '<+00>0<+02>-2,M3.5.0/1,M10.5.0/3'],
    ['the fifth week is the last', 'XST5XDT,M2.5.0,M11.5.6/23:30:15'],
  ])('%s: %s', async (_what, tz) => {
    const zone = parsePosixTz(tz);
    const changes = await zdump([tz], 2020, 2035);
    expect(changes.length).toBe(2 * 2 * 15);
    expect(mismatches(changes, () => zone)).toEqual([]);
  });

  it('DST all year (RFC 8536 section 3.3.1 example) and no DST', () => {
    const always = parsePosixTz('EST5EDT,0/0,J365/25');
    for (const m of [0, 3, 6, 11]) expect(always.offsetAt(Date.UTC(2027, m, 15))).toBe(-4 * 3_600_000);
    expect(parsePosixTz('CST-8').offsetAt(Date.UTC(2026, 10, 1))).toBe(8 * 3_600_000);
    expect(parsePosixTz('<-0330>3:30').offsetAt(0)).toBe(-3.5 * 3_600_000);
  });

  it.each([
    ['EST5EDT', 'a DST rule'], // DST without a rule: POSIX leaves it to the implementation; refused
    ['E5', 'abbreviation'],
    ['EST', 'number expected'],
    ['EST5EDT,M13.1.0,M11.1.0', '<= 12'],
    ['EST5EDT,M3.2.0', '"," expected'],
    ['EST5EDT,M3.2.0,M11.1.0x', 'end of string'],
    ['<+03-3', 'unterminated'],
  ])('%s is refused (%s)', (tz, what) => {
    expect(() => parsePosixTz(tz)).toThrow(what);
  });
});

describe('loadZone refuses what it cannot read exactly (the caller then asks ICU)', () => {
  const dir = join(tmp, 'bad');
  execFileSync('mkdir', ['-p', join(dir, 'X')]);
  const good = readFileSync(join(zoneDir(), 'Europe/Oslo'));
  const v1 = Buffer.from(good);
  v1[4] = 0; // version 1: 32-bit data only
  writeFileSync(join(dir, 'X/V1'), v1);
  writeFileSync(join(dir, 'X/Short'), good.subarray(0, 300));
  writeFileSync(join(dir, 'X/Text'), 'not a zone\n');
  writeFileSync(join(dir, 'X/Good'), good);

  it.each([
    ['X/V1'], ['X/Short'], ['X/Text'], ['X/Missing'], ['../bad/X/Good'], ['/etc/passwd'], ['X/./Good'], ['X'],
  ])('%s', (name) => {
    expect(loadZone(name, dir)).toBeUndefined();
  });

  it.each(['localtime', 'posixrules', 'posix/Asia/Shanghai', 'right/UTC'])('%s: a file of the system directory that is not one of its zones or links is refused', (name) => {
    expect(zoneNames()!.has('Asia/Shanghai')).toBe(true);
    expect(loadZone(name)).toBeUndefined();
  });

  it('a link of the database is read (Asia/Calcutta, the old name of Asia/Kolkata)', () => {
    expect(zoneNames()!.has('Asia/Calcutta')).toBe(true);
    expect(loadZone('Asia/Calcutta')!.offsetAt(Date.UTC(2026, 0, 1))).toBe(5.5 * 3_600_000);
  });

  it('a good copy in the same directory is read', () => {
    expect(loadZone('X/Good', dir)!.offsetAt(Date.UTC(2026, 6, 1))).toBe(2 * 3_600_000);
  });

  it('a leap-second ("right/") file is refused', () => {
    const right = join(zoneDir(), 'right/UTC');
    let bytes: Buffer;
    try {
      bytes = readFileSync(right);
    } catch {
      return expect(() => parseTzif(Buffer.from('TZif'))).toThrow('not a TZif');
    }
    expect(() => parseTzif(bytes)).toThrow('leap-second');
  });
});

describe('which release', () => {
  it.each([
    ['2025b', '2026c', -1], ['2026c', '2026c', 0], ['2026f', '2026c', 1], ['2026z', '2026aa', -1], ['2030a', '2029z', 1],
  ])('%s against %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });

  it('the system release is the first line of tzdata.zi; none without it', () => {
    // A directory per case: a process reads each directory's tzdata.zi once.
    const dir = (zi?: string) => {
      const d = mkdtempSync(join(tmp, 'ver-'));
      if (zi !== undefined) writeFileSync(join(d, 'tzdata.zi'), zi);
      return d;
    };
    expect(systemVersion(dir())).toBeUndefined();
    expect(systemVersion(dir('# version 2031q\n# ddeps\n'))).toBe('2031q');
    expect(systemVersion(dir('# made by hand\n'))).toBeUndefined();
  });
});

describe('the contracts\' zones (SLA-TERMS: Asia/Shanghai, Europe/Oslo) read alike from both databases', () => {
  it.each(['Asia/Shanghai', 'Europe/Oslo', 'UTC'])('%s, 2000 to 2030, every 13 hours and 7 minutes', (tz) => {
    const sys = loadZone(tz)!;
    const icu = icuZone(tz)!;
    let n = 0;
    for (let t = Date.UTC(2000, 0, 1); t < Date.UTC(2030, 0, 1); t += 13 * 3_600_000 + 7 * 60_000) {
      if (sys.offsetAt(t) !== icu.offsetAt(t)) throw new Error(`${tz} at ${new Date(t).toISOString()}: ${sys.offsetAt(t)} against ICU ${icu.offsetAt(t)}`);
      n++;
    }
    expect(n).toBeGreaterThan(20_000);
  });
});

describe('the database a process reads (decided once, at its first calendar)', () => {
  const CAL = join(import.meta.dirname, '../../src/availability/calendar.ts');
  // A child per case: the choice is made once per process.
  const choice = async (env: NodeJS.ProcessEnv) => {
    const script = `import(${JSON.stringify(CAL)}).then((m) => { const d = m.timeZoneData(); console.log(JSON.stringify({ ...d, nov: m.formatInstant(m.monthStart(2026, 11, 'Asia/Shanghai'), 'Asia/Shanghai') })); })`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, SLAPROBE_TZDATA: '', TZDIR: '', ...env } });
    return JSON.parse(stdout) as { source: string; version: string; why: string; nov: string };
  };
  const dirWith = (version: string | undefined) => {
    const d = mkdtempSync(join(tmp, 'db-'));
    execFileSync('mkdir', ['-p', join(d, 'Asia')]);
    writeFileSync(join(d, 'Asia/Shanghai'), readFileSync(join(zoneDir(), 'Asia/Shanghai')));
    if (version) writeFileSync(join(d, 'tzdata.zi'), `# version ${version}\nZ Asia/Shanghai 8:5:43 - LMT 1901\n`);
    return d;
  };
  const icu = process.versions.tz!;

  it('the system\'s when it is at least as new as Node\'s ICU', async () => {
    const c = await choice({ TZDIR: dirWith('2999a') });
    expect(c).toMatchObject({ source: 'system', version: '2999a', nov: '2026-11-01T00:00:00+08:00' });
  });

  it('ICU\'s when the system\'s is older, or does not name its release', async () => {
    expect(await choice({ TZDIR: dirWith('2000a') })).toMatchObject({ source: 'icu', version: icu, nov: '2026-11-01T00:00:00+08:00' });
    expect((await choice({ TZDIR: dirWith('2000a') })).why).toContain('older than Node\'s ICU');
    expect(await choice({ TZDIR: dirWith(undefined) })).toMatchObject({ source: 'icu', version: icu });
  });

  it('SLAPROBE_TZDATA chooses either way', async () => {
    expect(await choice({ TZDIR: dirWith('2000a'), SLAPROBE_TZDATA: 'system' })).toMatchObject({ source: 'system', version: '2000a', nov: '2026-11-01T00:00:00+08:00' });
    expect(await choice({ TZDIR: dirWith('2999a'), SLAPROBE_TZDATA: 'icu' })).toMatchObject({ source: 'icu', version: icu });
  });

  it('a zone the chosen database lacks comes from the other one', async () => {
    // Europe/Oslo is not in this TZDIR: ICU answers for it.
    const d = dirWith('2999a');
    const script = `import(${JSON.stringify(CAL)}).then((m) => console.log(m.isTimeZone('Europe/Oslo'), m.isTimeZone('Mars/Olympus'), m.formatInstant(m.monthStart(2026, 7, 'Europe/Oslo'), 'Europe/Oslo')))`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TZDIR: d, SLAPROBE_TZDATA: '' } });
    expect(stdout.trim()).toBe('true false 2026-07-01T00:00:00+02:00');
  });
});
