// What a stopped agent's outbox still holds, sent the way the agent sends it after a restart.
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { openOutbox } from '../../src/fleet/outbox.ts';
import { parseConfig } from '../../src/config/load.ts';
import { openStore } from '../../src/store/index.ts';

export async function flushOutbox(dataDir: string, cfgText: string): Promise<void> {
  const cfg = parseConfig(cfgText, 'agent.yaml');
  const store = openStore(dataDir);
  const outbox = openOutbox({ dataDir, metrics: createMetrics({ region: cfg.agent.region, version: 'test', defaultMetrics: false }), log: createLogger('silent') });
  await outbox.setRemotes(cfg.remote_write);
  await outbox.drained();
  await outbox.close();
  store.close();
}
