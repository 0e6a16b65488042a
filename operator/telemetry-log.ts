// One device's telemetry as a collector keeps it: every pack, in arrival order, compactly. A
// pack is a row of cells (f32 where the value is exactly a float32, as the firmware sends, f64
// otherwise, text as a code into the log's own strings) described by a shape, the ordered list
// of its records' names, units and kinds, which packs of a device share. A month of packs from
// a thousand pumps is then a few hundred megabytes, not tens of gigabytes of Maps; a pack is
// made into Maps only when someone asks for it (at, iteration), and the summaries read single
// cells (time, value, text) without making any.

/** One telemetry pack, as read back from the log. */
export interface TelemetryPack {
  device: string;
  sequence: number;
  /** Base time of the pack, seconds. */
  time: number;
  /** Values by record name without the device's base name, e.g. "acc_rms". */
  values: Map<string, number>;
  units: Map<string, string>;
  /** Text values (vs) by record name, e.g. "fault". */
  texts: Map<string, string>;
}

const KIND_F32 = 0;
const KIND_F64 = 1;
const KIND_TEXT = 2;
/** A record with a unit and a value of a kind the pack keeps no cell for (vb, vd, s). */
const KIND_UNIT = 3;
const CELL_BYTES = [4, 8, 4, 0];

interface Entry { name: string; unit: string | undefined; kind: number }

/** The layout of a row. `numbers` and `texts` map a name to the byte offset and kind of its
 *  last cell of that sort. */
interface Cell { offset: number; kind: number }
interface Shape { entries: Entry[]; bytes: number; numbers: Map<string, Cell>; texts: Map<string, Cell> }

/** Shapes are shared by every log: a trie over (name, unit, kind), one node per record. */
interface ShapeNode { next: Map<string, Map<string | undefined, ShapeNode[]>>; shape: Shape | undefined }
const root: ShapeNode = { next: new Map(), shape: undefined };
/** Shapes and trie nodes kept at most (packs of made-up names must not grow the trie without
 *  end); a pack whose shape finds no room is kept as Maps. */
const SHAPES_MAX = 10_000;
const NODES_MAX = 200_000;
let shapeCount = 0;
let nodeCount = 0;

const ROWS_INITIAL = 64;
const BYTES_INITIAL = 4096;

export class TelemetryLog implements Iterable<TelemetryPack> {
  #rows = 0;
  #times = new Float64Array(ROWS_INITIAL);
  #sequences = new Float64Array(ROWS_INITIAL);
  #offsets = new Uint32Array(ROWS_INITIAL);
  #shapes: (Shape | undefined)[] = [];
  #bytes = new Uint8Array(BYTES_INITIAL);
  #view = new DataView(this.#bytes.buffer);
  #strings: string[] = [];
  #codes = new Map<string, number>();
  /** Packs whose shape found no room (SHAPES_MAX), by row. */
  #overflow = new Map<number, TelemetryPack>();
  // The pack being appended.
  #open = false;
  #cursor = 0;
  /** Where the pack's records lead in the trie; undefined once it has no room. */
  #node: ShapeNode | undefined = root;
  #entries: Entry[] = [];
  #time = 0;
  #first = true;

  constructor(readonly device: string) {}

  get length(): number {
    return this.#rows;
  }

