// pino logs: JSON for machines (journald, Loki, kubectl logs), logfmt for a person at a
// terminal (the default when stderr is a TTY, as Prometheus's --log.format offers). Secrets never reach a log line: the agent logs target names, kinds and
// intervals, never URLs' query strings, headers, bodies or keys; redact covers the paths
// where a secret could still slip in.
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'headers', '*.headers', 'target.headers', 'key', '*.key', 'keys', '*.keys', 'body', '*.body',
  'authorization', '*.authorization', 'password', '*.password', 'secret', '*.secret',
];

export const LOG_FORMATS = ['logfmt', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * At most one log line per `every` ms for one cause, so that a failure repeated on every run
 * or request does not flood the log. `take(n)` answers how many events were passed over since
 * the last line when a line is due now, or undefined when this one (n events) is passed over.
 */
export function lineLimiter(every: number, now: () => number): { take(n?: number): number | undefined } {
  let at = -Infinity;
  let suppressed = 0;
  return {
    take(n = 1) {
      const t = now();
      if (t - at < every) {
        suppressed += n;
        return undefined;
      }
      const s = suppressed;
      at = t;
      suppressed = 0;
      return s;
    },
  };
}

/** logfmt on a terminal, JSON otherwise. */
export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'logfmt' : 'json';
}

export function createLogger(level: string, dest?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const out = dest ?? pino.destination({ dest: 2, sync: false });
  return pino(
    {
      level,
      base: { app: 'slaprobe' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'logfmt' ? logfmt(out) : out,
  );
}

/**
 * pino's JSON line as `ts=... level=info msg="..." key=value`: the same fields in the same
 * order, each value quoted only when it needs to be, nested objects as JSON.
 */
function logfmt(out: pino.DestinationStream): pino.DestinationStream {
  return {
    write(line: string) {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level, msg, app: _app, ...rest } = o;
      const parts = [`ts=${String(time)}`, `level=${String(level)}`, `msg=${quote(String(msg ?? ''))}`];
      for (const [k, v] of Object.entries(rest)) parts.push(`${k}=${quote(typeof v === 'string' ? v : JSON.stringify(v))}`);
      out.write(`${parts.join(' ')}\n`);
    },
  };
}

function quote(v: string): string {
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}
