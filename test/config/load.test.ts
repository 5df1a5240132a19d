// One fixture file per rejected config (test/config/testdata/invalid-*.yml), each paired with
// its exact message: file:line:column, YAML path, what is wrong and how to fix it.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_DEFAULT, loadConfigFile, parseConfig } from '../../src/config/load.ts';
import type { HttpTarget, IcmpTarget, UdpEchoTarget } from '../../src/config/types.ts';
import { messagesOf } from '../support/config.ts';

const dir = join(import.meta.dirname, 'testdata');

const CASES: [string, string][] = [
    ["invalid-bad-duration.yml", ":5:15: targets[0].interval: expected a duration such as \"30s\", got \"fast\"; units: ms, s, m, h, d (e.g. \"500ms\", \"1m30s\")"],
    ["invalid-bad-name.yml", ":2:11: targets[0].name: \"my api\" is not valid: letters, digits, \"_\", \".\", \":\" and \"-\", starting with a letter or digit, at most 100 characters"],
    ["invalid-bad-regex.yml", ":5:18: targets[0].must_match[0]: is not a valid RE2 pattern (error parsing regexp: missing closing ): `(unclosed`); RE2 syntax has no lookaround or backreferences, see README \"Patterns\", e.g. \"^ok$\""],
    ["invalid-bad-url.yml", ":4:10: targets[0].url: \"127.0.0.1/health\" is not a valid URL; write it in full, e.g. https://meet.example.com/health"],
    ["invalid-bare-number-duration.yml", ":5:14: targets[0].timeout: expected a duration such as \"30s\", got number 5; units: ms, s, m, h, d (e.g. \"500ms\", \"1m30s\")"],
    ["invalid-duplicate-key.yml", ":3:3: YAML syntax error: Map keys must be unique (DUPLICATE_KEY); fix the YAML at this position"],
    ["invalid-duplicate-name.yml", ":5:11: targets[1].name: duplicate target name \"api\" (also targets[0]); target names must be unique"],
    ["invalid-icmp-train-too-long.yml", ":7:14: targets[0].timeout: is 5000 ms but 100 packets at 1000 ms spacing need at least 100000 ms; raise timeout (and interval), or send fewer packets"],
    ["invalid-log-level.yml", ":2:14: agent.log_level: expected one of fatal, error, warn, info, debug, trace, got \"verbose\""],
    ["invalid-missing-env.yml", ":6:22: targets[0].headers.Authorization: environment variable SLAPROBE_TEST_UNSET_TOKEN is not set; export it before starting slaprobe, or use ${file:/path} instead (check-config --no-secrets checks the structure without it)"],
    ["invalid-missing-kind.yml", ":2:5: targets[0].kind: is required: one of http, tcp, icmp, stun, udp-echo"],
    ["invalid-missing-port.yml", ":4:14: targets[0].address: \"127.0.0.1\" has no port; write host:port, e.g. turn.example.com:3478"],
    ["invalid-reflector-no-keys.yml", ":2:3: reflector.keys: is required: at least one key id and secret, e.g. keys: {default: ${SLAPROBE_ECHO_KEY}}; the reflector answers only authenticated packets"],
    ["invalid-region-at-least-down.yml", ":6:39: services[0].regions.rule.at_least_down: is 2 but min_reporting is 1: with fewer than 2 regions reporting the service could never be down, yet would count as up; set min_reporting: 2 (or more)"],
    ["invalid-region-rule.yml", ":7:13: services[0].regions.rule: expected any_up (down where every reporting region sees it down), all_down (... and every region probing it reports), {at_least_down: K} or {fraction_down: F} (0 < F <= 1), got \"most_down\""],
    ["invalid-reserved-label.yml", ":6:7: targets[0].labels.region: label \"region\" is set by slaprobe itself; choose another name"],
    ["invalid-rule-too-many.yml", ":8:22: services[0].rule.at_least: is 2 but the service has only 1 target"],
    ["invalid-status-code-range.yml", ":5:31: targets[0].valid_status_codes[1]: must be at most 599, got 999"],
    ["invalid-targets-not-list.yml", ":2:3: targets: expected a list, got a mapping"],
    ["invalid-timeout-ge-interval.yml", ":6:14: targets[0].timeout: must be shorter than the interval (10s = 10000 ms), got \"10s\"; lower the timeout or raise the interval"],
    ["invalid-tls-cert-without-key.yml", ":6:7: targets[0].tls: cert_file and key_file go together: give both for a client certificate, or neither"],
    ["invalid-top-level-typo.yml", ":1:1: target: unknown key \"target\"; did you mean \"targets\"? Allowed here: agent, defaults, targets, services, reflector, maintenance, remote_write, target_groups"],
    ["invalid-unknown-key.yml", ":5:5: targets[0].intervall: unknown key \"intervall\"; did you mean \"interval\"? Allowed here: name, kind, interval, timeout, labels, url, method, headers, body, valid_status_codes, must_match, must_not_match, max_body_bytes, follow_redirects, max_redirects, ip_protocol, tls"],
    ["invalid-unknown-kind.yml", ":3:11: targets[0].kind: expected one of http, tcp, icmp, stun, udp-echo, got \"smtp\""],
    ["invalid-unknown-service-target.yml", ":7:20: services[0].targets[1]: unknown target \"portal\"; a service lists names from targets[].name (known: api)"],
    ["invalid-url-scheme.yml", ":4:10: targets[0].url: scheme \"ftp\" is not supported; use http:// or https://"],
    ["invalid-wrong-type.yml", ":2:16: agent.concurrency: expected a whole number, got \"many\""],
    ["invalid-yaml-syntax.yml", ":4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ] (BAD_INDENT); fix the YAML at this position"],
    ["invalid-interval-overflow.yml", ":2:13: defaults.interval: must be at most 1d, got \"1000d\""],
    ["invalid-regex-lookahead.yml", ":5:13: targets[0].expect: is not a valid RE2 pattern (error parsing regexp: invalid or unsupported Perl syntax: `(?=`); RE2 syntax has no lookaround or backreferences, see README \"Patterns\", e.g. \"^ok$\""],
    ["invalid-alias-bomb.yml", ":3:8: YAML aliases: Excessive alias count indicates a resource exhaustion attack; expand at most 100 aliases, or write the values out"],
    ["invalid-header-crlf.yml", ":6:17: targets[0].headers.X-Tenant: contains a line break (CR or LF) or NUL, which no HTTP header may carry; remove it (a secret file's surrounding whitespace is trimmed, not a line break inside it)"],
    ["invalid-label-from-secret.yml", ":6:13: targets[0].labels.team: is published as a metric label, so it cannot take a ${file:...} secret; write the value itself (or use ${ENV_VAR} for plain config)"],
];

