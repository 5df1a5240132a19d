// TCP probe: connect time, optional TLS handshake, optional send / expect.
import { patternMatches } from '../config/pattern.ts';
import type { TcpTarget } from '../config/types.ts';
import { ConnectError, connectTimed, hr, secondsSince } from './connect.ts';
import { classify, detailOf } from './errors.ts';
import { type ProbeFn, type ProbeResult, fail } from './types.ts';

/** Most bytes kept while waiting for `expect` to match. */
const EXPECT_BUFFER = 64 * 1024;

export const tcpProbe: ProbeFn = async (target, signal) => {
  const t = target as TcpTarget;
  let conn;
  try {
    conn = await connectTimed({ host: t.host, port: t.port, ip: t.ip_protocol, signal, ...(t.tls_enabled ? { tls: t.tls } : {}) });
  } catch (e) {
    const phases = e instanceof ConnectError ? e.phases : {};
    const { reason, code } = classify(e);
    return fail(reason, detailOf(e), { code, phases });
  }
  const { socket } = conn;
  const base: Partial<ProbeResult> = {
    phases: { dns: conn.dns, connect: conn.connect, ...(conn.tls !== undefined ? { tls: conn.tls } : {}) },
    ...(conn.tlsInfo ? { tls: conn.tlsInfo } : {}),
    info: { remote_address: conn.address },
  };
  try {
    if (t.send !== undefined) socket.write(t.send.replace(/\\r/g, '\r').replace(/\\n/g, '\n'));
    if (t.expect === undefined) return { success: true, ...base };
    const expect = t.expect;
    const t0 = hr();
    const outcome = await new Promise<ProbeResult>((resolve) => {
      let buf = '';
      const done = (r: ProbeResult) => { socket.removeAllListeners(); signal.removeEventListener('abort', onAbort); resolve(r); };
      const onAbort = () => done(fail('timeout', `no answer matching /${expect}/ before the timeout`, { ...base, code: 'ABORT_ERR' }));
      signal.addEventListener('abort', onAbort, { once: true });
      socket.on('data', (d: Buffer) => {
        buf = (buf + d.toString('utf8')).slice(-EXPECT_BUFFER);
        if (patternMatches(expect, buf)) done({ success: true, ...base, phases: { ...base.phases, ttfb: secondsSince(t0) } });
      });
      socket.on('end', () => done(fail('expect', `connection closed before an answer matched /${expect}/`, base)));
      socket.on('error', (e) => { const c = classify(e); done(fail(c.reason, detailOf(e), { ...base, code: c.code })); });
    });
    return outcome;
  } finally {
    socket.destroy();
  }
};
