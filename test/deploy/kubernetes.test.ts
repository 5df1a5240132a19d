// deploy/kubernetes: each region overlay renders with kustomize (kubectl kustomize, offline),
// every object validates against the Kubernetes and prometheus-operator schemas
// (kubernetes-models), the pod is hardened as documented, the config it mounts passes the
// agent's own check, and the PrometheusRule carries exactly the promtool-tested rules.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { prometheusRule } from '../../deploy/kubernetes/generate-prometheusrule.ts';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { parseConfig } from '../../src/config/load.ts';
import { effectiveConfig } from '../../src/fleet/sd.ts';
import { ruleGroups } from './promql.ts';
import { DEPLOY, NODE, ROOT, run, tool } from './tools.ts';

const K8S = join(DEPLOY, 'kubernetes');
const overlays = readdirSync(join(K8S, 'overlays')).sort();

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

function kustomize(dir: string): Obj[] {
  let kubectl: string;
  try {
    kubectl = tool('kubectl');
  } catch {
    throw new Error('kubectl (with kustomize v5, `kubectl kustomize`) not found on PATH: the Kubernetes manifests cannot be rendered');
  }
  const r = run(kubectl, ['kustomize', dir]);
  expect(r.code, r.stderr).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
}

/** The schema of every kind the kit ships: core and apps from kubernetes-models, CRDs from its prometheus-operator package. */
const MODELS: Record<string, new (x: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

async function validate(o: Obj): Promise<void> {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}: add its kubernetes-models class to MODELS`);
  new Model(o as never).validate();
}

interface Container {
  name: string;
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; privileged?: boolean; capabilities: { drop: string[]; add: string[] } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
}
interface PodSpec {
  securityContext: { runAsNonRoot: boolean; runAsUser: number; sysctls?: { name: string; value: string }[] };
  automountServiceAccountToken: boolean;
  containers: Container[];
  volumes: { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[];
}

describe.each(overlays)('deploy/kubernetes/overlays/%s', (region) => {
  const objs = kustomize(join(K8S, 'overlays', region));
  const one = <T = Obj>(kind: string) => {
    const found = objs.filter((o) => o.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0] as unknown as T & Obj;
  };

  it('renders the agent, its storage, Service, ServiceMonitor and PrometheusRule in the region\'s namespace', () => {
    expect(objs.map((o) => o.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'Namespace', 'PersistentVolumeClaim', 'PrometheusRule', 'Service', 'ServiceAccount', 'ServiceMonitor'],
    );
    const ns = one('Namespace').metadata.name;
    expect(ns).toBe(`slaprobe-${region}`);
    for (const o of objs.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, o.kind).toBe(ns);
  });

  it('every object validates against its schema', async () => {
    for (const o of objs) await expect(validate(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
  });

  it('the schema check is real: a broken Deployment is rejected', async () => {
    const d = structuredClone(one('Deployment')) as Obj & { spec: { template: { spec: PodSpec } } };
    (d.spec.template.spec.securityContext as unknown as Record<string, unknown>).runAsNonRoot = 'yes';
    await expect(validate(d)).rejects.toThrow(/runAsNonRoot must be boolean/);
  });

  it('the pod runs non-root, read-only, with NET_RAW the only capability, no token, bounded memory', () => {
    const pod = (one('Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext.sysctls).toContainEqual({ name: 'net.ipv4.ping_group_range', value: '0 2147483647' });
    const c = pod.containers[0]!;
    expect(pod.containers).toHaveLength(1);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['NET_RAW'] },
    });
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits.memory).toBeDefined();
    expect(c.resources.limits.cpu, 'a CPU limit throttles probe timing').toBeUndefined();
    expect(c.livenessProbe).toBeDefined();
    expect(c.readinessProbe).toBeDefined();
  });

  it('config from the ConfigMap at /etc/slaprobe, the store on the PVC at /var/lib/slaprobe', () => {
    const pod = (one('Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    const c = pod.containers[0]!;
    const vol = (mount: string) => pod.volumes.find((v) => v.name === c.volumeMounts.find((m) => m.mountPath === mount)?.name);
    expect(vol('/etc/slaprobe')?.configMap?.name).toBe(one('ConfigMap').metadata.name);
    expect(vol('/var/lib/slaprobe')?.persistentVolumeClaim?.claimName).toBe(one('PersistentVolumeClaim').metadata.name);
    expect(c.args).toEqual(['run', '--config', '/etc/slaprobe/config.yaml', '--listen', '0.0.0.0:9917', '--data-dir', '/var/lib/slaprobe']);
  });

  it('the region reaches the agent (SLAPROBE_REGION from the pod label) and the scrape (relabeling)', () => {
    const d = one('Deployment') as unknown as { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };
    expect(d.spec.template.metadata.labels.region).toBe(region);
    const env = d.spec.template.spec.containers[0]!.env.find((e) => e.name === 'SLAPROBE_REGION');
    expect(env?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['region']");
    const sm = one('ServiceMonitor') as unknown as { spec: { jobLabel: string; endpoints: { honorLabels: boolean; relabelings: { sourceLabels: string[]; targetLabel: string }[] }[] } };
    expect(sm.spec.endpoints[0]!.honorLabels).toBe(true);
    expect(sm.spec.endpoints[0]!.relabelings).toContainEqual({ sourceLabels: ['__meta_kubernetes_pod_label_region'], targetLabel: 'region' });
    // job="slaprobe" (the alerts select it) comes from this Service label.
    expect(one('Service').metadata.labels?.[sm.spec.jobLabel]).toBe('slaprobe');
  });

  it('the config in the ConfigMap passes `slaprobe check-config` with the region set', () => {
    const cm = one('ConfigMap') as unknown as { data: Record<string, string> };
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-k8s-'));
    writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml']!);
    const check = (env: NodeJS.ProcessEnv) => run(NODE, [join(ROOT, 'src', 'cli.ts'), 'check-config', join(dir, 'config.yaml')], { env });
    const ok = check({ ...process.env, SLAPROBE_REGION: region });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`region=${region}`);
    const r = check({ ...process.env, SLAPROBE_REGION: undefined });
    rmSync(dir, { recursive: true, force: true });
    // Without the pod label's value the agent refuses to start, naming the variable.
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toContain('SLAPROBE_REGION');
  });

  it('the PrometheusRule holds exactly the promtool-tested rule groups', () => {
    const pr = one('PrometheusRule') as unknown as { spec: { groups: unknown[] } };
    expect(pr.spec.groups).toEqual(ruleGroups());
  });
});

describe('deploy/kubernetes/base/prometheusrule.yaml', () => {
  it('is what generate-prometheusrule.ts makes of the current rule files (run it after editing a rule)', () => {
    const file = parse(readFileSync(join(K8S, 'base', 'prometheusrule.yaml'), 'utf8')) as unknown;
    expect(file).toEqual(prometheusRule());
  });
});

describe('deploy/kubernetes/statefulset (sharded agents)', () => {
  const objs = kustomize(join(K8S, 'statefulset'));
  const one = <T>(kind: string) => {
    const found = objs.filter((o) => o.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0] as unknown as T & Obj;
  };
  type Sts = { spec: { replicas: number; serviceName: string; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec }; volumeClaimTemplates: { metadata: { name: string } }[] } };

  it('renders a StatefulSet in place of the Deployment and its PVC; every object validates', async () => {
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'PrometheusRule', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet']);
    for (const o of objs) await expect(validate(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
  });

  it('runs the base\'s hardened pod, each replica with its own store from the claim template', () => {
    const sts = one<Sts>('StatefulSet');
    const base = kustomize(join(K8S, 'base')).find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } };
    const pod = sts.spec.template.spec;
    expect(pod.securityContext).toEqual(base.spec.template.spec.securityContext);
    expect(pod.containers[0]!.securityContext).toEqual(base.spec.template.spec.containers[0]!.securityContext);
    expect(pod.containers[0]!.args).toEqual(base.spec.template.spec.containers[0]!.args);
    expect(sts.spec.selector.matchLabels).toEqual(expect.objectContaining({ 'app.kubernetes.io/name': 'slaprobe' }));
    for (const [k, v] of Object.entries(sts.spec.selector.matchLabels)) expect(sts.spec.template.metadata.labels[k]).toBe(v);
    expect(sts.spec.volumeClaimTemplates.map((v) => v.metadata.name)).toEqual(['data']);
    expect(pod.volumes.map((v) => v.name)).not.toContain('data');
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/slaprobe' });
    const svc = one<{ spec: { clusterIP: string } }>('Service');
    expect(sts.spec.serviceName).toBe(svc.metadata.name);
    expect(svc.spec.clusterIP).toBe('None');
  });

  it('each pod probes its own hashmod shard: count = replicas, index = the pod\'s ordinal, together all targets once', () => {
    const sts = one<Sts>('StatefulSet');
    const env = sts.spec.template.spec.containers[0]!.env as { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    expect(Number(env.find((e) => e.name === 'SLAPROBE_SHARD_COUNT')?.value)).toBe(sts.spec.replicas);
    expect(env.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    // The region line is the base's (its reference from the pod label is checked, or refused,
    // by the overlays' check-config case above); what is under test here is name and shard.
    const text = (one<{ data: Record<string, string> }>('ConfigMap')).data['config.yaml']!.replace(/^ {2}region: .*$/m, '  region: eu-west');
    const shards = Array.from({ length: sts.spec.replicas }, (_, i) => {
      const cfg = parseConfig(text, 'config.yaml', { env: { POD_NAME: `${sts.metadata.name}-${i}`, SLAPROBE_SHARD_COUNT: String(sts.spec.replicas) } });
      expect(cfg.agent.shard).toEqual({ count: sts.spec.replicas, index: i });
      expect(cfg.agent.name).toBe(`slaprobe-${i}`);
      return { all: cfg.targets.map((t) => t.name), mine: effectiveConfig(cfg, new Map()).targets.map((t) => t.name) };
    });
    const mine = shards.flatMap((s) => s.mine);
    expect(new Set(mine).size).toBe(mine.length);
    expect(mine.sort()).toEqual([...shards[0]!.all].sort());
  });
});
