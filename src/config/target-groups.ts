// `target_groups:` (targets from Prometheus service discovery) and `agent.shard`.
//
// A group is what a blackbox_exporter user writes in two places: the module (kind and probe
// options, here `kind` + `template`) and the Prometheus scrape job that lists the targets
// (`file_sd_configs`, `http_sd_configs`, same keys as Prometheus). Each address an SD source
// lists becomes one target: `url` for http, `address` for the other kinds, named
// "<group>:<address>", labelled with the entry's labels (src/fleet/sd.ts).
import { resolve } from 'node:path';
import { PROBE_KINDS, type ProbeKind } from '../probes/types.ts';
import { type Ctx, type Obj, type Path, describe, duration, int, isObj, list, mapping, oneOf, str, url } from './check.ts';
import type { TargetGroup } from './types.ts';

export const SD_DEFAULTS = {
  /** Prometheus's defaults: file_sd 5m (files are also watched), http_sd 60s. */
  file_refresh: 5 * 60_000,
  http_refresh: 60_000,
};

const GROUP = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const GROUP_HINT = 'letters, digits, "_", "." and "-", at most 40 characters (it prefixes the names of its targets, "<group>:<address>")';
/** Keys the SD entry provides, not the template. */
const FROM_SD = ['name', 'kind', 'url', 'address'];

export interface GroupDeps {
  rawDefaults: Obj;
  baseDir: string;
  staticNames: ReadonlySet<string>;
  /** Validates a template as a target of `kind` with a placeholder address; issues go to ctx at `path`. */
  checkTemplate(kind: ProbeKind, template: Obj, path: Path): void;
}

export function validateTargetGroups(ctx: Ctx, v: unknown, deps: GroupDeps): TargetGroup[] {
  const p = ['target_groups'];
  const seen = new Set<string>();
  return (list(ctx, v, p) ?? []).flatMap((item, i): TargetGroup[] => {
    const gp = [...p, i];
    const g = mapping(ctx, item, gp, ['name', 'kind', 'template', 'file_sd_configs', 'http_sd_configs']);
    if (!g) return [];
    const name = str(ctx, g['name'], [...gp, 'name'], { required: true, pattern: GROUP, hint: GROUP_HINT });
    if (name !== undefined) {
      if (seen.has(name)) ctx.add([...gp, 'name'], `duplicate group name "${name}"; group names must be unique`);
      if (deps.staticNames.has(name)) ctx.add([...gp, 'name'], `"${name}" is also a target name; a service lists both, so pick another group name`);
      seen.add(name);
    }
    const kind = oneOf(ctx, g['kind'], [...gp, 'kind'], PROBE_KINDS);
    if (g['kind'] === undefined) ctx.add([...gp, 'kind'], `is required: one of ${PROBE_KINDS.join(', ')}`);
    const template = g['template'] ?? {};
    if (!isObj(template)) ctx.add([...gp, 'template'], `expected a mapping of target keys (interval, timeout, tls, ...), got ${describe(template)}`);
    else {
      for (const k of FROM_SD) if (k in template) ctx.add([...gp, 'template', k], `"${k}" comes from service discovery (the group's kind, each listed address, "<group>:<address>"); remove it from the template`, true);
      if (kind !== undefined) deps.checkTemplate(kind, Object.fromEntries(Object.entries(template).filter(([k]) => !FROM_SD.includes(k))), [...gp, 'template']);
    }
    const files = (list(ctx, g['file_sd_configs'], [...gp, 'file_sd_configs']) ?? []).flatMap((f, j) => {
      const fp = [...gp, 'file_sd_configs', j];
      const o = mapping(ctx, f, fp, ['files', 'refresh_interval']);
      if (!o) return [];
      const patterns = (list(ctx, o['files'], [...fp, 'files']) ?? []).flatMap((x, k) => {
        const s = str(ctx, x, [...fp, 'files', k], { hint: 'a path, or a pattern with * in its last part, e.g. /etc/slaprobe/sd/*.json' });
        if (s === undefined) return [];
        if (!/\.(json|ya?ml)$/.test(s)) {
          ctx.add([...fp, 'files', k], `${JSON.stringify(s)} must end in .json, .yml or .yaml (as in Prometheus); the extension says how to read it`);
          return [];
        }
        if (s.slice(0, s.lastIndexOf('/')).includes('*')) {
          ctx.add([...fp, 'files', k], `${JSON.stringify(s)}: only the file name may hold a *, as in Prometheus (e.g. /etc/slaprobe/sd/*.json)`);
          return [];
        }
        return [resolve(deps.baseDir, s)];
      });
      if (patterns.length === 0 && o['files'] !== undefined) return [];
      if (o['files'] === undefined) ctx.add([...fp, 'files'], 'is required: the SD files to read, e.g. files: [/etc/slaprobe/sd/*.json]');
      return [{ files: patterns, refresh_interval: duration(ctx, o['refresh_interval'], [...fp, 'refresh_interval'], { min: 1000 }) ?? SD_DEFAULTS.file_refresh }];
    });
    const https = (list(ctx, g['http_sd_configs'], [...gp, 'http_sd_configs']) ?? []).flatMap((h, j) => {
      const hp = [...gp, 'http_sd_configs', j];
      const o = mapping(ctx, h, hp, ['url', 'refresh_interval']);
      if (!o) return [];
      const u = url(ctx, o['url'], [...hp, 'url'], {
        hint: 'the endpoint that answers a JSON list of {targets, labels}, e.g. http://127.0.0.1:8080/sd',
        example: 'http://127.0.0.1:8080/sd',
        credentials: 'http_sd here takes no credentials; serve it on loopback or inside the cluster',
      });
      return u === undefined ? [] : [{ url: u, refresh_interval: duration(ctx, o['refresh_interval'], [...hp, 'refresh_interval'], { min: 1000 }) ?? SD_DEFAULTS.http_refresh }];
    });
    if (g['file_sd_configs'] === undefined && g['http_sd_configs'] === undefined) ctx.add(gp, 'needs file_sd_configs or http_sd_configs: where the addresses come from');
    if (name === undefined || kind === undefined || !isObj(template)) return [];
    return [{ name, kind, template, defaults: deps.rawDefaults, file_sd_configs: files, http_sd_configs: https }];
  });
}

