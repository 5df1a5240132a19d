// Real servers on 127.0.0.1, port 0, that misbehave in the ways the probes must survive.
import { spawn } from 'node:child_process';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createSocket } from 'node:dgram';
import { type AddressInfo, type Socket, createServer as createTcp } from 'node:net';
import { NODE } from '../deploy/tools.ts';

export interface Running { url: string; port: number; close(): Promise<void> }

function routes(req: IncomingMessage, res: ServerResponse): void {
  const u = new URL(req.url ?? '/', 'http://x');
  const p = u.pathname;
  if (p === '/ok') return void res.end('ok all good\n');
  if (p.startsWith('/status/')) { res.statusCode = Number(p.slice(8)); return void res.end(`status ${res.statusCode}\n`); }
  if (p === '/hang') return; // accepts the request and never answers
  if (p === '/stall-body') { res.writeHead(200, { 'content-length': '1000' }); res.write('partial'); return; }
  if (p === '/big') {
    // 1 GB, produced lazily: the probe must stop reading at max_body_bytes.
    res.writeHead(200, { 'content-length': String(1024 ** 3) });
    const chunk = Buffer.alloc(64 * 1024, 97);
    let sent = 0;
    const pump = () => { while (sent < 1024 ** 3) { sent += chunk.length; if (!res.write(chunk)) return void res.once('drain', pump); } res.end(); };
    res.on('close', () => { sent = Infinity; });
    return pump();
  }
  if (p === '/loop') { res.writeHead(302, { location: '/loop' }); return void res.end(); }
  if (p.startsWith('/chain/')) {
    const n = Number(p.slice(7));
    res.writeHead(n > 0 ? 302 : 200, n > 0 ? { location: `/chain/${n - 1}` } : {});
    return void res.end(n > 0 ? '' : 'end of chain\n');
  }
  if (p === '/echo-method') return void res.end(`${req.method}\n`);
  if (p === '/headers') return void res.end(JSON.stringify(req.headers));
  if (p === '/healthz') return void res.end('ok\n');
  res.statusCode = 404;
  res.end('not found\n');
}

function track(server: Server | ReturnType<typeof createTcp>) {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); });
}

async function start(server: Server | ReturnType<typeof createTcp>, scheme: string, host = '127.0.0.1'): Promise<Running> {
  const close = track(server);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const port = (server.address() as AddressInfo).port;
  const h = host.includes(':') ? `[${host}]` : host;
  return { url: `${scheme}://${h}:${port}`, port, close };
}

export function httpServer(host = '127.0.0.1'): Promise<Running> {
  return start(createHttp(routes), 'http', host);
}

/**
 * httpServer() in a process of its own. For tests that run agents in the test's own process:
 * an agent starting there (config, store, metrics: a few hundred ms of that thread on a
 * loaded machine) would hold up an in-process server's answers past a probe's timeout, and
 * the probe would fail for a reason that is the test's, not the target's.
 */
export async function httpServerProcess(): Promise<Running> {
  const script = `const m = await import(${JSON.stringify(import.meta.url)}); const r = await m.httpServer(); process.stdout.write(r.port + '\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(NODE, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`http server process exited (${code}) before it listened`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    // Its stdin closing ends it, so it also goes when the test process dies.
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin!.end();
    }),
  };
}

export function httpsServer(cert: Buffer, key: Buffer, opts: { requestCert?: boolean; ca?: Buffer } = {}): Promise<Running> {
  return start(createHttps({ cert, key, ...(opts.requestCert ? { requestCert: true, rejectUnauthorized: true, ca: opts.ca } : {}) }, routes), 'https');
}

/** Raw TCP: `onConn` decides what happens on each connection. */
export function tcpServer(onConn: (s: Socket) => void, host = '127.0.0.1'): Promise<Running> {
  return start(createTcp(onConn), 'tcp', host);
}

/** An HTTP/1.0 server whose body is delimited by closing the connection (no length). */
export function http10Server(body: string): Promise<Running> {
  return tcpServer((s) => {
    s.once('data', () => { s.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n${body}`); });
  });
}

/** A port on 127.0.0.1 with nothing listening (bound, then closed). */
export async function closedPort(): Promise<number> {
  const r = await tcpServer(() => undefined);
  await r.close();
  return r.port;
}

/** A UDP port on 127.0.0.1 that was free a moment ago (bound, then closed). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
