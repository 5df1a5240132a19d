// stun: a train of RFC 8489 Binding requests to a STUN/TURN server, over UDP (loss, RTT,
// jitter: the media path) or over TCP/TLS (reachability and RTT of TURN-over-TCP/443).
// The packets are sent and timed in the packet worker (src/probes/train/worker.ts).
import { isIP } from 'node:net';
import { resolveTarget, runTrain } from './train/index.ts';
import { trainResult } from './train/result.ts';
import { fail, type ProbeFn } from './types.ts';

export const stunProbe: ProbeFn = async (target, signal) => {
  if (target.kind !== 'stun') return fail('error', `stun probe given a ${target.kind} target`);
  const addr = await resolveTarget(target.host, target.ip_protocol);
  if (!('address' in addr)) return addr;
  const common = {
    host: addr.address, port: target.port, family: addr.family,
    packets: target.packets, spacingMs: target.spacing, packetTimeoutMs: target.packet_timeout,
  };
  const tls = target.tls;
  const report = target.transport === 'udp'
    ? await runTrain({ proto: 'stun', ...common, maxOutstanding: target.max_outstanding, fingerprint: false }, signal)
    : await runTrain({
      proto: 'stun-stream', ...common,
      tls: target.transport === 'tls',
      rejectUnauthorized: !tls.insecure_skip_verify,
      ...(tls.server_name ?? (isIP(target.host) ? undefined : target.host) ? { servername: tls.server_name ?? target.host } : {}),
      ...(tls.ca_file ? { ca: tls.ca_file } : {}),
      ...(tls.cert_file ? { cert: tls.cert_file } : {}),
      ...(tls.key_file ? { key: tls.key_file } : {}),
      ...(tls.min_version ? { minVersion: tls.min_version } : {}),
    }, signal);
  return trainResult(report, { transport: target.transport, remote: `${addr.address}:${target.port}` });
};
