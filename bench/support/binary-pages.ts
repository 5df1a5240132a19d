// Which parts of the node binary a running process has in memory (issue 13: over half of the
// idle agent's RSS is file pages of the binary). Reads /proc/PID/maps and the present bit of
// /proc/PID/pagemap (root, or the same user on a kernel that allows it) for every page of the
// binary's own mappings, and names each resident page by the symbol that covers it (`nm`, from
// binutils), or where none does by its ELF section (readelf): in .rodata mostly Node's built-in
// JavaScript sources, which V8 reads in place as external strings; the dynamic symbol table
// and relocations before .text. Not a test.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const PAGE = 4096;

/** The component a symbol belongs to, by its (demangled) name. */
function component(demangled: string): string {
  // "void v8::internal::...", "vtable for node::..." : the scope that names the owner.
  const name = demangled.replace(/^(?:(?:vtable|typeinfo|typeinfo name|guard variable|non-virtual thunk|construction vtable) (?:for|to) |(?:void|bool|int|auto|unsigned|long|char|double|float|const|static|[\w:]+\*?) (?=[\w:]+::))+/, '');
  if (name.includes('icudt')) return 'ICU data';
  if (name.startsWith('v8::internal::compiler::turboshaft')) return 'V8 Turboshaft (optimizing compiler)';
  if (name.startsWith('v8::internal::compiler')) return 'V8 TurboFan (optimizing compiler)';
  if (name.startsWith('v8::internal::maglev')) return 'V8 Maglev';
  if (name.startsWith('v8::internal::wasm')) return 'V8 WebAssembly';
  if (name.startsWith('Builtins_') || name.includes('embedded_blob') || name.includes('blob_data')) return 'V8 builtins and snapshot';
  if (name.startsWith('v8::') || name.startsWith('v8_inspector::') || name.startsWith('cppgc::')) return 'V8, other';
  if (name.startsWith('icu_') || /^u[a-z]*_/.test(name)) return 'ICU code';
  if (name.startsWith('node::') || name.startsWith('ncrypto::')) return 'Node';
  if (/^(ossl_|EVP_|SSL_|BN_|X509|ASN1_|OPENSSL_|CRYPTO_|EC_|RSA_|bn_|aesni_|sha\d|ecp_)/.test(name)) return 'OpenSSL';
  if (name.includes('sqlite')) return 'SQLite';
  if (name.startsWith('uv_') || name.startsWith('uv__')) return 'libuv';
  if (/simdjson|simdutf|^ada::|^absl::|nghttp|llhttp|brotli|Brotli|kBrotli|zstd|ZSTD|inflate|deflate|cares|ares_/.test(name)) return 'other libraries (simdjson, ada, compression, nghttp2, c-ares)';
  if (name.startsWith('std::') || name.startsWith('__')) return 'C++ runtime';
  return 'other symbols';
}

/** A binutils tool's output; if it is missing, an error that says to install it. */
function binutils(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')}: ${(e as Error).message}; install binutils (apt-get install binutils: nm, readelf) for --pages`, { cause: e });
  }
}

/** Resident bytes of `binary`'s mappings in process `pid`, by component, largest first. */
export function residentBinaryPages(pid: number, binary: string): [string, number][] {
  const syms = binutils('nm', ['-S', '-C', '--defined-only', binary]).split('\n').map((l) => /^([0-9a-f]+) ([0-9a-f]+) \S (.*)$/.exec(l)).filter((m) => m !== null)
    .map((m) => ({ start: parseInt(m[1]!, 16), end: parseInt(m[1]!, 16) + Math.max(1, parseInt(m[2]!, 16)), name: m[3]! }))
    .sort((a, b) => a.start - b.start);
  /** The symbol covering some byte of [lo, lo + PAGE), or undefined. */
  const symbolOf = (lo: number): string | undefined => {
    let a = 0, b = syms.length - 1, j = -1;
    while (a <= b) { const m = (a + b) >> 1; if (syms[m]!.start < lo + PAGE) { j = m; a = m + 1; } else b = m - 1; }
    return j >= 0 && syms[j]!.end > lo ? syms[j]!.name : undefined;
  };
  // ELF sections, to say where a page without a symbol is.
  const sections = binutils('readelf', ['-SW', binary]).split('\n')
    .map((l) => /\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(l)).filter((m) => m !== null)
    .map((m) => ({ name: m[1]!, start: parseInt(m[2]!, 16), end: parseInt(m[2]!, 16) + parseInt(m[3]!, 16) })).filter((x) => x.start > 0);
  const sectionOf = (a: number) => sections.find((x) => a >= x.start && a < x.end)?.name ?? 'between sections';
  const out = new Map<string, number>();
  const fd = openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const f = line.split(/\s+/);
      if (f[5] !== binary) continue;
      const [lo, hi] = f[0]!.split('-').map((x) => parseInt(x, 16)) as [number, number];
      const pages = (hi - lo) / PAGE;
      const buf = Buffer.alloc(pages * 8);
      readSync(fd, buf, 0, buf.length, (lo / PAGE) * 8);
      // Copies of the binary's code mapped elsewhere (V8 remaps its builtins next to each
      // isolate's code) lie outside the addresses of the symbol table (the node binary is not
      // position-independent: its symbols' addresses are where it is mapped).
      const remapped = syms.length === 0 || hi <= syms[0]!.start || lo >= syms[syms.length - 1]!.end;
      for (let i = 0; i < pages; i++) {
        if ((buf.readUInt32LE(i * 8 + 4) & 0x80000000) === 0) continue; // bit 63: present
        const at = lo + i * PAGE;
        const name = remapped ? undefined : symbolOf(at);
        const c = remapped ? 'V8 builtins, remapped per isolate' : name === undefined ? `no symbol, ${sectionOf(at)}` : component(name);
        out.set(c, (out.get(c) ?? 0) + PAGE);
      }
    }
  } finally {
    closeSync(fd);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}
