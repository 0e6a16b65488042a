// ABI v1 conformance: firmware/impeller_abi.h, host/runtime/abi.ts and the built module say the same
// thing, function by function and type by type; the flashable build imports nothing from env.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ABI_EXPORTS, ABI_IMPORTS, abiProblems } from "../../host/runtime/abi.js";
import { STATUS_NAMES } from "../../host/runtime/status.js";
import { MESSAGE_KINDS } from "../../protocol/messages.js";
import { compileFirmware, FirmwareError } from "../../host/runtime/firmware.js";
import { readSignatures, formatSignature, type Signature, type ValueType } from "../../host/runtime/wasm-signatures.js";
import { DEBUG_IMAGE, releaseBytes } from "../../host/runtime/images.js";

const HEADER = new URL("../../firmware/impeller_abi.h", import.meta.url);
const C_TYPES: Record<string, ValueType> = { int32_t: "i32", uint32_t: "i32", wasm_ptr_t: "i32", int64_t: "i64", float: "f32", double: "f64" };

/** Prototypes `type host_NAME(args);` and `type impeller_NAME(args);` of the header. */
function headerPrototypes(): { imports: Map<string, Signature>; exports: Map<string, Signature> } {
  const text = fs.readFileSync(HEADER, "utf8");
  const imports = new Map<string, Signature>();
  const exports = new Map<string, Signature>();
  for (const match of text.matchAll(/^(\w+)\s+(host|impeller)_(\w+)\(([^)]*)\);/gm)) {
    const [, result, side, name, args] = match;
    const params = args.trim() === "void" ? [] : args.split(",").map((arg) => {
      const type = C_TYPES[arg.trim().split(/\s+/)[0]];
      if (type === undefined) throw new Error(`unknown C type in ${match[0]}`);
      return type;
    });
    const results: ValueType[] = result === "void" ? [] : [C_TYPES[result]];
    if (side === "host") imports.set(`host.${name}`, { params, results });
    else exports.set(name, { params, results });
  }
  return { imports, exports };
}

const show = (map: ReadonlyMap<string, Signature>): Record<string, string> =>
  Object.fromEntries([...map].map(([name, signature]) => [name, formatSignature(signature)]).sort());

describe("firmware ABI v1", () => {
  it("the C header compiles with cc -fsyntax-only", () => {
    expect(() => execFileSync("cc", ["-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pedantic", "-std=c99", "-x", "c", HEADER.pathname], { stdio: "pipe" })).not.toThrow();
  });

  it("the header and host/runtime/abi.ts list the same imports and exports with the same types", () => {
    const header = headerPrototypes();
    expect(header.imports.size).toBe(6);
    expect(header.exports.size).toBe(11);
    expect(show(header.imports)).toEqual(show(ABI_IMPORTS));
    expect(show(header.exports)).toEqual(show(ABI_EXPORTS));
  });

  it("build/firmware.wasm imports and exports exactly what the header declares, plus its memory", () => {
    const bytes = releaseBytes();
    const header = headerPrototypes();
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    const signatures = readSignatures(bytes);
    expect(show(signatures.imports)).toEqual(show(header.imports));
    expect(show(signatures.exports)).toEqual(show(header.exports));
    expect(WebAssembly.Module.exports(module).filter((e) => e.kind !== "function")).toEqual([{ name: "memory", kind: "memory" }]);
    expect(WebAssembly.Module.imports(module).filter((i) => i.module !== "host")).toEqual([]);
    expect(abiProblems(bytes, module)).toEqual([]);
  });

  it("the header's status codes and message kinds are the ones the host knows", () => {
    const text = fs.readFileSync(HEADER, "utf8");
    const statuses = [...text.matchAll(/^#define IMPELLER_STATUS_(\w+)\s+\(?(-?\d+)\)?/gm)].map(([, name, value]) => [Number(value), name.toLowerCase()]);
    expect(statuses).toEqual([...STATUS_NAMES]);
    const kinds = [...text.matchAll(/^#define IMPELLER_KIND_(\w+)\s+(\d+)/gm)].map(([, name, value]) => [Number(value), name.toLowerCase()]);
    expect(kinds).toEqual([...MESSAGE_KINDS]);
  });

  it("the flashable build has no SIMD and a fixed memory of 2 to 4 pages", () => {
    const wat = fs.readFileSync(new URL("../../build/firmware.wat", import.meta.url), "utf8");
    expect(wat).not.toMatch(/v128/);
    expect(wat).toMatch(/\(memory \$0 2 4\)/);
  });

  it("the debug build exports the ABI plus the loader's runtime", () => {
    const bytes = new Uint8Array(fs.readFileSync(DEBUG_IMAGE));
    const exports = readSignatures(bytes).exports;
    for (const name of ABI_EXPORTS.keys()) expect(exports.has(name), name).toBe(true);
    for (const name of ["__new", "__pin", "__unpin", "__collect"]) expect(exports.has(name), name).toBe(true);
  });
});

/** A minimal module: `(import "env" "abort" (func (param i32 i32 i32 i32)))` and nothing else. */
const ENV_IMPORT_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00,
  0x02, 0x0d, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x05, 0x61, 0x62, 0x6f, 0x72, 0x74, 0x00, 0x00,
]);

describe("the host refuses modules that do not implement ABI v1", () => {
  it("names an env import and every missing export", async () => {
    const error = await compileFirmware(ENV_IMPORT_MODULE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FirmwareError);
    expect((error as FirmwareError).code).toBe("abi_mismatch");
    expect((error as FirmwareError).message).toContain("imports env.abort, which ABI v1 does not provide");
    expect((error as FirmwareError).message).toContain("does not export process");
    expect((error as FirmwareError).message).toContain('does not export its memory as "memory"');
  });

  it("rejects bytes that are not WebAssembly with a clear error", async () => {
    const error = await compileFirmware(new Uint8Array([1, 2, 3, 4])).catch((e: unknown) => e);
    expect((error as FirmwareError).code).toBe("abi_mismatch");
    expect((error as FirmwareError).message).toMatch(/^not a valid WebAssembly module/);
  });

  it("rejects a truncated firmware image", async () => {
    const bytes = releaseBytes();
    const error = await compileFirmware(bytes.subarray(0, bytes.length - 100)).catch((e: unknown) => e);
    expect((error as FirmwareError).code).toBe("abi_mismatch");
  });
});
