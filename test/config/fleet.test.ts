// The fleet's config (remote_write, target_groups, agent.shard): one fixture per rejected
// block (test/config/testdata-fleet/), each with its exact message, and what an accepted one becomes.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const dir = join(import.meta.dirname, 'testdata-fleet');

const CASES: [string, string][] = [
  ["invalid-rw-backoff.yml", ":5:20: remote_write[0].queue_config.max_backoff: is shorter than min_backoff (10000 ms); raise max_backoff or lower min_backoff"],
  ["invalid-rw-duplicate-name.yml", ":3:10: remote_write[1].url: two remotes are named \"127.0.0.1:8428\" (also remote_write[0]); give each a distinct name (it keys the outbox's progress and the metrics' remote label)"],
  ["invalid-rw-no-url.yml", ":2:5: remote_write[0].url: is required: the store's remote-write endpoint, e.g. http://127.0.0.1:8428/api/v1/write (VictoriaMetrics) or http://127.0.0.1:9090/api/v1/write (Prometheus)"],
  ["invalid-rw-password-file.yml", ":5:22: remote_write[0].basic_auth.password_file: cannot read /nonexistent/vm-password (ENOENT); check the path and its permissions (it is read again before every request, so a rotated secret is picked up)"],
  ["invalid-rw-relabel.yml", ":3:5: remote_write[0].write_relabel_configs: is not supported by slaprobe: the pushed series are a fixed contract (src/fleet/wire.ts); filter on the store side"],
  ["invalid-rw-reserved-header.yml", ":4:7: remote_write[0].headers.Authorization: header \"Authorization\" is set by slaprobe itself (protocol or auth); use basic_auth or bearer_token for credentials"],
  ["invalid-rw-shards.yml", ":4:7: remote_write[0].queue_config.max_shards: does not apply to slaprobe: one request per remote is in flight, so that every series arrives in order"],
  ["invalid-rw-two-auths.yml", ":2:5: remote_write[0]: basic_auth, bearer_token and bearer_token_file are exclusive: set one of them"],
  ["invalid-rw-typo.yml", ":3:5: remote_write[0].remote_timout: unknown key \"remote_timout\"; did you mean \"remote_timeout\"? Allowed here: name, url, remote_timeout, headers, basic_auth, bearer_token, bearer_token_file, tls_config, queue_config"],
  ["invalid-rw-url-credentials.yml", ":2:10: remote_write[0].url: must not carry credentials; they would show in logs and metrics; use basic_auth with password_file or ${ENV}"],
  ["invalid-shard-index.yml", ":2:28: agent.shard.index: is 3 but count is 3: shards are numbered 0 to 2; raise count to the number of agents (replicas)"],
  ["invalid-tg-extension.yml", ":4:32: target_groups[0].file_sd_configs[0].files[0]: \"sd/web.txt\" must end in .json, .yml or .yaml (as in Prometheus); the extension says how to read it"],
  ["invalid-tg-glob-dir.yml", ":4:32: target_groups[0].file_sd_configs[0].files[0]: \"sd/*/web.json\": only the file name may hold a *, as in Prometheus (e.g. /etc/slaprobe/sd/*.json)"],
  ["invalid-tg-no-source.yml", ":2:5: target_groups[0]: needs file_sd_configs or http_sd_configs: where the addresses come from"],
  ["invalid-tg-template-address.yml", ":5:7: target_groups[0].template.address: \"address\" comes from service discovery (the group's kind, each listed address, \"<group>:<address>\"); remove it from the template"],
  ["invalid-tg-template-typo.yml", ":5:7: target_groups[0].template.intervall: unknown key \"intervall\"; did you mean \"interval\"? Allowed here: name, kind, interval, timeout, labels, url, method, headers, body, valid_status_codes, must_match, must_not_match, max_body_bytes, follow_redirects, max_redirects, ip_protocol, tls"],
  ["invalid-tg-template-value.yml", ":6:16: target_groups[0].template.timeout: must be shorter than the interval (10s = 10000 ms), got \"20s\"; lower the timeout or raise the interval"],
];

