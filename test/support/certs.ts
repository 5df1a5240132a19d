// Certificates made at test time with the system openssl: a CA, a server certificate for
// localhost / 127.0.0.1 / ::1 signed by it, an expired one, and a self-signed one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caFile: string;
  ca: Buffer;
  valid: { cert: Buffer; key: Buffer; notAfter: number };
  expired: { cert: Buffer; key: Buffer };
  selfSigned: { cert: Buffer; key: Buffer };
  client: { certFile: string; keyFile: string };
}

const SAN = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'slaprobe-pki-'));
  const f = (n: string) => join(dir, n);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '30', '-subj', '/CN=slaprobe test CA');
  // `openssl ca` is the one 3.0 tool that takes explicit start and end dates (for "expired").
  writeFileSync(f('ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndir=${dir}\ndatabase=${f('index.txt')}\nnew_certs_dir=${dir}\ncertificate=${f('ca.pem')}\nprivate_key=${f('ca.key')}\nserial=${f('serial')}\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\nunique_subject=no\n[p]\ncommonName=supplied\n`);
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('serial'), '1000\n');
  const leaf = (name: string, start: string, end: string) => {
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name === 'client' ? 'slaprobe client' : 'localhost'}`, '-addext', SAN);
    ossl('ca', '-batch', '-config', f('ca.cnf'), '-in', f(`${name}.csr`), '-out', f(`${name}.pem`), '-startdate', start, '-enddate', end, '-notext');
    return { cert: readFileSync(f(`${name}.pem`)), key: readFileSync(f(`${name}.key`)) };
  };
  const now = new Date();
  const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const validEnd = new Date(now.getTime() + 20 * 86_400_000);
  validEnd.setUTCMilliseconds(0);
  const valid = { ...leaf('server', stamp(new Date(now.getTime() - 86_400_000)), stamp(validEnd)), notAfter: validEnd.getTime() / 1000 };
  const expired = leaf('expired', stamp(new Date(now.getTime() - 10 * 86_400_000)), stamp(new Date(now.getTime() - 86_400_000)));
  leaf('client', stamp(new Date(now.getTime() - 86_400_000)), stamp(validEnd));
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('self.key'), '-out', f('self.pem'), '-days', '5', '-subj', '/CN=localhost', '-addext', SAN);
  return {
    dir, caFile: f('ca.pem'), ca: readFileSync(f('ca.pem')), valid, expired,
    selfSigned: { cert: readFileSync(f('self.pem')), key: readFileSync(f('self.key')) },
    client: { certFile: f('client.pem'), keyFile: f('client.key') },
  };
}
