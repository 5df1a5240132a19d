// Benchmark of the icmp probe against prometheus-smokeping-prober: N loopback hosts
// (127.0.0.1 .. 127.0.0.N, nothing but loopback), the same packets/s per host, the two
// probers one after the other in the same run, each pinned alone to CPU 0 (the bench itself
// on CPU 1). Method as bench/core.ts (docs/bench-core.md); figures for docs/bench-icmp.md.
//
// The agent runs one long-lived system ping (iputils) per icmp target (src/engine/ping-stream.ts),
// so its CPU is the agent's own (utime + stime, every thread) PLUS its ping children: those
// it has reaped (the agent's cutime + cstime) and those alive at either end of the window
// (their utime + stime, found by their parent pid). Their memory is shown as the sum of
// their PSS (shared pages split between the processes that map them), not of their RSS. smokeping_prober is one Go process with its
// own raw ICMP sockets (--privileged): utime + stime. Not a test: no assertion.
//
//   node bench/icmp.ts [--hosts 10,50,200] [--seconds 30] [--warmup 20s] [--packets 10]
//                      [--spacing 100ms] [--interval 10s] [--only slaprobe|smokeping]
//                      [--tag NAME]   (results to bench/results/icmp-<date>-NAME.json)
//                      [--smokeping-sockets raw|dgram]
//
// --smokeping-sockets raw (default): smokeping_prober --privileged, one raw ICMP socket per
// host. dgram: `protocol: udp` without --privileged, ICMP datagram ("ping") sockets, which need
// net.ipv4.ping_group_range to cover root's group. Never change that on the host: run the
// whole bench in a network namespace of its own, where iputils ping then uses datagram
// sockets too (see docs/bench-icmp.md):
//   unshare -n sh -c 'ip link set lo up && sysctl -qw net.ipv4.ping_group_range="0 2147483647" &&
//     node bench/icmp.ts --smokeping-sockets dgram --tag dgram'
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.ts';
import { bucketQuantile, scrape } from './support/metrics.ts';
import { CLK_TCK, cpuBusySeconds, freePort, memoryMiB, printTable, runQueueSeconds, stopChild, waitHttp } from './support/process.ts';

