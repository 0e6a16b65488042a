// An emulated NOR flash: what the update path writes to, with the rules of the real part so
// the code that runs on it cannot cheat. Erase is per sector and sets every byte to the erased
// value (0xFF); a write is aligned (offset and length multiples of `writeAlign`) and can only
// clear bits (program 1 → 0): a write that would need a 0 → 1 without an erase is refused.
// Every erase and write is one numbered operation; a fault injector cuts power before a chosen
// operation or in the middle of it (a torn write or erase: only its first bytes land), and
// from then on the device is dead (every operation throws PowerCut) until the test "reboots"
// it by opening the same bytes again. Contents live in memory, optionally mirrored to a file.

import fs from "node:fs";

export const ERASED = 0xff;

export interface FlashGeometry {
  /** Bytes in the device; a multiple of sectorBytes. */
  size: number;
  /** Erase granularity. */
  sectorBytes: number;
  /** Write granularity: offsets and lengths of writes are multiples of it. */
  writeAlign: number;
}

export const GEOMETRY_DEFAULT: FlashGeometry = { size: 256 * 1024, sectorBytes: 4096, writeAlign: 8 };

export type FlashOperationKind = "erase" | "write";

export interface FlashOperation {
  index: number;
  kind: FlashOperationKind;
  offset: number;
  length: number;
}

/** Power was cut: the operation did not happen (torn: only its first `landed` bytes did). */
export class PowerCut extends Error {
  constructor(readonly operation: FlashOperation, readonly landed: number) {
    super(`power cut at flash operation ${operation.index} (${operation.kind} of ${operation.length} bytes at ${operation.offset}), ${landed} bytes landed`);
    this.name = "PowerCut";
  }
}

export class FlashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlashError";
  }
}

interface Cut {
  at: number;
  torn: number | undefined;
}

export class Flash {
  readonly geometry: FlashGeometry;
  /** Operations (erases and writes) since this Flash was opened, or since counting was reset. */
  operations = 0;
  /** Every operation, when `trace` is on (for a test that lists what an update does). */
  readonly log: FlashOperation[] = [];
  trace = false;
  /** Set once power was cut: every later operation throws, as on a dead device. */
  dead = false;
  private cut: Cut | undefined;
  private readonly bytes: Uint8Array;

  constructor(geometry: Partial<FlashGeometry> = {}, contents?: Uint8Array, private readonly file?: string) {
    this.geometry = { ...GEOMETRY_DEFAULT, ...geometry };
    const { size, sectorBytes, writeAlign } = this.geometry;
    if (!(Number.isInteger(sectorBytes) && sectorBytes > 0 && Number.isInteger(size) && size > 0 && size % sectorBytes === 0)) {
      throw new RangeError(`flash size ${size} is not a positive multiple of its sector size ${sectorBytes}`);
    }
    if (!(Number.isInteger(writeAlign) && writeAlign > 0 && sectorBytes % writeAlign === 0)) {
      throw new RangeError(`write alignment ${writeAlign} does not divide the sector size ${sectorBytes}`);
    }
    this.bytes = new Uint8Array(size).fill(ERASED);
    if (contents !== undefined) {
      if (contents.length !== size) throw new RangeError(`flash contents of ${contents.length} bytes for a ${size}-byte device`);
      this.bytes.set(contents);
    }
  }

