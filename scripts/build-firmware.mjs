// Builds build/firmware.wasm (release) and build/firmware.debug.wasm (debug) from firmware/
// with the targets in asconfig.json. With --if-stale it builds only when a source is newer
// than its output, so `npm test` and `npm start` can call it every time.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import binaryen from "binaryen";
import { writeNames } from "./names.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const targets = [
  { name: "release", out: "build/firmware.wasm", entries: [], extra: [] },
  { name: "debug", out: "build/firmware.debug.wasm", entries: ["firmware/debug/debug.ts"], extra: [] },
];

/** Test images: the release build with a deliberate fault (firmware/faults.ts) or another
 *  version, for the host's fault containment and update tests. Never flashed. */
export const TEST_IMAGES = [
  { name: "trap-at-init", fault: 1 },
  { name: "hang-at-init", fault: 2 },
  { name: "self-test-fails", fault: 3 },
  { name: "trap-on-window", fault: 4 },
  { name: "hang-on-window", fault: 5 },
  { name: "memory-on-window", fault: 6 },
  { name: "v0.2.0", version: 0x000200 },
];
for (const image of TEST_IMAGES) {
  const use = image.fault !== undefined ? `IMPELLER_FAULT=${image.fault}` : `IMPELLER_FW_VERSION=${image.version}`;
  targets.push({
    name: "release", out: `build/test-images/firmware-${image.name}.wasm`, entries: [],
    extra: ["--use", use, "--outFile", `build/test-images/firmware-${image.name}.wasm`, "--textFile", `build/test-images/firmware-${image.name}.wat`],
  });
}

function newestSource() {
  const files = fs.readdirSync(path.join(root, "firmware"), { recursive: true })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => path.join(root, "firmware", name));
  files.push(path.join(root, "asconfig.json"));
  return Math.max(...files.map((file) => fs.statSync(file).mtimeMs));
}

function isStale(out) {
  const file = path.join(root, out);
  return !fs.existsSync(file) || fs.statSync(file).mtimeMs < newestSource();
}

process.chdir(root); // asconfig.json's paths are relative to the project root
writeNames(); // firmware/names.ts, rewritten only when its list changed
fs.mkdirSync(path.join(root, "build", "test-images"), { recursive: true });
const onlyIfStale = process.argv.includes("--if-stale");
for (const target of targets) {
  if (onlyIfStale && !isStale(target.out)) continue;
  const args = [...target.entries, "--config", "asconfig.json", "--target", target.name, ...target.extra];
  const { error } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
  if (error) {
    console.error(`firmware ${target.name} build failed: ${error.message}`);
    process.exit(1);
  }
  if (target.name === "release") shrink(path.join(root, target.out));
  if (target.extra.length === 0) console.log(`built ${target.out} (${fs.statSync(path.join(root, target.out)).size} bytes)`);
}

/** Binaryen's size passes over asc's release output again, with binaryen's own defaults (those
 *  of `wasm-opt -Oz`: less inlining than asc asks for, exact float semantics), until the image
 *  stops shrinking: some 480 bytes less, as many instructions executed. Then cheapConstants() and
 *  pooledConstants().
 *  The module is read from the .wat asc wrote beside it, so the names stay for the profiles. */
function shrink(out) {
  const textFile = out.replace(/\.wasm$/, ".wat");
  const module = binaryen.parseText(fs.readFileSync(textFile, "utf8"));
  module.setFeatures(binaryen.Features.MVP);
  binaryen.setOptimizeLevel(2);
  binaryen.setShrinkLevel(2);
  binaryen.setDebugInfo(false);
  binaryen.setFastMath(false);
  binaryen.setClosedWorld(false);
  binaryen.setLowMemoryUnused(false);
  binaryen.setGenerateStackIR(false);
  binaryen.setOptimizeStackIR(false);
  binaryen.setFlexibleInlineMaxSize(20);
  binaryen.setOneCallerInlineMaxSize(-1);
  let best = module.emitBinary();
  let text = module.emitText();
  for (let round = 0; round < 4; round++) {
    module.optimize();
    const bytes = module.emitBinary();
    if (bytes.length >= best.length) break;
    best = bytes;
    text = module.emitText();
  }
  module.dispose();
  const cheap = binaryen.parseText(pooledConstants(cheapConstants(text)));
  cheap.setFeatures(binaryen.Features.MVP);
  cheap.runPasses(["reorder-globals-always"]);
  if (!cheap.validate()) throw new Error(`${out}: the image is not valid after its last passes`);
  fs.writeFileSync(out, cheap.emitBinary());
  fs.writeFileSync(textFile, cheap.emitText());
  cheap.dispose();
}

