// `slaprobe report --format pdf`: the HTML report printed by headless Chromium (the system's
// browser, driven by playwright-core; nothing downloads one). The page is loaded from a
// string with every network request refused, so printing never reaches the network.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export class PdfError extends Error {
  readonly code = 'SLAPROBE_PDF_FAILED';
}

/** Where Chromium is: $SLAPROBE_CHROMIUM, else the Debian package's path. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['SLAPROBE_CHROMIUM'] || DEFAULT_CHROMIUM;
}

/** Each HTML document as a PDF (A4, backgrounds printed, light colours). */
export async function printPdfs(htmls: readonly string[], executable = chromiumPath()): Promise<Buffer[]> {
  if (!existsSync(executable)) {
    throw new PdfError(`no Chromium at ${executable}; install it (Debian: apt-get install chromium) or point SLAPROBE_CHROMIUM at the browser, or use --format html`);
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'slaprobe-pdf-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new PdfError(`cannot start Chromium at ${executable} (${(e as Error).message.split('\n')[0]}); check the browser runs headless, or use --format html`);
  }
  try {
    // The report is self-contained; anything it asked for from elsewhere would be a bug.
    await context.route('**/*', (route) => route.abort());
    const out: Buffer[] = [];
    for (const html of htmls) {
      const page = await context.newPage();
      await page.emulateMedia({ media: 'print', colorScheme: 'light' });
      await page.setContent(html, { waitUntil: 'load' });
      out.push(await page.pdf({ format: 'A4', printBackground: true, margin: { top: '16mm', bottom: '16mm', left: '14mm', right: '14mm' } }));
      await page.close();
    }
    return out;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
