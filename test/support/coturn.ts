// A real coturn for the stun tests, on 127.0.0.1 and free ports, Binding without auth.
// UDP and TCP share the listening port; TLS gets its own with a throwaway certificate.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { encodeBindingRequest, newTransactionId } from '../../src/stun/codec.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

export interface Coturn { port: number; tlsPort: number; certFile: string; stop(): Promise<void> }

export async function startCoturn(opts: { tls?: boolean } = {}): Promise<Coturn> {
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : 0;
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-coturn-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const args = ['-n', '--listening-ip=127.0.0.1', `--listening-port=${port}`, '--no-dtls', '--no-cli', '--log-file=stdout',
    '--simple-log', '--no-auth', '--stun-only', `--pidfile=${join(dir, 'pid')}`, '--min-port=49152', '--max-port=49200'];
  if (opts.tls) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    args.push(`--tls-listening-port=${tlsPort}`, `--cert=${cert}`, `--pkey=${key}`);
  } else args.push('--no-tls');
  const proc: ChildProcess = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  // Ready when it answers a Binding request.
  const deadline = Date.now() + 10_000;
  while (!(await answers(port))) {
    if (Date.now() > deadline || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      throw new Error(`coturn did not start on ${port}: ${log.slice(-2000)}`);
    }
  }
  return {
    port, tlsPort, certFile: cert,
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 2000).unref();
    }),
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); resolve(false); }, 200);
    s.on('message', () => { clearTimeout(t); s.close(); resolve(true); });
    s.on('error', () => undefined);
    s.send(encodeBindingRequest(newTransactionId()), port, '127.0.0.1');
  });
}
