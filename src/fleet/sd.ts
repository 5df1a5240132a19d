// Targets from Prometheus service discovery: file_sd (JSON or YAML files of
// [{targets: [...], labels: {...}}], re-read on change and every refresh_interval) and http_sd
// (the same JSON from a URL, every refresh_interval). Formats as Prometheus documents them:
// https://prometheus.io/docs/prometheus/latest/configuration/configuration/#file_sd_config
// https://prometheus.io/docs/prometheus/latest/http_sd/
//
// Every entry can be wrong. A file or answer that cannot be read or parsed keeps its last good
// content (Prometheus does the same), an entry or address that is wrong is skipped: each is
// logged with where it came from, and counted. Never a crash, never an empty target list
// because one source broke.
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, readdirSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { Ctx, isObj } from '../config/check.ts';
import type { Config, ServiceConfig, Target, TargetGroup } from '../config/types.ts';
import { validateConfig } from '../config/validate.ts';
import { inShard } from './shard.ts';

export interface SdEntry { targets: string[]; labels: Record<string, string> }

const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Set by slaprobe itself (src/config/validate.ts RESERVED_LABELS); an SD label of that name
// would clash with the series' own.
const RESERVED = new Set(['region', 'target', 'kind', 'result', 'reason', 'phase', 'direction', 'service', 'sla', 'le', 'job', 'instance', 'agent', 'remote', 'group']);

/** A source's answer, checked: entries, and the problems of the ones left out. */
export function parseSdEntries(text: string, format: 'json' | 'yaml'): { entries: SdEntry[]; problems: string[] } {
  const doc: unknown = format === 'json' ? JSON.parse(text) : parseYaml(text);
  if (doc === null || doc === undefined) return { entries: [], problems: [] };
  if (!Array.isArray(doc)) throw new Error('expected a list of {targets: [...], labels: {...}}');
  const problems: string[] = [];
  const entries = doc.flatMap((g: unknown, i): SdEntry[] => {
    if (!isObj(g) || !Array.isArray(g['targets'])) {
      problems.push(`[${i}]: expected {targets: [...], labels: {...}}, left out`);
      return [];
    }
    const targets = g['targets'].filter((t, j) => {
      if (typeof t === 'string' && t !== '') return true;
      problems.push(`[${i}].targets[${j}]: expected a non-empty string, left out`);
      return false;
    }) as string[];
    const labels: Record<string, string> = {};
    if (g['labels'] !== undefined && !isObj(g['labels'])) problems.push(`[${i}].labels: expected a mapping of names to strings; labels left out`);
    for (const [k, v] of Object.entries(isObj(g['labels']) ? g['labels'] : {})) {
      // Prometheus's meta labels (__meta_*, __address__ ...) are dropped after relabelling; so here.
      if (k.startsWith('__')) continue;
      if (!LABEL.test(k) || typeof v !== 'string') problems.push(`[${i}].labels.${k}: not a label name with a string value; label left out`);
      else if (RESERVED.has(k)) problems.push(`[${i}].labels.${k}: "${k}" is set by slaprobe itself; label left out`);
      else labels[k] = v;
    }
    return [{ targets, labels }];
  });
  return { entries, problems };
}

/** "<group>:<address>" with the characters a target name cannot hold replaced; long ones shortened with a hash. */
export function sdTargetName(group: string, address: string): string {
  const name = `${group}:${address.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/[^A-Za-z0-9_.:-]/g, '_')}`;
  if (name.length <= 100) return name;
  return `${name.slice(0, 87)}-${createHash('md5').update(address).digest('hex').slice(0, 12)}`;
}

/** The group's targets for these entries, each validated like an inline target. */
export function materialize(group: TargetGroup, entries: readonly SdEntry[], taken: ReadonlySet<string>): { targets: Target[]; problems: string[] } {
  const problems: string[] = [];
  const out: Target[] = [];
  const names = new Set<string>();
  const templateLabels = isObj(group.template['labels']) ? group.template['labels'] : {};
  for (const e of entries) {
    for (const address of e.targets) {
      const name = sdTargetName(group.name, address);
      if (names.has(name) || taken.has(name)) {
        problems.push(`${address}: another target already has the name "${name}"; left out`);
        continue;
      }
      const raw = {
        ...group.template, name, kind: group.kind, [group.kind === 'http' ? 'url' : 'address']: address,
        labels: { ...templateLabels, ...e.labels },
      };
      const ctx = new Ctx();
      const cfg = validateConfig({ defaults: group.defaults, targets: [raw] }, `target_groups ${group.name}`, ctx);
      const t = cfg?.targets[0];
      if (!t) {
        problems.push(`${address}: ${ctx.issues.map((i) => `${i.path.slice(2).join('.') || 'target'}: ${i.message}`).join('; ')}; left out`);
        continue;
      }
      names.add(name);
      out.push(Object.freeze({ ...t, sd_address: address }));
    }
  }
  return { targets: out, problems };
}

