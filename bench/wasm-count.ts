// Counts the instructions a WebAssembly 1.0 module executes, by rewriting it: every straight-line
// run of instructions (from a function's entry, a block's, loop's or branch's start, or the
// point after a block's end or a br_if, to the next such point) begins by adding its length to
// an exported i64 global, `__instructions`, and its count of f64 and of f32 arithmetic
// (comparisons, arithmetic and conversions: what a single-precision FPU does in software for
// f64) to `__f64` and `__f32`. A branch leaves a run; the run after it starts with its own
// count, so every executed instruction is counted once. Calls return to the run they left; the
// callee counts its own. Used by bench/instructions.bench.ts; reads only the MVP's opcodes
// (the image has no others: firmware/ABI.md) and the few later ones older images used.

export const COUNTERS = ["__instructions", "__f64", "__f32"] as const;

/** f64 arithmetic: comparisons (0x61–0x66), arithmetic (0x99–0xa6), conversions to and from f64. */
export function isF64Arithmetic(op: number): boolean {
  return (op >= 0x61 && op <= 0x66) || (op >= 0x99 && op <= 0xa6) || op === 0xaa || op === 0xab || op === 0xb0 || op === 0xb1 || (op >= 0xb6 && op <= 0xbb);
}

/** f32 arithmetic: comparisons (0x5b–0x60), arithmetic (0x8b–0x98), conversions to and from f32. */
export function isF32Arithmetic(op: number): boolean {
  return (op >= 0x5b && op <= 0x60) || (op >= 0x8b && op <= 0x98) || op === 0xa8 || op === 0xa9 || op === 0xae || op === 0xaf || (op >= 0xb2 && op <= 0xb5);
}

class Reader {
  constructor(readonly bytes: Uint8Array, public at = 0) {}
  byte(): number {
    if (this.at >= this.bytes.length) throw new Error("module ends inside an instruction");
    return this.bytes[this.at++];
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    throw new Error("LEB128 longer than 5 bytes");
  }
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new Error("LEB128 longer than 10 bytes");
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** Whether the instruction `op` ends a straight-line run (the next instruction may not follow it). */
function endsRun(op: number): boolean {
  return op === 0x02 || op === 0x03 || op === 0x04 || op === 0x05 || op === 0x0b || op === 0x0c || op === 0x0d || op === 0x0e || op === 0x0f || op === 0x00;
}

/** Skips the immediates of `op` (MVP only). */
function skipImmediates(r: Reader, op: number): void {
  if (op >= 0x02 && op <= 0x04) r.byte(); // block type: 0x40 or one value type
  else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x24)) r.u32();
  else if (op === 0x0e) {
    const n = r.u32();
    for (let i = 0; i <= n; i++) r.u32();
  } else if (op === 0x11) {
    r.u32();
    r.byte();
  } else if (op >= 0x28 && op <= 0x3e) {
    r.u32();
    r.u32();
  } else if (op === 0x3f || op === 0x40) r.byte();
  else if (op === 0x41 || op === 0x42) r.skipLeb();
  else if (op === 0x43) r.at += 4;
  else if (op === 0x44) r.at += 8;
  else if (op === 0xfc) skipPrefixed(r);
  else if (op > 0xc4) throw new Error(`opcode 0x${op.toString(16)} is neither WebAssembly 1.0 nor a later one this counter reads`);
}

/** Older images (before the build held to WebAssembly 1.0) used sign extension (0xc0–0xc4, no
 *  immediates) and the 0xfc prefix: saturating truncations and bulk memory. They are read so
 *  that such an image can be counted against a newer one. */
function skipPrefixed(r: Reader): void {
  const sub = r.u32();
  if (sub <= 7) return; // trunc_sat
  if (sub === 8) {
    r.u32();
    r.byte();
  } else if (sub === 9) r.u32();
  else if (sub === 10) r.at += 2;
  else if (sub === 11) r.at += 1;
  else throw new Error(`opcode 0xfc ${sub} is not one this counter reads`);
}

function addTo(global: number, amount: number): number[] {
  return amount === 0 ? [] : [0x23, ...leb(global), 0x42, ...sleb(amount), 0x7c, 0x24, ...leb(global)];
}

/** One function body, each run preceded by the increments of the counters (globals `first`…),
 *  and of the function's own counter (global `own`) when it has one. */
