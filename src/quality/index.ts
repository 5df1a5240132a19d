// Media-path statistics and verdicts: pure functions of packets and targets.
export * from './bounds.ts';
export * from './mos.ts';
export * from './stats.ts';
export * from './summary.ts';
export * from './verdict.ts';
