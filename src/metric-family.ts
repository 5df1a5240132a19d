// The per-target metric families: counters, gauges, histograms and sum/count summaries whose
// series are labelled by target. At 10,000 mixed targets they are 114,000 series and 320,000
// lines of exposition; in prom-client each series is an object of label values plus a hash
// string, every observation hashes its label set again, and a scrape builds an object per
// line and one string per metric (the largest was 16 MB, in V8's large-object space, with
// the garbage of 180,000 line objects). Here a series is one small record (its labels and a
// row of its family's Float64Array columns: values, counts, bucket counts) that the caller
// keeps and passes back, so an update does no lookup, and the exposition is written in
// chunks of about 64 KiB with no object per line (issue 13, docs/scale.md).
//
// The families register in the same prom-client Registry as the agent's other metrics and
// answer its get(), so registry.metrics() and getMetricsAsJSON() see them as before, and
// chunks() writes what the Registry writes from get(), byte for byte. The exposition is also
// byte for byte what prom-client's own classes write for the same operations, series in the
// order they were made (test/metric-family.test.ts runs both).
import type { Registry } from 'prom-client';

export type LabelValues = Record<string, string | number | undefined>;
type Kind = 'counter' | 'gauge' | 'histogram' | 'summary';
/** One value of prom-client's MetricObject (what get() returns and the Registry formats). */
type Value = { labels: LabelValues; value: number; metricName?: string; sharedLabels?: LabelValues };

/**
 * One series. Callers may keep it (Family.series()) and pass it back in place of its labels:
 * no lookup at all then. A removed series is marked dead, and a kept handle to it finds (or
 * makes) the live series of the same labels again. Its numbers are not fields of its own but
 * a row of its family's columns (Float64Arrays): a double in an object field is a heap number
 * of its own in V8, and a histogram's buckets were a typed array per series (issue 13).
 */
export class Cell {
  /** The series' row in its family's columns; reused once the series is removed. */
  readonly row: number;
  /** The next series of the same target, any family (TargetIndex); DEAD once removed. */
  next: Cell | undefined = undefined;
  readonly family: Family;
  readonly labels: LabelValues;
  constructor(family: Family, labels: LabelValues, row: number) {
    this.family = family;
    this.labels = labels;
    this.row = row;
  }
  get live(): boolean {
    return this.next !== DEAD;
  }
}

/** What a removed series' next points at: a flag without a field of its own. */
const DEAD = new Cell(undefined as never, {}, -1);

/**
 * The series of every family, by target: one map entry per target for all the families that
 * share the index, not one per family and target, and the target's series linked through
 * Cell.next. A lookup by labels walks the target's few dozen series.
 */
export class TargetIndex {
  readonly rows = new Map<string, Cell>();
  /**
   * The labels every line of these families carries in the exposition, as the registry adds
   * its default labels (setDefaultLabels) to its own metrics: give both the same.
   */
  readonly defaults: LabelValues;
  constructor(defaults: LabelValues = {}) {
    this.defaults = defaults;
  }
}

const CHUNK = 64 * 1024;