function instrumentBody(body: Uint8Array, first: number, own: number | undefined): number[] {
  const r = new Reader(body);
  const localGroups = r.u32();
  for (let i = 0; i < localGroups; i++) {
    r.u32();
    r.byte();
  }
  const out: number[] = [...body.subarray(0, r.at)];
  let runStart = r.at;
  let counts = [0, 0, 0];
  const flush = (end: number): void => {
    out.push(...addTo(first, counts[0]), ...addTo(first + 1, counts[1]), ...addTo(first + 2, counts[2]));
    if (own !== undefined) out.push(...addTo(own, counts[0]));
    pushAll(out, body.subarray(runStart, end));
    runStart = end;
    counts = [0, 0, 0];
  };
  while (r.at < body.length) {
    const op = r.byte();
    skipImmediates(r, op);
    counts[0]++;
    if (isF64Arithmetic(op)) counts[1]++;
    if (isF32Arithmetic(op)) counts[2]++;
    if (endsRun(op)) flush(r.at);
  }
  if (runStart < body.length) flush(body.length);
  return out;
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

/** The module with the counters added (three mutable i64 globals, exported by COUNTERS' names),
 *  and with `perFunction`, one more per defined function: `__function<i>` counts the
 *  instructions function i (its index among all functions, imported first) executes itself. */
export function instrument(bytes: Uint8Array, perFunction = false): Uint8Array {
  const r = new Reader(bytes, 8);
  const sections: { id: number; content: Uint8Array }[] = [];
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    sections.push({ id, content: bytes.subarray(r.at, r.at + size) });
    r.at += size;
  }
  const imported = importedGlobals(sections.find((s) => s.id === 2)?.content);
  const globals = sections.find((s) => s.id === 6);
  const defined = globals === undefined ? 0 : new Reader(globals.content).u32();
  const first = imported + defined;
  const code = sections.find((s) => s.id === 10);
  const functions = perFunction && code !== undefined ? new Reader(code.content).u32() : 0;
  const importedFunctions = importedFunctionCount(sections.find((s) => s.id === 2)?.content);
  const names = [...COUNTERS, ...Array.from({ length: functions }, (_, i) => `__function${importedFunctions + i}`)];
  const out: number[] = [...bytes.subarray(0, 8)];
  let wroteGlobals = false;
  let wroteExports = false;
  const writeGlobals = (): void => {
    const entries = [0x7e, 0x01, 0x42, 0x00, 0x0b]; // mut i64 = i64.const 0
    const rest = globals === undefined ? [] : [...globals.content.subarray(leb(defined).length)];
    pushAll(out, section(6, [...leb(defined + names.length), ...rest, ...names.flatMap(() => entries)]));
    wroteGlobals = true;
  };
  const writeExports = (content: Uint8Array | undefined): void => {
    const reader = content === undefined ? undefined : new Reader(content);
    const count = reader === undefined ? 0 : reader.u32();
    const rest = content === undefined || reader === undefined ? [] : [...content.subarray(reader.at)];
    const added = names.flatMap((name, i) => [...leb(name.length), ...new TextEncoder().encode(name), 0x03, ...leb(first + i)]);
    pushAll(out, section(7, [...leb(count + names.length), ...rest, ...added]));
    wroteExports = true;
  };
  for (const { id, content } of sections) {
    // Sections keep their order: globals (6) before exports (7) before code (10).
    if (id > 6 && id !== 0 && !wroteGlobals) writeGlobals();
    if (id > 7 && id !== 0 && !wroteExports) writeExports(undefined);
    if (id === 6) writeGlobals();
    else if (id === 7) writeExports(content);
    else if (id === 10) pushAll(out, section(10, instrumentCode(content, first, perFunction ? first + COUNTERS.length : undefined)));
    else pushAll(out, section(id, [...content]));
  }
  return new Uint8Array(out);
}

function instrumentCode(content: Uint8Array, first: number, firstOwn: number | undefined): number[] {
  const r = new Reader(content);
  const count = r.u32();
  const out: number[] = [...leb(count)];
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const body = instrumentBody(content.subarray(r.at, r.at + size), first, firstOwn === undefined ? undefined : firstOwn + i);
    r.at += size;
    pushAll(out, leb(body.length));
    pushAll(out, body);
  }
  return out;
}

function importedFunctionCount(content: Uint8Array | undefined): number {
  return importKinds(content).filter((kind) => kind === 0x00).length;
}

function importedGlobals(content: Uint8Array | undefined): number {
  return importKinds(content).filter((kind) => kind === 0x03).length;
}

/** The kind of each import, in order. */
function importKinds(content: Uint8Array | undefined): number[] {
  if (content === undefined) return [];
  const r = new Reader(content);
  const count = r.u32();
  const kinds: number[] = [];
  for (let i = 0; i < count; i++) {
    for (let name = 0; name < 2; name++) { // module and field names
      const length = r.u32();
      r.at += length;
    }
    const kind = r.byte();
    kinds.push(kind);
    if (kind === 0x00) r.u32();
    else if (kind === 0x01) {
      r.byte();
      const flags = r.byte();
      r.u32();
      if (flags & 1) r.u32();
    } else if (kind === 0x02) {
      const flags = r.byte();
      r.u32();
      if (flags & 1) r.u32();
    } else if (kind === 0x03) {
      r.byte();
      r.byte();
    }
  }
  return kinds;
}

/** The image's own f64 and f32 arithmetic instructions, counted where they stand. */
export function staticCounts(bytes: Uint8Array): { instructions: number; f64: number; f32: number } {
  const r = new Reader(bytes, 8);
  const totals = { instructions: 0, f64: 0, f32: 0 };
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.at + size;
    if (id === 10) {
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        const bodySize = r.u32();
        const bodyEnd = r.at + bodySize;
        const groups = r.u32();
        for (let g = 0; g < groups; g++) {
          r.u32();
          r.byte();
        }
        while (r.at < bodyEnd) {
          const op = r.byte();
          skipImmediates(r, op);
          totals.instructions++;
          if (isF64Arithmetic(op)) totals.f64++;
          if (isF32Arithmetic(op)) totals.f32++;
        }
      }
    }
    r.at = end;
  }
  return totals;
}

/** `items` onto the end of `out` one by one: a spread passes them as arguments, and a module's
 *  code section has more bytes than a call takes arguments. */
function pushAll(out: number[], items: ArrayLike<number>): void {
  for (let i = 0; i < items.length; i++) out.push(items[i]);
}
