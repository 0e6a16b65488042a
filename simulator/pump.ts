// A centrifugal pump's vibration as its accelerometer sees it, in g: the running-speed lines
// (1x imbalance, 2x misalignment, 3x), vane-pass and its second harmonic, and broadband noise.
// Running speed falls with load by the motor's slip and wanders a little between windows.

import type { Random } from "./random.js";

export const STANDARD_GRAVITY_M_S2 = 9.80665;

/** The ranges a scenario draws each pump's parameters from: [low, high]. */
export interface PumpRanges {
  rpm: [number, number];
  vanes: [number, number];
  slip: [number, number];
  load: [number, number];
  imbalance_g: [number, number];
  misalignment_g: [number, number];
  vane_pass_g: [number, number];
  noise_g: [number, number];
}

export interface PumpParameters {
  /** Synchronous speed of the driver, rpm (before slip). */
  rpm: number;
  vanes: number;
  /** Slip at full load, as a fraction of synchronous speed. */
  slip: number;
  /** Load as a fraction of rated. */
  load: number;
  imbalance_g: number;
  misalignment_g: number;
  vane_pass_g: number;
  noise_g: number;
  /** Phases of 1x, 2x, 3x, vane-pass, 2x vane-pass, radians. */
  phases: [number, number, number, number, number];
}

/** Run-to-run wander of running speed between windows, as a fraction. */
const SPEED_WANDER = 0.002;
const THIRD_ORDER_SHARE = 0.3;
const VANE_PASS_SECOND_SHARE = 0.35;

export function drawPump(ranges: PumpRanges, random: Random): PumpParameters {
  const pick = ([low, high]: [number, number]): number => random.uniform(low, high);
  const phase = (): number => random.uniform(0, 2 * Math.PI);
  return {
    rpm: pick(ranges.rpm),
    vanes: random.integer(Math.round(ranges.vanes[0]), Math.round(ranges.vanes[1])),
    slip: pick(ranges.slip),
    load: pick(ranges.load),
    imbalance_g: pick(ranges.imbalance_g),
    misalignment_g: pick(ranges.misalignment_g),
    vane_pass_g: pick(ranges.vane_pass_g),
    noise_g: pick(ranges.noise_g),
    phases: [phase(), phase(), phase(), phase(), phase()],
  };
}

export class PumpModel {
  constructor(readonly parameters: PumpParameters, private readonly random: Random) {}

  /** Shaft speed under the pump's load, before the window's wander. */
  get shaftHz(): number {
    const p = this.parameters;
    return (p.rpm / 60) * (1 - p.slip * p.load);
  }

  /** Fills `out` with one window sampled at `sampleRateHz`; returns the shaft speed used. */
  sample(out: Float32Array, sampleRateHz: number): number {
    const p = this.parameters;
    const shaftHz = this.shaftHz * (1 + SPEED_WANDER * this.random.gaussian());
    const lines: [number, number, number][] = [
      [shaftHz, p.imbalance_g, p.phases[0]],
      [2 * shaftHz, p.misalignment_g, p.phases[1]],
      [3 * shaftHz, THIRD_ORDER_SHARE * p.misalignment_g, p.phases[2]],
      [p.vanes * shaftHz, p.vane_pass_g, p.phases[3]],
      [2 * p.vanes * shaftHz, VANE_PASS_SECOND_SHARE * p.vane_pass_g, p.phases[4]],
    ];
    const nyquistHz = sampleRateHz / 2;
    out.fill(0);
    for (const [hz, amplitude, phase] of lines) {
      if (hz >= nyquistHz || amplitude === 0) continue;
      const step = (2 * Math.PI * hz) / sampleRateHz;
      for (let i = 0; i < out.length; i++) out[i] += amplitude * Math.sin(step * i + phase);
    }
    for (let i = 0; i < out.length; i++) out[i] += p.noise_g * this.random.gaussian();
    return shaftHz;
  }
}