describe('config rejections', () => {
  it.each(CASES)('%s', (file, expected) => {
    const messages = messagesOf(() => loadConfigFile(join(dir, file), { displayName: file, env: {} }));
    expect(messages).toEqual([`${file}${expected}`]);
  });

  it('every fixture file has a case, and every case a file', () => {
    const files = readdirSync(dir).filter((f) => f.startsWith('invalid-')).sort();
    expect(CASES.map(([f]) => f).sort()).toEqual(files);
  });

  it('reports every problem of a file at once', () => {
    const m = messagesOf(() => parseConfig('agent:\n  regon: x\ntargets:\n  - name: a\n    kind: http\n    url: nope\n    interval: 1x\n', 'c.yaml'));
    expect(m).toHaveLength(3);
    expect(m[0]).toMatch(/^c\.yaml:2:3: agent\.regon: unknown key "regon"; did you mean "region"\?/);
    expect(m[1]).toMatch(/^c\.yaml:6:10: targets\[0\]\.url: /);
    expect(m[2]).toMatch(/^c\.yaml:7:15: targets\[0\]\.interval: /);
  });

  it('a missing file says so and how to fix it', () => {
    expect(messagesOf(() => loadConfigFile('/nonexistent/slaprobe.yaml'))).toEqual([
      '/nonexistent/slaprobe.yaml: cannot read config (no such file); pass an existing YAML file with --config, e.g. --config config/default.yaml',
    ]);
  });
});

