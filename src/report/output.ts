// Where `report --format html|pdf` puts its pages: one page to stdout, or one file per period
// in --out DIR (slaprobe-report-2026-11.html). Several periods and no --out is refused: one
// stream cannot hold several documents.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceReport } from '../availability/service.ts';
import type { SlaPolicy } from '../availability/types.ts';
import { renderReportPages } from './html.ts';
import { printPdfs } from './pdf.ts';

export const PAGE_FORMATS = ['html', 'pdf'] as const;
export type PageFormat = (typeof PAGE_FORMATS)[number];

export function isPageFormat(f: string): f is PageFormat {
  return (PAGE_FORMATS as readonly string[]).includes(f);
}

/** "2025-12..2026-11" (rolling) as a file name stem. */
export function fileName(label: string, format: PageFormat): string {
  return `slaprobe-report-${label.replace('..', '_to_')}.${format}`;
}

/**
 * Writes the pages; returns the files written (empty when written to stdout). Throws a
 * PageError naming the way out when the pages cannot go where asked.
 */
export async function writePages(
  reports: readonly ServiceReport[], format: PageFormat, out: string | undefined,
  policyOf: (service: string, sla: string) => SlaPolicy | undefined,
  stdout: NodeJS.WritableStream = process.stdout,
): Promise<string[]> {
  const pages = renderReportPages(reports, policyOf);
  if (pages.length === 0) return [];
  if (out === undefined && pages.length > 1) {
    throw new PageError(`${pages.length} periods (${pages.map((p) => p.label).join(', ')}) make ${pages.length} documents; give --out DIR to write one file per period`);
  }
  const bodies: (string | Buffer)[] = format === 'html' ? pages.map((p) => p.html) : await printPdfs(pages.map((p) => p.html));
  if (out === undefined) {
    if (format === 'pdf' && (stdout as { isTTY?: boolean }).isTTY) throw new PageError('a PDF on a terminal is unreadable; redirect stdout to a file or give --out DIR');
    stdout.write(bodies[0]!);
    return [];
  }
  try {
    mkdirSync(out, { recursive: true });
    return pages.map((p, i) => {
      const file = join(out, fileName(p.label, format));
      writeFileSync(`${file}.tmp`, bodies[i]!);
      renameSync(`${file}.tmp`, file);
      return file;
    });
  } catch (e) {
    throw new PageError(`cannot write to ${out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path and its permissions`);
  }
}

export class PageError extends Error {
  readonly code = 'SLAPROBE_REPORT_OUTPUT';
}
