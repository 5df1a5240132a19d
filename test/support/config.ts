// The messages of a rejected config, for tests that assert them exactly.
import { ConfigError } from '../../src/config/load.ts';

export function messagesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.messages;
    throw e;
  }
  throw new Error('config was accepted');
}
