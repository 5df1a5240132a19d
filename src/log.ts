// pino JSON logs. Secrets never reach a log line: the agent logs target names, kinds and
// intervals, never URLs' query strings, headers, bodies or keys; redact covers the paths
// where a secret could still slip in.
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'headers', '*.headers', 'target.headers', 'key', '*.key', 'keys', '*.keys', 'body', '*.body',
  'authorization', '*.authorization', 'password', '*.password', 'secret', '*.secret',
];

export function createLogger(level: string, dest?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'slaprobe' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    dest ?? pino.destination({ dest: 2, sync: false }),
  );
}
