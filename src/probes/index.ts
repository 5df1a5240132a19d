// Every probe kind, in one map. Adding a kind to PROBE_KINDS without a function here is a
// compile error.
import { httpProbe } from './http.ts';
import { icmpProbe } from './icmp.ts';
import { stunProbe } from './stun.ts';
import { tcpProbe } from './tcp.ts';
import { udpEchoProbe } from './udp-echo.ts';
import type { ProbeFn, ProbeKind } from './types.ts';

export const PROBES = {
  http: httpProbe,
  tcp: tcpProbe,
  icmp: icmpProbe,
  stun: stunProbe,
  'udp-echo': udpEchoProbe,
} satisfies Record<ProbeKind, ProbeFn>;
