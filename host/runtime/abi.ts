// Firmware ABI v1 as the host checks it before running a module: every import the firmware
// may take from module "host" and every export the host calls, with its exact signature.
// firmware/impeller_abi.h states the same contract in C; a test holds the two together.

import { formatSignature, readSignatures, type MemoryLimits, type Signature } from "./wasm-signatures.js";

export const ABI_VERSION = 1;

/** Bytes in a WebAssembly page. */
export const PAGE_BYTES = 65536;
/** The largest memory maximum the host accepts by default, in pages (1 MiB): ABI v1's
 *  firmware declares 4, and a device must be able to give every module its maximum. */
export const MEMORY_PAGES_MAX_DEFAULT = 16;

const sig = (params: Signature["params"], results: Signature["results"] = []): Signature => ({ params, results });

export const ABI_IMPORTS: ReadonlyMap<string, Signature> = new Map([
  ["host.clock_ms", sig([], ["i64"])],
  ["host.log", sig(["i32", "i32", "i32"])],
  ["host.publish", sig(["i32", "i32", "i32"], ["i32"])],
  ["host.panic", sig(["i32", "i32"])],
  ["host.storage_read", sig(["i32", "i32", "i32"], ["i32"])],
  ["host.storage_write", sig(["i32", "i32", "i32"], ["i32"])],
]);

export const ABI_EXPORTS: ReadonlyMap<string, Signature> = new Map([
  ["abi_version", sig([], ["i32"])],
  ["fw_version", sig([], ["i32"])],
  ["inbox_buffer", sig([], ["i32"])],
  ["inbox_capacity", sig([], ["i32"])],
  ["init", sig(["i32"], ["i32"])],
  ["sample_buffer", sig([], ["i32"])],
  ["sample_capacity", sig([], ["i32"])],
  ["process", sig(["i32", "i64"], ["i32"])],
  ["handle_message", sig(["i32"], ["i32"])],
  ["tick", sig(["i64"], ["i32"])],
  ["self_test", sig([], ["i32"])],
]);

/** Exports added to ABI v1 after its first images: checked when present, not required (an image
 *  built before them runs, and the host's calls of them answer that it lacks them). */
export const ABI_OPTIONAL_EXPORTS: ReadonlyMap<string, Signature> = new Map([
  ["spectrum", sig(["i32", "i32", "i32"], ["i32"])],
  ["spectrum_bin_hz", sig([], ["f64"])],
]);

const same = (a: Signature, b: Signature): boolean => formatSignature(a) === formatSignature(b);

/** Every way `bytes` departs from ABI v1, as sentences; empty when the module conforms.
 *  Extra exports are allowed (the debug build has some); extra imports are not. */
export function abiProblems(bytes: Uint8Array, module: WebAssembly.Module): string[] {
  const problems: string[] = [];
  const { imports, exports } = readSignatures(bytes);
  for (const [name, signature] of imports) {
    const expected = ABI_IMPORTS.get(name);
    if (expected === undefined) problems.push(`imports ${name}, which ABI v1 does not provide`);
    else if (!same(expected, signature)) problems.push(`imports ${name} as ${formatSignature(signature)}, ABI v1 has ${formatSignature(expected)}`);
  }
  for (const [name, expected] of ABI_EXPORTS) {
    const signature = exports.get(name);
    if (signature === undefined) problems.push(`does not export ${name}`);
    else if (!same(expected, signature)) problems.push(`exports ${name} as ${formatSignature(signature)}, ABI v1 has ${formatSignature(expected)}`);
  }
  for (const [name, expected] of ABI_OPTIONAL_EXPORTS) {
    const signature = exports.get(name);
    if (signature !== undefined && !same(expected, signature)) problems.push(`exports ${name} as ${formatSignature(signature)}, ABI v1 has ${formatSignature(expected)}`);
  }
  for (const imported of WebAssembly.Module.imports(module)) {
    if (imported.kind !== "function") problems.push(`imports a ${imported.kind} ${imported.module}.${imported.name}; only functions may be imported`);
  }
  if (!WebAssembly.Module.exports(module).some((e) => e.name === "memory" && e.kind === "memory")) {
    problems.push("does not export its memory as \"memory\"");
  }
  return problems;
}

/** The module's own memory, or a sentence saying why it has none the host can bound. */
export function memoryLimits(bytes: Uint8Array): MemoryLimits | string {
  const { memories } = readSignatures(bytes);
  const defined = memories.filter((memory) => !memory.imported);
  if (defined.length !== 1) return `defines ${defined.length} memories; ABI v1 has exactly one`;
  return defined[0];
}

/** Why the module's memory is not acceptable under a cap of `pagesMax` pages, or undefined.
 *  A module without a declared maximum could grow until the device runs out: refused. */
export function memoryProblem(bytes: Uint8Array, pagesMax: number): string | undefined {
  const limits = memoryLimits(bytes);
  if (typeof limits === "string") return limits;
  if (limits.maximumPages === undefined) return `declares no maximum memory; the host needs one of at most ${pagesMax} pages`;
  if (limits.maximumPages > pagesMax) return `declares a maximum memory of ${limits.maximumPages} pages, above this host's cap of ${pagesMax}`;
  return undefined;
}
