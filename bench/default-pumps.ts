// The windows the firmware benches run: pumps of the default scenario (deviceConfig, PumpModel),
// most healthy and some with each kind of fault at a visible severity, so the envelope analysis
// runs as in a fleet, and each pump's configuration as the fleet sends it.

import type { Degradation, FaultKind } from "../simulator/physics/degradation.js";
import { deviceConfig } from "../simulator/fleet/pump-group.js";
import { bearingOrders, drawPump } from "../simulator/physics/pump-params.js";
import { PumpModel } from "../simulator/physics/pump.js";
import { Random } from "../simulator/physics/random.js";
import { loadScenario, type Scenario } from "../simulator/scenario/scenario.js";
import { encodeFirmwareConfig, type FirmwareConfig } from "../protocol/messages.js";
import { Firmware, type CompiledFirmware } from "../host/runtime/firmware.js";
import { MemoryStorage } from "../host/storage/storage.js";

/** The kind of message telemetry is published as (firmware/ABI.md). */
export const TELEMETRY_KIND = 1;

export const HEALTHY_PUMPS = 18;
export const FAULTS: FaultKind[] = ["outer_race", "inner_race", "rolling_element", "cavitation", "imbalance", "misalignment"];
export const WINDOWS_PER_PUMP = 3;

export interface BenchPump { index: number; config: FirmwareConfig; windows: Float32Array[] }

export const scenario: Scenario = loadScenario(new URL("../scenarios/default.json", import.meta.url).pathname);
export const startMs = Date.parse(scenario.start);

/** The benches' pumps, each with WINDOWS_PER_PUMP windows an hour apart. */
export function benchPumps(): BenchPump[] {
  const orders = scenario.bearing === undefined ? undefined : bearingOrders(scenario.bearing);
  const pumps: BenchPump[] = [];
  for (let i = 0; i < HEALTHY_PUMPS + FAULTS.length; i++) {
    const random = Random.forItem(scenario.seed, i);
    const kind = FAULTS[i - HEALTHY_PUMPS];
    // Half-way between onset and failure at the windows' times: severity (½)^2.5 ≈ 0.18 and up.
    const faults: Degradation[] = kind === undefined ? [] : [{ kind, onsetMs: startMs - 20 * 86_400_000, failureMs: startMs + 10 * 86_400_000 }];
    const model = new PumpModel(drawPump(scenario.pump, random), random, faults, orders);
    const windows: Float32Array[] = [];
    for (let w = 0; w < WINDOWS_PER_PUMP; w++) {
      const window = new Float32Array(scenario.window);
      model.sample(window, scenario.sample_rate_hz, startMs + w * 3_600_000);
      windows.push(window);
    }
    pumps.push({ index: i, config: deviceConfig(scenario, i, model), windows });
  }
  return pumps;
}

/** One pump's device on `compiled`, configured as the fleet configures it, its telemetry
 *  handed to `telemetry` (a copy: the firmware's buffer is valid only during the call). */
export async function benchDevice(compiled: CompiledFirmware, pump: BenchPump, telemetry: (message: Uint8Array) => void): Promise<Firmware> {
  const device = await Firmware.instantiate(compiled, {
    clockMs: () => 0,
    publish: (kind, message) => { if (kind === TELEMETRY_KIND) telemetry(message.slice()); return true; },
    log: () => {},
    storage: new MemoryStorage(),
  });
  device.init(encodeFirmwareConfig(pump.config));
  return device;
}