/**
 * What this agent runs: inline targets and discovered ones, cut to its shard, and services
 * whose group names stand for the group's targets, kept to the targets probed here (a
 * service none of whose targets is probed here is left to the fleet report).
 */
export function effectiveConfig(base: Config, discovered: ReadonlyMap<string, readonly Target[]>): Config {
  const all = [...base.targets, ...base.target_groups.flatMap((g) => discovered.get(g.name) ?? [])];
  const targets = inShard(all, base.agent.shard);
  if (base.target_groups.length === 0 && targets.length === all.length) return base;
  const here = new Set(targets.map((t) => t.name));
  const services = base.services.flatMap((s): ServiceConfig[] => {
    const names = expandGroups(s.targets, base.target_groups, discovered).filter((n) => here.has(n));
    return names.length ? [{ ...s, targets: names }] : [];
  });
  return Object.freeze({ ...base, targets, services });
}

export function expandGroups(names: readonly string[], groups: readonly TargetGroup[], discovered: ReadonlyMap<string, readonly Target[]>): string[] {
  return [...new Set(names.flatMap((n) => (groups.some((g) => g.name === n) ? (discovered.get(n) ?? []).map((t) => t.name) : [n])))];
}

/**
 * For reports: a service that lists a target group stands for the group's targets found in
 * the evidence, by their "<group>:<address>" names (the evidence outlives the SD sources).
 */
export function withGroupTargets<S extends { targets: readonly string[] }>(services: readonly S[], groups: readonly TargetGroup[], known: readonly string[]): S[] {
  if (groups.length === 0) return [...services];
  const names = new Set(groups.map((g) => g.name));
  return services.map((s) => ({
    ...s,
    targets: [...new Set(s.targets.flatMap((t) => (names.has(t) ? known.filter((k) => k.startsWith(`${t}:`)) : [t])))],
  }));
}

export interface Discovery {
  /** The discovered targets of each group now (file_sd is read before this returns). */
  current(): ReadonlyMap<string, readonly Target[]>;
  stop(): void;
}

export interface DiscoveryDeps {
  log: pino.Logger;
  /** Names inline targets already use. */
  taken: ReadonlySet<string>;
  onChange(discovered: ReadonlyMap<string, readonly Target[]>): void;
  onRefresh?(group: string, mechanism: 'file' | 'http', ok: boolean): void;
  fetchTimeout?: number;
}

