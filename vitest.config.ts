import { defineConfig } from 'vitest/config';

// Tests that measure time against a known truth (RTT accuracy through the impairment relay,
// a blocked main thread) run in a second group, one file at a time, after everything else:
// on a 2-core machine a neighbouring test file's CPU load is noise they should not see.
const TIMING = [
  'test/**/*.timing.test.ts',
  'test/engine.test.ts',
  'test/probes/accuracy.test.ts',
  'test/probes/udp-echo-blocked-main.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: TIMING, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'timing', include: TIMING, fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
