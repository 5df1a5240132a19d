// report --format html and pdf, run as the user runs them, on a store with ten days of
// history (test/support/status-store.ts). The page's figures are the JSON report's; the PDF,
// turned back into text by pdftotext, holds them too.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimal, fm, pct } from '../../src/availability/format.ts';
import { type TestBrowser, launchBrowser, outputPath } from '../support/browser.ts';
import { type History, history, statusConfig, writeHistory } from '../support/status-store.ts';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'src/cli.ts');

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { maxBuffer: 1 << 26 }, (e, out, err) => resolve({ code: e ? (e.code as number) : 0, out, err }));
  });
}

interface JsonReport {
  service: string; sla: string; availability: number | null; verdict: string;
  budget: { allowed: number; used: number; remaining: number };
  credit: { unit: string; amount: number } | null;
  windows: { status: string; counted_minutes: number; why: string }[];
  incidents: { level: string; notified_at: string | null; notify_met: boolean | null }[];
}

let dir: string;
let h: History;
let args: string[];
let json: JsonReport[];
let b: TestBrowser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slaprobe-report-html-'));
  h = history(Date.now());
  writeHistory(join(dir, 'data'), h);
  writeFileSync(join(dir, 'c.yaml'), statusConfig(h, join(dir, 'data'), '127.0.0.1:9'));
  const month = new Date(h.day(3)).toISOString().slice(0, 7);
  args = ['--config', join(dir, 'c.yaml'), '--period', month, '--now', new Date(h.d0).toISOString()];
  const r = await cli('report', ...args, '--format', 'json');
  expect(r.err).toBe('');
  json = JSON.parse(r.out).reports;
  b = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await b?.close();
});

