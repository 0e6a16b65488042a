// Reads the function signatures of a WebAssembly module's imports and exports straight from
// its binary (type, import, function, memory and export sections), which the JS API does not
// expose, and the limits of its memories (the host refuses a module whose memory is unbounded).

export type ValueType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

export interface Signature {
  params: ValueType[];
  results: ValueType[];
}

/** A memory's limits in 64 KiB pages; `maximumPages` is undefined when it has none. */
export interface MemoryLimits {
  initialPages: number;
  maximumPages: number | undefined;
  imported: boolean;
}

export interface ModuleSignatures {
  imports: Map<string, Signature>; // "module.name"
  exports: Map<string, Signature>; // functions only
  /** Imported memories first, then defined ones (memory section). */
  memories: MemoryLimits[];
}

const VALUE_TYPES: Record<number, ValueType> = {
  0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref",
};

class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new Error("truncated WebAssembly module");
    return this.bytes[this.offset++];
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
    }
    throw new Error("malformed LEB128 in WebAssembly module");
  }

  name(): string {
    const length = this.u32();
    const text = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return text;
  }

  valueType(): ValueType {
    const code = this.byte();
    const type = VALUE_TYPES[code];
    if (type === undefined) throw new Error(`unknown value type 0x${code.toString(16)}`);
    return type;
  }

  limits(): { initial: number; maximum: number | undefined } {
    const flags = this.u32();
    const initial = this.u32();
    const maximum = flags & 1 ? this.u32() : undefined;
    return { initial, maximum };
  }
}

export function readSignatures(bytes: Uint8Array): ModuleSignatures {
  const reader = new Reader(bytes);
  reader.offset = 8; // magic and version
  const types: Signature[] = [];
  const functionTypes: number[] = []; // imported functions first, then defined ones
  const imports = new Map<string, Signature>();
  const exportIndices: [string, number][] = [];
  const memories: MemoryLimits[] = [];
  while (reader.offset < bytes.length) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.offset + size;
    if (id === 1) {
      for (let count = reader.u32(); count > 0; count--) {
        if (reader.byte() !== 0x60) throw new Error("unsupported type form");
        const params = Array.from({ length: reader.u32() }, () => reader.valueType());
        const results = Array.from({ length: reader.u32() }, () => reader.valueType());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let count = reader.u32(); count > 0; count--) {
        const key = `${reader.name()}.${reader.name()}`;
        const kind = reader.byte();
        if (kind === 0) {
          const type = reader.u32();
          functionTypes.push(type);
          imports.set(key, types[type]);
        } else if (kind === 1) { reader.byte(); reader.limits(); }
        else if (kind === 2) {
          const { initial, maximum } = reader.limits();
          memories.push({ initialPages: initial, maximumPages: maximum, imported: true });
        }
        else if (kind === 3) { reader.byte(); reader.byte(); }
      }
    } else if (id === 3) {
      for (let count = reader.u32(); count > 0; count--) functionTypes.push(reader.u32());
    } else if (id === 5) {
      for (let count = reader.u32(); count > 0; count--) {
        const { initial, maximum } = reader.limits();
        memories.push({ initialPages: initial, maximumPages: maximum, imported: false });
      }
    } else if (id === 7) {
      for (let count = reader.u32(); count > 0; count--) {
        const name = reader.name();
        const kind = reader.byte();
        const index = reader.u32();
        if (kind === 0) exportIndices.push([name, index]);
      }
    }
    reader.offset = end;
  }
  const exports = new Map(exportIndices.map(([name, index]) => [name, types[functionTypes[index]]] as const));
  return { imports, exports, memories };
}

export function formatSignature(signature: Signature): string {
  return `(${signature.params.join(", ")}) -> (${signature.results.join(", ")})`;
}
