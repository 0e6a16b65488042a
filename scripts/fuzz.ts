// The long fuzz run: `npm run fuzz` feeds 1,000,000 random and mutated inputs (default) to the
// firmware's CBOR decoder, the release firmware's command handler and configuration parser,
// and the TypeScript codecs (test/helpers/fuzz.ts), then prints the count, inputs per
// second and every failure. Options: --count N, --seed S. Exits 1 when anything failed.

import { Fuzzer, formatReport } from "../test/helpers/fuzz.js";

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
process.exit(report.failureCount === 0 ? 0 : 1);
