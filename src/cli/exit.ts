/**
 * Exit code of a crash (a bug in slaprobe) in any command but `run`: never 1 or 2, which
 * are verdicts (a probe failed, an SLA missed, nothing to remove) or bad input.
 */
export const EXIT_INTERNAL = 3;
