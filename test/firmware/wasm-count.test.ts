// The instruction counter the instructions bench runs (bench/wasm-count.ts): on a module whose
// executed instructions can be counted by hand, the counts are exact, and the module still
// computes what it did.

import { describe, expect, it } from "vitest";
import { instrument, staticCounts } from "../../bench/wasm-count.js";

// A loop of n turns that adds 0.5 to an f64 n times and returns it, truncated to an i32.
const LOOP = `(module
  (func (export "f") (param $n i32) (result i32) (local $i i32) (local $x f64)
    block $done
      loop $next
        local.get $i
        local.get $n
        i32.ge_u
        br_if $done
        local.get $x
        f64.const 0.5
        f64.add
        local.set $x
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $next
      end
    end
    local.get $x
    i32.trunc_f64_s))`;

async function loopModule(): Promise<Uint8Array> {
  const { default: binaryen } = await import("binaryen");
  const module = binaryen.parseText(LOOP);
  try {
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

describe("bench/wasm-count: executed instructions, counted by rewriting the module", () => {
  it("counts every instruction a loop of n turns executes, and its f64 arithmetic, exactly", async () => {
    const bytes = await loopModule();
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(instrument(bytes) as Uint8Array<ArrayBuffer>));
    const exports = instance.exports as unknown as { f(n: number): number; __instructions: WebAssembly.Global; __f64: WebAssembly.Global; __f32: WebAssembly.Global };
    for (const n of [0, 1, 7]) {
      const before = [exports.__instructions.value, exports.__f64.value];
      expect(exports.f(n)).toBe(Math.trunc(n * 0.5));
      // block, loop; n + 1 tests of 4 (the last branches out); n turns of 9; then
      // local.get, the truncation and the function's end: 2 + 4 (n + 1) + 9 n + 3.
      expect(exports.__instructions.value - before[0]).toBe(BigInt(2 + 4 * (n + 1) + 9 * n + 3));
      // f64.add per turn and the truncation once.
      expect(exports.__f64.value - before[1]).toBe(BigInt(n + 1));
      expect(exports.__f32.value).toBe(0n);
    }
  });

  it("counts the image's own instructions where they stand", async () => {
    // The 20 above and an `unreachable` binaryen writes after the loop, which never falls through.
    expect(staticCounts(await loopModule())).toEqual({ instructions: 21, f64: 2, f32: 0 });
  });

  it("refuses an opcode it does not read (here the SIMD prefix) by name", async () => {
    const bytes = await loopModule();
    // Turn the i32.trunc_f64_s (0xaa) into the SIMD prefix (0xfd).
    const at = bytes.lastIndexOf(0xaa);
    const patched = bytes.slice();
    patched[at] = 0xfd;
    expect(() => instrument(patched)).toThrow("opcode 0xfd is neither WebAssembly 1.0 nor a later one this counter reads");
  });
});
