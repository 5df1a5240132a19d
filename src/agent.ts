// The long-running agent: config -> scheduler -> runner -> sinks, plus the HTTP server.
// Reload (SIGHUP or POST /-/reload) validates the new file first; a bad one is logged and
// the running config keeps working; a good one swaps targets, and the series of targets
// that stayed keep their counters.
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type TimeZoneData, timeZoneData } from './availability/calendar.ts';
import { ConfigError, EMBEDDED_DEFAULT, loadConfig } from './config/load.ts';
import type { Config, Target } from './config/types.ts';
import { type LogFormat, type Logger, createLogger, defaultLogFormat } from './log.ts';
import { type IsolateHeapReading, type Metrics, createMetrics, setServiceTargetInfo, setTargetInfo } from './metrics.ts';
import { PROBE_KINDS } from './probes/types.ts';
import { startEngine } from './engine/index.ts';
import { ownHeap, scheduleSettling } from './engine/isolate.ts';
import { ENGINE_CAPACITY, RESOURCES, capacityWarnings, demandOf } from './engine/capacity.ts';
import { createReloader } from './reload.ts';
import { createAgentServer, listen } from './server.ts';
import type { WebConfig, WebConfigSource } from './web.ts';
import type { Server as TlsServer } from 'node:tls';
import { type Reflector, startReflector } from './reflector/index.ts';
import { parseWebhook } from './alertmanager/webhook.ts';
import { createAvailabilitySink } from './sinks/availability.ts';
import { createLogSink } from './sinks/log.ts';
import { createMetricsSink } from './sinks/metrics.ts';
import { createQualitySink } from './sinks/quality.ts';
import { type Discovery, effectiveConfig, expandGroups, startDiscovery } from './fleet/sd.ts';
import type { Outbox } from './fleet/outbox.ts';
import { type PushSink, createPushSink } from './sinks/push.ts';
import { type Store, StoreError, openStore } from './store/index.ts';
import { lockDataDir } from './store/lock.ts';
import { statusOf } from './status/model.ts';
import type { Sink } from './sinks/types.ts';
import { type SinkName, createFanOut } from './sinks/fan-out.ts';
import { VERSION } from './version.ts';

export interface AgentOptions {
  configFile: string;
  /** Overrides of agent.* from the command line. */
  listen?: string;
  dataDir?: string;
  logger?: Logger;
  /** --web.config.file (src/web.ts): TLS and basic auth for every endpoint; read at start (a bad file throws ConfigError) and again whenever it or its PEM files change. */
  webFile?: string;
  /** A web config given as it is, never re-read (tests). */
  web?: WebConfig;
  /** --web.enable-lifecycle: serve POST /-/reload. */
  lifecycle?: boolean;
  /** `slaprobe run`: the main thread's and the engine's heaps settle after the first round and every minute (settleHeap, src/engine/isolate.ts). */
  settleHeap?: boolean;
  /** --log.format; default logfmt on a terminal, JSON otherwise. */
  logFormat?: LogFormat;
}

export interface Agent {
  config(): Config;
  address(): AddressInfo;
  metrics: Metrics;
  reload(): Promise<{ ok: boolean; messages: string[] }>;
  ready(): boolean;
  stop(): Promise<void>;
}

