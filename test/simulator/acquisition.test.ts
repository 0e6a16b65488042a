// A measurement of several consecutive windows (scenario "acquisition_windows"): one continuous
// stretch of the pump's vibration, cut into windows a window apart, which the firmware streams
// across (firmware/ANALYSIS.md §5, §6). What a fleet sampling at 48 kHz needs: there one
// 4096-sample window is 85 ms, too short to part a 25 Hz shaft's lines.

import { describe, expect, it } from "vitest";
import { simulate } from "../../simulator/fleet/fleet.js";
import { parseScenario, ScenarioError } from "../../simulator/scenario/scenario.js";
import { drawPump } from "../../simulator/physics/pump-params.js";
import { PumpModel } from "../../simulator/physics/pump.js";
import { Random } from "../../simulator/physics/random.js";

const RATE_HZ = 48_000;
const WINDOW = 4096;
const WINDOWS = 8;
const MEASUREMENTS = 3;
const scenario = parseScenario({
  name: "one pump at 48 kHz, acquisitions of eight windows",
  seed: 5,
  tenant: "acme",
  start: "2026-03-01T12:00:00Z",
  days: (MEASUREMENTS * 60) / 86_400,
  pumps: 1,
  interval_s: 60,
  sample_rate_hz: RATE_HZ,
  window: WINDOW,
  acquisition_windows: WINDOWS,
  bearing: [9, 7.94, 39.04, 0],
  pump: {
    rpm: [1500, 1500], vanes: [6, 6], slip: [0.02, 0.02], load: [0.8, 0.8],
    imbalance_g: [0.02, 0.02], misalignment_g: [0.005, 0.005], vane_pass_g: [0.05, 0.05], noise_g: [0.01, 0.01],
  },
});

describe("acquisitions of consecutive windows", () => {
  it("feeds each measurement as eight windows a window apart, cut from one continuous stretch of the pump's vibration", async () => {
    const fed: { timestampMs: number; samples: Float32Array }[] = [];
    const result = await simulate(scenario, { onWindow: (_device, timestampMs, samples) => fed.push({ timestampMs, samples: samples.slice() }) });
    expect(fed).toHaveLength(MEASUREMENTS * WINDOWS);
    const startMs = Date.parse(scenario.start);
    expect(fed.map((w) => w.timestampMs)).toEqual(Array.from({ length: MEASUREMENTS * WINDOWS }, (_, i) =>
      startMs + Math.floor(i / WINDOWS) * 60_000 + Math.round(((i % WINDOWS) * WINDOW * 1000) / RATE_HZ)));
    // The first measurement is the pump model's one sampling of 8 × 4096 samples, as the fleet
    // builds the model (its seed, pump 0's stream).
    const random = Random.forItem(scenario.seed, 0);
    const model = new PumpModel(drawPump(scenario.pump, random), random, []);
    const stretch = new Float32Array(WINDOWS * WINDOW);
    model.sample(stretch, RATE_HZ, startMs);
    for (let k = 0; k < WINDOWS; k++) expect(fed[k].samples, `window ${k}`).toEqual(stretch.subarray(k * WINDOW, (k + 1) * WINDOW));
    // The firmware streams the envelope across each acquisition and starts again at the next:
    // the first window decides alone, then the largest power of two of the stream's points
    // whose bins are finer than a window's (ANALYSIS.md §5): 0.17 s from the third window,
    // 0.34 s from the fifth.
    const ledger = result.collector.devices.get("pump-0001")!;
    const envS = ledger.telemetry.map((pack) => pack.values.get("env_s")!.toFixed(3));
    const perAcquisition = ["0.000", "0.000", "0.171", "0.171", "0.341", "0.341", "0.341", "0.341"];
    expect(envS).toEqual([...perAcquisition, ...perAcquisition, ...perAcquisition]);
  });

  it("an acquisition that would last as long as the interval is refused, naming the field", () => {
    const raw = { ...scenario, interval_s: 1, acquisition_windows: 12 } as Record<string, unknown>;
    expect(() => parseScenario(raw, "s.json")).toThrow(ScenarioError);
    expect(() => parseScenario(raw, "s.json")).toThrow(`"acquisition_windows" × "window" lasts 1.024 s at "sample_rate_hz", not less than "interval_s" (1 s)`);
    expect(() => parseScenario({ ...scenario, acquisition_windows: 0 }, "s.json")).toThrow(/acquisition_windows/);
    expect(() => parseScenario({ ...scenario, acquisition_windows: 65 }, "s.json")).toThrow(/acquisition_windows/);
  });
});
