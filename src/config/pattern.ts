// must_match, must_not_match and tcp expect are RE2 patterns (re2js, a pure-JS port of RE2):
// matching is linear in the input whatever the pattern, so no body and no pattern can stall
// the probe engine (JavaScript's backtracking RegExp takes exponential time on `^(a+)+$`).
// Config holds the source; the engine worker compiles it once (a compiled pattern does not
// survive postMessage).
import { RE2JS } from 're2js';

const compiled = new Map<string, RE2JS>();

/** Compiles an RE2 pattern; throws with RE2's message when it cannot. */
export function compilePattern(source: string): RE2JS {
  let re = compiled.get(source);
  if (!re) {
    re = RE2JS.compile(source);
    // Patterns come only from config; a long run of reloads with new ones must not grow this.
    if (compiled.size >= 10_000) compiled.clear();
    compiled.set(source, re);
  }
  return re;
}

/** Why `source` is not a pattern RE2 accepts, or undefined when it is. */
export function patternError(source: string): string | undefined {
  try {
    compilePattern(source);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Whether `text` contains a match of `source` (unanchored, like RegExp.test). */
export function patternMatches(source: string, text: string): boolean {
  return compilePattern(source).matcher(text).find();
}
