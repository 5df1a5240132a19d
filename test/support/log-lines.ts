// A stream for a test's logger: every JSON line written to it is parsed and pushed to `lines`,
// in order, so a test can assert on what the agent logged.
import { Writable } from 'node:stream';

export function jsonLineStream(lines: Record<string, unknown>[]): Writable {
  return new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
}
