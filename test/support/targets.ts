// Typed target objects for the probe tests, with the config defaults filled in.
// makeTarget goes through the real config validator; the others build objects directly.
import { Ctx } from '../../src/config/check.ts';
import { QUALITY_DEFAULTS, STUN_DEFAULTS, UDP_ECHO_DEFAULTS } from '../../src/config/defaults.ts';
import type { QualityTargets, StunTarget, Target, UdpEchoTarget } from '../../src/config/types.ts';
import { validateConfig } from '../../src/config/validate.ts';

export function makeTarget<T extends Target = Target>(raw: Record<string, unknown>): T {
  const ctx = new Ctx();
  const cfg = validateConfig({ targets: [{ name: 't', interval: '60s', timeout: '5s', ...raw }] }, 'test', ctx);
  if (!cfg) throw new Error(`bad test target: ${ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return cfg.targets[0] as T;
}

export function stunTarget(port: number, o: Partial<StunTarget> = {}): StunTarget {
  return {
    name: 'stun-test', kind: 'stun', interval: 30_000, timeout: 25_000, labels: {},
    address: `127.0.0.1:${port}`, host: '127.0.0.1', port, transport: 'udp',
    packets: STUN_DEFAULTS.packets, spacing: 20, packet_timeout: 500, max_outstanding: STUN_DEFAULTS.max_outstanding,
    ip_protocol: 'auto', tls: { insecure_skip_verify: false }, quality: QUALITY_DEFAULTS, ...o,
  };
}

export const ECHO_KEY = 'test-key-0123456789abcdef';

export function echoTarget(port: number, o: Partial<UdpEchoTarget> = {}): UdpEchoTarget {
  return {
    name: 'echo-test', kind: 'udp-echo', interval: 30_000, timeout: 25_000, labels: {},
    address: `127.0.0.1:${port}`, host: '127.0.0.1', port, key: ECHO_KEY, key_id: 'k1',
    packets: 200, spacing: 5, packet_timeout: 500, size: UDP_ECHO_DEFAULTS.size, ip_protocol: 'auto',
    quality: QUALITY_DEFAULTS, ...o,
  };
}

export function quality(o: Partial<QualityTargets>): QualityTargets {
  return { ...QUALITY_DEFAULTS, ...o };
}
