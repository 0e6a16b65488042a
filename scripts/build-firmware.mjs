// Builds build/firmware.wasm (release) and build/firmware.debug.wasm (debug) from firmware/
// with the targets in asconfig.json. With --if-stale it builds only when a source is newer
// than its output, so `npm test` and `npm start` can call it every time.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const targets = [
  { name: "release", out: "build/firmware.wasm", entries: [] },
  { name: "debug", out: "build/firmware.debug.wasm", entries: ["firmware/debug.ts"] },
];

function newestSource() {
  const files = fs.readdirSync(path.join(root, "firmware"))
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
const onlyIfStale = process.argv.includes("--if-stale");
for (const target of targets) {
  if (onlyIfStale && !isStale(target.out)) continue;
  const args = [...target.entries, "--config", "asconfig.json", "--target", target.name];
  const { error } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
  if (error) {
    console.error(`firmware ${target.name} build failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`built ${target.out} (${fs.statSync(path.join(root, target.out)).size} bytes)`);
}
