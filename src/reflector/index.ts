// The UDP reflector that `slaprobe run` serves when `reflector:` is configured: it answers
// udp-echo probes of other agents (wire format in ./wire.ts, defences in ./guard.ts). The
// socket lives in its own worker thread (./worker.ts); this side only starts and stops it
// and turns its per-second counts into slaprobe_reflector_packets_total.
import { Worker } from 'node:worker_threads';
import type pino from 'pino';
import type { ReflectorConfig } from '../config/types.ts';
import { splitHostPort } from '../config/validate.ts';
import type { Metrics } from '../metrics.ts';
import type { ReflectorMessage, ReflectorWorkerData } from './worker.ts';

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

export interface Reflector {
  address: { address: string; port: number };
  close(): Promise<void>;
}

/** Starts the reflector; rejects with the socket's errno code (EADDRINUSE ...) if it cannot bind. */
export function startReflector(cfg: ReflectorConfig, deps: { metrics: Metrics; log: pino.Logger }): Promise<Reflector> {
  const [host, port] = splitHostPort(cfg.listen);
  const data: ReflectorWorkerData = { host, port, keys: { ...cfg.keys }, rateLimit: cfg.rate_limit, maxPacketBytes: cfg.max_packet_bytes };
  const w = new Worker(WORKER_URL, { workerData: data });
  let dropped = 0;
  let lastWarn = 0;
  return new Promise((resolve, reject) => {
    let listening = false;
    w.on('message', (m: ReflectorMessage) => {
      if (m.type === 'listening') {
        listening = true;
        deps.log.info({ listen: `${m.address}:${m.port}`, keys: Object.keys(cfg.keys) }, 'udp reflector listening');
        resolve({
          address: { address: m.address, port: m.port },
          close: () => new Promise<void>((done) => {
            w.once('exit', () => done());
            w.postMessage({ type: 'close' });
          }),
        });
      } else if (m.type === 'error') {
        if (!listening) {
          void w.terminate();
          reject(Object.assign(new Error(`reflector cannot listen on ${cfg.listen}: ${m.code}`), { code: m.code }));
        } else deps.log.warn({ code: m.code }, 'udp reflector socket error');
      } else {
        for (const [result, n] of Object.entries(m.counts)) {
          deps.metrics.reflectorPackets.inc({ result }, n);
          if (result !== 'reflected') dropped += n;
        }
        // One line a minute at most, however hard the flood.
        if (dropped > 0 && Date.now() - lastWarn > 60_000) {
          deps.log.warn({ dropped }, 'udp reflector dropped datagrams (see slaprobe_reflector_packets_total by result)');
          lastWarn = Date.now();
          dropped = 0;
        }
      }
    });
    w.on('error', (err) => {
      if (!listening) reject(err);
      else deps.log.error({ err }, 'udp reflector worker failed');
    });
  });
}