/** `a` in a new array of `n` elements (zero past its end). */
function grown(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

/** prom-client's escaping of HELP text and label values (registry.js), so the bytes match. */
const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeValue = (v: string | number) => (typeof v === 'string' ? escapeHelp(v).replace(/"/g, '\\"') : String(v));
/** prom-client's value formatting (util.js getValueAsString). */
const num = (v: number) => (Number.isNaN(v) ? 'Nan' : Number.isFinite(v) ? `${v}` : v < 0 ? '-Inf' : '+Inf');

/**
 * A series' labels and the registry's defaults it lacks, as `k="v"` pairs without braces, in
 * prom-client's order: `{...labels, ...defaults, ...labels}` for counters, gauges and
 * summaries; defaults first for a histogram, whose labels prom-client passes as shared labels
 * (written after le and the defaults).
 */
function pairs(l: LabelValues, defaults: LabelValues, defaultsFirst = false): string {
  let own = '';
  for (const k in l) {
    const v = l[k];
    if (v !== undefined) own += `${own ? ',' : ''}${k}="${escapeValue(v)}"`;
  }
  let rest = '';
  for (const k in defaults) {
    if (!(k in l)) rest += `${rest ? ',' : ''}${k}="${escapeValue(defaults[k]!)}"`;
  }
  const [a, b] = defaultsFirst ? [rest, own] : [own, rest];
  return a && b ? `${a},${b}` : a || b;
}
const braced = (p: string) => (p ? `{${p}}` : '');

export abstract class Family {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum';
  abstract readonly type: Kind;
  /** The series in the order they were made (prom-client's order), removed ones among them until compacted. */
  private cells: Cell[] = [];
  private dead = 0;
  /** By row: a counter's or gauge's value; a histogram's or summary's sum. */
  protected vals = new Float64Array(8);
  /** Rows handed out so far, and the rows of removed series, free for the next ones. */
  private rowsUsed = 0;
  private freeRows: number[] = [];
  private readonly index: TargetIndex;
  private readonly rowLabel: string | undefined;

  constructor(opts: { name: string; help: string; labelNames?: readonly string[]; registers?: Registry[]; index?: TargetIndex }) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    this.rowLabel = this.labelNames.includes('target') ? 'target' : this.labelNames[0];
    this.index = opts.index ?? new TargetIndex();
    for (const r of opts.registers ?? []) r.registerMetric(this as never);
  }

  private make(labels: LabelValues): Cell {
    const row = this.freeRows.pop() ?? this.rowsUsed++;
    if (row >= this.vals.length) this.grow(this.vals.length * 2);
    this.clear(row);
    return new Cell(this, labels, row);
  }

  /** Room for `rows` rows in every column. */
  protected grow(rows: number): void {
    this.vals = grown(this.vals, rows);
  }

  /** A row's numbers back to zero, for a new series. */
  protected clear(row: number): void {
    this.vals[row] = 0;
  }

  /** The series of these labels, made on first use; keep it and pass it back to skip the lookup. */
  series(labels: LabelValues | Cell | undefined): Cell {
    if (labels instanceof Cell) {
      if (labels.live) return labels;
      labels = labels.labels;
    }
    const l = labels ?? {};
    const key = this.rowOf(l);
    const head = this.index.rows.get(key);
    const hit = this.match(head, l);
    if (hit) return hit;
    for (const k in l) {
      if (!this.labelNames.includes(k)) throw new Error(`Added label "${k}" is not included in initial labelset: ${JSON.stringify(this.labelNames)}`);
    }
    const c = this.make(l);
    c.next = head;
    this.index.rows.set(key, c);
    this.cells.push(c);
    return c;
  }

  private rowOf(l: LabelValues): string {
    const v = this.rowLabel === undefined ? undefined : l[this.rowLabel];
    return v === undefined ? '' : String(v);
  }

  /** prom-client's identity of a label set: the same values for the declared names that are set. */
  private same(a: LabelValues, b: LabelValues): boolean {
    for (const k of this.labelNames) {
      const x = a[k];
      const y = b[k];
      if (x !== y && String(x) !== String(y)) return false;
    }
    return true;
  }

  private match(head: Cell | undefined, l: LabelValues): Cell | undefined {
    for (let c = head; c; c = c.next) if (c.family === this && this.same(c.labels, l)) return c;
    return undefined;
  }

  remove(labels: LabelValues | Cell): void {
    const l = labels instanceof Cell ? labels.labels : labels;
    const key = this.rowOf(l);
    const c = this.match(this.index.rows.get(key), l);
    if (!c) return;
    this.unlink(c, key);
    this.freeRows.push(c.row);
    // Dead series are skipped by the exposition and dropped once they are half the list.
    if (++this.dead > 64 && this.dead * 2 > this.cells.length) {
      this.cells = this.cells.filter((x) => x.live);
      this.dead = 0;
    }
  }

  private unlink(c: Cell, key: string): void {
    const rows = this.index.rows;
    let p = rows.get(key);
    if (p === c) {
      if (c.next) rows.set(key, c.next);
      else rows.delete(key);
    } else {
      while (p && p.next !== c) p = p.next;
      if (p) p.next = c.next;
    }
    c.next = DEAD;
  }

  reset(): void {
    for (const c of this.cells) {
      if (!c.live) continue;
      this.unlink(c, this.rowOf(c.labels));
    }
    this.cells = [];
    this.dead = 0;
    this.rowsUsed = 0;
    this.freeRows = [];
  }

  /** Number of series. */
  get size(): number {
    return this.cells.length - this.dead;
  }

  /** prom-client's MetricObject, for Registry.metrics() and getMetricsAsJSON(). */
  get(): { name: string; help: string; type: Kind; aggregator: string; values: Value[] } {
    const values: Value[] = [];
    for (const c of this.cells) if (c.live) this.values(c, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  protected abstract values(s: Cell, out: Value[]): void;
  /** The exposition lines of one series, each ending in a newline but the series' last. */
  protected abstract lines(s: Cell, defaults: LabelValues): string;

  /**
   * The metric's text as Registry.getSingleMetricAsString() writes it (HELP, TYPE, one line
   * per value, no final newline), in chunks of about 64 KiB; every line with the index's
   * default labels, or with `defaults` when given.
   */
  *chunks(defaults: LabelValues = this.index.defaults): Generator<string> {
    const name = escapeHelp(this.name);
    let out = `# HELP ${name} ${escapeHelp(this.help)}\n# TYPE ${name} ${this.type}`;
    for (const s of this.cells) {
      if (!s.live) continue;
      out += `\n${this.lines(s, defaults)}`;
      if (out.length >= CHUNK) {
        yield out;
        out = '';
      }
    }
    if (out) yield out;
  }
}

class ValueFamily extends Family {
  readonly type: 'counter' | 'gauge';
  constructor(type: 'counter' | 'gauge', opts: ConstructorParameters<typeof Family>[0]) {
    super(opts);
    this.type = type;
  }
  protected values(s: Cell, out: Value[]): void {
    out.push({ labels: s.labels, value: this.vals[s.row]! });
  }
  protected lines(s: Cell, defaults: LabelValues): string {
    return `${this.name}${braced(pairs(s.labels, defaults))} ${num(this.vals[s.row]!)}`;
  }
}

/** A counter: prom-client's Counter's inc(), remove(), reset() and exposition. */
export class LeanCounter extends ValueFamily {
  constructor(opts: ConstructorParameters<typeof Family>[0]) {
    super('counter', opts);
  }
  inc(labels?: LabelValues | Cell, value = 1): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    if (value < 0) throw new Error('It is not possible to decrease a counter');
    // The row first: making the series can grow (replace) the column.
    const row = this.series(labels).row;
    this.vals[row]! += value;
  }
}

/** A gauge: prom-client's Gauge's set(), remove(), reset() and exposition. */
export class LeanGauge extends ValueFamily {
  constructor(opts: ConstructorParameters<typeof Family>[0]) {
    super('gauge', opts);
  }
  set(labels: LabelValues | Cell, value: number): void {
    if (typeof value !== 'number') throw new TypeError(`Value is not a valid number: ${String(value)}`);
    const row = this.series(labels).row;
    this.vals[row] = value;
  }
}

/** A family whose series also count their observations (histogram, summary). */
abstract class CountFamily extends Family {
  /** By row: the number of observations. */
  protected counts = new Float64Array(8);
  protected override grow(rows: number): void {
    super.grow(rows);
    this.counts = grown(this.counts, rows);
  }
  protected override clear(row: number): void {
    super.clear(row);
    this.counts[row] = 0;
  }
  protected add(row: number, value: number): void {
    this.vals[row]! += value;
    this.counts[row]!++;
  }
}

/** A histogram: prom-client's Histogram's observe(), remove(), reset() and exposition. */
export class LeanHistogram extends CountFamily {
  readonly type = 'histogram';
  readonly upperBounds: readonly number[];
  private readonly les: readonly string[];
  /** Row r's observations per bucket, not cumulative (one per upper bound), at r x upperBounds.length. */
  private bk: Float64Array;
  constructor(opts: ConstructorParameters<typeof Family>[0] & { buckets: readonly number[] }) {
    super(opts);
    this.upperBounds = [...opts.buckets].sort((a, b) => a - b);
    this.les = this.upperBounds.map((b) => `le="${escapeValue(b)}"`);
    this.bk = new Float64Array(this.vals.length * this.upperBounds.length);
  }
  protected override grow(rows: number): void {
    super.grow(rows);
    this.bk = grown(this.bk, rows * this.upperBounds.length);
  }
  protected override clear(row: number): void {
    super.clear(row);
    const n = this.upperBounds.length;
    this.bk.fill(0, row * n, row * n + n);
  }
  /** What the Registry formats: le apart from the series' labels, as prom-client's histogram gives it. */
  getForPromString(): ReturnType<Family['get']> {
    return super.get();
  }
  /** The series' labels merged after le (prom-client's splayLabels), for getMetricsAsJSON(). */
  override get(): ReturnType<Family['get']> {
    const data = super.get();
    data.values = data.values.map(({ labels, sharedLabels, ...v }) => ({ ...v, labels: { ...labels, ...sharedLabels }, ...(v.metricName!.endsWith('_bucket') ? { exemplar: null } : {}) }));
    return data;
  }
  observe(labels: LabelValues | Cell, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    const row = this.series(labels).row;
    const b = this.upperBounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.bk[row * b.length + i]!++;
        break;
      }
    }
    this.add(row, value);
  }
  protected values(s: Cell, out: Value[]): void {
    const n = this.upperBounds.length;
    const at = s.row * n;
    const count = this.counts[s.row]!;
    let acc = 0;
    const bucket = `${this.name}_bucket`;
    for (let i = 0; i < n; i++) {
      acc += this.bk[at + i]!;
      out.push({ labels: { le: this.upperBounds[i] }, sharedLabels: s.labels, value: acc, metricName: bucket });
    }
    out.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: count, metricName: bucket });
    out.push({ labels: {}, sharedLabels: s.labels, value: this.vals[s.row]!, metricName: `${this.name}_sum` });
    out.push({ labels: {}, sharedLabels: s.labels, value: count, metricName: `${this.name}_count` });
  }
  protected lines(s: Cell, defaults: LabelValues): string {
    const p = pairs(s.labels, defaults, true);
    const rest = braced(p);
    const inner = p ? `,${p}` : '';
    const n = this.les.length;
    const at = s.row * n;
    const count = num(this.counts[s.row]!);
    let t = '';
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += this.bk[at + i]!;
      t += `${this.name}_bucket{${this.les[i]}${inner}} ${num(acc)}\n`;
    }
    t += `${this.name}_bucket{le="+Inf"${inner}} ${count}\n`;
    t += `${this.name}_sum${rest} ${num(this.vals[s.row]!)}\n${this.name}_count${rest} ${count}`;
    return t;
  }
}

