import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.ts';
import { createMetricsSink } from '../src/sinks/metrics.ts';
import { createAgentServer, listen } from '../src/server.ts';
import { echoTarget } from './support/targets.ts';

/** A GET or HEAD of /metrics, read slowly (paused between chunks) so that the server meets backpressure. */
function get(port: number, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { chunks.push(c); res.pause(); setTimeout(() => res.resume(), 1); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let close: (() => void) | undefined;
afterEach(() => close?.());

describe('GET /metrics', () => {
  it('writes metric by metric the same bytes as registry.metrics(), also when the client reads slowly', async () => {
    const m = createMetrics({ region: 'r', version: '0', defaultMetrics: false });
    const sink = createMetricsSink(m);
    // Enough series (about 2 MB of exposition) that the socket's buffer fills and drains.
    for (let i = 0; i < 1000; i++) {
      const t = { ...echoTarget(1), name: `echo-${i}` };
      sink.onResult(t, { success: i % 7 !== 0, reason: 'loss', packets: { sent: 10, received: 9, rtts: [0.001 * (i % 9), 0.002, 0.003] } }, { dueAt: 0, startedAt: 0, finishedAt: 0, durationSeconds: 0.2 });
    }
    const server = createAgentServer({ registry: () => m.registry, ready: () => true, reload: () => 'too-soon' });
    const { port } = await listen(server, '127.0.0.1:0');
    close = () => server.close();
    const want = await m.registry.metrics();
    expect(want.length).toBeGreaterThan(1_000_000);
    const got = await get(port);
    expect(got.status).toBe(200);
    expect(got.type).toBe(m.registry.contentType);
    expect(got.body).toBe(want);
    const head = await get(port, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });
});