const REPO = join(import.meta.dirname, '..');
/** The project's own node (v24): the system one may be older. */
const NODE = join(REPO, 'node_modules/.bin/node');
const PROBER_CPU = '0';
const OTHER_CPU = '1';
/** Autogroup weight of the prober's session (as bench/core.ts; ping children inherit it). */
const PROBER_NICE = -10;

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '10,50,200' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string' },
    packets: { type: 'string', default: '10' },
    spacing: { type: 'string', default: '100ms' },
    interval: { type: 'string', default: '10s' },
    only: { type: 'string' },
    tag: { type: 'string' },
    'smokeping-sockets': { type: 'string', default: 'raw' },
  },
});
const counts = args.hosts.split(',').map(Number);
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 65_000)) throw new Error('--hosts: whole numbers, 1 to 65000 (loopback addresses only)');
const windowS = Number(args.seconds);
const packets = Number(args.packets);
const spacingMs = parseDuration(args.spacing) ?? 100;
const intervalMs = parseDuration(args.interval) ?? 10_000;
const warmupMs = args.warmup ? parseDuration(args.warmup) ?? 20_000 : Math.max(20_000, 2 * intervalMs);
/** smokeping sends one packet per host every this long: the same packets/s per host. */
const smokepingIntervalMs = intervalMs / packets;
const sockets = args['smokeping-sockets'];
if (sockets !== 'raw' && sockets !== 'dgram') throw new Error('--smokeping-sockets: raw or dgram');
const pingGroupRange = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
if (sockets === 'dgram' && !(pingGroupRange[0]! <= 0 && 0 <= pingGroupRange[1]!)) throw new Error('--smokeping-sockets dgram: net.ipv4.ping_group_range does not cover group 0 (run in a network namespace, see the header)');
const runs = { slaprobe: args.only !== 'smokeping', smokeping: args.only !== 'slaprobe' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 127.0.0.1 .. 127.0.0.N, then on through 127.0.1.0 and up: always inside 127.0.0.0/8. */
const loopback = (i: number) => `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

const children = new Set<ChildProcess>();
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));
process.once('SIGINT', () => process.exit(130));
function spawnPinned(cmd: string[]): ChildProcess {
  const child = spawn('taskset', ['-c', PROBER_CPU, ...cmd], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  children.add(child);
  child.once('exit', () => children.delete(child));
  try {
    writeFileSync(`/proc/${child.pid}/autogroup`, String(PROBER_NICE));
  } catch { /* no autogroup: default weight */ }
  return child;
}

// --- /proc ----------------------------------------------------------------------------------

/** Fields after the command name of /proc/PID/stat (index 0 = state, field 3 of proc(5)). */
function statFields(pid: number | string): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone
  }
}

interface TreeCpu { self: number; reaped: number; live: number; liveCount: number; liveRssMiB: number; livePids: number[]; liveNs: Map<number, number> }

/** Proportional set size of a process, MiB (0 once it is gone). */
function pssMiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of a process and its children: its own utime + stime (every thread), its
 * reaped children's (cutime + cstime) and its live children's utime + stime + cutime +
 * cstime. The live children are read before the parent, so a child reaped in between is
 * counted twice rather than missed (a ping run costs about a millisecond: negligible).
 */
function treeCpu(pid: number): TreeCpu {
  let live = 0;
  let liveCount = 0;
  let liveRssPages = 0;
  const livePids: number[] = [];
  // Nanoseconds on CPU per live child (/proc/PID/schedstat): a ping runs a few microseconds
  // per packet, between clock ticks, and utime + stime hardly ever charge it one.
  const liveNs = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || name === String(pid)) continue;
    const f = statFields(name);
    if (!f || Number(f[1]) !== pid) continue;
    live += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    liveRssPages += Number(f[21]);
    liveCount++;
    livePids.push(Number(name));
    try {
      liveNs.set(Number(name), Number(readFileSync(`/proc/${name}/schedstat`, 'utf8').split(' ')[0]));
    } catch { /* gone */ }
  }
  const f = statFields(pid)!;
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, reaped: (Number(f[13]) + Number(f[14])) / CLK_TCK, live: live / CLK_TCK, liveCount, liveRssMiB: (liveRssPages * 4096) / 2 ** 20, livePids, liveNs };
}
const treeTotal = (t: TreeCpu) => t.self + t.reaped + t.live;




const reading = (pid: number) => ({ t: performance.now(), tree: treeCpu(pid), cpu0: cpuBusySeconds(PROBER_CPU), wait: runQueueSeconds(pid) });

/** Live children (count, summed RSS and PSS) sampled every 2 s over the window, averaged. */
function sampleChildren(pid: number) {
  const samples: (TreeCpu & { pss: number })[] = [];
  const timer = setInterval(() => {
    const t = treeCpu(pid);
    samples.push({ ...t, pss: t.livePids.reduce((a, p) => a + pssMiB(p), 0) });
  }, 2000);
  return () => {
    clearInterval(timer);
    const mean = (k: 'liveCount' | 'liveRssMiB' | 'pss') => samples.reduce((a, s) => a + s[k], 0) / Math.max(1, samples.length);
    return { count: mean('liveCount'), rssMiB: mean('liveRssMiB'), pssMiB: mean('pss'), maxCount: Math.max(0, ...samples.map((s) => s.liveCount)) };
  };
}

// --- one prober at one host count -----------------------------------------------------------

interface Row {
  prober: 'slaprobe' | 'smokeping';
  hosts: number;
  /** Packets/s the configuration asks for, all hosts together. */
  rate: number;
  windowSeconds: number;
  sent: number;
  received: number;
  sentPerSecond: number;
  /** CPU seconds over the window: prober process + (slaprobe) its ping children. */
  cpuSeconds: number;
  /** slaprobe: of cpuSeconds, the ping children's part. */
  childCpuSeconds: number;
  /** slaprobe: CPU of the ping children alive at both ends of the window, from schedstat (ns). */
  childSchedSeconds: number;
  cpuPercentOfCore: number;
  cpuSecondsPer1000: number;
  rssMiB: number;
  hwmMiB: number;
  /** slaprobe: live ping children, averaged over 2 s samples, and their summed RSS and PSS. */
  pingChildren?: { count: number; maxCount: number; rssMiB: number; pssMiB: number };
  latenessP99Ms: number | null;
  otherOnProberCpuPercent: number;
  runQueueWaitPercent: number;
}

async function measure(
  prober: Row['prober'], n: number, child: ChildProcess, metricsUrl: string,
  counters: (m: Awaited<ReturnType<typeof scrape>>) => { sent: number; received: number; lateness?: [number, number][] },
): Promise<Row> {
  await sleep(warmupMs);
  // The window runs from the end of one scrape to the end of the next (as bench/core.ts).
  const m0 = counters(await scrape(metricsUrl));
  const r0 = reading(child.pid!);
  const sampled = sampleChildren(child.pid!);
  await sleep(windowS * 1000);
  const m1 = counters(await scrape(metricsUrl));
  const r1 = reading(child.pid!);
  const kids = sampled();
  const mem = memoryMiB(child.pid!);
  const elapsed = (r1.t - r0.t) / 1000;
  const cpu = treeTotal(r1.tree) - treeTotal(r0.tree);
  const childCpu = r1.tree.reaped + r1.tree.live - r0.tree.reaped - r0.tree.live;
  const sent = m1.sent - m0.sent;
  return {
    prober, hosts: n, rate: (n * packets * 1000) / intervalMs, windowSeconds: elapsed, sent, received: m1.received - m0.received,
    sentPerSecond: sent / elapsed, cpuSeconds: cpu, childCpuSeconds: childCpu,
    childSchedSeconds: [...r1.tree.liveNs].reduce((a, [p, ns]) => a + (r0.tree.liveNs.has(p) ? ns - r0.tree.liveNs.get(p)! : 0), 0) / 1e9, cpuPercentOfCore: (100 * cpu) / elapsed,
    cpuSecondsPer1000: (1000 * cpu) / sent, rssMiB: mem.rss, hwmMiB: mem.hwm,
    ...(prober === 'slaprobe' ? { pingChildren: kids } : {}),
    latenessP99Ms: m0.lateness && m1.lateness ? 1000 * bucketQuantile(0.99, m0.lateness, m1.lateness) : null,
    otherOnProberCpuPercent: (100 * Math.max(0, r1.cpu0 - r0.cpu0 - cpu)) / elapsed,
    runQueueWaitPercent: (100 * (r1.wait - r0.wait)) / elapsed,
  };
}

async function benchSlaprobe(n: number, dir: string): Promise<Row> {
  const port = await freePort();
  const config = join(dir, `slaprobe-${n}.yaml`);
  writeFileSync(config, [
    `agent: {region: bench, listen: "127.0.0.1:${port}", data_dir: "${join(dir, `data-${n}`)}", log_level: warn}`,
    'targets:',
    ...Array.from({ length: n }, (_, i) => `  - {name: t${i + 1}, kind: icmp, address: ${loopback(i + 1)}, packets: ${packets}, spacing: ${spacingMs}ms, interval: ${intervalMs}ms, timeout: 5s}`),
  ].join('\n') + '\n');
  const agent = spawnPinned([NODE, join(REPO, 'src/cli.ts'), 'run', '--config', config]);
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, agent);
    return await measure('slaprobe', n, agent, `http://127.0.0.1:${port}/metrics`, (m) => ({
      sent: m.sum('slaprobe_packets_sent_total'),
      received: m.sum('slaprobe_packets_received_total'),
      lateness: m.buckets('slaprobe_scheduler_lateness_seconds'),
    }));
  } finally {
    await stopChild(agent);
  }
}

