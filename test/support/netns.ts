// A test host in a network namespace of the test's own: a veth pair, this side
// 10.251.N.1/30, the host 10.251.N.2/30, and nftables rules inside the namespace to drop or
// reject what the test wants. Nothing leaves the pair; everything is removed by close().
import { execFileSync } from 'node:child_process';

export interface TestHost {
  /** The host's address, inside the namespace. */
  address: string;
  ns: string;
  /** Runs an nft command inside the namespace, e.g. nft('add rule inet slp input tcp dport 9 drop'). */
  nft(rule: string): void;
  /** Runs a command inside the namespace. */
  exec(cmd: string, args: string[]): string;
  close(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

export function createTestHost(): TestHost {
  const n = 1 + (process.pid % 60) * 4 + Math.floor(Math.random() * 4);
  const id = `${process.pid % 100000}${Math.floor(Math.random() * 100)}`;
  const ns = `slp${id}`;
  const a = `slpa${id}`.slice(0, 15);
  const b = `slpb${id}`.slice(0, 15);
  const subnet = `10.251.${n % 250}`;
  ip('netns', 'add', ns);
  try {
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    ip('link', 'set', b, 'netns', ns);
    ip('addr', 'add', `${subnet}.1/30`, 'dev', a);
    ip('link', 'set', a, 'up');
    ip('-n', ns, 'addr', 'add', `${subnet}.2/30`, 'dev', b);
    ip('-n', ns, 'link', 'set', b, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    const nftRaw = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { stdio: 'pipe' });
    nftRaw('add', 'table', 'inet', 'slp');
    nftRaw('add', 'chain', 'inet', 'slp', 'input', '{ type filter hook input priority 0; policy accept; }');
  } catch (e) {
    try { ip('netns', 'del', ns); } catch { /* best effort */ }
    try { ip('link', 'del', a); } catch { /* best effort */ }
    throw e;
  }
  return {
    address: `${subnet}.2`,
    ns,
    nft(rule) { execFileSync('ip', ['netns', 'exec', ns, 'nft', ...rule.split(' ')], { stdio: 'pipe' }); },
    exec(cmd, args) { return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' }); },
    close() {
      try { ip('netns', 'del', ns); } catch { /* already gone */ }
      try { ip('link', 'del', a); } catch { /* removed with the namespace */ }
    },
  };
}

/** One probing region in its own namespace, on the fleet's test bridge. */
export interface FleetRegion {
  name: string;
  ns: string;
  /** This region's address on the bridge. */
  address: string;
  /** Runs an nft command inside the namespace (its table `inet slp`, chain `output`). */
  nft(rule: string): void;
}

export interface FleetNet {
  /** The host's address on the bridge: where the store and the target listen. */
  hostAddress: string;
  regions: FleetRegion[];
  /** argv that runs `cmd args` inside a region's namespace (for spawn). */
  inNs(region: FleetRegion, cmd: string, args: string[]): [string, string[]];
  close(): void;
}

/**
 * Several namespaces on one bridge of the test's own (10.252.K.0/24): the host is .1 on the
 * bridge, region i is .(i + 2). Each namespace has an nftables table with an output chain,
 * so a test can drop one region's path and nobody else's. Nothing is routed off the bridge.
 */
export function createFleetNet(names: readonly string[]): FleetNet {
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const k = 1 + ((process.pid + Math.floor(Math.random() * 50)) % 250);
  const br = `slpbr${id}`.slice(0, 15);
  const prefix = `10.252.${k}`;
  const made: { ns: string; veth: string }[] = [];
  const close = () => {
    for (const m of made) {
      try { ip('netns', 'del', m.ns); } catch { /* already gone */ }
      try { ip('link', 'del', m.veth); } catch { /* removed with the namespace */ }
    }
    try { ip('link', 'del', br); } catch { /* already gone */ }
  };
  const regions: FleetRegion[] = [];
  try {
    ip('link', 'add', br, 'type', 'bridge');
    ip('addr', 'add', `${prefix}.1/24`, 'dev', br);
    ip('link', 'set', br, 'up');
    names.forEach((name, i) => {
      const ns = `slpf${id}r${i}`;
      const a = `slpfa${id}${i}`.slice(0, 15);
      const b = `slpfb${id}${i}`.slice(0, 15);
      ip('netns', 'add', ns);
      made.push({ ns, veth: a });
      ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
      ip('link', 'set', a, 'master', br);
      ip('link', 'set', a, 'up');
      ip('link', 'set', b, 'netns', ns);
      ip('-n', ns, 'addr', 'add', `${prefix}.${i + 2}/24`, 'dev', b);
      ip('-n', ns, 'link', 'set', b, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { stdio: 'pipe' });
      nft('add', 'table', 'inet', 'slp');
      nft('add', 'chain', 'inet', 'slp', 'output', '{ type filter hook output priority 0; policy accept; }');
      regions.push({ name, ns, address: `${prefix}.${i + 2}`, nft: (rule) => void nft(...rule.split(' ')) });
    });
  } catch (e) {
    close();
    throw e;
  }
  return {
    hostAddress: `${prefix}.1`,
    regions,
    inNs: (r, cmd, args) => ['ip', ['netns', 'exec', r.ns, cmd, ...args]],
    close,
  };
}
