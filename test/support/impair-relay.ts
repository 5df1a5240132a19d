// A seeded UDP impairment relay on 127.0.0.1 for the accuracy tests: probe -> relay ->
// server and back, each direction with its own fixed delay, uniform jitter, random loss and
// optional duplication. The relay records the delay it really applied to every packet.
import { Worker } from 'node:worker_threads';
import type { Impairment, RelayStats } from './impair-relay-worker.ts';

export type { Impairment, RelayStats };
export const NONE: Impairment = { delayMs: 0, jitterMs: 0, loss: 0, duplicate: false };

export interface Relay { port: number; stats(): Promise<RelayStats>; close(): Promise<void> }

export async function startRelay(opts: { upstreamPort: number; upstreamHost?: string; seed: number; up?: Partial<Impairment>; down?: Partial<Impairment>; seqAt?: number }): Promise<Relay> {
  const w = new Worker(new URL('./impair-relay-worker.ts', import.meta.url), {
    workerData: {
      upstreamHost: opts.upstreamHost ?? '127.0.0.1', upstreamPort: opts.upstreamPort, seed: opts.seed,
      up: { ...NONE, ...opts.up }, down: { ...NONE, ...opts.down },
      ...(opts.seqAt !== undefined ? { seqAt: opts.seqAt } : {}),
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    w.once('message', (m: { port: number }) => resolve(m.port));
    w.once('error', reject);
  });
  return {
    port,
    stats: () => new Promise((resolve) => {
      const on = (m: { type: string; stats: RelayStats }) => { if (m.type === 'stats') { w.off('message', on); resolve(m.stats); } };
      w.on('message', on);
      w.postMessage({ type: 'stats' });
    }),
    close: async () => { w.postMessage({ type: 'close' }); await new Promise((r) => w.once('exit', r)); },
  };
}
