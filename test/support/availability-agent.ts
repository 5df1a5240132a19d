// A stand-in agent for the kill -9 test: the real store and availability sink, fed with runs
// of one target on a simulated clock (one run every `step` ms of simulated time, as fast as
// the machine goes). Prints "ok <t>" once every run up to t is committed (the store commits
// runs that only extend a segment once a second, a state change at once), so the parent
// knows which runs were committed when it kills this process.
//   node availability-agent.ts DATA_DIR START FAIL_FROM RECOVER_AT STEP COUNT [hold]
// With `hold`, it waits to be killed after its last run instead of closing the store and
// exiting, so a kill that lands late still finds it killed, not stopped.
import pino from 'pino';
import { parseConfig } from '../../src/config/load.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createAvailabilitySink } from '../../src/sinks/availability.ts';
import { openStore } from '../../src/store/index.ts';

const [dataDir, start, failFrom, recoverAt, step, count, hold] = process.argv.slice(2);
const n = (s: string | undefined) => Number(s);
const config = parseConfig(`
agent: { region: test, data_dir: ${JSON.stringify(dataDir)} }
targets:
  - { name: api, kind: tcp, address: "127.0.0.1:9", interval: 10s, timeout: 2s }
services:
  - { name: meet, targets: [api], sla: [udesk] }
`, 'kill9.yaml');
let clock = n(start);
const store = openStore(dataDir!);
let lastRun: number | undefined;
let reported: number | undefined;
const report = () => {
  if (lastRun === undefined || lastRun === reported || store.uncommitted() > 0) return;
  reported = lastRun;
  process.stdout.write(`ok ${lastRun}\n`);
};
const reporter = setInterval(report, 20);
const sink = createAvailabilitySink({
  config, store, metrics: createMetrics({ region: 'test', version: 'test', defaultMetrics: false }),
  log: pino({ level: 'silent' }), now: () => clock,
});
const target = config.targets[0]!;
for (let i = 0; i < n(count); i++) {
  const t = n(start) + i * n(step);
  clock = t + 50;
  const ok = t < n(failFrom) || t >= n(recoverAt);
  sink.onResult(target, ok ? { success: true } : { success: false, reason: 'refused' }, { dueAt: t, startedAt: t, finishedAt: t + 50, durationSeconds: 0.05 });
  lastRun = t;
  report();
  await new Promise((r) => setImmediate(r));
}
if (hold !== 'hold') {
  clearInterval(reporter);
  sink.close();
}
