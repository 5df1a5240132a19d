// The status page in a real browser (headless Chromium) against a real agent whose store
// holds ten days of history: a counted outage, a short outage under the 5-minute rule, a
// maintenance window, unknown time, a quality breach and an excluded outage (see
// test/support/status-store.ts). Asserts what a person sees, and that the page's figures
// are the ones `slaprobe report --format json` prints.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent.ts';
import { pct } from '../../src/availability/format.ts';
import { reportService } from '../../src/availability/service.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { openStore } from '../../src/store/index.ts';
import { type TestBrowser, launchBrowser, outputPath } from '../support/browser.ts';
import { type Running, tcpServer } from '../support/servers.ts';
import { DAY, type History, history, statusConfig, writeHistory } from '../support/status-store.ts';

// Run inside the page by playwright; the project compiles without the DOM library.
declare const getComputedStyle: (e: unknown) => { backgroundColor: string; backgroundImage: string; getPropertyValue(k: string): string };
declare const document: { documentElement: unknown };

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'src/cli.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], (e, out, err) => resolve({ code: e ? (e.code as number) : 0, out, err }));
  });
}

let dir: string;
let h: History;
let target: Running;
let agent: Agent;
let b: TestBrowser;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slaprobe-status-'));
  h = history(Date.now());
  writeHistory(join(dir, 'data'), h);
  target = await tcpServer((s) => s.end());
  writeFileSync(join(dir, 'c.yaml'), statusConfig(h, join(dir, 'data'), `127.0.0.1:${target.port}`));
  agent = await startAgent({ configFile: join(dir, 'c.yaml'), logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })) });
  url = `http://127.0.0.1:${agent.address().port}`;
  // The target has run and the service is up live.
  for (let i = 0; i < 200 && !agent.ready(); i++) await sleep(50);
  await sleep(300);
  b = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await b?.close();
  await agent?.stop();
  await target?.close();
});

async function open(scheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const page = await b.context.newPage();
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.emulateMedia({ colorScheme: scheme });
  const res = await page.goto(`${url}/status`);
  expect(res?.status()).toBe(200);
  return page;
}

/** The live state shown after the agent's next result (reloading: the page has no script). */
async function liveState(page: Page): Promise<string> {
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = await page.locator('section[data-service="meet"] .svc-head .badge').innerText();
    if (text === 'Up') break;
    await sleep(200);
    await page.reload();
  }
  return text;
}

const bg = (page: Page, sel: string) => page.locator(sel).first().evaluate((e) => getComputedStyle(e).backgroundColor);