describe('fleet config rejections', () => {
  it.each(CASES)('%s', (file, expected) => {
    let messages: string[] = [];
    try {
      loadConfigFile(join(dir, file), { displayName: file, env: {} });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      messages = e.messages;
    }
    expect(messages).toEqual([`${file}${expected}`]);
  });

  it('every fixture file has a case, and every case a file', () => {
    expect(CASES.map(([f]) => f).sort()).toEqual(readdirSync(dir).filter((f) => f.startsWith('invalid-')).sort());
  });
});

describe('remote_write acceptance', () => {
  it('takes Prometheus\'s shape, fills Prometheus\'s defaults, expands secrets', () => {
    const d = mkdtempSync(join(tmpdir(), 'slaprobe-rw-'));
    writeFileSync(join(d, 'token'), 'tok\n');
    writeFileSync(join(d, 'ca.pem'), 'x');
    const text = `
remote_write:
  - url: http://127.0.0.1:8428/api/v1/write
  - name: mimir
    url: https://127.0.0.1:9009/api/v1/push
    remote_timeout: 10s
    headers: {X-Scope-OrgID: tenant-1}
    bearer_token_file: token
    tls_config: {ca_file: ca.pem, server_name: mimir.internal}
    queue_config: {max_samples_per_send: 500, batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 10s, retry_on_http_429: false}
  - name: vm-auth
    url: http://127.0.0.1:8429/api/v1/write
    basic_auth: {username: slaprobe, password: "\${VM_PASSWORD}"}
`;
    const c = parseConfig(text, 'c.yaml', { env: { VM_PASSWORD: 'pw-from-env' }, baseDir: d, source: join(d, 'c.yaml') });
    expect(c.remote_write[0]).toEqual({
      name: '127.0.0.1:8428', url: 'http://127.0.0.1:8428/api/v1/write', remote_timeout: 30_000, headers: {},
      tls_config: { insecure_skip_verify: false },
      queue_config: { max_samples_per_send: 2000, batch_send_deadline: 5000, min_backoff: 30, max_backoff: 5000, retry_on_http_429: true },
    });
    expect(c.remote_write[1]).toMatchObject({
      name: 'mimir', remote_timeout: 10_000, headers: { 'X-Scope-OrgID': 'tenant-1' }, bearer_token_file: join(d, 'token'),
      tls_config: { ca_file: join(d, 'ca.pem'), server_name: 'mimir.internal', insecure_skip_verify: false },
      queue_config: { max_samples_per_send: 500, batch_send_deadline: 1000, min_backoff: 100, max_backoff: 10_000, retry_on_http_429: false },
    });
    expect(c.remote_write[2]!.basic_auth).toEqual({ username: 'slaprobe', password: 'pw-from-env' });
  });

  it('no remote_write: nothing is pushed', () => {
    expect(parseConfig('targets: []', 'c.yaml').remote_write).toEqual([]);
  });
});

describe('check-config', () => {
  it('shows the shard, the target groups and the remotes (never a URL\'s query)', () => {
    const d = mkdtempSync(join(tmpdir(), 'slaprobe-cc-'));
    writeFileSync(join(d, 'c.yaml'), [
      'agent: {shard: {count: 2, index: 1}}',
      'targets: [{name: a, kind: tcp, address: "127.0.0.1:1"}]',
      'target_groups: [{name: web, kind: http, file_sd_configs: [{files: [sd/*.json]}], http_sd_configs: [{url: "http://127.0.0.1:9/sd"}]}]',
      'remote_write: [{name: vm, url: "http://127.0.0.1:8428/api/v1/write?token=s3cret"}]',
    ].join('\n'));
    const out = execFileSync(join(ROOT, 'node_modules', '.bin', 'node'), [join(ROOT, 'src', 'cli.ts'), 'check-config', join(d, 'c.yaml')], { encoding: 'utf8' });
    expect(out).toContain('  shard 1 of 2 (Prometheus hashmod of each target\'s address)\n');
    expect(out).toContain(`  target group web: http targets from file_sd ${join(d, 'sd', '*.json')}, http_sd http://127.0.0.1:9/sd\n`);
    expect(out).toContain('  remote_write vm: http://127.0.0.1:8428/api/v1/write\n');
    expect(out).not.toContain('s3cret');
  });
});
