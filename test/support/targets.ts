// Targets built through the real config validator, so tests use the real defaults.
import { Ctx } from '../../src/config/check.ts';
import type { Target } from '../../src/config/types.ts';
import { validateConfig } from '../../src/config/validate.ts';

export function makeTarget<T extends Target = Target>(raw: Record<string, unknown>): T {
  const ctx = new Ctx();
  const cfg = validateConfig({ targets: [{ name: 't', interval: '60s', timeout: '5s', ...raw }] }, 'test', ctx);
  if (!cfg) throw new Error(`bad test target: ${ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return cfg.targets[0] as T;
}