describe('GET /status in Chromium', () => {
  it('shows the outage day in the counted colour, with its availability on focus and hover', async () => {
    const page = await open();
    expect(await liveState(page)).toBe('Up');
    const bar = page.locator(`.bars li[data-date="${h.date(3)}"]`);
    const counted = await bg(page, '.legend li.k-counted .swatch');
    expect(await bar.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe(counted);
    expect(counted).not.toBe(await bg(page, '.legend li.k-up .swatch'));
    // 40 counted minutes of 1440 under udesk (UDESK-1.2).
    const dayFigure = pct(((1440 - 40) / 1440) * 100);
    expect(dayFigure).toBe('97.2222 %');
    const tip = bar.locator('.tip');
    expect((await tip.boundingBox())!.width).toBeLessThanOrEqual(1); // hidden until asked for
    await bar.focus();
    await expect.poll(async () => (await tip.boundingBox())?.width ?? 0).toBeGreaterThan(100);
    const text = await tip.innerText();
    expect(text).toContain(`${h.date(3)}: Downtime counted, availability ${dayFigure} (udesk)`);
    expect(text).toContain('counted downtime: 40m unavailable >= minimum 5m');
    expect(await bar.getAttribute('title')).toBe(text);
    await page.screenshot({ path: outputPath('status-page-light.png'), fullPage: true });
    process.stdout.write(`screenshot: ${outputPath('status-page-light.png')}\n`);
    await page.close();
  });

  it('gives every other kind of day its own colour and words; unknown is never up', async () => {
    const page = await open();
    const kinds: [number, string, string][] = [
      [4, 'not_counted', 'downtime not counted: 2m unavailable < minimum 5m'],
      [5, 'maintenance', 'min excluded'],
      [6, 'unknown', '240.0 min unknown'],
      [7, 'degraded', '60.0 min degraded or partial'],
      [8, 'not_counted', 'exclude#1 (carrier fault'],
      [9, 'up', ''],
      [20, 'no_data', ''],
    ];
    const colours = new Set<string>();
    for (const [n, kind, why] of kinds) {
      const bar = page.locator(`.bars li[data-date="${h.date(n)}"]`);
      expect(await bar.getAttribute('data-kind'), h.date(n)).toBe(kind);
      expect(await bar.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe(await bg(page, `.legend li.k-${kind} .swatch`));
      expect(await bar.getAttribute('title')).toContain(why);
      colours.add(await bar.evaluate((e) => getComputedStyle(e).backgroundColor + getComputedStyle(e).backgroundImage));
    }
    expect(colours.size).toBe(6); // two not_counted days share one
    // Unknown is hatched, so it differs from no data by more than a shade.
    expect(await page.locator('.bars li.k-unknown').first().evaluate((e) => getComputedStyle(e).backgroundImage)).toContain('repeating-linear-gradient');
    expect(await page.locator('.bars li[data-kind="unknown"]').first().getAttribute('title')).not.toContain(': Up,');
    // The live state: the agent probes the target now; asia stopped reporting two days ago.
    const svc = page.locator('section[data-service="meet"]');
    expect(await liveState(page)).toBe('Up');
    expect(await svc.locator('.regions li').allInnerTexts()).toEqual([
      expect.stringMatching(/^asia:\s+Unknown \(no recent result\)/), expect.stringMatching(/^eu:\s+Up as of/)]);
    expect(await page.locator('[data-stale]').count()).toBe(0);
    const planned = await page.locator('#maint-h + table tbody tr').allInnerTexts();
    expect(planned).toEqual([expect.stringContaining('media-upgrade')]);
    await page.close();
  });

  it("prints each policy's figure exactly as report --format json does", async () => {
    const page = await open();
    const now = Number(await page.locator('[data-now]').getAttribute('data-now'));
    const cells = await page.locator('section[data-service="meet"] [data-figure="availability"]').allInnerTexts();
    const r = await cli('report', '--format', 'json', '--config', join(dir, 'c.yaml'), '--now', new Date(now).toISOString());
    expect(r.err).toBe('');
    const reports = JSON.parse(r.out).reports as { sla: string; availability: number | null }[];
    expect(reports.map((x) => x.sla)).toEqual(['udesk', 'hedu']);
    expect(cells).toEqual(reports.map((x) => pct(x.availability)));
    const json = await (await fetch(`${url}/status.json`)).json() as { services: { periods: { sla: string }[] }[] };
    expect(json.services[0]!.periods.map((p) => p.sla)).toEqual(['udesk', 'hedu']);
    await page.close();
  });

  it('is readable in the dark, with landmarks and contrast for every colour', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const page = await open(scheme);
      expect(await page.locator('header').count()).toBe(1);
      expect(await page.locator('main').count()).toBe(1);
      expect(await page.locator('footer').count()).toBe(1);
      const vars = await page.evaluate(() => {
        const s = getComputedStyle(document.documentElement);
        return Object.fromEntries(['--bg', '--fg', '--muted', '--link', '--up', '--counted', '--not_counted', '--degraded', '--maintenance', '--unknown', '--no_data']
          .map((k) => [k, s.getPropertyValue(k).trim()]));
      });
      const ratio = contrast(vars['--bg']!, vars['--fg']!);
      expect(ratio, `${scheme} text`).toBeGreaterThanOrEqual(7);
      for (const k of ['--muted', '--link']) expect(contrast(vars['--bg']!, vars[k]!), `${scheme} ${k}`).toBeGreaterThanOrEqual(4.5);
      // Bars are non-text graphics: WCAG 1.4.11 asks 3:1 against their background.
      for (const k of ['--up', '--counted', '--not_counted', '--degraded', '--maintenance', '--unknown', '--no_data']) {
        expect(contrast(vars['--bg']!, vars[k]!), `${scheme} ${k}`).toBeGreaterThanOrEqual(3);
      }
      if (scheme === 'dark') {
        await page.locator(`.bars li[data-date="${h.date(3)}"]`).hover();
        await page.screenshot({ path: outputPath('status-page-dark.png'), fullPage: true });
        process.stdout.write(`screenshot: ${outputPath('status-page-dark.png')}\n`);
      }
      await page.close();
    }
  });

  it('needs no script and no asset from elsewhere', async () => {
    const html = await (await fetch(`${url}/status`)).text();
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(/i);
  });
});

