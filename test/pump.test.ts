// The pump model's windows are fixed by the seed: the same seed, pump, faults and time give
// the same float32 samples, bit for bit (seeded fleet runs assert exact outcomes), healthy and
// with every kind of fault, at the default rate and window and at an odd-sized one.

import { createHash } from "node:crypto";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { FAULT_KINDS, type Degradation } from "../simulator/degradation.js";
import { bearingOrders, drawPump, KERNELS_WASM, PumpModel } from "../simulator/pump.js";
import { Random } from "../simulator/random.js";
import { loadScenario } from "../simulator/scenario.js";

const scenario = loadScenario(new URL("../scenarios/default.json", import.meta.url).pathname);
const startMs = Date.parse(scenario.start);
const DAY_MS = 86_400_000;

/** sha256 of pump `index`'s windows on days 0, 5, 12 and 30, with `faults` from day 1 to day 21. */
function windowsHash(index: number, faults: Degradation["kind"][], rateHz: number, samples: number): string {
  const random = Random.forItem(scenario.seed, index);
  const degradations = faults.map((kind) => ({ kind, onsetMs: startMs + DAY_MS, failureMs: startMs + 21 * DAY_MS }));
  const model = new PumpModel(drawPump(scenario.pump, random), random, degradations, bearingOrders(scenario.bearing!));
  const hash = createHash("sha256");
  const window = new Float32Array(samples);
  for (const day of [0, 5, 12, 30]) {
    model.sample(window, rateHz, startMs + day * DAY_MS);
    hash.update(new Uint8Array(window.buffer));
  }
  return hash.digest("hex").slice(0, 16);
}

describe("PumpModel.sample", () => {
  it("gives the same bits for the same seed as it always has, healthy and with each fault", () => {
    const hashes = [[], ...FAULT_KINDS.map((kind) => [kind]), [...FAULT_KINDS]].map((faults, i) => windowsHash(i, faults, scenario.sample_rate_hz, scenario.window));
    expect(hashes).toEqual(EXPECTED_DEFAULT);
  });

  it("gives the same bits at an odd window of 1001 samples at 4000 Hz", () => {
    expect(windowsHash(3, ["outer_race", "cavitation"], 4000, 1001)).toBe(EXPECTED_ODD);
  });
});

/** From the model before its kernels moved to WebAssembly (the first 16 hex digits of each). */
const EXPECTED_DEFAULT = ["6cca4a04d1d01801", "c1d079c498595417", "d48e9d186fc985db", "fffb867b43679677", "b4d15ba194c60d93", "43cfb868b0ff0371", "4c12f9fa1ba8ade9", "2254a2a9a9107aa4"];
const EXPECTED_ODD = "5870cb9f92e50df3";

describe("the pump model's SIMD kernels", () => {
  it("are the bytes simulator/pump-kernels.wat assembles to", async () => {
    const { default: binaryen } = await import("binaryen");
    const text = fs.readFileSync(new URL("../simulator/pump-kernels.wat", import.meta.url), "utf8");
    const module = binaryen.parseText(text);
    module.setFeatures(binaryen.Features.MVP | binaryen.Features.SIMD128);
    expect(module.validate()).toBeTruthy();
    const assembled = module.emitBinary();
    module.dispose();
    expect(Buffer.from(assembled).toString("base64")).toBe(KERNELS_WASM);
  });
});
