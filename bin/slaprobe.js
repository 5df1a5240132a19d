#!/usr/bin/env node
// Entry point of the `slaprobe` command: the TypeScript source, which Node 24 runs directly,
// in a checkout; the compiled dist/ (npm run build) where the source is not shipped.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`slaprobe needs Node.js 24 or later; this is ${process.version}. Run it through npm (npm start, npx slaprobe), which puts the project's Node 24 first on PATH.\n`);
  process.exit(2);
}
const { existsSync } = await import('node:fs');
const src = new URL('../src/cli.ts', import.meta.url);
await import(existsSync(src) ? src.href : new URL('../dist/cli.js', import.meta.url).href);
