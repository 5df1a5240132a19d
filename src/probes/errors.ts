// Failure reasons from stable codes only: Node errno codes, undici's UND_ERR_* codes,
// OpenSSL verification codes and llhttp's HPE_* codes. Message text is never read.
import type { FailureReason } from './types.ts';

const BY_CODE: Record<string, FailureReason> = {
  ENOTFOUND: 'dns', EAI_AGAIN: 'dns', EAI_FAIL: 'dns', EAI_NODATA: 'dns', EAI_NONAME: 'dns', ENODATA: 'dns', ESERVFAIL: 'dns', ENOTIMP: 'dns', EREFUSED: 'dns',
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable', ENETUNREACH: 'unreachable', EADDRNOTAVAIL: 'unreachable', EHOSTDOWN: 'unreachable', ENETDOWN: 'unreachable',
  ECONNRESET: 'reset', EPIPE: 'reset', ECONNABORTED: 'reset', UND_ERR_SOCKET: 'reset', UND_ERR_CLOSED: 'reset',
  ETIMEDOUT: 'timeout', ABORT_ERR: 'timeout', UND_ERR_ABORTED: 'timeout', UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout', UND_ERR_BODY_TIMEOUT: 'timeout', ERR_SOCKET_CONNECTION_TIMEOUT: 'timeout',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'too_large', UND_ERR_HEADERS_OVERFLOW: 'too_large',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'protocol', UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'protocol', UND_ERR_INFO: 'protocol', UND_ERR_HTTP_PARSER: 'protocol',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls', ERR_TLS_HANDSHAKE_TIMEOUT: 'timeout', ERR_SSL_WRONG_VERSION_NUMBER: 'tls',
  CERT_HAS_EXPIRED: 'tls', CERT_NOT_YET_VALID: 'tls', DEPTH_ZERO_SELF_SIGNED_CERT: 'tls', SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls', UNABLE_TO_GET_ISSUER_CERT: 'tls', UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  CERT_REVOKED: 'tls', CERT_UNTRUSTED: 'tls', CERT_REJECTED: 'tls', HOSTNAME_MISMATCH: 'tls', CERT_SIGNATURE_FAILURE: 'tls',
  ERR_TLS_INVALID_PROTOCOL_VERSION: 'tls', ERR_TLS_PROTOCOL_VERSION_CONFLICT: 'tls',
};

export interface Classified { reason: FailureReason; code: string }

/** Finds the most specific code on an error and its `cause` chain. */
export function classify(err: unknown): Classified {
  let e: unknown = err;
  let fallback: string | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = codeOf(e);
    if (code) {
      const r = reasonFor(code);
      if (r) return { reason: r, code };
      fallback ??= code;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return { reason: 'error', code: fallback ?? 'UNKNOWN' };
}

function codeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const c = (e as { code?: unknown }).code;
  if (typeof c === 'string') return c;
  const name = (e as { name?: unknown }).name;
  if (name === 'AbortError' || name === 'TimeoutError') return 'ABORT_ERR';
  // undici's parser error carries no code when llhttp gives none: its class name is stable.
  if (name === 'HTTPParserError') return 'UND_ERR_HTTP_PARSER';
  return undefined;
}

function reasonFor(code: string): FailureReason | undefined {
  const r = BY_CODE[code];
  if (r) return r;
  if (code.startsWith('HPE_')) return 'protocol'; // llhttp parse errors: the peer is not speaking HTTP/1.1
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_OSSL_')) return 'tls';
  return undefined;
}

/** A one-line human detail for logs and the CLI (never a label, never classified). */
export function detailOf(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const msg = (e as { message?: unknown }).message;
    const code = codeOf(e);
    if (typeof msg === 'string' && msg !== '' && msg !== 'connection failed') parts.push(code && !msg.includes(code) ? `${code}: ${msg}` : msg);
    e = (e as { cause?: unknown }).cause;
  }
  // Node's hint (run Node.js with --use-system-ca) is advice for Node's own users: slaprobe's
  // are told about ca_file / --ca-file and insecure_skip_verify / --insecure instead.
  return parts.join(' <- ').split('\n')[0]!.replace(/;?\s*if the root CA is installed locally, try running Node\.js with --use-system-ca/g, '').slice(0, 300);
}
