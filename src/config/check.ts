// Small validation kit for the YAML config: every reader takes the value, its YAML path and
// the issue list; a bad value adds one issue that names the path and says how to fix it,
// and returns undefined so that validation goes on and reports every problem at once.
// Positions (file:line:column) are added by load.ts, which maps paths back to YAML nodes.
import { parseDuration } from './duration.ts';
import { patternError } from './pattern.ts';

const MAX_PATTERN = 4096;
/** Ceiling of a duration that sets no maximum of its own. */
const MAX_DURATION = 366 * 86_400_000;

export type Path = readonly (string | number)[];

export interface Issue {
  path: Path;
  message: string;
  /** Point at the key (unknown key) rather than the value. */
  atKey?: boolean;
}

export class Ctx {
  readonly issues: Issue[] = [];
  add(path: Path, message: string, atKey = false): undefined {
    this.issues.push({ path, message, ...(atKey ? { atKey } : {}) });
    return undefined;
  }
}

export function pathString(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s === '' ? '(top level)' : s;
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A mapping whose keys must all be in `allowed`: a typo such as `intervall` is an error. */
export function mapping(ctx: Ctx, v: unknown, path: Path, allowed: readonly string[]): Obj | undefined {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) return ctx.add(path, `expected a mapping of keys (${allowed.join(', ')}), got ${describe(v)}`);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      const near = closest(k, allowed);
      ctx.add([...path, k], `unknown key "${k}"${near ? `; did you mean "${near}"?` : ''} Allowed here: ${allowed.join(', ')}`, true);
    }
  }
  return v;
}

export function list(ctx: Ctx, v: unknown, path: Path): unknown[] | undefined {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return ctx.add(path, `expected a list, got ${describe(v)}`);
  return v;
}

export function str(ctx: Ctx, v: unknown, path: Path, opts: { required?: boolean; pattern?: RegExp; hint?: string } = {}): string | undefined {
  if (v === undefined || v === null) {
    if (opts.required) ctx.add(path, `is required${opts.hint ? `: ${opts.hint}` : ''}`);
    return undefined;
  }
  if (typeof v !== 'string' || v === '') return ctx.add(path, `expected a non-empty string${opts.hint ? ` (${opts.hint})` : ''}, got ${describe(v)}`);
  if (opts.pattern && !opts.pattern.test(v)) return ctx.add(path, `${JSON.stringify(v)} is not valid: ${opts.hint ?? `must match ${opts.pattern}`}`);
  return v;
}

export function oneOf<T extends string>(ctx: Ctx, v: unknown, path: Path, choices: readonly T[], dflt?: T): T | undefined {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    return ctx.add(path, `expected one of ${choices.join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

export function bool(ctx: Ctx, v: unknown, path: Path, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') {
    ctx.add(path, `expected true or false, got ${describe(v)}`);
    return dflt;
  }
  return v;
}

export function int(ctx: Ctx, v: unknown, path: Path, opts: { min?: number; max?: number; dflt?: number } = {}): number | undefined {
  if (v === undefined || v === null) return opts.dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) return ctx.add(path, `expected a whole number, got ${describe(v)}`);
  return range(ctx, v, path, opts);
}

export function num(ctx: Ctx, v: unknown, path: Path, opts: { min?: number; max?: number; dflt?: number } = {}): number | undefined {
  if (v === undefined || v === null) return opts.dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) return ctx.add(path, `expected a number, got ${describe(v)}`);
  return range(ctx, v, path, opts);
}

function range(ctx: Ctx, v: number, path: Path, opts: { min?: number; max?: number }): number | undefined {
  if (opts.min !== undefined && v < opts.min) return ctx.add(path, `must be at least ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) return ctx.add(path, `must be at most ${opts.max}, got ${v}`);
  return v;
}

/** A duration string such as "500ms", "30s", "5m", "1h", "1d"; returns milliseconds. */
export function duration(ctx: Ctx, v: unknown, path: Path, opts: { dflt?: number; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined || v === null) return opts.dflt;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) return ctx.add(path, `expected a duration such as "30s", got ${describe(v)}; units: ms, s, m, h, d (e.g. "500ms", "1m30s")`);
  if (opts.min !== undefined && ms < opts.min) return ctx.add(path, `must be at least ${formatMs(opts.min)}, got ${JSON.stringify(v)}`);
  // Every duration has a ceiling, so "1e9d" cannot become Infinity or overflow a timer.
  const max = opts.max ?? MAX_DURATION;
  if (ms > max) return ctx.add(path, `must be at most ${formatMs(max)}, got ${JSON.stringify(v)}`);
  return ms;
}

/** An http:// or https:// URL, without credentials in it (they would show in logs). */
export function url(ctx: Ctx, v: unknown, path: Path, o: { hint: string; example: string; credentials: string }): string | undefined {
  const s = str(ctx, v, path, { required: true, hint: o.hint });
  if (s === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return ctx.add(path, `${JSON.stringify(s)} is not a valid URL; write it in full, e.g. ${o.example}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return ctx.add(path, `scheme "${u.protocol.slice(0, -1)}" is not supported; use http:// or https://`);
  if (u.username || u.password) return ctx.add(path, `must not carry credentials; ${o.credentials}`);
  return s;
}

/** An RE2 pattern (src/config/pattern.ts); returns its source, checked to compile. */
export function pattern(ctx: Ctx, v: unknown, path: Path): string | undefined {
  const s = str(ctx, v, path);
  if (s === undefined) return undefined;
  if (s.length > MAX_PATTERN) return ctx.add(path, `is ${s.length} characters long; patterns are at most ${MAX_PATTERN}`);
  const why = patternError(s);
  if (why !== undefined) return ctx.add(path, `is not a valid RE2 pattern (${why}); RE2 syntax has no lookaround or backreferences, see README "Patterns", e.g. "^ok$"`);
  return s;
}

export function stringMap(ctx: Ctx, v: unknown, path: Path, keyPattern?: RegExp, keyHint?: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) {
    ctx.add(path, `expected a mapping of names to strings, got ${describe(v)}`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (keyPattern && !keyPattern.test(k)) {
      ctx.add([...path, k], `key "${k}" is not valid: ${keyHint ?? `must match ${keyPattern}`}`, true);
      continue;
    }
    if (typeof val === 'string') out[k] = val;
    else if (typeof val === 'number' || typeof val === 'boolean') out[k] = String(val);
    else ctx.add([...path, k], `expected a string, got ${describe(val)}`);
  }
  return out;
}

export function formatMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function closest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of choices) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
