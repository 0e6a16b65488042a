// The bearing-housing temperature a pump's controller reads: the ambient (its own, with a
// daily swing), the rise its load brings, and the heat a failing bearing, a misaligned shaft
// or an unbalanced impeller adds as the fault grows. Drawn from a stream of its own, so the
// vibration of every pump is the same with or without it.

import type { PumpModel } from "./pump.js";
import { Random } from "./random.js";

const THERMAL_SALT = 0x7e3b_a1c5;
const DAY_MS = 86_400_000;
/** The daily swing peaks in the afternoon (15:00 UTC). */
const WARMEST_HOUR = 15;

/** Kelvin each fault adds at functional failure (severity 1). */
const BEARING_RISE_K = 35;
const MISALIGNMENT_RISE_K = 12;
const IMBALANCE_RISE_K = 5;
const SENSOR_NOISE_K = 0.2;

export interface ThermalParameters {
  ambientC: number;
  dailySwingK: number;
  /** Rise over ambient at rated load. */
  ratedRiseK: number;
}

export class ThermalModel {
  readonly parameters: ThermalParameters;
  private readonly random: Random;

  constructor(seed: number, index: number, private readonly pump: PumpModel) {
    this.random = Random.forItem((seed ^ THERMAL_SALT) >>> 0, index);
    this.parameters = {
      ambientC: this.random.uniform(15, 35),
      dailySwingK: this.random.uniform(2, 5),
      ratedRiseK: this.random.uniform(20, 30),
    };
  }

  /** The reading at `timeMs` (Unix ms), in °C. */
  temperatureC(timeMs: number): number {
    const p = this.parameters;
    const hours = ((timeMs % DAY_MS) + DAY_MS) % DAY_MS / 3_600_000;
    const daily = p.dailySwingK * Math.cos((2 * Math.PI * (hours - WARMEST_HOUR)) / 24);
    const s = this.pump.severities(timeMs);
    const bearing = Math.max(s.get("outer_race") ?? 0, s.get("inner_race") ?? 0, s.get("rolling_element") ?? 0);
    const faults = BEARING_RISE_K * bearing + MISALIGNMENT_RISE_K * (s.get("misalignment") ?? 0) + IMBALANCE_RISE_K * (s.get("imbalance") ?? 0);
    return p.ambientC + daily + p.ratedRiseK * this.pump.parameters.load + faults + SENSOR_NOISE_K * this.random.gaussian();
  }
}
