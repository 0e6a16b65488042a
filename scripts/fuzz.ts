// The long fuzz run: `npm run fuzz` feeds 1,000,000 random and mutated inputs (default) to the
// firmware's CBOR decoder, the release firmware's command handler and configuration parser,
// and the TypeScript codecs (scripts/fuzz/fuzzer.ts), then prints the count, inputs per
// second and every failure. Then as many malformed payloads again, shared among the
// operator's consumers of what devices send (scripts/fuzz/rogue-pump.ts): none may throw, each
// must be counted against the rogue pump, and the good pump's records must not move.
// Options: --count N, --seed S. Exits 1 when anything failed.

import { Fuzzer, formatReport } from "./fuzz/fuzzer.js";
import { attack, consumers } from "./fuzz/rogue-pump.js";

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} takes a non-negative integer, not ${JSON.stringify(process.argv[at + 1])}`);
    process.exit(2);
  }
  return value;
}

const count = option("count", 1_000_000);
const seed = option("seed", 1);
const fuzzer = await Fuzzer.create();
console.log(`fuzzing ${count} inputs, seed ${seed}`);
const report = await fuzzer.run(count, seed, (so_far) => {
  console.log(`  ${so_far.inputs} inputs, ${Math.round(so_far.inputs / so_far.seconds)} inputs/s, ${so_far.failureCount} failures`);
});
console.log(formatReport(report, seed));

const targets = consumers();
const each = Math.ceil(count / targets.length);
console.log(`hostile payloads: ${each} to each of ${targets.length} consumers`);
let consumerFailures = 0;
for (const [i, consumer] of targets.entries()) {
  const started = performance.now();
  const result = await attack(consumer, each, seed + i);
  const problems: string[] = [];
  if (result.thrown.length > 0) problems.push(`threw on ${result.thrown.length} payloads, first ${JSON.stringify(result.thrown[0])}`);
  if (result.rejected !== result.fed) problems.push(`counted ${result.rejected} rejected of ${result.fed} malformed`);
  if (result.othersAfter !== result.othersBefore) problems.push("another device's records changed");
  if (result.fed < each) problems.push(`the generator gave only ${result.fed} malformed payloads`);
  consumerFailures += problems.length;
  const seconds = (performance.now() - started) / 1000;
  console.log(`  ${consumer.name}: ${result.fed} fed, ${result.rejected} rejected, ${Math.round(result.fed / seconds)} payloads/s${problems.length > 0 ? `; FAILED: ${problems.join("; ")}` : ""}`);
}
console.log(`consumer failures: ${consumerFailures}`);
process.exit(report.failureCount === 0 && consumerFailures === 0 ? 0 : 1);