/** Loads the config (throws ConfigError), starts probing and serving. */
export async function startAgent(opts: AgentOptions): Promise<Agent> {
  let zones: TimeZoneData;
  try {
    zones = timeZoneData();
  } catch (e) {
    throw new ConfigError([(e as Error).message]);
  }
  const load = async (): Promise<Config> => {
    // The embedded default probes the agent itself: with --listen, there.
    const c = await loadConfig(opts.configFile, resolve(opts.configFile) === EMBEDDED_DEFAULT && opts.listen ? { selfAddress: selfAddress(opts.listen) } : {});
    if (!opts.listen && !opts.dataDir) return c;
    return Object.freeze({ ...c, agent: Object.freeze({ ...c.agent, ...(opts.listen ? { listen: opts.listen } : {}), ...(opts.dataDir ? { data_dir: opts.dataDir } : {}) }) });
  };
  /** The config file as loaded; `config` is what runs: plus discovered targets, cut to the shard. */
  // Imported on use: bcrypt and the TLS checks are not loaded by an agent without a web config.
  const webMod = opts.webFile ? await import('./web.ts') : undefined;
  const web0 = opts.webFile && webMod ? webMod.loadWebConfig(opts.webFile) : opts.web;
  let webSource: WebConfigSource | undefined;
  let base = await load();
  const log = opts.logger ?? createLogger(base.agent.log_level, undefined, opts.logFormat ?? defaultLogFormat());
  const metrics = createMetrics({ region: base.agent.region, version: VERSION });
  metrics.timeZoneData.set({ source: zones.source, version: zones.version }, 1);
  let discovery: Discovery | undefined;
  let onDiscovered: (d: ReadonlyMap<string, readonly Target[]>) => void = () => undefined;
  const discover = () => {
    discovery?.stop();
    discovery = base.target_groups.length === 0 ? undefined : startDiscovery(base.target_groups, {
      log, taken: new Set(base.targets.map((t) => t.name)),
      onChange: (d) => onDiscovered(d),
      onRefresh: (group, mechanism, ok) => { if (!ok) metrics.sdRefreshFailures.inc({ group, mechanism }); },
    });
  };
  discover();
  const effective = () => effectiveConfig(base, discovery?.current() ?? new Map());
  /** Each service's whole target count, before agent.shard: what its rule counts in the fleet. */
  const serviceSizes = () => new Map(base.services.map((s) => [s.name, expandGroups(s.targets, base.target_groups, discovery?.current() ?? new Map()).length]));
  let config = effective();
  let store: Store;
  try {
    // The lock first: a second agent must not touch a store another one is writing.
    const lock = lockDataDir(config.agent.data_dir);
    let opened: Store;
    try {
      opened = openStore(config.agent.data_dir, { owner: true });
    } catch (e) {
      lock.release();
      throw e;
    }
    // Whoever closes the store (stop, or a failed start) gives the data dir back.
    // close() commits what is pending first, which can fail (disk full): the lock goes all the same.
    store = {
      ...opened,
      close: () => {
        try {
          opened.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (e) {
    discovery?.stop();
    // A corrupt store, or one from a newer slaprobe, is never overwritten: nothing starts.
    if (e instanceof StoreError) throw new ConfigError([e.message]);
    throw e;
  }

  const metricsSink = createMetricsSink(metrics);
  const logSink = createLogSink(log);
  const availability = createAvailabilitySink({ config, store, metrics, log });
  // remote_write: samples go to the outbox in the store first, then to the remotes.
  let outbox: Outbox | undefined;
  let push: PushSink | undefined;
  if (config.remote_write.length > 0) {
    // Imported on use: the outbox brings protobufjs and snappyjs (about 1 MiB of heap),
    // which an agent without remote_write never runs.
    const { openOutbox } = await import('./fleet/outbox.ts');
    outbox = openOutbox({ dataDir: config.agent.data_dir, store, metrics, log });
    await outbox.setRemotes(config.remote_write);
    push = createPushSink({ config, outbox, sizes: serviceSizes() });
  }
  const quality = createQualitySink({
    metrics,
    onBreachChange: (target, breached, at) => {
      availability.markDegraded(target, breached, at);
      push?.markDegraded(target, breached, at);
    },
  });
  quality.reload([...config.targets]);
  // The push sink before the quality sink: a run's degraded sample is the verdict in force
  // when the run started; the change the run brings follows at its own time.
  const sinks: { name: SinkName; sink: Sink }[] = [
    { name: 'metrics', sink: metricsSink }, { name: 'log', sink: logSink }, ...(push ? [{ name: 'push' as const, sink: push }] : []),
    { name: 'quality', sink: quality }, { name: 'availability', sink: availability },
  ];
  // The reflector first: this agent's own udp-echo targets may be aimed at it.
  let reflector: Reflector | undefined;
  // Absent, not 0, on an agent that serves no reflector: 0 means one is down.
  if (!config.reflector) for (const n of ['slaprobe_reflector_up', 'slaprobe_reflector_restarts_total']) metrics.registry.removeSingleMetric(n);
  if (config.reflector) {
    try {
      reflector = await startReflector(config.reflector, { metrics, log });
    } catch (e) {
      discovery?.stop();
      await outbox?.close();
      availability.close();
      const code = (e as NodeJS.ErrnoException).code;
      throw new ConfigError([`${opts.configFile}: reflector.listen: cannot listen on ${config.reflector.listen} (${code}); pick another address or port`]);
    }
  }

  // Scheduler, runner and probes run in the engine worker; results fan out to the sinks here,
  // one loop, a throwing sink counted, logged and passed over (src/sinks/fan-out.ts).
  const scheduler = startEngine({
    concurrency: config.agent.concurrency,
    log,
    onResult: createFanOut(sinks, { metrics, log }),
    onSkip: (target) => metrics.runsSkipped.inc({ target }),
    onLateness: (s) => metrics.schedulerLateness.observe(s),
    settleHeap: opts.settleHeap === true,
  });

  metrics.isolateHeap.read = async () => {
    const [{ engine, packet }, refl] = await Promise.all([scheduler.heap(), reflector?.heap()]);
    const out: IsolateHeapReading[] = [{ isolate: 'main', ...ownHeap() }];
    if (engine) out.push({ isolate: 'engine', ...engine });
    if (packet) out.push({ isolate: 'packet', ...packet });
    if (refl) out.push({ isolate: 'reflector', ...refl });
    return out;
  };

  const checkCapacity = (c: Config) => {
    const demand = demandOf(c.targets);
    for (const r of RESOURCES) {
      metrics.demand.set({ resource: r }, demand[r]);
      metrics.capacity.set({ resource: r }, ENGINE_CAPACITY[r]);
    }
    for (const w of capacityWarnings(demand)) log.warn({ config: c.source }, w);
  };
  const applied = (c: Config) => {
    checkCapacity(c);
    for (const k of PROBE_KINDS) metrics.targets.set({ kind: k }, c.targets.filter((t) => t.kind === k).length);
    setTargetInfo(metrics, c.targets);
    setServiceTargetInfo(metrics, c.services);
    metrics.sdTargets.reset();
    for (const g of base.target_groups) metrics.sdTargets.set({ group: g.name }, discovery?.current().get(g.name)?.length ?? 0);
    metrics.configReloadSuccess.set(1);
    metrics.configReloadTimestamp.set(Date.now() / 1000);
    log.info({ config: c.source, targets: c.targets.length, services: c.services.length, region: c.agent.region }, 'config loaded');
  };

  let firstRoundDone = false;
  let stopSettling: (() => void) | undefined;
  scheduler.set(config.targets);
  applied(config);
  void scheduler.firstRound().then(() => {
    firstRoundDone = true;
    // The main thread times nothing (the engine does): its heap settles 10 s later and
    // every minute from then on, whatever it is doing (src/engine/isolate.ts).
    if (opts.settleHeap) stopSettling = scheduleSettling(() => true);
  });

  const reload = async (): Promise<{ ok: boolean; messages: string[] }> => {
    // A reload reads the web config again too, changed or not (its own errors are logged apart).
    webSource?.check(true);
    let next: Config;
    try {
      next = await load();
    } catch (e) {
      const messages = e instanceof ConfigError ? e.messages : [String(e)];
      metrics.configReloadSuccess.set(0);
      log.error({ config: opts.configFile, errors: messages }, 'config reload rejected; the running config is unchanged');
      return { ok: false, messages };
    }
    const restartOnly = (['listen', 'data_dir', 'region', 'concurrency', 'name'] as const).filter((k) => next.agent[k] !== base.agent[k]).map((k) => `agent.${k}`);
    if (JSON.stringify(next.reflector) !== JSON.stringify(base.reflector)) restartOnly.push('reflector');
    // Remotes change on reload; turning remote_write on or off takes a restart.
    if ((next.remote_write.length > 0) !== (base.remote_write.length > 0)) restartOnly.push('remote_write');
    else await outbox?.setRemotes(next.remote_write);
    if (restartOnly.length > 0) log.warn({ keys: restartOnly }, 'these settings change only on restart; the rest of the new config is applied');
    const groupsChanged = JSON.stringify(next.target_groups) !== JSON.stringify(base.target_groups) || JSON.stringify(next.targets.map((t) => t.name)) !== JSON.stringify(base.targets.map((t) => t.name));
    base = next;
    // Discovery restarts only when its groups change: an http_sd group's targets would
    // otherwise vanish until its next answer.
    if (groupsChanged) discover();
    apply(effective());
    return { ok: true, messages: [] };
  };
  /** Runs `next`: the scheduler, the sinks and the per-target series follow it. */
  const apply = (next: Config) => {
    const gone = config.targets.filter((t) => !next.targets.some((n) => n.name === t.name));
    config = next;
    scheduler.set(config.targets);
    quality.reload([...config.targets]);
    availability.reload(config);
    push?.reload(config, serviceSizes());
    for (const t of gone) {
      metricsSink.forget(t.name);
      logSink.forget(t.name);
    }
    applied(config);
  };
  onDiscovered = () => apply(effective());
  const reloader = createReloader(reload);

  const webhook = (text: string) => {
    const r = parseWebhook(text, Date.now());
    if (!r.ok) {
      metrics.alertmanagerWebhooks.inc({ result: 'rejected' });
      log.warn({ error: r.error }, 'alertmanager webhook rejected');
      return { status: 400, text: r.error };
    }
    try {
      store.recordNotifications(r.records);
    } catch (e) {
      // 5xx: Alertmanager retries, so the notification is not lost with a busy store.
      metrics.alertmanagerWebhooks.inc({ result: 'failed' });
      log.error({ err: e }, 'alertmanager webhook: the store refused the notification; Alertmanager will retry');
      return { status: 500, text: 'the store refused the notification; retry' };
    }
    metrics.alertmanagerWebhooks.inc({ result: 'stored' });
    return { status: 200, text: `stored ${r.records.length} alerts, ignored ${r.ignored} without a service label` };
  };
  for (const result of ['stored', 'rejected', 'failed']) metrics.alertmanagerWebhooks.inc({ result }, 0);

  const notReady = (): string[] => [
    ...(firstRoundDone ? [] : ['first round of probes not finished']),
    ...(reflector && !reflector.up() ? ['udp reflector down, restarting (slaprobe_reflector_up, and the log)'] : []),
    ...availability.storeFailing().map((op) => `store writes failing (${op}; slaprobe_store_errors_total, and the log): is the disk full or read-only?`),
  ];
  const ready = () => notReady().length === 0;
  const server = createAgentServer({
    registry: () => metrics.registry, ready, readyDetail: () => notReady().join('; '),
    reload: () => reloader.tryRequest(), ...(opts.lifecycle ? { lifecycle: true } : {}), ...(web0 ? { web: () => webSource?.current() ?? web0 } : {}),
    status: () => statusOf(config, store, Date.now()),
    webhook,
  });
  let address: AddressInfo;
  try {
    address = await listen(server, config.agent.listen);
  } catch (e) {
    discovery?.stop();
    await scheduler.stop();
    await reflector?.close();
    await outbox?.close();
    availability.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([`${opts.configFile}: agent.listen: cannot listen on ${config.agent.listen} (${code}); ${code === 'EADDRINUSE' ? 'another process uses that port: pick another with --listen HOST:PORT' : 'check the address'}`]);
  }
  if (opts.webFile && webMod && web0) {
    metrics.webConfigReloadSuccess.set(1);
    webSource = webMod.watchWebConfig(opts.webFile, web0, {
      log,
      // New connections get the new certificate; open ones keep theirs.
      onChange: (next) => { if (next.tls) (server as unknown as TlsServer).setSecureContext(webMod.secureContextOptions(next.tls)); },
      onResult: (ok) => metrics.webConfigReloadSuccess.set(ok ? 1 : 0),
    });
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const metricsUrl = `${web0?.tls ? 'https' : 'http'}://${host}:${address.port}/metrics`;
  log.info({ listen: `${host}:${address.port}`, metrics: metricsUrl, version: VERSION, node: process.version, time_zones: `${zones.source} ${zones.version} (${zones.why})` }, `slaprobe agent started; metrics at ${metricsUrl}`);

  return {
    config: () => config,
    address: () => address,
    metrics,
    reload: () => reloader.request(),
    ready,
    async stop() {
      stopSettling?.();
      webSource?.stop();
      discovery?.stop();
      await scheduler.stop();
      await reflector?.close();
      await outbox?.close();
      availability.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      log.info('slaprobe agent stopped');
      log.flush();
    },
  };
}

/** Where a probe on this machine reaches a server listening on `listen` (wildcards: loopback). */
export function selfAddress(listen: string): string {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i);
  const port = listen.slice(i + 1);
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${port}`;
  if (host === '[::]') return `[::1]:${port}`;
  return listen;
}
