// From a worker's TrainReport to the ProbeResult every sink understands, and from errno codes
// to the closed set of failure reasons.
import { classify } from '../errors.ts';
import { fail, type FailureReason, type ProbeResult } from '../types.ts';
import type { TrainReport } from './protocol.ts';

/** errno / Node / OpenSSL codes -> reason, by the core's one table (src/probes/errors.ts). */
export function reasonForCode(code: string): FailureReason {
  return code === 'aborted' ? 'timeout' : classify({ code }).reason;
}

/** STUN error classes that mean "credentials wanted or refused" (RFC 8489 section 14.8). */
const AUTH_CODES = new Set(['401', '403', '438']);

/**
 * A run succeeds when at least one valid answer came back: loss is judged by the quality
 * verdicts over many runs, not by one run. It fails with `auth` on a 401/403/438 error
 * response, `protocol` on any other error response or when only invalid datagrams came back,
 * `refused` when the port was closed, `timeout` when nothing came back.
 */
export function trainResult(r: TrainReport, info: Record<string, string | number | boolean> = {}): ProbeResult {
  const p = r.packets;
  const out: Record<string, string | number | boolean> = { ...info };
  if (r.mapped) { out['mapped_address'] = r.mapped.address; out['mapped_port'] = r.mapped.port; out['mapped_family'] = r.mapped.family; }
  if (r.mappedChanged) out['mapped_changed'] = true;
  if (r.local) { out['local_address'] = r.local.address; out['local_port'] = r.local.port; }
  if (r.refused) out['icmp_port_unreachable'] = r.refused;
  if (r.reflectorReceived !== undefined) out['reflector_received'] = r.reflectorReceived;
  if (r.stallSeconds !== undefined) out['worker_stall_ms'] = round3(r.stallSeconds * 1e3);
  if (r.sendLag.count) { out['send_lag_p99_ms'] = round3(r.sendLag.p99 * 1e3); out['send_lag_max_ms'] = round3(r.sendLag.max * 1e3); }
  if (r.connectSeconds !== undefined) out['connect_ms'] = round3(r.connectSeconds * 1e3);
  if (r.tlsSeconds !== undefined) out['tls_ms'] = round3(r.tlsSeconds * 1e3);
  if (r.tlsVersion) out['tls_version'] = r.tlsVersion;
  for (const [c, n] of Object.entries(r.errorResponses)) out[`error_response_${c}`] = n;
  for (const [c, n] of Object.entries(r.socketErrors)) out[`socket_error_${c}`] = n;
  const extra: Partial<ProbeResult> = { packets: p, info: out };
  if (r.connectSeconds !== undefined) extra.phases = { connect: r.connectSeconds, ...(r.tlsSeconds !== undefined ? { tls: r.tlsSeconds } : {}) };

  const codes = Object.keys(r.errorResponses);
  const auth = codes.find((c) => AUTH_CODES.has(c));
  if (auth) return fail('auth', `STUN error response ${auth}: the server wants credentials for Binding`, { ...extra, code: `STUN_${auth}` });
  if (codes.length) return fail('protocol', `STUN error response ${codes.join(', ')}`, { ...extra, code: `STUN_${codes[0]}` });
  const valid = p.received;
  if (valid > 0 && !(r.stoppedBy && r.stoppedBy !== 'aborted' && p.sent === 0)) {
    return { success: true, ...extra };
  }
  if (r.stoppedBy && r.stoppedBy !== 'aborted') return fail(reasonForCode(r.stoppedBy), `stopped by ${r.stoppedBy}`, { ...extra, code: r.stoppedBy });
  if (r.refused > 0) return fail('refused', `ICMP port unreachable (${r.refused}x) on the connected socket`, { ...extra, code: 'ECONNREFUSED' });
  const invalid = Object.values(p.invalid ?? {}).reduce<number>((a, b) => a + (b ?? 0), 0);
  if (invalid > 0) return fail('protocol', `no valid answer; ${invalid} invalid datagrams (${Object.entries(p.invalid ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ')})`, extra);
  return fail('timeout', `no answer to ${p.sent} packets`, extra);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
