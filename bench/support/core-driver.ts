// Drives prometheus-blackbox-exporter for bench/core.ts: N targets, each asked for at
// start + offset + n x interval (offsets spread over the interval, as slaprobe spreads its
// first runs), one GET /probe?target=...&module=http_2xx per run. Runs in a process of its
// own so that its CPU is counted for neither prober; blackbox has no scheduler, so this
// loop is its scheduler and its lateness is reported as the driver's, not blackbox's.
// Started with fork(): receives {type:'start', ...}, answers {type:'counts'} when asked.
import { Agent, request } from 'node:http';

interface Start { type: 'start'; exporter: string; targets: string[]; intervalMs: number; concurrency: number }
type Msg = Start | { type: 'counts' } | { type: 'stop' };

let ok = 0;
let failed = 0;
let errors = 0;
let skipped = 0;
let lateness: number[] = [];
let stopped = false;
const timers: NodeJS.Timeout[] = [];

function start(m: Start) {
  // Connections to the exporter are kept alive: they are the driver's cost, not a probe's;
  // the exporter itself opens a new connection to the target for every probe.
  const agent = new Agent({ keepAlive: true, maxSockets: m.concurrency });
  const now = () => performance.timeOrigin + performance.now();
  const t0 = Math.ceil(now() / m.intervalMs) * m.intervalMs + m.intervalMs;
  m.targets.forEach((target, i) => {
    const path = `/probe?module=http_2xx&target=${encodeURIComponent(target)}`;
    let due = t0 + (i * m.intervalMs) / m.targets.length;
    let running = false;
    const fire = () => {
      if (stopped) return;
      const t = now();
      lateness.push(t - due);
      due += m.intervalMs;
      while (due <= t) { due += m.intervalMs; skipped++; }
      timers[i] = setTimeout(fire, due - now());
      // Like slaprobe: a run still going when the next is due makes that one skipped.
      if (running) { skipped++; return; }
      running = true;
      const req = request(`${m.exporter}${path}`, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => {
          running = false;
          if (res.statusCode === 200 && /^probe_success 1$/m.test(body)) ok++;
          else failed++;
        });
      });
      req.on('error', () => { running = false; errors++; });
      req.end();
    };
    timers[i] = setTimeout(fire, due - now());
  });
}

process.on('message', (m: Msg) => {
  if (m.type === 'start') start(m);
  else if (m.type === 'counts') {
    process.send?.({ type: 'counts', ok, failed, errors, skipped, lateness });
    lateness = [];
  } else if (m.type === 'stop') {
    stopped = true;
    timers.forEach((t) => clearTimeout(t));
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