async function benchSmokeping(n: number, dir: string): Promise<Row> {
  const port = await freePort();
  const config = join(dir, `smokeping-${n}.yml`);
  // Its own config file: the packaged one adds "localhost". Raw sockets (--privileged) or
  // datagram ones (--smokeping-sockets dgram), IPv4, 56 payload bytes as slaprobe's default.
  writeFileSync(config, [
    'targets:',
    '- hosts:',
    ...Array.from({ length: n }, (_, i) => `  - ${loopback(i + 1)}`),
    `  interval: ${smokepingIntervalMs}ms`,
    '  network: ip4',
    // smokeping 0.6.1 takes the socket kind from this, not from --privileged: icmp = raw.
    `  protocol: ${sockets === 'raw' ? 'icmp' : 'udp'}`,
    '  size: 56',
  ].join('\n') + '\n');
  const exporter = spawnPinned(['prometheus-smokeping-prober', `--config.file=${config}`, ...(sockets === 'raw' ? ['--privileged'] : []), `--ping.interval=${smokepingIntervalMs}ms`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
  try {
    await waitHttp(`http://127.0.0.1:${port}/metrics`, exporter);
    return await measure('smokeping', n, exporter, `http://127.0.0.1:${port}/metrics`, (m) => ({
      sent: m.sum('smokeping_requests_total'),
      received: m.sum('smokeping_response_duration_seconds_count'),
    }));
  } finally {
    await stopChild(exporter);
  }
}

const version = (cmd: string[]) => {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0]?.trim() ?? '';
};

// --- the run --------------------------------------------------------------------------------

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

async function main() {
  execFileSync('taskset', ['-a', '-p', '-c', OTHER_CPU, String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-bench-icmp-'));
  const rows: Row[] = [];
  try {
    for (const n of counts) {
      console.error(`${n} hosts (127.0.0.1 .. ${loopback(n)}), ${(n * packets * 1000) / intervalMs} packets/s: warm-up ${warmupMs / 1000} s, window ${windowS} s`);
      if (runs.slaprobe) rows.push(await benchSlaprobe(n, dir));
      if (runs.smokeping) rows.push(await benchSmokeping(n, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const header = ['prober', 'hosts', 'pkt/s asked', 'pkt/s sent', 'received %', 'CPU % of core', 'of which ping %', 'ping % (schedstat)', 'CPU s / 1k pkts', 'RSS MiB', 'peak RSS MiB', 'ping procs (avg/max, PSS MiB)', 'lateness p99 ms', 'others on CPU 0 %', 'run-queue wait %'];
  const table = rows.map((r) => [
    r.prober, String(r.hosts), f(r.rate, 0), f(r.sentPerSecond), f((100 * r.received) / r.sent, 2), f(r.cpuPercentOfCore, 2),
    r.prober === 'slaprobe' ? f((100 * r.childCpuSeconds) / r.windowSeconds, 2) : '-',
    r.prober === 'slaprobe' ? f((100 * r.childSchedSeconds) / r.windowSeconds, 2) : '-', f(r.cpuSecondsPer1000, 3), f(r.rssMiB), f(r.hwmMiB),
    r.pingChildren ? `${f(r.pingChildren.count)}/${r.pingChildren.maxCount}, ${f(r.pingChildren.pssMiB)}` : '-',
    f(r.latenessP99Ms, 2), f(r.otherOnProberCpuPercent), f(r.runQueueWaitPercent),
  ]);
  printTable(header, table);

  const ratios = counts.map((n) => {
    const s = rows.find((r) => r.prober === 'slaprobe' && r.hosts === n);
    const p = rows.find((r) => r.prober === 'smokeping' && r.hosts === n);
    return { hosts: n, rate: (n * packets * 1000) / intervalMs, cpuRatio: s && p ? s.cpuSecondsPer1000 / p.cpuSecondsPer1000 : null };
  });
  console.log('');
  for (const r of ratios) console.log(`CPU per packet, slaprobe / smokeping at ${r.hosts} hosts (${r.rate} packets/s): ${f(r.cpuRatio, 2)}`);

  const date = new Date().toISOString().slice(0, 10);
  const out = join(REPO, 'bench/results', `icmp-${date}${args.tag ? `-${args.tag}` : ''}.json`);
  mkdirSync(join(REPO, 'bench/results'), { recursive: true });
  writeFileSync(out, JSON.stringify({
    date: new Date().toISOString(),
    command: `node bench/icmp.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: version([NODE, '--version']), ping: version(['ping', '-V']), smokeping: version(['prometheus-smokeping-prober', '--version']), kernel: version(['uname', '-r']) },
    settings: { hosts: counts, packets, spacingMs, intervalMs, smokepingIntervalMs, windowSeconds: windowS, warmupMs, proberCpu: PROBER_CPU, otherCpu: OTHER_CPU, proberNice: PROBER_NICE, smokepingSockets: sockets, pingGroupRange },
    rows,
    ratios,
  }, null, 2) + '\n');
  console.log(`\nwritten ${out}`);
}

await main();
