// The bearing-housing temperature: the simulator's thermal model (simulator/physics/thermal.ts) and the
// host's sensor mailbox (Device.sense), read by the firmware with each window.

import { describe, expect, it } from "vitest";
import { Device } from "../../host/device/device.js";
import { HOST_STORAGE_SENSORS } from "../../host/device/host-records.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { decodeSenml } from "../../protocol/senml.js";
import { drawPump } from "../../simulator/physics/pump-params.js";
import { PumpModel } from "../../simulator/physics/pump.js";
import { Random } from "../../simulator/physics/random.js";
import { loadScenario } from "../../simulator/scenario/scenario.js";
import { ThermalModel } from "../../simulator/physics/thermal.js";
import { releaseFirmware } from "../support/firmware.js";

const scenario = loadScenario(new URL("../../scenarios/default.json", import.meta.url).pathname);
const DAY = 86_400_000;
const START = Date.parse(scenario.start);

function pump(index: number, faults: { kind: "outer_race" | "misalignment" | "cavitation"; onsetMs: number; failureMs: number }[] = []) {
  const random = Random.forItem(scenario.seed, index);
  const model = new PumpModel(drawPump(scenario.pump, random), random, faults);
  return { model, thermal: new ThermalModel(scenario.seed, index, model) };
}

describe("thermal model", () => {
  it("is the ambient plus the load's rise and a daily swing, from the seed", () => {
    const { model, thermal } = pump(3);
    const { ambientC, dailySwingK, ratedRiseK } = thermal.parameters;
    expect(ambientC).toBeGreaterThanOrEqual(15);
    expect(ambientC).toBeLessThanOrEqual(35);
    const steady = ambientC + ratedRiseK * model.parameters.load;
    // Warmest at 15:00, coolest at 03:00 (UTC), within the sensor's noise.
    expect(Math.abs(thermal.temperatureC(START + 15 * 3_600_000) - (steady + dailySwingK))).toBeLessThan(1.2);
    expect(Math.abs(thermal.temperatureC(START + 3 * 3_600_000) - (steady - dailySwingK))).toBeLessThan(1.2);
    const [one, two] = [pump(3).thermal, pump(3).thermal];
    expect([1, 2, 3].map((h) => one.temperatureC(START + h * 3_600_000))).toEqual([1, 2, 3].map((h) => two.temperatureC(START + h * 3_600_000)));
  });

  it("a failing bearing runs up to 35 K hotter by its failure, a misaligned shaft 12 K; cavitation adds none", () => {
    const at = START + 10 * DAY + 15 * 3_600_000;
    const healthy = pump(5).thermal.temperatureC(at);
    const fault = (kind: "outer_race" | "misalignment" | "cavitation") => pump(5, [{ kind, onsetMs: START, failureMs: START + 10 * DAY }]).thermal.temperatureC(at);
    // The same stream: the same noise, so the difference is the fault's heat alone.
    expect(fault("outer_race") - healthy).toBeCloseTo(35, 9);
    expect(fault("misalignment") - healthy).toBeCloseTo(12, 9);
    expect(fault("cavitation") - healthy).toBeCloseTo(0, 9);
  });

  it("leaves the vibration as it was: the pump's own stream is untouched", () => {
    const a = pump(7);
    const b = pump(7);
    a.thermal.temperatureC(START);
    const [wa, wb] = [new Float32Array(4096), new Float32Array(4096)];
    a.model.sample(wa, scenario.sample_rate_hz, START);
    b.model.sample(wb, scenario.sample_rate_hz, START);
    expect(wa).toEqual(wb);
  });
});

describe("Device.sense", () => {
  it("puts the reading in the mailbox the firmware reads with the next window; the storage never sees it", async () => {
    const storage = new MemoryStorage();
    let now = START;
    const device = await Device.boot({
      tenant: "t", config: { device: "d", rate_hz: 1000, window: 256, units: "g" }, storage, clock: () => now,
      isolation: "inline", firmware: await releaseFirmware(),
    });
    device.sense(61.25, now);
    await device.feed(new Float32Array(256).map((_, i) => Math.sin(i / 3) * 0.01), now);
    const telemetry = [...device.outbox.pending()].filter((entry) => entry.kind === "telemetry");
    expect(decodeSenml(telemetry[0].body).find((r) => r.n === "temp")).toEqual({ n: "temp", u: "Cel", v: 61.25 });
    expect(storage.read(HOST_STORAGE_SENSORS)).toBeUndefined();
    expect(() => device.sense(Number.NaN, now)).toThrow(/finite numbers/);
    await device.close();
  });
});
