// Fleet composition (simulator/physics/pump-types.ts): kinds of pump with ranges and bearings of their
// own, assigned from the seed; each device is configured with its own kind's bearing, so the
// firmware names a defect of that bearing.

import { describe, expect, it } from "vitest";
import { simulate } from "../../simulator/fleet/fleet.js";
import { faultOutcomes } from "../../simulator/verdict/expectations.js";
import { deviceConfig } from "../../simulator/fleet/pump-group.js";
import { fleetComposition, pumpKind } from "../../simulator/physics/pump-types.js";
import { drawPump } from "../../simulator/physics/pump-params.js";
import { PumpModel } from "../../simulator/physics/pump.js";
import { Random } from "../../simulator/physics/random.js";
import { loadScenario, parseScenario, type Scenario } from "../../simulator/scenario/scenario.js";

const base = loadScenario(new URL("../../scenarios/default.json", import.meta.url).pathname);
const SPLIT_CASE: [number, number, number, number] = [12, 15.875, 72.5, 0];
const mixed = (extra: Record<string, unknown> = {}): Scenario => parseScenario({
  ...base, pumps: 10, faults: [], expectations: [],
  pump_types: [{ name: "4-pole split case", pumps: "40%", pump: { rpm: [1450, 1500], vanes: [3, 3] }, bearing: SPLIT_CASE }],
  ...extra,
});

describe("pump types", () => {
  it("gives each kind its share of the fleet from the seed, the rest the scenario's own pump", () => {
    const scenario = mixed();
    expect(fleetComposition(scenario)).toEqual([["", 6], ["4-pole split case", 4]]);
    const kinds = Array.from({ length: 10 }, (_, i) => pumpKind(scenario, i).name);
    expect(Array.from({ length: 10 }, (_, i) => pumpKind(mixed(), i).name)).toEqual(kinds); // the same seed, the same fleet
    const other = Array.from({ length: 10 }, (_, i) => pumpKind(mixed({ seed: 99 }), i).name);
    expect(other).not.toEqual(kinds);
    expect(other.filter((name) => name !== "")).toHaveLength(4);
  });

  it("takes exact indices, and a later kind only pumps no earlier kind took", () => {
    const scenario = mixed({ pump_types: [
      { name: "a", pumps: [0, 1, 2] },
      { name: "b", pumps: [2, 3] },
      { name: "c", pumps: 10 }, // all: those left
    ] });
    expect(Array.from({ length: 10 }, (_, i) => pumpKind(scenario, i).name)).toEqual(["a", "a", "a", "b", "c", "c", "c", "c", "c", "c"]);
  });

  it("draws a pump of a kind from its ranges (the rest from the scenario's) and configures its bearing", () => {
    const scenario = mixed();
    for (let i = 0; i < 10; i++) {
      const kind = pumpKind(scenario, i);
      const parameters = drawPump(kind.ranges, Random.forItem(scenario.seed, i));
      const config = deviceConfig(scenario, i, new PumpModel(parameters, Random.forItem(scenario.seed, i)));
      if (kind.name === "") {
        expect(parameters.rpm).toBeGreaterThanOrEqual(base.pump.rpm[0]);
        expect(config.bearing).toEqual(base.bearing);
      } else {
        expect(parameters.rpm).toBeGreaterThanOrEqual(1450);
        expect(parameters.rpm).toBeLessThanOrEqual(1500);
        expect(parameters.vanes).toBe(3);
        expect(kind.ranges.noise_g).toEqual(base.pump.noise_g); // not given: the scenario's
        expect(config.bearing).toEqual(SPLIT_CASE);
      }
    }
  });

  it("refuses a bad kind with a message naming the field", () => {
    const bad = (pump_types: unknown) => () => parseScenario({ ...base, pump_types });
    expect(bad([])).toThrow(/"pump_types" must be a list of 1 to 64/);
    expect(bad([{ name: "x", pumps: 2, pump: { rpm: [3000, 1000] } }])).toThrow(/"pump_types\[0\]\.pump\.rpm\[1\]" must be a number from 3000/);
    expect(bad([{ name: "x", pumps: 2, pump: { speed: [1, 2] } }])).toThrow(/unknown field "pump_types\[0\]\.pump\.speed"/);
    expect(bad([{ name: "x", pumps: 2 }, { name: "x", pumps: 1 }])).toThrow(/"pump_types\[1\]\.name": "x" names two pump types/);
    expect(bad([{ name: "x", pumps: "200%" }])).toThrow(/"pump_types\[0\]\.pumps" must be a count/);
    expect(bad([{ name: "x", pumps: 1, bearing: [9, 40, 39, 0] }])).toThrow(/"pump_types\[0\]\.bearing": the element diameter must be smaller/);
    expect(bad([{ name: "x", pumps: 1, motor: "big" }])).toThrow(/unknown field "pump_types\[0\]\.motor"/);
  });

  it("a defect of a split-case pump's own bearing is diagnosed as such by its firmware", async () => {
    const scenario = mixed({
      days: 12, interval_s: 3600,
      pump_types: [{ name: "4-pole split case", pumps: [3], pump: { rpm: [1480, 1480], vanes: [3, 3] }, bearing: SPLIT_CASE }],
      faults: [{ kind: "outer_race", pumps: [3], onset_day: [1, 1], pf_days: [12, 12] }],
    });
    const result = await simulate(scenario, { workers: 1 });
    const pump = result.pumps[3];
    expect(pump.type).toBe("4-pole split case");
    expect(faultOutcomes(result).find((f) => f.device === pump.device)?.detectedMs).not.toBeNull();
    expect(pump.faults.get("outer_race")).toBeGreaterThan(50);
    expect(result.pumps.filter((p) => p.type === "")).toHaveLength(9);
  }, 60_000);
});
