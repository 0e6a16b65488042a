// ABI v1 conformance: firmware/impeller_abi.h, firmware/ABI.md, host/runtime/abi.ts and the built
// module say the same thing, function by function and type by type; the WAMR and wasm3
// signature strings follow from the module's import section; every storage key and size in the
// header is the one ABI.md gives and the one the module reads and writes; the flashable build
// imports nothing from env.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ABI_EXPORTS, ABI_IMPORTS, ABI_OPTIONAL_EXPORTS, abiProblems } from "../../host/runtime/abi.js";
import { STATUS_NAMES } from "../../host/runtime/status.js";
import { encodeCommand, encodeFirmwareConfig, MESSAGE_KINDS } from "../../protocol/messages.js";
import { compileFirmware, FirmwareError } from "../../host/runtime/firmware.js";
import { readSignatures, formatSignature, type Signature, type ValueType } from "../../host/runtime/wasm-signatures.js";
import { DEBUG_IMAGE, releaseBytes } from "../../host/runtime/images.js";

const HEADER = new URL("../../firmware/impeller_abi.h", import.meta.url);
const ABI_MD = new URL("../../firmware/ABI.md", import.meta.url);
const PORTING_MD = new URL("../../firmware/PORTING.md", import.meta.url);
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
    expect(header.exports.size).toBe(13);
    expect(show(header.imports)).toEqual(show(ABI_IMPORTS));
    expect(show(header.exports)).toEqual(show(new Map([...ABI_EXPORTS, ...ABI_OPTIONAL_EXPORTS])));
  });

  it("ABI.md's exports table lists the header's exports with their signatures", () => {
    const header = headerPrototypes().exports;
    const documented = new Map(markdownTable("export").flatMap((row) => unquote(row[0]).split(/`?, `?/).map((name) => [name, unquote(row[1])] as const)));
    expect([...documented.keys()].sort()).toEqual([...header.keys()].sort());
    for (const [name, signature] of documented) {
      // "(kind i32, ptr i32) -> i32" as the module writes it: "(i32, i32) -> (i32)".
      const types = signature.replace(/\w+ (i32|i64|f32|f64)/g, "$1").replace(/ -> (\w+)$/, " -> ($1)").replace(/^\(([^)]*)\)$/, "($1) -> ()");
      expect(types, name).toBe(formatSignature(header.get(name)!));
    }
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
    for (const name of [...ABI_EXPORTS.keys(), ...ABI_OPTIONAL_EXPORTS.keys()]) expect(exports.has(name), name).toBe(true);
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

// ---------------------------------------------------------------------------------------
// Signature strings and storage records, for C hosts (PORTING.md)

/** `#define IMPELLER_<prefix><NAME> value` of the header, by NAME; strings unquoted. */
function headerDefines(prefix: string): Map<string, string> {
  const text = fs.readFileSync(HEADER, "utf8");
  const pattern = new RegExp(`^#define IMPELLER_${prefix}(\\w+)\\s+("[^"]*"|\\(?-?(?:0x[0-9a-fA-F]+|\\d+)\\)?)`, "gm");
  return new Map([...text.matchAll(pattern)].map(([, name, value]) => [name, value.startsWith('"') ? value.slice(1, -1) : value.replace(/[()]/g, "")]));
}

/** The number `#define IMPELLER_<name>` stands for. */
const headerNumber = (name: string): number => Number(headerDefines("").get(name));

/** The rows of the ABI.md table whose header row starts with `| first |`, as cells. */
function markdownTable(first: string): string[][] {
  const lines = fs.readFileSync(ABI_MD, "utf8").split("\n");
  const rows: string[][] = [];
  for (let i = lines.findIndex((line) => line.startsWith(`| ${first} |`)); i >= 0; i = lines.findIndex((line, at) => at > i && line.startsWith(`| ${first} |`))) {
    for (let j = i + 2; j < lines.length && lines[j].startsWith("|"); j++) {
      rows.push(lines[j].slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
    }
  }
  return rows;
}

const unquote = (cell: string): string => cell.replace(/^`"?|"?`$/g, "");

/** Which parameters of each import are pointers, by ABI.md's names ("ptr"). */
function pointerParams(): Map<string, boolean[]> {
  return new Map(markdownTable("import").map((row) => [
    `host.${unquote(row[0])}`,
    [...unquote(row[1]).matchAll(/(\w+) i(?:32|64)/g)].map(([, name]) => name === "ptr"),
  ]));
}

const WAMR_TYPES: Record<string, string> = { i32: "i", i64: "I", f32: "f", f64: "F" };

/** WAMR's signature of an import: its types from the module, "*~" for a pointer and its length. */
function wamrSignature(signature: Signature, pointers: boolean[]): string {
  const params = signature.params.map((type, i) => (pointers[i] ? "*" : pointers[i - 1] ? "~" : WAMR_TYPES[type])).join("");
  return `(${params})${signature.results.map((type) => WAMR_TYPES[type]).join("")}`;
}

/** wasm3's: the result ("v" for none), then the arguments, "*" for a pointer. */
function wasm3Signature(signature: Signature, pointers: boolean[]): string {
  const result = signature.results.length === 0 ? "v" : WAMR_TYPES[signature.results[0]];
  return `${result}(${signature.params.map((type, i) => (pointers[i] ? "*" : WAMR_TYPES[type])).join("")})`;
}

const importName = (macro: string): string => `host.${macro.toLowerCase()}`;

describe("what a C host binds: signature strings", () => {
  const module = readSignatures(releaseBytes()).imports;

  it("ABI.md lists every import the module has, with its signature, and the header's prototypes take pointers where ABI.md says", () => {
    const table = markdownTable("import");
    expect(table.map((row) => `host.${unquote(row[0])}`).sort()).toEqual([...module.keys()].sort());
    for (const row of table) {
      const signature = module.get(`host.${unquote(row[0])}`)!;
      expect(unquote(row[1]).replace(/\w+ (i32|i64)/g, "$1").replace(/ -> (\w+)$/, " -> ($1)").replace(/^\(([^)]*)\)$/, "($1) -> ()"), row[0])
        .toBe(formatSignature(signature));
    }
    const text = fs.readFileSync(HEADER, "utf8");
    for (const [name, pointers] of pointerParams()) {
      const prototype = new RegExp(`^\\w+ host_${name.slice(5)}\\(([^)]*)\\);`, "m").exec(text)![1];
      const declared = prototype.trim() === "void" ? [] : prototype.split(",").map((arg) => arg.trim().startsWith("wasm_ptr_t"));
      expect(declared, name).toEqual(pointers);
    }
  });

  it("the header's and ABI.md's WAMR and wasm3 strings are the ones the module's import section gives", () => {
    const pointers = pointerParams();
    const derived = [...module].map(([name, signature]) => [name, wamrSignature(signature, pointers.get(name)!), wasm3Signature(signature, pointers.get(name)!)]).sort();
    expect(derived).toEqual([
      ["host.clock_ms", "()I", "I()"],
      ["host.log", "(i*~)", "v(i*i)"],
      ["host.panic", "(*~)", "v(*i)"],
      ["host.publish", "(i*~)i", "i(i*i)"],
      ["host.storage_read", "(i*~)i", "i(i*i)"],
      ["host.storage_write", "(i*~)i", "i(i*i)"],
    ]);
    const wamr = [...headerDefines("WAMR_SIG_")].map(([macro, value]) => [importName(macro), value]).sort();
    const wasm3 = [...headerDefines("WASM3_SIG_")].map(([macro, value]) => [importName(macro), value]).sort();
    expect(wamr).toEqual(derived.map(([name, w]) => [name, w]));
    expect(wasm3).toEqual(derived.map(([name, , w3]) => [name, w3]));
    const documented = markdownTable("import").map((row) => [`host.${unquote(row[0])}`, unquote(row[2]), unquote(row[3])]).sort();
    expect(documented).toEqual(derived);
  });

  it("PORTING.md names only what the header defines", () => {
    const header = fs.readFileSync(HEADER, "utf8");
    const named = new Set(fs.readFileSync(PORTING_MD, "utf8").match(/\bIMPELLER_\w+\b/g));
    const missing = [...named].filter((name) => !name.endsWith("_") && !new RegExp(`#define ${name}\\b`).test(header));
    expect(missing.filter((name) => !/_\*?$/.test(name))).toEqual([]);
    expect(named.size).toBeGreaterThan(10);
  });
});

/** The release module run with imports that record every storage read (key, capacity) and
 *  write (key, length), on empty storage: a boot, a window, a shutdown. */
async function storageTraffic(): Promise<{ reads: Map<number, number>; writes: Map<number, number>; inbox: number; memory: WebAssembly.Memory }> {
  const reads = new Map<number, number>();
  const writes = new Map<number, number>();
  let memory!: WebAssembly.Memory;
  const instance = await WebAssembly.instantiate(new WebAssembly.Module(releaseBytes() as Uint8Array<ArrayBuffer>), {
    host: {
      clock_ms: () => 0n, log: () => {}, publish: () => 0, panic: () => {},
      storage_read: (key: number, _ptr: number, capacity: number) => { reads.set(key, capacity); return -1; },
      storage_write: (key: number, _ptr: number, len: number) => { writes.set(key, Math.max(len, writes.get(key) ?? 0)); return 0; },
    },
  });
  const abi = instance.exports as unknown as Record<string, (...args: (number | bigint)[]) => number> & { memory: WebAssembly.Memory };
  memory = abi.memory;
  const send = (bytes: Uint8Array): number => {
    new Uint8Array(memory.buffer, abi.inbox_buffer(), bytes.length).set(bytes);
    return bytes.length;
  };
  const token = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  expect(abi.init(send(encodeFirmwareConfig({ device: "d", rate_hz: 1000, window: 256, owner: { token } })))).toBe(0);
  new Float32Array(memory.buffer, abi.sample_buffer(), 256).set(Float32Array.from({ length: 256 }, (_, i) => Math.sin(i / 3)));
  expect(abi.process(256, 1_767_225_600_000n)).toBe(1);
  expect(abi.handle_message(send(encodeCommand({ id: 1, seq: 1, cmd: "self_test" })))).toBe(0);
  return { reads, writes, inbox: abi.inbox_capacity(), memory };
}

describe("what a C host stores: records, their keys and sizes", () => {
  const defines = headerDefines("STORAGE_");
  const records = new Map([...defines].filter(([name]) => !name.endsWith("_BYTES") && !name.startsWith("READ_")).map(([name, key]) => [name, [Number(key), Number(defines.get(`${name}_BYTES`))]]));

  it("every record in the header has its size there, and ABI.md's storage tables give the same keys and sizes", () => {
    expect(records.size).toBe(12);
    for (const [name, [key, bytes]] of records) {
      expect(Number.isInteger(key) && Number.isInteger(bytes) && bytes > 0, name).toBe(true);
    }
    const documented = new Map(markdownTable("key | header name").map((row) => [unquote(row[1]).replace(/^IMPELLER_STORAGE_/, ""), [Number(row[0]), Number(row[2])]]));
    expect(documented).toEqual(records);
    expect(headerDefines("STORAGE_READ_")).toEqual(new Map([["ABSENT", "-1"], ["TOO_LARGE", "-2"]]));
  });

  it("the module reads each of its records with the header's size as capacity, writes none larger, and touches none of the host's but the mailbox", async () => {
    const { reads, writes, inbox, memory } = await storageTraffic();
    const firmware = [...records].filter(([name]) => !name.startsWith("HOST_"));
    expect([...reads].sort(([a], [b]) => a - b)).toEqual(firmware.map(([, [key, bytes]]) => [key, bytes]).sort(([a], [b]) => a - b));
    // A boot on empty storage: the boot count, the policy, the command counter and the state
    // (1,252 bytes: no history yet).
    expect([...writes].sort(([a], [b]) => a - b)).toEqual([[1, 4], [2, 37], [3, 8], [9, 1252]]);
    for (const [key, length] of writes) expect(length).toBeLessThanOrEqual(firmware.find(([, [k]]) => k === key)![1][1]);
    expect(inbox).toBe(headerNumber("INBOX_BYTES"));
    expect(memory.buffer.byteLength).toBe(headerNumber("MEMORY_PAGES_INITIAL") * headerNumber("WASM_PAGE_BYTES"));
  });

  it("the header's memory limits are the module's", () => {
    const [memory] = readSignatures(releaseBytes()).memories;
    expect([memory.initialPages, memory.maximumPages]).toEqual([headerNumber("MEMORY_PAGES_INITIAL"), headerNumber("MEMORY_PAGES_MAX")]);
  });
});
