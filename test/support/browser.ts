// Headless Chromium (the Debian package) driven by playwright-core: nothing downloads a
// browser, every launch gets a new empty profile, and Chromium's own background traffic
// (updates, sync, QUIC probes) is switched off so it talks to loopback only.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'slaprobe-chromium-'));
  // A persistent context is how playwright takes --user-data-dir: here a new, empty one.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** test-output/NAME (gitignored), created; screenshots a person can look at after the run. */
export function outputPath(name: string): string {
  const dir = resolve('test-output');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