describe('the day bars and the calculator', () => {
  it('each bar is evaluatePeriod over that day: the same figure as reportService for the day', async () => {
    const json = await (await fetch(`${url}/status.json`)).json() as { now_unix_ms: number; services: { evaluated_to_unix_ms: number; range_availability: number | null; days: { date: string; start: string; end: string; availability: number | null; kind: string }[] }[] };
    // The bars run to the newest evidence of the live service (a run in flight is not unknown).
    const now = json.services[0]!.evaluated_to_unix_ms;
    expect(now).toBeLessThanOrEqual(json.now_unix_ms);
    expect(json.now_unix_ms - now).toBeLessThanOrEqual(3_000); // 1.5 intervals of 2 s
    const config = parseConfig(readFileSync(join(dir, 'c.yaml'), 'utf8'), 'c.yaml');
    const svc = config.services[0]!;
    // The agent read its runs from memory; runs that only extend a segment reach the store
    // within a second (docs/availability.md section 11). Read once the store holds every
    // target's evidence up to the page's `now`.
    for (let i = 0; ; i++) {
      const peek = openStore(join(dir, 'data'), { readOnly: true });
      const ends = svc.targets.map((t) => peek.targetSpans(t, 0, Infinity, Infinity).flatMap((r) => r.spans).at(-1)?.end ?? 0);
      peek.close();
      if (ends.every((e) => e >= now)) break;
      if (i === 100) throw new Error(`the store's evidence ends at ${ends.join(', ')}, before the page's ${now}, after 10 s`);
      await sleep(100);
    }
    const store = openStore(join(dir, 'data'), { mustExist: true });
    try {
      for (const d of json.services[0]!.days.slice(-12, -1)) {
        const start = Date.parse(d.start);
        const r = reportService(store, svc, svc.sla[0]!, { label: d.date, start, end: start + DAY }, config.maintenance, store.exclusions(), now);
        expect(d.availability, d.date).toBe(r.availability);
      }
      // The 90-day figure over the heading is the same calculator over the bars' whole range.
      const days = json.services[0]!.days;
      const range = { label: '90 days', start: Date.parse(days[0]!.start), end: Date.parse(days[days.length - 1]!.end) };
      const r = reportService(store, svc, svc.sla[0]!, range, config.maintenance, store.exclusions(), now);
      expect(json.services[0]!.range_availability).toBe(r.availability);
      expect(r.availability).not.toBeNull();
    } finally {
      store.close();
    }
  });
});

describe('slaprobe status --out', () => {
  it('writes the same page as static files; an old store says it is stale', async () => {
    const out = join(dir, 'site');
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const r = await cli('status', '--out', out, '--config', join(dir, 'c.yaml'), '--now', later, '--title', 'Meet status');
    expect(r.code).toBe(0);
    expect(r.err).toContain('stale');
    const page = await b.context.newPage();
    await page.goto(`file://${join(out, 'index.html')}`);
    expect(await page.title()).toBe('Meet status');
    expect(await page.locator('[data-stale]').innerText()).toMatch(/^Stale data: the newest result is from /);
    expect(await page.locator('section[data-service="meet"] .svc-head .badge').innerText()).toBe('Unknown (no recent result)');
    expect(await page.locator(`.bars li[data-date="${h.date(3)}"]`).getAttribute('data-kind')).toBe('counted');
    await page.close();
    const json = JSON.parse(readFileSync(join(out, 'status.json'), 'utf8'));
    expect(json.stale).toBe(true);
    expect(json.services[0].state).toBe('unknown');
  });

  it.each([
    [['--config', 'x.yaml'], '--out DIR is required'],
    [['--out', '/tmp/x', '--now', 'tomorrow'], '--now "tomorrow" is not an RFC 3339 time'],
  ])('%j is refused: %s', async (args, msg) => {
    const r = await cli('status', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });

  it('a missing store is refused with the way out', async () => {
    const cfg = join(dir, 'empty.yaml');
    writeFileSync(cfg, readFileSync(join(dir, 'c.yaml'), 'utf8').replace(join(dir, 'data'), join(dir, 'nothing-here')));
    const r = await cli('status', '--out', join(dir, 'site2'), '--config', cfg);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no store here');
  });
});

/** WCAG 2 contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}