describe('config acceptance', () => {
  it('the embedded default probes loopback only', () => {
    const c = loadConfigFile(EMBEDDED_DEFAULT);
    expect(c.targets.map((t) => t.kind).sort()).toEqual(['http', 'icmp', 'tcp']);
    for (const t of c.targets) {
      const host = t.kind === 'http' ? new URL(t.url).hostname : t.host;
      expect(host).toMatch(/^(127\.\d+\.\d+\.\d+|\[?::1\]?|localhost)$/);
    }
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.targets[0])).toBe(true);
  });

  it('config/example.yaml (every option) is valid', () => {
    const c = loadConfigFile(join(import.meta.dirname, '../../config/example.yaml'), { env: { SLAPROBE_API_TOKEN: 't0ken', SLAPROBE_ECHO_KEY: '0123456789abcdef0123' } });
    expect(c.targets.length).toBeGreaterThanOrEqual(5);
    expect(new Set(c.targets.map((t) => t.kind))).toEqual(new Set(['http', 'tcp', 'icmp', 'stun', 'udp-echo']));
  });

  it('fills defaults and converts durations to milliseconds', () => {
    const c = parseConfig('defaults:\n  interval: 1m\ntargets:\n  - {name: gw, kind: icmp, address: 127.0.0.1}\n  - {name: api, kind: http, url: "http://127.0.0.1/", interval: 1m30s, timeout: 2.5s}\n', 'x');
    const gw = c.targets[0] as IcmpTarget;
    expect([gw.interval, gw.timeout, gw.packets, gw.spacing, gw.size]).toEqual([60_000, 5_000, 10, 200, 56]);
    expect(gw.quality).toEqual({ loss: 0.0005, jitter_ms: 50, latency_ms: 150, latency_mode: 'rtt', windows: [900_000, 3_600_000], confidence: 0.95 });
    const api = c.targets[1] as HttpTarget;
    expect([api.interval, api.timeout, api.method, api.max_redirects, api.follow_redirects]).toEqual([90_000, 2_500, 'GET', 10, true]);
    expect(c.agent).toEqual({ region: 'local', listen: '127.0.0.1:9917', data_dir: './data', log_level: 'info', concurrency: 64, name: hostname() });
  });

  it('a service\'s quality thresholds apply to its packet targets that set none (HEDU-5.4 defaults otherwise)', () => {
    const c = parseConfig([
      'defaults: {quality: {latency: 200ms}}',
      'targets:',
      '  - {name: turn, kind: stun, address: "127.0.0.1"}',
      '  - {name: gw, kind: icmp, address: 127.0.0.1, quality: {jitter: 20ms}}',
      '  - {name: lab, kind: icmp, address: 127.0.0.2}',
      'services:',
      '  - {name: meeting, targets: [turn, gw], quality: {loss_percent: 0.1}}',
    ].join('\n'), 'x');
    const q = Object.fromEntries(c.targets.map((t) => [t.name, t.quality]));
    expect([q['turn']!.loss, q['turn']!.latency_ms, q['turn']!.jitter_ms]).toEqual([0.001, 200, 50]);
    expect([q['gw']!.loss, q['gw']!.latency_ms, q['gw']!.jitter_ms]).toEqual([0.0005, 200, 20]);
    expect([q['lab']!.loss, q['lab']!.latency_ms]).toEqual([0.0005, 200]);
  });

  it('a target in two services with different quality must set its own', () => {
    expect(() => parseConfig('targets:\n  - {name: turn, kind: stun, address: "127.0.0.1"}\nservices:\n  - {name: a, targets: [turn], quality: {loss_percent: 0.1}}\n  - {name: b, targets: [turn], quality: {loss_percent: 0.2}}\n', 'x.yaml'))
      .toThrow('x.yaml:2:12: targets[0].name: target "turn" is in services "a" and "b", whose quality thresholds differ; set quality on the target itself');
  });

  it('udp-echo runs its 50 packets/s stream back to back by default', () => {
    const c = parseConfig('targets:\n  - {name: e, kind: udp-echo, address: "127.0.0.1", key: "0123456789abcdef0123"}\n', 'x');
    const e = c.targets[0] as UdpEchoTarget;
    expect([e.interval, e.timeout, e.packets, e.spacing, e.packet_timeout, e.size, e.port]).toEqual([6_000, 5_500, 250, 20, 500, 172, 8622]);
    // 250 packets at 20 ms: 5 s of stream in every 6 s run.
    expect(((e.packets * e.spacing) / e.interval)).toBeCloseTo(5 / 6, 9);
  });

  it('expands ${ENV} and ${file:...} secrets, and $${ stays literal', () => {
    const d = mkdtempSync(join(tmpdir(), 'slaprobe-cfg-'));
    writeFileSync(join(d, 'token'), 's3cret-from-file\n');
    writeFileSync(join(d, 'c.yaml'), 'targets:\n  - name: api\n    kind: http\n    url: http://127.0.0.1/\n    headers:\n      Authorization: "Bearer ${API_TOKEN}"\n      X-File: "${file:token}"\n      X-Literal: "$${NOT_EXPANDED}"\n');
    const c = loadConfigFile(join(d, 'c.yaml'), { env: { API_TOKEN: 'abc123' } });
    expect((c.targets[0] as HttpTarget).headers).toEqual({ Authorization: 'Bearer abc123', 'X-File': 's3cret-from-file', 'X-Literal': '${NOT_EXPANDED}' });
  });

  it('normalises IPv6 addresses with a default port', () => {
    const c = parseConfig('targets:\n  - {name: s, kind: stun, address: "::1"}\n  - {name: t, kind: stun, address: "[::1]:3479"}\n', 'x');
    expect(c.targets.map((t) => ('address' in t ? t.address : ''))).toEqual(['[::1]:3478', '[::1]:3479']);
  });

  it('reads a service\'s region rule; the default is any_up with one region reporting', () => {
    const c = parseConfig([
      'targets: [{name: a, kind: tcp, address: "127.0.0.1:80"}]',
      'services:',
      '  - {name: s1, targets: [a], regions: {rule: {fraction_down: 0.5}, min_reporting: 2}}',
      '  - {name: s2, targets: [a], regions: {rule: {at_least_down: 2}, min_reporting: 3}}',
      '  - {name: s3, targets: [a], regions: {rule: all_down}}',
      '  - {name: s4, targets: [a]}',
    ].join('\n'), 'x');
    expect(c.services.map((s) => s.regions)).toEqual([
      { rule: { type: 'fraction_down', f: 0.5 }, min_reporting: 2 },
      { rule: { type: 'at_least_down', k: 2 }, min_reporting: 3 },
      { rule: { type: 'all_down' }, min_reporting: 1 },
      { rule: { type: 'any_up' }, min_reporting: 1 },
    ]);
  });
});
