// The probe engine's stack policy (src/engine/stacks.ts): an error keeps the frame it was
// thrown from, undici's errors none, and nothing a probe reports changes: real HTTP probes
// in a worker thread set up as the engine is, against real servers on loopback.
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../src/probes/types.ts';
import { type Running, http10Server, httpServer, tcpServer } from '../support/servers.ts';

interface Report {
  probes: Record<string, ProbeResult>;
  bug: ProbeResult;
  undiciStack: string;
  plainStack: string;
  formatted: { name: string; stack: string }[];
}

describe('stack traces in the probe engine', () => {
  let servers: Running[];
  let report: Report;
  beforeAll(async () => {
    const keepAlive = await httpServer();
    const close = await http10Server('hello');
    const reset = await tcpServer((s) => s.once('data', () => s.destroy()));
    servers = [keepAlive, close, reset];
    const w = new Worker(new URL('../support/stacks-worker.ts', import.meta.url), {
      workerData: { urls: { keepAlive: `${keepAlive.url}/ok`, close: `http://127.0.0.1:${close.port}/`, reset: `http://127.0.0.1:${reset.port}/` } },
    });
    report = await new Promise<Report>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    await w.terminate();
  }, 30_000);
  afterAll(async () => { await Promise.all(servers.map((s) => s.close())); });

  it('probes report what they did before: success on keep-alive and HTTP/1.0 servers, reset classified by its code', () => {
    expect(report.probes['keepAlive']).toMatchObject({ success: true, http: { status: 200 } });
    expect(report.probes['close']).toMatchObject({ success: true, http: { status: 200, bodyBytes: 5 } });
    expect(report.probes['reset']).toMatchObject({ success: false, reason: 'reset', code: 'UND_ERR_SOCKET' });
    expect(report.probes['reset']!.detail).toMatch(/closed/);
  });

  it('formats the errors undici builds on every connection without frames', () => {
    expect(report.undiciStack).toBe('InformationalError: reset');
    // The probes themselves had their connections' errors formatted (Node's destroy() reads
    // err.stack), and each went through the policy: name and message, no frame.
    const undici = report.formatted.filter((f) => f.name === 'InformationalError' || f.name === 'SocketError');
    expect(undici.length).toBeGreaterThanOrEqual(2);
    for (const f of undici) expect(f.stack).not.toContain('\n    at ');
  });

  it('keeps the one frame a bug was thrown from, so a crashed probe still names its line', () => {
    expect(report.bug).toMatchObject({ success: false, reason: 'error', code: 'PROBE_BUG' });
    expect(report.bug.detail).toMatch(/^probe crashed: TypeError: Cannot read properties of undefined \(reading 'b'\)\s+at readsAMissingField \(.*stacks-worker\.ts:\d+:\d+\)$/);
    const plain = report.plainStack.split('\n');
    expect(plain[0]).toBe('Error: plain');
    expect(plain.slice(1)).toHaveLength(1);
    expect(plain[1]).toMatch(/^\s+at makesAnError \(.*stacks-worker\.ts:\d+:\d+\)$/);
  });
});
