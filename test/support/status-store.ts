// A store with ten days of history before today (UTC) for the status page and HTML report
// tests, written through the store's own API as the agent writes it: runs every 5 minutes
// from two regions (eu, asia; asia stops two days ago), and in it
//   D-3 02:00-02:40  down: a counted 40-minute outage (97.2222 % that day under udesk)
//   D-4 03:00-03:02  down: 2 minutes, under udesk's 5-minute minimum, not counted
//   D-5 03:00-04:00  the one-off maintenance "db-upgrade" of the config (up throughout)
//   D-6 10:00-14:00  no runs at all: unknown
//   D-7 05:00-06:00  a quality breach: degraded
//   D-8 10:00-10:30  down inside a recorded exclusion (carrier fault): excluded
// and Alertmanager's notification about the D-3 outage delivered at 02:07 (HEDU-5.7: in time).
// Today (D0) has no history: from midnight until the agent starts it is unknown.
import { openStore } from '../../src/store/index.ts';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
const STEP = 5 * 60_000;

export interface History {
  /** Midnight UTC of today. */
  d0: number;
  day: (n: number) => number;
  /** The YYYY-MM-DD of D-n. */
  date: (n: number) => string;
}

export function history(now: number): History {
  const d0 = now - (now % DAY);
  return { d0, day: (n) => d0 - n * DAY, date: (n) => new Date(d0 - n * DAY).toISOString().slice(0, 10) };
}

/** Config YAML for the history's service: udesk first (the day bars), then hedu. */
export function statusConfig(h: History, dataDir: string, targetAddress: string, region = 'eu'): string {
  const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
  return `
agent: { region: ${region}, listen: "127.0.0.1:0", data_dir: ${JSON.stringify(dataDir)} }
targets:
  - { name: api, kind: tcp, address: "${targetAddress}", interval: 2s, timeout: 1s }
services:
  - { name: meet, targets: [api], sla: [udesk, hedu] }
maintenance:
  - { name: db-upgrade, reason: "announced database upgrade (CONTRACT-7.1.2)", services: [meet], start: "${iso(h.day(5) + 3 * HOUR)}", end: "${iso(h.day(5) + 4 * HOUR)}" }
  - { name: media-upgrade, reason: "announced media server upgrade", services: [meet], start: "${iso(h.day(-1) + 2 * HOUR)}", end: "${iso(h.day(-1) + 3 * HOUR)}" }
`;
}

export interface HistoryRun { t: number; region: string; ok: boolean }

/** Every run of the history, in time order, with the region that made it. */
export function historyRuns(h: History): HistoryRun[] {
  const start = h.day(10);
  const down = (t: number) =>
    (t >= h.day(3) + 2 * HOUR && t < h.day(3) + 2 * HOUR + 40 * 60_000)
    || (t >= h.day(4) + 3 * HOUR && t < h.day(4) + 3 * HOUR + 2 * 60_000)
    || (t >= h.day(8) + 10 * HOUR && t < h.day(8) + 10.5 * HOUR);
  const gap = (t: number) => t >= h.day(6) + 10 * HOUR && t < h.day(6) + 14 * HOUR;
  const times: number[] = [];
  for (let t = start; t < h.d0; t += STEP) times.push(t);
  times.push(h.day(4) + 3 * HOUR + 2 * 60_000); // the run that ends the 2-minute outage
  times.sort((a, b) => a - b);
  const out: HistoryRun[] = [];
  for (const t of times) {
    if (gap(t)) continue;
    for (const region of ['eu', 'asia']) {
      if (region === 'asia' && t >= h.day(2)) continue;
      out.push({ t, region, ok: !down(t) });
    }
  }
  return out;
}

export const HISTORY_STEP = STEP;

/** The history in a store; `degraded: false` leaves out the quality breach (a source without verdicts). */
export function writeHistory(dataDir: string, h: History, opts: { degraded?: boolean } = {}): void {
  const store = openStore(dataDir);
  try {
    store.startRun(h.day(10), process.pid);
    for (const r of historyRuns(h)) {
      store.recordOutcome('api', r.region, { t: r.t, success: r.ok, seen: r.t + 40 }, STEP);
      if (opts.degraded === false || r.region !== 'eu') continue;
      if (r.t === h.day(7) + 5 * HOUR) store.setDegraded('api', true, r.t);
      if (r.t === h.day(7) + 6 * HOUR) store.setDegraded('api', false, r.t);
    }
    store.addExclusion({ service: 'meet', start: h.day(8) + 9.75 * HOUR, end: h.day(8) + 11 * HOUR, reason: 'carrier fault, not the provider\'s (UDESK-13.2)', created_at: h.day(7) });
    store.recordNotifications([{
      at: h.day(3) + 2 * HOUR + 7 * 60_000, alertname: 'SlaprobeServiceDown', status: 'firing', receiver: 'slaprobe-record',
      service: 'meet', sla: null, level: 'L1', severity: 'page', region: null, starts_at: h.day(3) + 2 * HOUR + 60_000, fingerprint: 'f1',
    }]);
    store.stopRun(h.d0 - 1);
  } finally {
    store.close();
  }
}
