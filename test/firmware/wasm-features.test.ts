// The flashable image is WebAssembly 1.0 and nothing later: WAMR built without its CMake files,
// and NuttX unless configured, load no module with bulk memory (a DataCount section,
// memory.copy/fill), saturating float-to-int, sign extension, SIMD, multi-value or reference
// types. asconfig.json disables them for every build; CI also runs wabt's wasm-validate on the
// image with them disabled. This test reads the images with binaryen set to the MVP feature set
// and looks at every instruction they hold.

import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { DEBUG_IMAGE, RELEASE_IMAGE, testImage } from "../../host/runtime/images.js";

/** Post-MVP instructions as binaryen prints them: an opening parenthesis, then the mnemonic (a
 *  function named after one, as the debug build's names are, is "(call $…memory.fill"). */
const POST_MVP = [
  /\((memory\.(copy|fill|init)|data\.drop)\b/, /\([if](32|64)\.trunc_sat/, /\(i(32|64)\.extend(8|16|32)_s\b/,
  /\((v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\./, /\(ref\.(null|func|is_null)\b/, /\(table\.(get|set|grow|size|fill|copy|init)\b/,
];

async function readMvp(image: URL): Promise<{ valid: boolean; text: string }> {
  const { default: binaryen } = await import("binaryen");
  const module = binaryen.readBinary(new Uint8Array(fs.readFileSync(image)));
  try {
    module.setFeatures(binaryen.Features.MVP);
    return { valid: Boolean(module.validate()), text: module.emitText() };
  } finally {
    module.dispose();
  }
}

describe("WebAssembly 1.0 only", () => {
  const images: [string, URL][] = [
    ["the release image", RELEASE_IMAGE],
    ["the update test image v0.2.0", testImage("v0.2.0")],
    ["the debug build", DEBUG_IMAGE],
  ];
  for (const [name, image] of images) {
    it(`${name} validates with the MVP feature set and holds no later instruction`, async () => {
      const { valid, text } = await readMvp(image);
      expect(valid).toBe(true);
      for (const pattern of POST_MVP) expect(text.match(pattern)?.[0] ?? null, String(pattern)).toBeNull();
      expect(text).toMatch(/\bf64\.add\b/); // the disassembly is real: the analysis adds doubles
    });
  }

  it("a module with memory.copy fails the same check", async () => {
    const { default: binaryen } = await import("binaryen");
    const module = new binaryen.Module();
    module.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory);
    module.setMemory(1, 1);
    module.addFunction("copy", binaryen.none, binaryen.none, [],
      module.memory.copy(module.i32.const(0), module.i32.const(8), module.i32.const(8)));
    const bytes = module.emitBinary();
    module.dispose();
    const path = new URL("./bulk-memory.wasm", `file://${fs.mkdtempSync("/tmp/impeller-wasm-")}/`);
    fs.writeFileSync(path, bytes);
    const { valid, text } = await readMvp(path);
    expect(valid).toBe(false);
    expect(text).toMatch(POST_MVP[0]);
  });
});
