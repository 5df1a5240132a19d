// node:http by require(), never by import: the ES module facade of a built-in reads every
// export once, and node:http's WebSocket, CloseEvent and MessageEvent getters then load
// Node's bundled undici (3.8 MB of source kept for lazy compilation). Measured on Node 24:
// a bare process that imports node:http is 2.3 MiB of heap and 13 MiB of RSS larger than one
// that requires it (issue 13, docs/bench-core.md). The agent's own HTTP client is the undici
// package; the bundled copy is never used.
import { createRequire } from 'node:module';

export const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
