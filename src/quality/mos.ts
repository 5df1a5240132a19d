// A simplified ITU-T G.107 E-model, as in Cole & Rosenbluth, "Voice over IP performance
// monitoring" (ACM CCR 2001), for G.711 with packet-loss concealment. An estimate of what a
// listener would score, from network figures only; it is not a listening test.
//
//   Ta   = one-way delay + 2 x jitter (a jitter buffer of twice the jitter) + 10 ms (codec)
//   Id   = 0.024 Ta + 0.11 (Ta - 177.3) H(Ta - 177.3)        (Ta in ms, H the step function)
//   Ie   = Ie0 + (95 - Ie0) x Ppl / (Ppl + Bpl)               (G.107 eq. 7-29, random loss, BurstR = 1)
//          with Ie0 = 0 and Bpl = 25.1 for G.711 with PLC (G.113 Appendix I), Ppl in percent
//   R    = 93.2 - Id - Ie
//   MOS  = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R), 1 for R < 0, 4.5 for R > 100

export const MOS_CODEC = { ie0: 0, bpl: 25.1, codecDelayMs: 10 };

export function rFactor(oneWayDelayMs: number, jitterMs: number, lossRatio: number): number {
  const ta = oneWayDelayMs + 2 * jitterMs + MOS_CODEC.codecDelayMs;
  const id = 0.024 * ta + (ta > 177.3 ? 0.11 * (ta - 177.3) : 0);
  const ppl = Math.max(0, Math.min(1, lossRatio)) * 100;
  const ie = MOS_CODEC.ie0 + ((95 - MOS_CODEC.ie0) * ppl) / (ppl + MOS_CODEC.bpl);
  return 93.2 - id - ie;
}

export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

/** MOS estimate from the round-trip time (one-way taken as half of it), jitter and loss ratio. */
export function estimateMos(rttMs: number, jitterMs: number, lossRatio: number): number {
  return mosFromR(rFactor(rttMs / 2, jitterMs, lossRatio));
}