/**
 * A summary of _sum and _count only (no quantiles): prom-client's Summary with
 * `percentiles: []` has the same exposition but feeds a t-digest per series that nothing
 * reads (at 5,000 HTTP targets 20,000 of them, docs/bench-core.md).
 */
export class LeanSumCount extends CountFamily {
  readonly type = 'summary';
  observe(labels: LabelValues | Cell, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    this.add(this.series(labels).row, value);
  }
  protected values(s: Cell, out: Value[]): void {
    out.push({ labels: s.labels, value: this.vals[s.row]!, metricName: `${this.name}_sum` });
    out.push({ labels: s.labels, value: this.counts[s.row]!, metricName: `${this.name}_count` });
  }
  protected lines(s: Cell, defaults: LabelValues): string {
    const l = braced(pairs(s.labels, defaults));
    return `${this.name}_sum${l} ${num(this.vals[s.row]!)}\n${this.name}_count${l} ${num(this.counts[s.row]!)}`;
  }
}

export function isLean(x: object): x is Family {
  return x instanceof Family;
}

/**
 * An owner's (a target's) series handles, in an array indexed by a slot that every owner
 * shares: the key ("sent", "phase:tls", "breached loss 1h") is a string once per process and
 * a family once per key, not a map entry per target. A per-target map of key to handle was
 * as large as the series themselves at 10,000 targets (docs/scale.md).
 */
export class Slots {
  private readonly ids = new Map<string, number>();

  /** The series `key` among `cells`, made by `family` from `labels()` on first use (a key names one family). */
  cell(cells: Array<Cell | undefined>, key: string, family: Family, labels: () => LabelValues): Cell {
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = this.ids.size));
    let c = cells[id];
    if (!c) cells[id] = c = family.series(labels());
    return c;
  }

  /** Removes every series among `cells` from its family. */
  removeAll(cells: ReadonlyArray<Cell | undefined>): void {
    for (const c of cells) if (c) c.family.remove(c);
  }
}
