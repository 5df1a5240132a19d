// An HTTP server in its own process (so a blocked test process cannot delay it) that answers
// every request after a fixed delay. Prints its port on stdout.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const delayMs = Number(process.argv[2] ?? '30');
const server = createServer((_req, res) => { setTimeout(() => res.end('ok\n'), delayMs); });
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