/**
 * `agent.shard: {count, index}`. `index` may be a number, digits from the environment
 * (`${POD_ORDINAL}`), or a StatefulSet pod name whose last part is the ordinal
 * (`${HOSTNAME}` = slaprobe-3).
 */
export function validateShard(ctx: Ctx, v: unknown, p: Path): { count: number; index: number } | undefined {
  if (v === undefined || v === null) return undefined;
  const o = mapping(ctx, v, p, ['count', 'index']);
  if (!o) return undefined;
  // From the environment (count: ${SLAPROBE_SHARD_COUNT}) a number arrives as digits.
  const count = int(ctx, typeof o['count'] === 'string' && /^\d+$/.test(o['count']) ? Number(o['count']) : o['count'], [...p, 'count'], { min: 1, max: 10_000 });
  if (o['count'] === undefined) ctx.add([...p, 'count'], 'is required: how many agents share this region\'s targets');
  const raw = o['index'];
  let index: number | undefined;
  if (typeof raw === 'number' && Number.isInteger(raw)) index = raw;
  else if (typeof raw === 'string' && /^(?:\d+|.*-\d+)$/.test(raw)) index = Number(/(\d+)$/.exec(raw)![1]);
  else ctx.add([...p, 'index'], `expected this agent's shard number (0 to count - 1): a number, \${POD_ORDINAL}, or a StatefulSet pod name such as slaprobe-3 (\${HOSTNAME}); got ${describe(raw)}`);
  if (count === undefined || index === undefined) return undefined;
  if (index >= count) return ctx.add([...p, 'index'], `is ${index} but count is ${count}: shards are numbered 0 to ${count - 1}; raise count to the number of agents (replicas)`);
  return { count, index };
}
