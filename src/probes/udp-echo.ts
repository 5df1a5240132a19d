// udp-echo: a stream of signed, sequenced packets to a slaprobe reflector (src/reflector/),
// by default 50 packets/s of 172 bytes, the cadence and size of an audio stream. The reflector
// stamps its receive and send times (its hold time is taken out of the RTT) and acknowledges
// the last 64 sequence numbers it received, so a lost packet is known to be lost upstream or
// downstream. Sent and timed in the packet worker (src/probes/train/worker.ts).
import { resolveTarget, runTrain } from './train/index.ts';
import { trainResult } from './train/result.ts';
import { fail, type ProbeFn } from './types.ts';

export const udpEchoProbe: ProbeFn = async (target, signal) => {
  if (target.kind !== 'udp-echo') return fail('error', `udp-echo probe given a ${target.kind} target`);
  const addr = await resolveTarget(target.host, target.ip_protocol);
  if (!('address' in addr)) return addr;
  const report = await runTrain({
    proto: 'echo', host: addr.address, port: target.port, family: addr.family,
    packets: target.packets, spacingMs: target.spacing, packetTimeoutMs: target.packet_timeout,
    // A media stream does not wait for answers; the timeout alone bounds what is in flight.
    maxOutstanding: target.packets,
    key: target.key, keyId: target.key_id, size: target.size,
  }, signal);
  const r = trainResult(report, { remote: `${addr.address}:${target.port}`, key_id: target.key_id });
  // The reflector drops what it cannot authenticate without a word (an answer would make it
  // an amplifier for spoofed junk), so a wrong key looks exactly like a dead path: say so.
  if (!r.success && r.reason === 'timeout' && r.packets && r.packets.sent > 0 && r.packets.received === 0) {
    return { ...r, detail: `${r.detail ?? 'no answer'}: not one answer came back; the key or key_id "${target.key_id}" may be wrong (the reflector drops packets it cannot authenticate), or the reflector is not running or the port is blocked` };
  }
  return r;
};
