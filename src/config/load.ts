// Reads a YAML config file once, at the edge: parse, expand ${ENV} and ${file:...} secrets,
// validate strictly, and report every problem as "file:line:column: yaml.path: message".
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { Ctx, type Path, pathString } from './check.ts';
import type { Config } from './types.ts';
import { validateConfig } from './validate.ts';

export const EMBEDDED_DEFAULT = resolve(dirname(fileURLToPath(import.meta.url)), '../../config/default.yaml');

/** Config rejected: `messages` are one line each, ready to print. Exit code 2 at the CLI. */
export class ConfigError extends Error {
  readonly code = 'SLAPROBE_CONFIG_INVALID';
  readonly messages: string[];
  constructor(messages: string[]) {
    super(messages.join('\n'));
    this.name = 'ConfigError';
    this.messages = messages;
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Name to show in messages; defaults to the path given. */
  displayName?: string;
}

export function loadConfigFile(file: string, opts: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(code);
    throw new ConfigError([`${file}: cannot read config (${why}); pass an existing YAML file with --config, e.g. --config config/default.yaml`]);
  }
  return parseConfig(text, opts.displayName ?? file, { ...opts, baseDir: dirname(resolve(file)), source: resolve(file) });
}

export function parseConfig(text: string, name: string, opts: LoadOptions & { baseDir?: string; source?: string } = {}): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: false });
  const at = (offset: number) => {
    const { line, col } = lc.linePos(offset);
    return `${name}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${at(e.pos[0])}: YAML syntax error: ${e.message.split('\n')[0]} (${e.code}); fix the YAML at this position`));
  }
  const ctx = new Ctx();
  const raw = expandSecrets(doc.toJS({ maxAliasCount: 100 }), [], ctx, opts.env ?? process.env, opts.baseDir ?? process.cwd());
  const cfg = ctx.issues.length === 0 ? validateConfig(raw, opts.source ?? name, ctx) : undefined;
  if (!cfg) {
    // In file order, so the messages read top to bottom like the file.
    const located = ctx.issues.map((i) => ({ i, offset: locate(doc, i.path, i.atKey ?? false)?.range?.[0] }));
    located.sort((a, b) => (a.offset ?? -1) - (b.offset ?? -1));
    throw new ConfigError(located.map(({ i, offset }) => `${offset === undefined ? name : at(offset)}: ${pathString(i.path)}: ${i.message}`));
  }
  return cfg;
}

/** The YAML node at `path` (or its key), else the nearest ancestor that exists. */
function locate(doc: Document, path: Path, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let best = node as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === seg);
      if (!pair) return best;
      if (last && atKey) return pair.key as Node;
      node = pair.value;
      // A key with no value (`interval:`) has no value node: point at the key.
      best = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) return best;
      best = node as Node;
    } else {
      return best;
    }
  }
  return best;
}

/**
 * "${NAME}" takes an environment variable, "${file:/path}" a file's contents (trailing newline
 * removed, relative paths from the config's folder); "$${" is a literal "${". The values are
 * never logged: the agent logs names, kinds and intervals only.
 */
function expandSecrets(v: unknown, path: Path, ctx: Ctx, env: NodeJS.ProcessEnv, baseDir: string): unknown {
  if (typeof v === 'string') {
    if (!v.includes('${')) return v;
    return v.replace(/\$?\$\{([^}]*)\}/g, (whole, ref: string) => {
      if (whole.startsWith('$$')) return whole.slice(1);
      if (ref.startsWith('file:')) {
        const f = resolve(baseDir, ref.slice(5));
        try {
          return readFileSync(f, 'utf8').replace(/\r?\n$/, '');
        } catch (e) {
          ctx.add(path, `cannot read secret file ${f} (${(e as NodeJS.ErrnoException).code}); check the path and its permissions`);
          return '';
        }
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref)) {
        ctx.add(path, `"\${${ref}}" is not a valid reference; use \${ENV_VAR_NAME} or \${file:/path/to/secret}`);
        return '';
      }
      const val = env[ref];
      if (val === undefined) {
        ctx.add(path, `environment variable ${ref} is not set; export it before starting slaprobe, or use \${file:/path} instead`);
        return '';
      }
      return val;
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => expandSecrets(x, [...path, i], ctx, env, baseDir));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expandSecrets(x, [...path, k], ctx, env, baseDir)]));
  }
  return v;
}