describe('report --format html', () => {
  it('one self-contained page whose figures are the JSON report\'s', async () => {
    const r = await cli('report', ...args, '--format', 'html');
    expect(r.code).toBe(json.some((x) => x.verdict.startsWith('MISSED')) ? 1 : 0);
    expect(r.out).toMatch(/^<!doctype html>/);
    expect(r.out).not.toMatch(/<script|(?:src|href)="(?:https?:)?\/\//i);
    const file = join(dir, 'report.html');
    writeFileSync(file, r.out);
    const page = await b.context.newPage();
    await page.setViewportSize({ width: 1000, height: 900 });
    await page.goto(`file://${file}`);
    expect(json.map((x) => x.sla)).toEqual(['udesk', 'hedu']);
    for (const rep of json) {
      const s = page.locator(`section[data-service="${rep.service}"][data-sla="${rep.sla}"]`);
      const fig = (f: string) => s.locator(`[data-figure="${f}"]`).first().innerText();
      expect(await fig('availability')).toBe(pct(rep.availability));
      expect(await fig('budget_allowed')).toBe(`${fm(rep.budget.allowed)} min`);
      expect(await fig('budget_used')).toBe(`${fm(rep.budget.used)} min`);
      expect(await fig('budget_remaining')).toBe(`${fm(rep.budget.remaining)} min`);
      expect(await fig('credit')).toBe(rep.credit === null ? 'none' : rep.credit.unit === 'percent' ? `${decimal(rep.credit.amount, 2)} % of the monthly fee` : `${fm(rep.credit.amount)} minutes of service`);
      expect(await s.locator('[data-figure="counted_minutes"]').allInnerTexts()).toEqual(rep.windows.map((w) => fm(w.counted_minutes)));
      const rows = await s.locator('table:has(caption:text("Downtime windows")) tbody tr').allInnerTexts();
      rep.windows.forEach((w, i) => expect(rows[i]).toContain(w.why));
      expect(await s.locator('table:has(caption:text("Incidents")) tbody tr').count()).toBe(rep.incidents.length);
    }
    // HEDU-5.7: the notification 7 minutes into the 40-minute outage, within 15 minutes.
    const notified = json.find((x) => x.sla === 'hedu')!.incidents.filter((i) => i.notified_at !== null);
    expect(notified).toHaveLength(1);
    expect(notified[0]!.notify_met).toBe(true);
    const cell = page.locator('section[data-sla="hedu"] [data-figure="notified"]', { hasText: 'in time' });
    expect(await cell.locator('time').getAttribute('datetime')).toBe(notified[0]!.notified_at);
    expect(await page.locator('section[data-sla="hedu"] th', { hasText: 'customers notified' }).innerText()).toBe('customers notified (within 15m)');
    // UDESK-1.2: the 40-minute outage counts, the 2-minute one does not; HEDU-5.1 counts both.
    const udesk = json.find((x) => x.sla === 'udesk')!;
    const hedu = json.find((x) => x.sla === 'hedu')!;
    expect(udesk.windows.filter((w) => w.status === 'counted').map((w) => w.counted_minutes)).toEqual([40]);
    expect(hedu.windows.filter((w) => w.status === 'counted').map((w) => w.counted_minutes).sort()).toEqual([2, 40]);
    // The credit and the rule it follows (UDESK-13.2 equal time, HEDU-7.2 10x).
    const credit = (sla: string) => page.locator(`section[data-sla="${sla}"] h3:text("Credit") + p`).innerText();
    expect(await credit('udesk')).toContain('Credit equal to the lost time');
    expect(await credit('udesk')).toContain('UDESK-13.2');
    expect(await credit('hedu')).toContain('10 times the counted unavailable minutes');
    await page.screenshot({ path: outputPath('report-page.png'), fullPage: true });
    process.stdout.write(`screenshot: ${outputPath('report-page.png')}\n`);
    await page.close();
  });

  it('several periods need --out DIR, and get one file each', async () => {
    const year = new Date(h.day(3)).toISOString().slice(0, 4);
    const base = ['--config', join(dir, 'c.yaml'), '--year', year, '--now', new Date(h.d0).toISOString()];
    const refused = await cli('report', ...base, '--format', 'html');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('give --out DIR to write one file per period');
    const out = join(dir, 'pages');
    const r = await cli('report', ...base, '--format', 'html', '--out', out);
    expect(r.err).toContain('wrote');
    const files = readdirSync(out).sort();
    expect(files.length).toBeGreaterThan(1);
    expect(files).toContain(`slaprobe-report-${new Date(h.day(3)).toISOString().slice(0, 7)}.html`);
  });

  it('--out is only for pages', async () => {
    const r = await cli('report', ...args, '--format', 'json', '--out', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--out is for --format html or pdf');
  });
});

describe('report --format pdf', () => {
  it('prints the page with headless Chromium; pdftotext finds the figures', async () => {
    const out = join(dir, 'pdf');
    const r = await cli('report', ...args, '--format', 'pdf', '--out', out);
    expect(r.err).toContain('wrote');
    const [file] = readdirSync(out);
    expect(file).toMatch(/^slaprobe-report-\d{4}-\d{2}\.pdf$/);
    const pdf = readFileSync(join(out, file!));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    // Reading order, whitespace (line breaks inside table cells) folded.
    const text = execFileSync('pdftotext', [join(out, file!), '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    for (const rep of json) {
      expect(text).toContain(pct(rep.availability));
      expect(text).toContain(`${fm(rep.budget.used)} min`);
      if (rep.credit) expect(text).toContain(fm(rep.credit.amount));
    }
    expect(text).toContain('40m unavailable >= minimum 5m');
    expect(text).toContain('UDESK-13.2');
  });

  it('a missing Chromium is a clear error, exit 2', async () => {
    const r = await new Promise<{ code: number; err: string }>((resolve) => {
      execFile(NODE, [CLI, 'report', ...args, '--format', 'pdf', '--out', join(dir, 'nopdf')], { env: { ...process.env, SLAPROBE_CHROMIUM: '/nonexistent/chromium' } },
        (e, _o, err) => resolve({ code: e ? (e.code as number) : 0, err }));
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain('no Chromium at /nonexistent/chromium');
  });
});
