// deploy/compose (validated by Debian's docker-compose: no engine runs here) and
// deploy/systemd (verified and scored by systemd-analyze, offline).
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY, NODE, ROOT, run, tool } from './tools.ts';
import { ruleFiles } from './promql.ts';

const COMPOSE_DIR = join(DEPLOY, 'compose');
const secrets = { GRAFANA_ADMIN_PASSWORD: 'test-only', SLAPROBE_ECHO_KEY: 'test-only-key-0123456789' };

interface ComposeService {
  image: string;
  read_only?: boolean;
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  sysctls?: Record<string, string>;
  ports?: (string | { published: string | number; target: number; host_ip?: string; protocol?: string })[];
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
}

describe('deploy/compose', () => {
  const config = () => run(tool('docker-compose'), ['config'], { cwd: COMPOSE_DIR, env: { ...process.env, ...secrets } });

  it('docker-compose config accepts it', () => {
    const r = config();
    expect(r.code, r.stderr).toBe(0);
  });

  it('refuses to start without the admin password and the echo key (no default secrets)', () => {
    const r = run(tool('docker-compose'), ['config'], {
      cwd: COMPOSE_DIR,
      env: { ...process.env, GRAFANA_ADMIN_PASSWORD: undefined, SLAPROBE_ECHO_KEY: undefined },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/SLAPROBE_ECHO_KEY|GRAFANA_ADMIN_PASSWORD/);
  });

  it('runs the agent, Prometheus, Alertmanager and Grafana, with the kit\'s own files mounted', () => {
    const resolved = parse(config().stdout) as { services: Record<string, ComposeService> };
    expect(Object.keys(resolved.services).sort()).toEqual(['alertmanager', 'grafana', 'prometheus', 'slaprobe']);
    const mounts = Object.values(resolved.services).flatMap((s) =>
      (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0]! : v.source)).filter((src) => src.startsWith('/')),
    );
    for (const m of [
      join(DEPLOY, 'prometheus', 'rules'),
      join(DEPLOY, 'alertmanager', 'alertmanager.yml'),
      join(DEPLOY, 'grafana', 'dashboards'),
      join(DEPLOY, 'grafana', 'provisioning', 'dashboards'),
      join(DEPLOY, 'grafana', 'provisioning', 'datasources'),
      join(COMPOSE_DIR, 'prometheus.yml'),
      join(COMPOSE_DIR, 'slaprobe.yaml'),
    ]) {
      expect(mounts).toContain(m);
    }
  });

  it('the agent container is hardened and publishes HTTP on loopback only', () => {
    const s = (parse(config().stdout) as { services: Record<string, ComposeService> }).services;
    const agent = s.slaprobe!;
    expect(agent.read_only).toBe(true);
    expect(agent.cap_drop).toEqual(['ALL']);
    expect(agent.cap_add).toEqual(['NET_RAW']);
    expect(agent.security_opt).toContain('no-new-privileges:true');
    expect(agent.sysctls?.['net.ipv4.ping_group_range']).toBe('0 2147483647');
    for (const svc of Object.values(s)) {
      for (const p of svc.ports ?? []) {
        const text = typeof p === 'string' ? p : `${p.host_ip ?? ''}:${p.published}:${p.target}/${p.protocol ?? 'tcp'}`;
        if (text.endsWith('/udp')) continue; // the reflector must be reachable by peers
        expect(text).toMatch(/^127\.0\.0\.1:/);
      }
    }
  });

  it('its prometheus.yml passes promtool with the rules mounted where compose mounts them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-compose-'));
    writeFileSync(join(dir, 'prometheus.yml'), readFileSync(join(COMPOSE_DIR, 'prometheus.yml')));
    symlinkSync(join(DEPLOY, 'prometheus', 'rules'), join(dir, 'rules'));
    const r = run(tool('promtool'), ['check', 'config', join(dir, 'prometheus.yml')]);
    rmSync(dir, { recursive: true, force: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${ruleFiles().length} rule files found`);
  });

  it('its agent config passes `slaprobe check-config`, and the scrape labels its region', () => {
    const r = run(NODE, [join(ROOT, 'src', 'cli.ts'), 'check-config', join(COMPOSE_DIR, 'slaprobe.yaml')], { env: { ...process.env, ...secrets } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const region = (parse(readFileSync(join(COMPOSE_DIR, 'slaprobe.yaml'), 'utf8')) as { agent: { region: string } }).agent.region;
    const prom = parse(readFileSync(join(COMPOSE_DIR, 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; honor_labels: boolean; static_configs: { labels: { region: string } }[] }[] };
    const job = prom.scrape_configs.find((j) => j.job_name === 'slaprobe')!;
    expect(job.honor_labels).toBe(true);
    expect(job.static_configs[0]!.labels.region).toBe(region);
  });
});

describe('deploy/systemd/slaprobe.service', () => {
  const unit = readFileSync(join(DEPLOY, 'systemd', 'slaprobe.service'), 'utf8');
  // systemd-analyze checks that ExecStart= exists: point /opt/slaprobe at this checkout.
  const local = () => {
    const dir = mkdtempSync(join(tmpdir(), 'slaprobe-unit-'));
    writeFileSync(join(dir, 'slaprobe.service'), unit.replaceAll('/opt/slaprobe', ROOT));
    return join(dir, 'slaprobe.service');
  };
  const directives = (name: string) => [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());

  it('systemd-analyze verify accepts it', () => {
    const file = local();
    const r = run(tool('systemd-analyze'), ['verify', file]);
    rmSync(dirname(file), { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/slaprobe\.service:/);
  });

  it('scores an exposure of at most 2.5 ("OK") in systemd-analyze security', () => {
    const file = local();
    const r = run(tool('systemd-analyze'), ['security', '--offline=yes', '--threshold=25', file]);
    rmSync(dirname(file), { recursive: true, force: true });
    expect(r.code, r.stdout.split('\n').slice(-3).join('\n')).toBe(0);
    expect(r.stdout).toMatch(/Overall exposure level for slaprobe\.service: [0-2]\.\d/);
  });

  it('runs as its own user with CAP_NET_RAW the only capability', () => {
    expect(directives('User')).toEqual(['slaprobe']);
    expect(directives('CapabilityBoundingSet')).toEqual(['CAP_NET_RAW']);
    expect(directives('AmbientCapabilities')).toEqual(['CAP_NET_RAW']);
    expect(directives('NoNewPrivileges')).toEqual(['yes']);
    expect(directives('ProtectSystem')).toEqual(['strict']);
    expect(directives('StateDirectory')).toEqual(['slaprobe']);
    expect(directives('ExecStart')[0]).toContain('--data-dir /var/lib/slaprobe');
    expect(directives('CPUQuota'), 'CPU throttling inflates probe timings').toEqual([]);
  });
});
