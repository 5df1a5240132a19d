// STUN Binding over TCP and TLS (RFC 8489 section 6.2.2; TURN on 443 for networks that let
// nothing else out). One connection per run, requests one at a time: over a stream there is
// no loss to measure, only reachability, connect and handshake time, and the round trip of
// each request. Runs inside the packet-timing worker, like the UDP trains.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { createStreamDeframer, decodeMessage, encodeBindingRequest, newTransactionId } from '../../stun/codec.ts';
import { STALL_MS } from '../types.ts';
import type { StunStreamJob, TrainReport } from './protocol.ts';

export async function runStreamTrain(job: StunStreamJob, signal: AbortSignal, nowNs: () => number): Promise<TrainReport> {
  const rep: TrainReport = {
    id: job.id,
    packets: { sent: 0, received: 0, rtts: [], seqs: [], lost: 0, late: 0, duplicated: 0, reordered: 0, invalid: {}, lossBurstMax: 0 },
    sendLag: { count: 0, p50: 0, p99: 0, max: 0 },
    refused: 0, socketErrors: {}, errorResponses: {},
  };
  const t0 = nowNs();
  let sock: net.Socket;
  let connectedAt: number;
  try {
    ({ sock, connectedAt } = await connect(job, signal, nowNs));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (signal.aborted ? 'aborted' : 'error');
    if (code === 'ECONNREFUSED') rep.refused++;
    else rep.socketErrors[code] = (rep.socketErrors[code] ?? 0) + 1;
    rep.stoppedBy = code;
    return rep;
  }
  const tConnected = nowNs();
  rep.connectSeconds = (connectedAt - t0) / 1e9;
  if (job.tls) {
    rep.tlsSeconds = (tConnected - connectedAt) / 1e9;
    rep.tlsVersion = (sock as tls.TLSSocket).getProtocol() ?? '';
  }
  rep.local = { address: sock.localAddress ?? '', port: sock.localPort ?? 0 };
  const p = rep.packets;
  let waiting: { txid: string; resolve: (v: Buffer | undefined) => void } | undefined;
  let closed: string | undefined;
  const push = createStreamDeframer(
    (msg) => {
      const d = decodeMessage(msg);
      const id = d.txid?.toString('hex');
      if (!d.ok) p.invalid![d.invalid] = (p.invalid![d.invalid] ?? 0) + 1;
      else if (!waiting || id !== waiting.txid) p.invalid!['unknown_transaction'] = (p.invalid!['unknown_transaction'] ?? 0) + 1;
      else { const w = waiting; waiting = undefined; w.resolve(msg); }
    },
    (why) => { p.invalid![why] = (p.invalid![why] ?? 0) + 1; sock.destroy(); },
  );
  sock.on('data', push);
  const onEnd = (code: string) => { closed ??= code; waiting?.resolve(undefined); };
  sock.on('error', (e: NodeJS.ErrnoException) => onEnd(e.code ?? 'error'));
  sock.on('close', () => onEnd('ECONNRESET'));
  const onAbort = () => { onEnd('aborted'); sock.destroy(); };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (let i = 0; i < job.packets && !closed; i++) {
      const due = t0 + i * job.spacingMs * 1e6;
      const wait = (due - nowNs()) / 1e6;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (closed) break;
      const txid = newTransactionId();
      const timeoutNs = job.packetTimeoutMs * 1e6;
      const answer = new Promise<Buffer | undefined>((resolve) => {
        waiting = { txid: txid.toString('hex'), resolve };
        const due = nowNs() + timeoutNs;
        setTimeout(() => {
          // Late by a stall of this thread (src/probes/train/worker.ts): Node runs due timers
          // before it reads the sockets, so read them once before the answer counts lost.
          const late = nowNs() - due;
          if (late > STALL_MS * 1e6) {
            rep.stallSeconds = Math.max(rep.stallSeconds ?? 0, late / 1e9);
            setImmediate(() => resolve(undefined));
          } else resolve(undefined);
        }, job.packetTimeoutMs);
      });
      const sentAt = nowNs();
      sock.write(encodeBindingRequest(txid));
      const msg = await answer;
      const rxAt = nowNs();
      if (closed && !msg) break;
      if (msg && rxAt - sentAt > timeoutNs) {
        // Read past the timeout (only a stall lets that happen): it came, whether in time is not known.
        p.unobserved = (p.unobserved ?? 0) + 1;
        continue;
      }
      p.sent++;
      if (!msg) { p.lost!++; waiting = undefined; continue; }
      const d = decodeMessage(msg);
      p.received++;
      p.rtts.push((rxAt - sentAt) / 1e9);
      p.seqs!.push(i);
      if (d.ok && d.errorCode !== undefined) {
        p.invalid!['error_response'] = (p.invalid!['error_response'] ?? 0) + 1;
        rep.errorResponses[String(d.errorCode)] = (rep.errorResponses[String(d.errorCode)] ?? 0) + 1;
      } else if (d.ok && d.mapped) {
        rep.mapped = d.mapped;
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    sock.destroy();
  }
  if (closed && closed !== 'ECONNRESET') rep.stoppedBy = closed;
  else if (closed && p.sent < job.packets) rep.stoppedBy = closed;
  return rep;
}

function connect(job: StunStreamJob, signal: AbortSignal, nowNs: () => number): Promise<{ sock: net.Socket; connectedAt: number }> {
  return new Promise((resolve, reject) => {
    let s: net.Socket;
    let connectedAt = 0;
    const onAbort = () => { s.destroy(); reject(Object.assign(new Error('aborted'), { code: 'aborted' })); };
    if (job.tls) {
      const servername = job.servername ?? (net.isIP(job.host) ? undefined : job.host);
      s = tls.connect({
        host: job.host, port: job.port,
        ...(servername ? { servername } : {}),
        rejectUnauthorized: job.rejectUnauthorized,
        ...(job.ca ? { ca: readFileSync(job.ca) } : {}),
        ...(job.cert ? { cert: readFileSync(job.cert) } : {}),
        ...(job.key ? { key: readFileSync(job.key) } : {}),
        ...(job.minVersion ? { minVersion: job.minVersion } : {}),
      });
      s.once('connect', () => { connectedAt = nowNs(); });
      s.once('secureConnect', () => { signal.removeEventListener('abort', onAbort); resolve({ sock: s, connectedAt }); });
    } else {
      s = net.connect({ host: job.host, port: job.port });
      s.once('connect', () => { signal.removeEventListener('abort', onAbort); resolve({ sock: s, connectedAt: nowNs() }); });
    }
    s.setNoDelay(true);
    s.once('error', (e) => { signal.removeEventListener('abort', onAbort); reject(e); });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
