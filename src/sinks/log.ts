// One log line per target state change (up -> down, down -> up), with the reason; per-probe
// lines only at debug. Never a URL's query, a header or a key: names, kinds, reasons.
import { redactTargetSecrets } from '../config/load.ts';
import type { Target } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { ProbeResult } from '../probes/types.ts';
import type { RunMeta, Sink } from './types.ts';

export function createLogSink(log: Logger): Sink & { forget(target: string): void } {
  const last = new Map<string, boolean>();
  return {
    onResult(target: Target, r: ProbeResult, meta: RunMeta) {
      const prev = last.get(target.name);
      last.set(target.name, r.success);
      const fields = { target: target.name, kind: target.kind, ...(r.success ? {} : { reason: r.reason, code: r.code, detail: r.detail === undefined ? undefined : redactTargetSecrets(target, r.detail) }) };
      if (prev !== undefined && prev !== r.success) {
        log.info({ ...fields, state: r.success ? 'up' : 'down', previous: prev ? 'up' : 'down' }, `target ${target.name} is ${r.success ? 'up' : 'down'}`);
      } else if (prev === undefined && !r.success) {
        log.warn({ ...fields, state: 'down' }, `target ${target.name} is down on its first run`);
      }
      if (log.isLevelEnabled('debug')) {
        log.debug({ ...fields, success: r.success, duration_seconds: meta.durationSeconds, lateness_seconds: (meta.startedAt - meta.dueAt) / 1000, phases: r.phases, packets: r.packets ? { sent: r.packets.sent, received: r.packets.received } : undefined }, 'probe');
      }
    },
    forget(target: string) {
      last.delete(target);
    },
  };
}