  /** Starts a pack; value/text/unit add its records in order; commit ends it, abort drops it. */
  begin(sequence: number): void {
    if (this.#rows === this.#times.length) this.#growRows();
    this.#open = true;
    this.#cursor = this.#rows === 0 ? 0 : this.#rowEnd(this.#rows - 1);
    this.#sequences[this.#rows] = sequence;
    this.#offsets[this.#rows] = this.#cursor;
    this.#node = root;
    this.#entries.length = 0;
    this.#time = 0;
    this.#first = true;
  }

  value(name: string, unit: string | undefined, value: number, time: number): void {
    const kind = Math.fround(value) === value ? KIND_F32 : KIND_F64;
    const at = this.#cell(name, unit, kind, time);
    if (kind === KIND_F32) this.#view.setFloat32(at, value, true);
    else this.#view.setFloat64(at, value, true);
  }

  text(name: string, unit: string | undefined, text: string, time: number): void {
    let code = this.#codes.get(text);
    if (code === undefined) {
      code = this.#strings.length;
      this.#strings.push(text);
      this.#codes.set(text, code);
    }
    const at = this.#cell(name, unit, KIND_TEXT, time); // first: it may grow the buffer
    this.#view.setUint32(at, code, true);
  }

  /** A record that gives its unit but no value or text (a boolean, data or sum record). */
  unit(name: string, unit: string, time: number): void {
    this.#cell(name, unit, KIND_UNIT, time);
  }

  commit(): void {
    if (!this.#open) throw new Error("telemetry log: commit without begin");
    const node = this.#node;
    let shape = node?.shape;
    if (node !== undefined && shape === undefined && shapeCount < SHAPES_MAX) {
      shape = makeShape([...this.#entries]);
      node.shape = shape;
      shapeCount += 1;
    }
    const row = this.#rows;
    this.#times[row] = this.#time;
    this.#shapes[row] = shape;
    this.#rows += 1;
    this.#open = false;
    if (shape === undefined) {
      // No shape to read the cells by: keep this pack as Maps and its cells' room for nothing.
      this.#overflow.set(row, this.#materialise(row, makeShape([...this.#entries])));
    }
  }

  /** The pack's time, when its first record gives no cell (the general decoder's packs). */
  timeIs(time: number): void {
    this.#time = time;
    this.#first = false;
  }

  abort(): void {
    this.#open = false;
  }

  /** Base time of pack `row`, seconds. */
  time(row: number): number {
    this.#check(row);
    return this.#times[row];
  }

  sequence(row: number): number {
    this.#check(row);
    return this.#sequences[row];
  }

  /** The last value named `name` in pack `row`, or undefined. */
  numberOf(row: number, name: string): number | undefined {
    this.#check(row);
    const shape = this.#shapes[row];
    if (shape === undefined) return this.#overflow.get(row)!.values.get(name);
    const cell = shape.numbers.get(name);
    if (cell === undefined) return undefined;
    const at = this.#offsets[row] + cell.offset;
    return cell.kind === KIND_F32 ? this.#view.getFloat32(at, true) : this.#view.getFloat64(at, true);
  }

  /** The last text named `name` in pack `row`, or undefined. */
  textOf(row: number, name: string): string | undefined {
    this.#check(row);
    const shape = this.#shapes[row];
    if (shape === undefined) return this.#overflow.get(row)!.texts.get(name);
    const cell = shape.texts.get(name);
    if (cell === undefined) return undefined;
    return this.#strings[this.#view.getUint32(this.#offsets[row] + cell.offset, true)];
  }

  /** Row indices in order of time, arrival order among equal times. */
  byTime(): number[] {
    const rows = Array.from({ length: this.#rows }, (_, i) => i);
    for (let i = 1; i < this.#rows; i++) {
      if (this.#times[i] < this.#times[i - 1]) return rows.sort((a, b) => this.#times[a] - this.#times[b] || a - b);
    }
    return rows;
  }

  /** Pack `row` as Maps; a negative row counts from the end, as Array.at does. */
  at(row: number): TelemetryPack | undefined {
    const index = row < 0 ? this.#rows + row : row;
    if (!Number.isInteger(index) || index < 0 || index >= this.#rows) return undefined;
    const shape = this.#shapes[index];
    return shape === undefined ? this.#overflow.get(index)! : this.#materialise(index, shape);
  }

  *[Symbol.iterator](): Iterator<TelemetryPack> {
    for (let row = 0; row < this.#rows; row++) yield this.at(row)!;
  }

  map<T>(f: (pack: TelemetryPack, row: number) => T): T[] {
    const out: T[] = [];
    for (let row = 0; row < this.#rows; row++) out.push(f(this.at(row)!, row));
    return out;
  }

  forEach(f: (pack: TelemetryPack, row: number) => void): void {
    for (let row = 0; row < this.#rows; row++) f(this.at(row)!, row);
  }

  /** Bytes held by the cells and the row columns (not the shared shapes). */
  get bytesHeld(): number {
    return this.#bytes.byteLength + this.#times.byteLength + this.#sequences.byteLength + this.#offsets.byteLength + this.#shapes.length * 8;
  }

  #cell(name: string, unit: string | undefined, kind: number, time: number): number {
    if (!this.#open) throw new Error("telemetry log: a record outside a pack");
    if (this.#first) {
      this.#time = time;
      this.#first = false;
    }
    this.#entries.push({ name, unit, kind });
    this.#node = this.#node === undefined ? undefined : step(this.#node, name, unit, kind);
    const at = this.#cursor;
    const bytes = CELL_BYTES[kind];
    if (at + bytes > this.#bytes.length) this.#growBytes(at + bytes);
    this.#cursor = at + bytes;
    return at;
  }

  #rowEnd(row: number): number {
    const shape = this.#shapes[row];
    return this.#offsets[row] + (shape === undefined ? 0 : shape.bytes);
  }

  #materialise(row: number, shape: Shape): TelemetryPack {
    const values = new Map<string, number>();
    const units = new Map<string, string>();
    const texts = new Map<string, string>();
    let at = this.#offsets[row];
    for (const entry of shape.entries) {
      if (entry.kind === KIND_F32) values.set(entry.name, this.#view.getFloat32(at, true));
      else if (entry.kind === KIND_F64) values.set(entry.name, this.#view.getFloat64(at, true));
      else if (entry.kind === KIND_TEXT) texts.set(entry.name, this.#strings[this.#view.getUint32(at, true)]);
      if (entry.unit !== undefined) units.set(entry.name, entry.unit);
      at += CELL_BYTES[entry.kind];
    }
    return { device: this.device, sequence: this.#sequences[row], time: this.#times[row], values, units, texts };
  }

  #check(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.#rows) throw new RangeError(`telemetry log: no pack ${row} (${this.#rows} kept)`);
  }

  #growRows(): void {
    const rows = this.#times.length * 2;
    const grow = <T extends Float64Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = make(rows);
      next.set(old);
      return next;
    };
    this.#times = grow(this.#times, (n) => new Float64Array(n));
    this.#sequences = grow(this.#sequences, (n) => new Float64Array(n));
    this.#offsets = grow(this.#offsets, (n) => new Uint32Array(n));
  }

  #growBytes(needed: number): void {
    let size = this.#bytes.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#bytes);
    this.#bytes = next;
    this.#view = new DataView(next.buffer);
  }
}

function step(node: ShapeNode, name: string, unit: string | undefined, kind: number): ShapeNode | undefined {
  const known = node.next.get(name)?.get(unit)?.[kind];
  if (known !== undefined) return known;
  if (nodeCount >= NODES_MAX) return undefined;
  let byUnit = node.next.get(name);
  if (byUnit === undefined) {
    byUnit = new Map();
    node.next.set(name, byUnit);
  }
  let byKind = byUnit.get(unit);
  if (byKind === undefined) {
    byKind = [];
    byUnit.set(unit, byKind);
  }
  const next: ShapeNode = { next: new Map(), shape: undefined };
  byKind[kind] = next;
  nodeCount += 1;
  return next;
}

function makeShape(entries: Entry[]): Shape {
  const numbers = new Map<string, Cell>();
  const texts = new Map<string, Cell>();
  let bytes = 0;
  for (const entry of entries) {
    // As Maps built record by record: a later record of the same name replaces the value or
    // the text (a unit-only record leaves both as they were).
    if (entry.kind === KIND_TEXT) texts.set(entry.name, { offset: bytes, kind: entry.kind });
    else if (entry.kind !== KIND_UNIT) numbers.set(entry.name, { offset: bytes, kind: entry.kind });
    bytes += CELL_BYTES[entry.kind];
  }
  return { entries, bytes, numbers, texts };
}

/** A pack as tests and reports build them by hand. */
export interface PackLike {
  time: number;
  texts: ReadonlyMap<string, string>;
  values?: ReadonlyMap<string, number>;
}

/** A device's packs in order of time, read cell by cell. */
export interface TimeOrdered {
  readonly length: number;
  time(i: number): number;
  text(i: number, name: string): string | undefined;
  number(i: number, name: string): number | undefined;
}

/** The packs of a log, or of a hand-made list, in order of time (arrival order among equals). */
export function timeOrdered(source: TelemetryLog | readonly PackLike[]): TimeOrdered {
  if (source instanceof TelemetryLog) {
    const rows = source.byTime();
    return {
      length: rows.length,
      time: (i) => source.time(rows[i]),
      text: (i, name) => source.textOf(rows[i], name),
      number: (i, name) => source.numberOf(rows[i], name),
    };
  }
  const packs = [...source].sort((a, b) => a.time - b.time);
  return {
    length: packs.length,
    time: (i) => packs[i].time,
    text: (i, name) => packs[i].texts.get(name),
    number: (i, name) => packs[i].values?.get(name),
  };
}
