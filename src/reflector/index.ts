// The UDP reflector that `slaprobe run` serves when `reflector:` is configured: it answers
// udp-echo probes of other agents (wire format in ./wire.ts, defences in ./guard.ts). The
// socket lives in its own worker thread (./worker.ts); this side starts it, starts it again
// on the same address if it ever ends unasked (peers keep aiming at that port, and a dead
// reflector reads as 100 % loss on their side), stops it within a bounded time, and turns its
// per-second counts into slaprobe_reflector_packets_total.
import { Worker } from 'node:worker_threads';
import type pino from 'pino';
import type { ReflectorConfig } from '../config/types.ts';
import { type IsolateHeap, workerHeap } from '../engine/isolate.ts';
import { splitHostPort } from '../config/validate.ts';
import type { Metrics } from '../metrics.ts';
import type { ReflectorMessage, ReflectorWorkerData } from './worker.ts';

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

/** How long close() waits for the socket to close before it terminates the thread. */
export const CLOSE_GRACE_MS = 2_000;
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 30_000;

export interface Reflector {
  address: { address: string; port: number };
  /** True while a worker is listening. */
  up(): boolean;
  /** The current worker thread (tests end it to check the restart). */
  thread(): Worker;
  /** The worker's heap, if it runs and answers within a second. */
  heap(): Promise<IsolateHeap | undefined>;
  close(): Promise<void>;
}

/** Starts the reflector; rejects with the socket's errno code (EADDRINUSE ...) if it cannot bind. */
export function startReflector(cfg: ReflectorConfig, deps: { metrics: Metrics; log: pino.Logger }): Promise<Reflector> {
  const [host, configuredPort] = splitHostPort(cfg.listen);
  const { metrics, log } = deps;
  let port = configuredPort;
  let w: Worker;
  let listening = false;
  let closing: Promise<void> | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let dropped = 0;
  let lastWarn = 0;
  metrics.reflectorUp.set(0);

  return new Promise((resolve, reject) => {
    let started = false;
    const handle: Reflector = {
      address: { address: host, port },
      up: () => listening,
      thread: () => w,
      heap: () => workerHeap(w),
      close: () => (closing ??= stop()),
    };

    const spawn = () => {
      restartTimer = undefined;
      const data: ReflectorWorkerData = { host, port, keys: { ...cfg.keys }, rateLimit: cfg.rate_limit, maxPacketBytes: cfg.max_packet_bytes };
      const me = new Worker(WORKER_URL, { workerData: data });
      w = me;
      me.on('message', (m: ReflectorMessage) => {
        if (m.type === 'listening') {
          listening = true;
          failures = 0;
          metrics.reflectorUp.set(1);
          // A restart binds the port the first worker got, even when the config said 0.
          port = m.port;
          handle.address = { address: m.address, port: m.port };
          log.info({ listen: `${m.address}:${m.port}`, keys: Object.keys(cfg.keys) }, started ? 'udp reflector listening again' : 'udp reflector listening');
          if (!started) {
            started = true;
            resolve(handle);
          }
        } else if (m.type === 'error') {
          if (!listening) {
            void me.terminate();
            if (!started) {
              closing = Promise.resolve();
              reject(Object.assign(new Error(`reflector cannot listen on ${cfg.listen}: ${m.code}`), { code: m.code }));
            } else log.error({ code: m.code }, 'udp reflector cannot listen again; retrying');
          } else log.warn({ code: m.code }, 'udp reflector socket error');
        } else {
          for (const [result, n] of Object.entries(m.counts)) {
            metrics.reflectorPackets.inc({ result }, n);
            if (result !== 'reflected') dropped += n;
          }
          // One line a minute at most, however hard the flood.
          if (dropped > 0 && Date.now() - lastWarn > 60_000) {
            log.warn({ dropped }, 'udp reflector dropped datagrams (see slaprobe_reflector_packets_total by result)');
            lastWarn = Date.now();
            dropped = 0;
          }
        }
      });
      me.on('error', (err) => log.error({ err }, 'udp reflector worker failed'));
      me.on('exit', (code) => {
        if (w !== me) return;
        listening = false;
        metrics.reflectorUp.set(0);
        if (closing || !started) return;
        metrics.reflectorRestarts.inc();
        const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** failures++);
        log.error({ code, restartInMs: delay }, 'udp reflector worker exited; restarting it');
        restartTimer = setTimeout(spawn, delay);
      });
    };

    const stop = async (): Promise<void> => {
      if (restartTimer) clearTimeout(restartTimer);
      const me = w;
      const exited = new Promise<void>((done) => {
        if (me.threadId === -1) return done(); // already gone
        me.once('exit', () => done());
      });
      me.postMessage({ type: 'close' });
      // A thread that is busy or stuck gets CLOSE_GRACE_MS, then it is ended: the agent's
      // stop must never wait on it.
      const grace = setTimeout(() => void me.terminate(), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(grace);
      listening = false;
      metrics.reflectorUp.set(0);
    };

    spawn();
  });
}
