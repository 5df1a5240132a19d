// An unreachable address, for real: a test host in a network namespace of this test whose
// nftables answer ICMP host-unreachable, and one that silently drops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IcmpTarget, TcpTarget } from '../../src/config/types.ts';
import { icmpProbe } from '../../src/probes/icmp.ts';
import { tcpProbe } from '../../src/probes/tcp.ts';
import { type TestHost, createTestHost } from '../support/netns.ts';
import { makeTarget } from '../support/targets.ts';

let host: TestHost;
beforeAll(() => {
  host = createTestHost();
  host.nft('add rule inet slp input icmp type echo-request reject with icmpx type host-unreachable');
  host.nft('add rule inet slp input tcp dport 9 reject with icmpx type host-unreachable');
  host.nft('add rule inet slp input tcp dport 10 drop');
});
afterAll(() => host?.close());

describe('unreachable and black-holed targets (network namespace)', () => {
  it('icmp: destination unreachable answers are "unreachable"', async () => {
    const t = makeTarget<IcmpTarget>({ kind: 'icmp', address: host.address, packets: 3, spacing: '50ms', timeout: '2s' });
    const r = await icmpProbe(t, AbortSignal.timeout(t.timeout));
    expect(r).toMatchObject({ success: false, reason: 'unreachable' });
    // iputils ping with a deadline (-w) ends the train at the first ICMP error, so only the
    // packets actually sent are counted, all of them lost.
    expect(r.packets!.sent).toBeGreaterThanOrEqual(1);
    expect(r.packets).toMatchObject({ received: 0, lost: r.packets!.sent });
  });

  it('tcp: EHOSTUNREACH is "unreachable"', async () => {
    const t = makeTarget<TcpTarget>({ kind: 'tcp', address: `${host.address}:9` });
    expect(await tcpProbe(t, AbortSignal.timeout(t.timeout))).toMatchObject({ success: false, reason: 'unreachable', code: 'EHOSTUNREACH' });
  });

  it('tcp: a black hole (SYN dropped) is "timeout"', async () => {
    const t = makeTarget<TcpTarget>({ kind: 'tcp', address: `${host.address}:10`, timeout: '300ms' });
    expect(await tcpProbe(t, AbortSignal.timeout(t.timeout))).toMatchObject({ success: false, reason: 'timeout' });
  });

  it('icmp: the host answers once the rule is gone', async () => {
    host.nft('flush chain inet slp input');
    const t = makeTarget<IcmpTarget>({ kind: 'icmp', address: host.address, packets: 3, spacing: '50ms', timeout: '2s' });
    const r = await icmpProbe(t, AbortSignal.timeout(t.timeout));
    expect(r.success).toBe(true);
    expect(r.packets).toMatchObject({ sent: 3, received: 3, lost: 0 });
  });
});
