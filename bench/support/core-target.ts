// The probed server of bench/core.ts, in a process of its own so that its CPU is counted
// for neither prober. Every path answers 200 "ok"; every probe opens a new connection.
// Started with fork(): sends {port} once listening, and its own CPU usage when asked.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
// Far more pending connections than the default 511: at 1,000 new connections a second a
// short stall of this process must not turn into refused probes.
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
