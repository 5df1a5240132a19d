// The agent's main thread never loads Node's bundled undici (src/node-http.ts): an ES import
// of node:http does, and it costs 13 MiB of RSS per isolate. Checked in a fresh Node process
// that imports what `slaprobe run` imports, against a control that imports node:http.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..');
const NODE = join(REPO, 'node_modules/.bin/node');

function bundledUndiciLoaded(imports: string[]): boolean {
  const code = `${imports.map((m) => `await import(${JSON.stringify(m)});`).join('\n')}
process.stdout.write(String(process.moduleLoadList.some((m) => m.includes('internal/deps/undici'))));`;
  return execFileSync(NODE, ['--input-type=module', '-e', code], { cwd: REPO, encoding: 'utf8' }) === 'true';
}

describe('node:http without the bundled undici', () => {
  it('the agent, its server and the remote-write client load none; an ES import of node:http does', () => {
    expect(bundledUndiciLoaded(['node:http'])).toBe(true);
    expect(bundledUndiciLoaded([join(REPO, 'src/agent.ts'), join(REPO, 'src/server.ts'), join(REPO, 'src/fleet/remote-write.ts'), join(REPO, 'src/cli.ts')])).toBe(false);
  });
});