/** An f64 constant in a function, where it is a whole number, as an i32 constant converted (3
 *  to 6 bytes where `f64.const` takes 9), and where it is an f32 (0.5, 0.25 ...) as an f32
 *  constant promoted (6 bytes), the infinities too: the same value exactly either way (every
 *  i32 and every f32 is an f64, an infinite f32 the infinite f64; -0 and NaN stay as they are:
 *  a NaN's promotion need not keep its bits). Some 500 of them: 2.8 KB less, for one
 *  instruction more where one runs (0.1 % more instructions per window; the conversions are 3 %
 *  more f64 operations). A pass over the module would fold them back, so this comes after the
 *  last. Globals' initial values must stay constants. */
function cheapConstants(text) {
  return text.split("\n").map((line) => line.startsWith(" (global") ? line : line.replace(/\(f64\.const ([^)\s]+)\)/g, (constant, literal) => {
    if (literal === "inf" || literal === "-inf") return `(f64.promote_f32 (f32.const ${literal}))`;
    const value = Number(literal);
    if (Number.isInteger(value) && !Object.is(value, -0) && Math.abs(value) <= 2 ** 31 - 1) return `(f64.convert_i32_s (i32.const ${value}))`;
    if (Math.fround(value) === value) return `(f64.promote_f32 (f32.const ${literal}))`;
    return constant;
  })).join("\n");
}

/** An f64 constant that functions use often as an immutable global: a global.get (2 bytes for
 *  the 127 globals used most, 3 for the others) a use, for the global's 12 bytes once, where its
 *  uses take fewer bytes so (f64.const: 9 bytes; an i32 converted: 3 to 7; an f32 promoted: 6).
 *  The same value, and one instruction where the converted constants were two. */
function pooledConstants(text) {
  const GLOBAL_GET_BYTES = 2;
  const GLOBAL_F64_BYTES = 12;
  const GLOBAL_F32_BYTES = 8;
  const CONSTANT = /\(f64\.const ([^)\s]+)\)|\(f64\.convert_i32_s \(i32\.const (-?\d+)\)\)|\(f64\.promote_f32 \(f32\.const ([^)\s]+)\)\)/g;
  const lines = text.split("\n");
  const uses = new Map(); // the constant's f64 text → [uses, bytes a use]
  // One key a value: the shortest text that reads back as that f64 (NaNs, -0, the infinities as written).
  const valueKey = (literal, value) => Number.isNaN(value) || Object.is(value, -0) || !Number.isFinite(value) ? literal : `${value}`;
  const keyOf = (match, plain, integer, single) => {
    if (plain !== undefined) return [valueKey(plain, Number(plain)), 9];
    if (integer !== undefined) return [`${Number(integer)}`, 2 + signedLeb128Bytes(Number(integer))];
    return [valueKey(single, Math.fround(Number(single))), 6];
  };
  for (const line of lines) {
    if (line.startsWith(" (global")) continue;
    for (const match of line.matchAll(CONSTANT)) {
      const [key, bytes] = keyOf(...match);
      const [count] = uses.get(key) ?? [0];
      uses.set(key, [count + 1, bytes]);
    }
  }
  const pooled = new Map([...uses].filter(([, [count, bytes]]) => count * (bytes - GLOBAL_GET_BYTES) > GLOBAL_F64_BYTES)
    .map(([key], i) => [key, `$f64.pooled.${i}`]));
  const body = lines.map((line) => line.startsWith(" (global") ? line : line.replace(CONSTANT, (...match) => {
    const [key] = keyOf(...match);
    return pooled.has(key) ? `(global.get ${pooled.get(key)})` : match[0];
  }));
  // The f32 constants of their own (5 bytes a use; the global 8) likewise.
  const SINGLE = /(?<!\(f64\.promote_f32 )\(f32\.const ([^)\s]+)\)/g;
  const singleKey = (literal) => valueKey(literal, Math.fround(Number(literal)));
  const singleUses = new Map();
  for (const line of body) {
    if (line.startsWith(" (global")) continue;
    for (const [, literal] of line.matchAll(SINGLE)) singleUses.set(singleKey(literal), (singleUses.get(singleKey(literal)) ?? 0) + 1);
  }
  const singles = new Map([...singleUses].filter(([, count]) => count * (5 - GLOBAL_GET_BYTES) > GLOBAL_F32_BYTES)
    .map(([key], i) => [key, `$f32.pooled.${i}`]));
  const pooledBody = body.map((line) => line.startsWith(" (global") ? line : line.replace(SINGLE, (constant, literal) =>
    singles.has(singleKey(literal)) ? `(global.get ${singles.get(singleKey(literal))})` : constant));
  const at = pooledBody.findIndex((line) => line.startsWith(" (global"));
  pooledBody.splice(at, 0, ...[...pooled].map(([key, name]) => ` (global ${name} f64 (f64.const ${key}))`),
    ...[...singles].map(([key, name]) => ` (global ${name} f32 (f32.const ${key}))`));
  return pooledBody.join("\n");
}

function signedLeb128Bytes(value) {
  let bytes = 1;
  while (value < -64 || value > 63) { value = Math.floor(value / 128); bytes++; }
  return bytes;
}
