// Targets from file_sd and http_sd, in a running agent on loopback: what an entry becomes,
// reloads on change, and that a broken source keeps its last good targets.
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent.ts';
import type { HttpTarget, TcpTarget } from '../../src/config/types.ts';
import { createLogger } from '../../src/log.ts';
import { parseSdEntries, sdTargetName, withGroupTargets } from '../../src/fleet/sd.ts';
import { parseConfig } from '../../src/config/load.ts';
import { tempDir, waitFor } from '../deploy/tools.ts';
import { type Running, httpServer } from '../support/servers.ts';
import { jsonLineStream } from '../support/log-lines.ts';

let web: Running;
beforeAll(async () => {
  web = await httpServer();
});
afterAll(async () => {
  await web?.close();
});

const counter = async (a: Agent, name: string, labels: Record<string, string>) =>
  (await a.metrics.registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;

describe('file_sd', () => {
  let agent: Agent;
  let dir: string;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    dir = tempDir('sd');
    mkdirSync(join(dir, 'sd'));
    writeFileSync(join(dir, 'sd', 'a.json'), JSON.stringify([{ targets: [`${web.url}/ok`], labels: { dc: 'fra', __meta_x: 'dropped' } }]));
    writeFileSync(join(dir, 'sd', 'ports.yml'), `- targets: ["127.0.0.1:${web.port}", "not an address"]\n  labels: {dc: ams}\n`);
    writeFileSync(join(dir, 'c.yaml'), `
agent: {region: r1, listen: "127.0.0.1:0", data_dir: ${dir}/data}
targets:
  - {name: inline, kind: tcp, address: "127.0.0.1:${web.port}", interval: 200ms, timeout: 150ms}
target_groups:
  - name: web
    kind: http
    template: {interval: 200ms, timeout: 150ms, labels: {team: media}, valid_status_codes: [200]}
    file_sd_configs: [{files: [sd/*.json], refresh_interval: 1m}]
  - name: ports
    kind: tcp
    template: {interval: 200ms, timeout: 150ms}
    file_sd_configs: [{files: [sd/ports.yml]}]
services:
  - {name: portal, targets: [web, inline]}
`);
    agent = await startAgent({ configFile: join(dir, 'c.yaml'), logger: createLogger('info', jsonLineStream(lines)) });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  const names = () => agent.config().targets.map((t) => t.name).sort();
  let webOk = '';

  it('turns each listed address into a target of the group\'s kind, template and labels, and probes it', async () => {
    webOk = `web:127.0.0.1:${web.port}_ok`;
    expect(names()).toEqual(['inline', `ports:127.0.0.1:${web.port}`, webOk].sort());
    const t = agent.config().targets.find((x) => x.name === webOk) as HttpTarget;
    expect(t).toMatchObject({ kind: 'http', url: `${web.url}/ok`, interval: 200, timeout: 150, valid_status_codes: [200], labels: { team: 'media', dc: 'fra' }, sd_address: `${web.url}/ok` });
    expect((agent.config().targets.find((x) => x.kind === 'tcp' && x.name.startsWith('ports:')) as TcpTarget).labels).toEqual({ dc: 'ams' });
    // The wrong address is left out, with a line that says where it came from.
    expect(lines.find((l) => l['group'] === 'ports' && String(l['problem']).startsWith('not an address'))).toBeDefined();
    // A service that names the group gets its targets.
    expect(agent.config().services.find((s) => s.name === 'portal')!.targets.sort()).toEqual(['inline', webOk].sort());
    expect(await counter(agent, 'slaprobe_sd_discovered_targets', { group: 'ports' })).toBe(1);
    await waitFor('the discovered target probed', async () => ((await counter(agent, 'slaprobe_probes_total', { target: webOk, result: 'success' })) ?? 0) >= 2 ? true : undefined, 10_000, 100);
  });

  it('follows a changed file, keeps the last good content of a broken one, and drops a removed one', async () => {
    writeFileSync(join(dir, 'sd', 'a.json'), JSON.stringify([{ targets: [`${web.url}/ok`, `${web.url}/status/503`] }]));
    await waitFor('the new target', async () => (names().includes(`web:127.0.0.1:${web.port}_status_503`) ? true : undefined), 10_000, 50);
    expect(agent.config().targets.find((x) => x.name === webOk)!.labels).toEqual({ team: 'media' });

    const before = names();
    writeFileSync(join(dir, 'sd', 'a.json'), '[{"targets": ["half-writ');
    await waitFor('the failure counted', async () => ((await counter(agent, 'slaprobe_sd_refresh_failures_total', { group: 'web', mechanism: 'file' })) ?? 0) >= 1 ? true : undefined, 10_000, 50);
    expect(names()).toEqual(before);

    rmSync(join(dir, 'sd', 'a.json'));
    await waitFor('the group emptied', async () => (names().some((n) => n.startsWith('web:')) ? undefined : true), 10_000, 50);
    // The service keeps the targets probed here.
    expect(agent.config().services.find((s) => s.name === 'portal')!.targets).toEqual(['inline']);
  });
});

describe('http_sd', () => {
  let sd: Server;
  let answer: { status: number; body: string };
  let agent: Agent;
  beforeAll(async () => {
    answer = { status: 200, body: JSON.stringify([{ targets: [`127.0.0.1:${web.port}`], labels: { rack: 'r1' } }]) };
    sd = createServer((req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
    await new Promise<void>((r) => sd.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir('httpsd');
    writeFileSync(join(dir, 'c.yaml'), `
agent: {region: r1, listen: "127.0.0.1:0", data_dir: ${dir}/data}
target_groups:
  - name: tcp
    kind: tcp
    template: {interval: 200ms, timeout: 150ms}
    http_sd_configs: [{url: "http://127.0.0.1:${(sd.address() as AddressInfo).port}/sd", refresh_interval: 1s}]
`);
    agent = await startAgent({ configFile: join(dir, 'c.yaml'), logger: createLogger('silent') });
  });
  afterAll(async () => {
    await agent?.stop();
    await new Promise((r) => sd?.close(r));
  });

  it('takes the answer\'s targets, follows changes, and keeps the last good answer through an error', async () => {
    await waitFor('targets from http_sd', async () => (agent.config().targets.length === 1 ? true : undefined), 10_000, 50);
    expect(agent.config().targets[0]).toMatchObject({ name: `tcp:127.0.0.1:${web.port}`, kind: 'tcp', labels: { rack: 'r1' } });

    answer = { status: 200, body: JSON.stringify([{ targets: [`127.0.0.1:${web.port}`, `[::1]:${web.port}`] }]) };
    await waitFor('the second target', async () => (agent.config().targets.length === 2 ? true : undefined), 10_000, 50);
    expect(agent.config().targets.map((t) => t.name).sort()).toEqual([`tcp:127.0.0.1:${web.port}`, `tcp:_::1_:${web.port}`].sort());

    answer = { status: 500, body: 'down for maintenance' };
    await waitFor('the failure counted', async () => ((await counter(agent, 'slaprobe_sd_refresh_failures_total', { group: 'tcp', mechanism: 'http' })) ?? 0) >= 1 ? true : undefined, 10_000, 50);
    expect(agent.config().targets).toHaveLength(2);
  });
});

describe('SD entries', () => {
  it.each([
    ['[{"targets": ["a:1"], "labels": {"x": "1"}}]', 'json', [{ targets: ['a:1'], labels: { x: '1' } }], []],
    ['- targets: [a:1, 7]\n  labels: {region: eu, ok: y}\n- nope\n', 'yaml', [{ targets: ['a:1'], labels: { ok: 'y' } }], [
      '[0].targets[1]: expected a non-empty string, left out',
      '[0].labels.region: "region" is set by slaprobe itself; label left out',
      '[1]: expected {targets: [...], labels: {...}}, left out',
    ]],
    ['', 'yaml', [], []],
  ] as const)('%s', (text, format, entries, problems) => {
    expect(parseSdEntries(text, format)).toEqual({ entries, problems });
  });

  it('reports: a service listing a group stands for the group\'s targets in the evidence', () => {
    const g = parseConfig('target_groups: [{name: web, kind: http, http_sd_configs: [{url: "http://127.0.0.1:1/sd"}]}]\nservices: [{name: portal, targets: [web, inline]}]\ntargets: [{name: inline, kind: tcp, address: "127.0.0.1:1"}]', 'c.yaml');
    expect(withGroupTargets(g.services, g.target_groups, ['web:a', 'webx:b', 'inline', 'web:c'])[0]!.targets).toEqual(['web:a', 'web:c', 'inline']);
  });

  it('a file that is not a list is refused as a whole', () => {
    expect(() => parseSdEntries('{"targets": []}', 'json')).toThrow('expected a list');
  });

  it('names: "<group>:<address>", kept to the characters of a target name, long ones hashed', () => {
    expect(sdTargetName('web', 'https://meet.example.com/api/health?x=1')).toBe('web:meet.example.com_api_health_x_1');
    const long = sdTargetName('web', `https://example.com/${'a'.repeat(200)}`);
    expect(long).toHaveLength(100);
    expect(long).not.toBe(sdTargetName('web', `https://example.com/${'a'.repeat(199)}b`));
  });
});
