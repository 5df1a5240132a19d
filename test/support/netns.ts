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