/** Prometheus's file_sd glob: a * only in the last path element. */
export function globFiles(pattern: string): string[] {
  if (!basename(pattern).includes('*')) return [pattern];
  const re = new RegExp(`^${basename(pattern).split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  try {
    return readdirSync(dirname(pattern)).filter((f) => re.test(f)).sort().map((f) => `${dirname(pattern)}/${f}`);
  } catch {
    return [];
  }
}

export function startDiscovery(groups: readonly TargetGroup[], deps: DiscoveryDeps): Discovery {
  const { log } = deps;
  /** Last good entries per source key ("file:/path" or "http:url"), per group. */
  const sources = new Map<string, Map<string, SdEntry[]>>(groups.map((g) => [g.name, new Map()]));
  const discovered = new Map<string, readonly Target[]>();
  const timers: NodeJS.Timeout[] = [];
  const watchers: FSWatcher[] = [];
  const aborts: AbortController[] = [];
  let stopped = false;
  const warnedFiles = new Set<string>();

  const rebuild = (g: TargetGroup): boolean => {
    const entries = [...sources.get(g.name)!.values()].flat();
    const { targets, problems } = materialize(g, entries, deps.taken);
    for (const p of problems) log.warn({ group: g.name, problem: p }, `target_groups ${g.name}: a discovered target was left out`);
    const before = JSON.stringify(discovered.get(g.name) ?? []);
    discovered.set(g.name, targets);
    return JSON.stringify(targets) !== before;
  };

  const readFiles = (g: TargetGroup, patterns: readonly string[]): void => {
    const src = sources.get(g.name)!;
    const present = new Set<string>();
    for (const pattern of patterns) {
      for (const file of globFiles(pattern)) {
        const key = `file:${file}`;
        present.add(key);
        try {
          const { entries, problems } = parseSdEntries(readFileSync(file, 'utf8'), file.endsWith('.json') ? 'json' : 'yaml');
          for (const p of problems) log.warn({ group: g.name, file, problem: p }, `file_sd ${file}: an entry was left out`);
          src.set(key, entries);
          warnedFiles.delete(file);
          deps.onRefresh?.(g.name, 'file', true);
        } catch (e) {
          deps.onRefresh?.(g.name, 'file', false);
          // A file caught half-written is read again on the next change; say so once.
          if (!warnedFiles.has(file)) log.error({ group: g.name, file, code: (e as NodeJS.ErrnoException).code, err: (e as Error).message }, `file_sd ${file}: cannot read it; its last good content is kept. Fix the file (a JSON or YAML list of {targets, labels})`);
          warnedFiles.add(file);
        }
      }
    }
    // A file that is gone takes its targets with it, as in Prometheus.
    for (const key of [...src.keys()]) if (key.startsWith('file:') && !present.has(key)) src.delete(key);
  };

  const fetchHttp = async (g: TargetGroup, url: string): Promise<boolean> => {
    const ac = new AbortController();
    aborts.push(ac);
    const t = setTimeout(() => ac.abort(), deps.fetchTimeout ?? 10_000);
    try {
      const r = await fetch(url, { signal: ac.signal, headers: { accept: 'application/json', 'x-prometheus-refresh-interval-seconds': String(Math.round(g.http_sd_configs.find((h) => h.url === url)!.refresh_interval / 1000)) } });
      const body = await r.text();
      if (r.status !== 200) throw Object.assign(new Error(`HTTP ${r.status}`), { code: `HTTP_${r.status}` });
      const { entries, problems } = parseSdEntries(body, 'json');
      for (const p of problems) log.warn({ group: g.name, url, problem: p }, `http_sd ${url}: an entry was left out`);
      sources.get(g.name)!.set(`http:${url}`, entries);
      deps.onRefresh?.(g.name, 'http', true);
      return true;
    } catch (e) {
      if (stopped) return false;
      deps.onRefresh?.(g.name, 'http', false);
      log.error({ group: g.name, url, code: (e as NodeJS.ErrnoException).code ?? (e as Error).name, err: (e as Error).message }, `http_sd ${url}: refresh failed; the last good answer is kept`);
      return false;
    } finally {
      clearTimeout(t);
      aborts.splice(aborts.indexOf(ac), 1);
    }
  };

  const changed = () => {
    if (!stopped) deps.onChange(discovered);
  };

  for (const g of groups) {
    const patterns = g.file_sd_configs.flatMap((f) => f.files);
    readFiles(g, patterns);
    for (const f of g.file_sd_configs) {
      timers.push(setInterval(() => { readFiles(g, patterns); if (rebuild(g)) changed(); }, f.refresh_interval).unref());
    }
    // Watch the folders (an editor or a config-management tool replaces the file: its inode
    // changes, so a watch on the file itself would go deaf). Debounced: a write is many events.
    let debounce: NodeJS.Timeout | undefined;
    for (const dir of new Set(patterns.map((p) => dirname(p)))) {
      try {
        const w = watch(dir, () => {
          clearTimeout(debounce);
          debounce = setTimeout(() => { readFiles(g, patterns); if (rebuild(g)) changed(); }, 100);
          debounce.unref();
        });
        w.on('error', () => undefined);
        watchers.push(w);
      } catch (e) {
        log.warn({ group: g.name, dir, code: (e as NodeJS.ErrnoException).code }, `file_sd: cannot watch ${dir}; changes are picked up every refresh_interval`);
      }
    }
    rebuild(g);
    for (const h of g.http_sd_configs) {
      const tick = async () => { if ((await fetchHttp(g, h.url)) && rebuild(g)) changed(); };
      void tick();
      timers.push(setInterval(() => void tick(), h.refresh_interval).unref());
    }
  }

  return {
    current: () => discovered,
    stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      for (const w of watchers) w.close();
      for (const a of aborts) a.abort();
    },
  };
}
