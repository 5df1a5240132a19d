// services[].sla and maintenance: every rejection with its exact message and position.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { T } from '../support/availability.ts';

const base = (services: string, extra = '') => `agent: { region: r }
targets:
  - { name: api, kind: tcp, address: "127.0.0.1:9" }
services:
${services}
${extra}`;

function errors(text: string): string[] {
  try {
    parseConfig(text, 'c.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.messages;
    throw e;
  }
  return [];
}

describe('SLA policies on services', () => {
  it('resolves presets, overrides and inline policies', () => {
    const c = parseConfig(base(`  - name: meet
    targets: [api]
    sla:
      - udesk
      - { preset: hedu, name: hedu-sh, time_zone: Asia/Shanghai }
      - { name: internal, target: 99.95, min_outage: 1m, unknown: down, credit: { type: tiers, tiers: [{ below: 99.9, percent: 10 }] } }`), 'c.yaml');
    const [u, h, i] = c.services[0]!.sla;
    expect(u).toMatchObject({ name: 'udesk', target: 99.9, min_outage: 300_000, credit: { type: 'equal_time' } });
    expect(h).toMatchObject({ name: 'hedu-sh', target: 99.968, time_zone: 'Asia/Shanghai', credit: { type: 'multiplier', factor: 10, cap: 'period' } });
    expect(i).toMatchObject({ name: 'internal', target: 99.95, min_outage: 60_000, unknown: 'down', period: 'month', rounding: 'up', credit: { type: 'tiers', tiers: [{ below: 99.9, percent: 10 }] } });
  });

  it.each([
    ['an unknown preset', '[udsk]', 'c.yaml:7:11: services[0].sla[0]: unknown SLA preset "udsk"; presets: contract, easymeeting, hedu, udesk, umeet; or write a full policy {name, target, ...}'],
    ['a bad time zone', '[{ preset: udesk, time_zone: Mars/Olympus }]', 'c.yaml:7:39: services[0].sla[0].time_zone: "Mars/Olympus" is not an IANA time zone known here (in the system zone database or in Node.js); use a name such as UTC or Asia/Shanghai'],
    ['"localtime": a file of the zone directory, this machine\'s own zone, not an IANA name', '[{ preset: udesk, time_zone: localtime }]', 'c.yaml:7:39: services[0].sla[0].time_zone: "localtime" is not an IANA time zone known here (in the system zone database or in Node.js); use a name such as UTC or Asia/Shanghai'],
    ['a typo in a key', '[{ preset: udesk, min_outgae: 5m }]', 'c.yaml:7:28: services[0].sla[0].min_outgae: unknown key "min_outgae"; did you mean "min_outage"? Allowed here: name, description, target, period, time_zone, min_outage, unknown, merge_within, rounding, rounding_scope, exclusions, excluded_time, unknown_in_outage, partial_period, settlement, recovery, credit, notify_within, preset'],
    ['an inline policy without target', '[{ name: x }]', 'c.yaml:7:11: services[0].sla[0].target: is required: the availability target in percent, e.g. 99.9'],
    ['a target over 100', '[{ name: x, target: 100.1 }]', 'c.yaml:7:30: services[0].sla[0].target: must be at most 100, got 100.1'],
    ['a bad unknown rule', '[{ preset: udesk, unknown: maybe }]', 'c.yaml:7:37: services[0].sla[0].unknown: expected one of excluded, down, up, got "maybe"'],
    ['a bad period', '[{ preset: udesk, period: week }]', 'c.yaml:7:36: services[0].sla[0].period: expected one of month, year, rolling_12_months, got "week"'],
    ['the same policy twice', '[udesk, udesk]', 'c.yaml:7:18: services[0].sla[1]: two policies named "udesk" on one service; give one a different name: (e.g. {preset: udesk, name: udesk-shanghai})'],
    ['a multiplier without factor', '[{ preset: hedu, credit: { type: multiplier } }]', 'c.yaml:7:35: services[0].sla[0].credit.factor: is required: how many times the counted minutes are credited, e.g. 10 (HEDU-7.2)'],
    ['a bad excluded_time', '[{ preset: hedu, excluded_time: ignored }]', 'c.yaml:7:42: services[0].sla[0].excluded_time: expected one of available, removed, got "ignored"'],
    ['a bad rounding_scope', '[{ preset: hedu, rounding_scope: incident }]', 'c.yaml:7:43: services[0].sla[0].rounding_scope: expected one of period, window, got "incident"'],
    ['a bad credit condition', '[{ preset: udesk, credit: { type: equal_time, when: sometimes } }]', 'c.yaml:7:62: services[0].sla[0].credit.when: expected one of missed, always, got "sometimes"'],
    ['a contract year on a monthly policy', '[{ preset: udesk, settlement: contract_year }]', 'c.yaml:7:40: services[0].sla[0].settlement: contract_year settles a 12-month figure; it needs period: rolling_12_months or year (a monthly policy settles each month: settlement: period)'],
    ['a contract year starting in month 13', '[{ preset: easymeeting, settlement: { type: contract_year, start_month: 13 } }]', 'c.yaml:7:82: services[0].sla[0].settlement.start_month: must be at most 12, got 13'],
    ['a notify_within that is not a duration', '[{ preset: hedu, notify_within: soon }]', 'c.yaml:7:42: services[0].sla[0].notify_within: expected a duration such as "30s", got "soon"; units: ms, s, m, h, d (e.g. "500ms", "1m30s")'],
    ['a credit of an unknown type', '[{ preset: hedu, credit: { type: bonus } }]', 'c.yaml:7:43: services[0].sla[0].credit.type: expected one of none, multiplier, equal_time, percent_per_point, tiers, got "bonus"'],
  ])('%s', (_what, sla, msg) => {
    expect(errors(base(`  - name: meet\n    targets: [api]\n    sla: ${sla}`))).toEqual([msg]);
  });
});

describe('maintenance', () => {
  const svc = '  - { name: meet, targets: [api] }';
  it('reads one-off and recurring entries', () => {
    const c = parseConfig(base(svc, `maintenance:
  - { name: upgrade, reason: announced upgrade, start: "2026-11-03T02:00:00+08:00", end: "2026-11-03T04:00:00+08:00" }
  - { name: weekly, reason: weekly window, services: [meet], weekly: "sun 02:00", duration: 2h, time_zone: Asia/Shanghai }
  - { name: nightly, reason: backups, schedule: "30 3 * * *", duration: 15m }`), 'c.yaml');
    expect(c.maintenance[0]).toEqual({ kind: 'once', name: 'upgrade', reason: 'announced upgrade', services: [], start: T('2026-11-02T18:00:00Z'), end: T('2026-11-02T20:00:00Z') });
    expect(c.maintenance[1]).toMatchObject({ kind: 'recurring', name: 'weekly', services: ['meet'], duration: 7_200_000, time_zone: 'Asia/Shanghai', cron: { source: '0 2 * * sun' } });
    expect(c.maintenance[2]).toMatchObject({ kind: 'recurring', time_zone: 'UTC', cron: { source: '30 3 * * *', minutes: [30], hours: [3] } });
  });

  it.each([
    ['no offset', '{ name: m, reason: r, start: "2026-11-03T02:00:00", end: "2026-11-03T04:00:00Z" }', 'c.yaml:7:34: maintenance[0].start: expected an RFC 3339 time with offset such as "2026-11-03T02:00:00+08:00" (or Z for UTC), got "2026-11-03T02:00:00"'],
    ['end before start', '{ name: m, reason: r, start: "2026-11-03T02:00:00Z", end: "2026-11-03T01:00:00Z" }', 'c.yaml:7:63: maintenance[0].end: must be after start'],
    ['no reason', '{ name: m, start: "2026-11-03T02:00:00Z", end: "2026-11-03T03:00:00Z" }', 'c.yaml:7:5: maintenance[0].reason: is required: why the time is excluded, e.g. "announced upgrade (CONTRACT-7.1.2)"'],
    ['an unknown service', '{ name: m, reason: r, services: [chat], start: "2026-11-03T02:00:00Z", end: "2026-11-03T03:00:00Z" }', 'c.yaml:7:38: maintenance[0].services[0]: unknown service "chat"; name one of services[].name (meet), or leave services out for all'],
    ['a bad cron field', '{ name: m, reason: r, schedule: "0 25 * * *", duration: 1h }', 'c.yaml:7:37: maintenance[0].schedule: hour field "25" is out of range 0-23; e.g. "0 2 * * sun" is 02:00 every Sunday'],
    ['a bad weekly', '{ name: m, reason: r, weekly: "sunday 2am", duration: 1h }', 'c.yaml:7:35: maintenance[0].weekly: "sunday 2am" is not valid; write day(s) and a local time, e.g. "sun 02:00" or "sat,sun 23:30"'],
    ['recurring without duration', '{ name: m, reason: r, weekly: "sun 02:00" }', 'c.yaml:7:5: maintenance[0].duration: is required for a recurring maintenance: how long each occurrence lasts, e.g. "2h"'],
    ['start on a recurring one', '{ name: m, reason: r, weekly: "sun 02:00", duration: 1h, start: "2026-11-03T02:00:00Z" }', 'c.yaml:7:69: maintenance[0].start: applies only to a one-off maintenance; a recurring one has schedule (or weekly) and duration, and optionally from/until'],
  ])('%s', (_what, item, msg) => {
    expect(errors(base(svc, `maintenance:\n  - ${item}`))).toEqual([msg]);
  });
});