  /** A flash mirrored to `file`: its contents when the file exists (same size), erased otherwise. */
  static openFile(file: string, geometry: Partial<FlashGeometry> = {}): Flash {
    const size = { ...GEOMETRY_DEFAULT, ...geometry }.size;
    let contents: Uint8Array | undefined;
    try {
      contents = new Uint8Array(fs.readFileSync(file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const flash = new Flash(geometry, contents?.length === size ? contents : undefined, file);
    if (contents?.length !== size) flash.persist(0, size);
    return flash;
  }

  get size(): number {
    return this.geometry.size;
  }

  get sectorBytes(): number {
    return this.geometry.sectorBytes;
  }

  get writeAlign(): number {
    return this.geometry.writeAlign;
  }

  /** The same bytes on a fresh device (power back on): no pending cut, operations from 0. */
  reopen(): Flash {
    return new Flash(this.geometry, this.bytes, this.file);
  }

  /** A copy of the contents (what survives the power cut). */
  snapshot(): Uint8Array {
    return this.bytes.slice();
  }

  /** Cuts power at operation `index` (counted from now on this Flash): before it, or with
   *  `torn` bytes of it landed (a write keeps its first `torn` bytes; an erase erases them). */
  powerCutAt(index: number, options: { torn?: number } = {}): void {
    if (!(Number.isInteger(index) && index >= 0)) throw new RangeError(`operation index ${index} is not a non-negative integer`);
    this.cut = { at: index, torn: options.torn };
  }

  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length);
    return this.bytes.slice(offset, offset + length);
  }

  /** True when every byte of the range reads erased. */
  isErased(offset: number, length: number): boolean {
    this.checkRange(offset, length);
    for (let i = offset; i < offset + length; i++) if (this.bytes[i] !== ERASED) return false;
    return true;
  }

  /** Erases the sector holding `offset` (which must be a sector's start). */
  erase(offset: number): void {
    const { sectorBytes } = this.geometry;
    if (offset % sectorBytes !== 0) throw new FlashError(`erase at ${offset} is not at a sector start (sectors of ${sectorBytes} bytes)`);
    this.checkRange(offset, sectorBytes);
    const landed = this.begin("erase", offset, sectorBytes);
    this.bytes.fill(ERASED, offset, offset + landed);
    this.persist(offset, landed);
    this.end();
  }

  /** Programs `data` at `offset`: aligned, within the device, and clearing bits only. */
  write(offset: number, data: Uint8Array): void {
    const { writeAlign } = this.geometry;
    if (offset % writeAlign !== 0 || data.length % writeAlign !== 0 || data.length === 0) {
      throw new FlashError(`write of ${data.length} bytes at ${offset} is not aligned to ${writeAlign} bytes`);
    }
    this.checkRange(offset, data.length);
    for (let i = 0; i < data.length; i++) {
      const old = this.bytes[offset + i];
      if ((data[i] & ~old & 0xff) !== 0) {
        throw new FlashError(`write at ${offset + i} needs bits set (0x${old.toString(16)} → 0x${data[i].toString(16)}) without an erase`);
      }
    }
    const landed = this.begin("write", offset, data.length);
    for (let i = 0; i < landed; i++) this.bytes[offset + i] &= data[i];
    this.persist(offset, landed);
    this.end();
  }

  /** Counts the operation and applies a pending cut: how many of its bytes land. */
  private begin(kind: FlashOperationKind, offset: number, length: number): number {
    const operation = { index: this.operations, kind, offset, length };
    if (this.dead) throw new PowerCut(operation, 0);
    this.operations += 1;
    if (this.trace) this.log.push(operation);
    const cut = this.cut;
    if (cut === undefined || cut.at !== operation.index) return length;
    this.dead = true;
    const landed = Math.max(0, Math.min(length, cut.torn ?? 0));
    this.pendingCut = new PowerCut(operation, landed);
    return landed;
  }

  private pendingCut: PowerCut | undefined;

  /** After the bytes that landed: a cut operation throws its PowerCut. */
  private end(): void {
    const cut = this.pendingCut;
    if (cut === undefined) return;
    this.pendingCut = undefined;
    throw cut;
  }

  private persist(offset: number, length: number): void {
    if (this.file === undefined || length === 0) return;
    const fd = fs.openSync(this.file, fs.existsSync(this.file) ? "r+" : "w+");
    try {
      fs.writeSync(fd, this.bytes, offset, length, offset);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  private checkRange(offset: number, length: number): void {
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.geometry.size)) {
      throw new FlashError(`range ${offset}+${length} is outside the ${this.geometry.size}-byte flash`);
    }
  }
}
