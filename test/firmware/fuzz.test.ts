// A CI-sized fuzz run (scripts/fuzz/fuzzer.ts; `npm run fuzz` runs a million): random and
// mutated inputs never trap the firmware's decoder, command handler or configuration parser,
// never make the decoder read past its input, and make the TypeScript codecs fail only with
// a ProtocolError.

import { describe, expect, it } from "vitest";
import { Fuzzer, formatReport } from "../../scripts/fuzz/fuzzer.js";

const INPUTS = 20_000;
const SEED = 20_260_101;

describe("fuzzing", () => {
  it(`${INPUTS} random and mutated inputs: no trap, no read past the input, only ProtocolErrors`, async () => {
    const fuzzer = await Fuzzer.create();
    const report = await fuzzer.run(INPUTS, SEED);
    expect(report.failures, formatReport(report, SEED)).toEqual([]);
    expect(report.failureCount).toBe(0);
    expect(report.inputs).toBe(INPUTS);
    // The inputs reach every outcome, so the run exercises what it claims to.
    expect(Object.keys(report.decoder).sort()).toEqual(
      ["badUtf8", "malformed", "ok", "tooDeep", "trailing", "truncated", "unsupported"]);
    expect(Object.keys(report.commands)).toEqual(expect.arrayContaining(["0", "-2", "-3", "-4", "-9"]));
    expect(Object.keys(report.inits)).toEqual(expect.arrayContaining(["-3", "-4"]));
    expect(report.codecs.ok).toBeGreaterThan(0);
    expect(report.codecs.protocolErrors).toBeGreaterThan(0);
  });
});
