// A pump's parameters, drawn per pump from a scenario's ranges with the pump's own randomness:
// its speed, slip and load, its lines, its bearing's physics (the rolling elements' slip, the
// impacts' jitter, the load zone and where the defects lie), the structural resonances every
// impact rings and its motor's magnetic line; and the bearing geometry's defect orders.
// pump.ts says what each does.

import { Random } from "./random.js";

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
  /** The motor's magnetic line at twice its supply's frequency, as an RMS velocity (mm/s). */
  supply_mm_s: [number, number];
}

/** A healthy induction motor's vibration at twice its supply's frequency (the magnetic pull
 *  pulsates twice a cycle of the supply): a few tenths of a millimetre per second RMS. A
 *  scenario that gives no range for it draws from this one. */
export const SUPPLY_MM_S_DEFAULT: [number, number] = [0.05, 0.5];

/** A structural resonance between the bearing and the accelerometer. */
export interface Resonance {
  /** Where it lies, 0 … 1, from the low edge of the band of resonances to its high edge, 0.4 ×
   *  the sample rate (resonanceHz). */
  position: number;
  /** Damping ratio. */
  damping: number;
  /** The peak of its ring for a unit impact, the strongest of the pump's being 1. */
  gain: number;
}

export interface PumpParameters {
  /** Synchronous speed of the driver, rpm (before slip). */
  rpm: number;
  vanes: number;
  /** The motor's slip at full load, as a fraction of synchronous speed. */
  slip: number;
  /** Load as a fraction of rated. */
  load: number;
  imbalance_g: number;
  misalignment_g: number;
  vane_pass_g: number;
  noise_g: number;
  /** Phases of 1x, 2x, 3x, vane-pass, 2x vane-pass, radians. */
  phases: [number, number, number, number, number];
  /** The rolling elements' slip: every defect is struck at its kinematic rate × (1 − this). */
  element_slip: number;
  /** Standard deviation of each interval between impacts, as a share of the mean interval. */
  impact_jitter: number;
  /** Stribeck's load distribution factor ε: the load zone spans ±arccos(1 − 2ε). */
  load_zone: number;
  /** The outer-race defect's angle from the load line (where it stays), radians. */
  outer_defect_rad: number;
  /** The inner-race defect's angle from the load line when the shaft's lines are at their
   *  phases (it turns with the shaft), radians. */
  inner_defect_rad: number;
  /** The structural resonances every impact rings. */
  resonances: Resonance[];
  /** The motor's pole pairs: its supply runs at this many times its synchronous speed. */
  pole_pairs: number;
  /** The motor's magnetic line: at twice the supply's frequency (2 × pole_pairs × rpm / 60),
   *  whatever the load and the slip, of this peak (g) and phase (radians at time 0). */
  supply_hz: number;
  supply_g: number;
  supply_phase: number;
}

/** The bearing's physics, drawn per pump (see the header). */
const ELEMENT_SLIP: [number, number] = [0.01, 0.02];
const IMPACT_JITTER: [number, number] = [0.01, 0.02];
const LOAD_ZONE: [number, number] = [0.3, 0.5];
/** Stribeck's load exponent for ball bearings (10/9 for roller bearings). */
const LOAD_EXPONENT = 1.5;
/** Outer-race defects lie within this share of the load zone's half-angle of the load line. */
const OUTER_DEFECT_SPREAD = 0.5;
const RESONANCES: [number, number] = [2, 3];
const RESONANCE_LOW_HZ = 1000;
/** Resonances lie below this share of the sample rate (above it the sensor's and the
 *  converter's anti-alias filtering would take them). */
const RESONANCE_HIGH_SHARE = 0.4;
const RESONANCE_DAMPING: [number, number] = [0.02, 0.08];
const RESONANCE_GAIN: [number, number] = [0.3, 1];
/** The driving motor: two-pole or four-pole (a pump's speed range, 1,500–3,600 rpm, is theirs;
 *  on a variable-speed drive the supply follows the speed). */
const POLE_PAIRS: [number, number] = [1, 2];
/** Bearing defect orders (multiples of shaft speed): BPFO, BPFI, BSF, FTF. */
export interface BearingOrders {
  bpfo: number;
  bpfi: number;
  bsf: number;
  ftf: number;
}

export function bearingOrders([n, d, pitch, angleDeg]: [number, number, number, number]): BearingOrders {
  const ratio = (d / pitch) * Math.cos((angleDeg * Math.PI) / 180);
  return {
    bpfo: (n / 2) * (1 - ratio),
    bpfi: (n / 2) * (1 + ratio),
    bsf: (pitch / (2 * d)) * (1 - ratio * ratio),
    ftf: 0.5 * (1 - ratio),
  };
}

/** The half-angle of the load zone for load distribution factor ε, radians. */
export function loadZoneHalfAngle(epsilon: number): number {
  return Math.acos(1 - 2 * epsilon);
}

/** The load on an element at `angleRad` from the load line, as a share of the largest (on the
 *  load line): Stribeck's q(θ) = [1 − (1 − cos θ)/(2ε)]^n in the load zone, 0 outside it. */
export function loadZone(angleRad: number, epsilon: number): number {
  const base = 1 - (1 - Math.cos(angleRad)) / (2 * epsilon);
  return base > 0 ? base ** LOAD_EXPONENT : 0;
}

/** The frequency of a resonance at `position` (0 … 1) when sampling at `sampleRateHz`: from
 *  1 kHz (or half the high edge, at rates where that is lower) to 0.4 × the sample rate. */
export function resonanceHz(position: number, sampleRateHz: number): number {
  const high = RESONANCE_HIGH_SHARE * sampleRateHz;
  const low = Math.min(RESONANCE_LOW_HZ, high / 2);
  return low + position * (high - low);
}

export function drawPump(ranges: PumpRanges, random: Random): PumpParameters {
  const pick = ([low, high]: [number, number]): number => random.uniform(low, high);
  const phase = (): number => random.uniform(0, 2 * Math.PI);
  const parameters = {
    rpm: pick(ranges.rpm),
    vanes: random.integer(Math.round(ranges.vanes[0]), Math.round(ranges.vanes[1])),
    slip: pick(ranges.slip),
    load: pick(ranges.load),
    imbalance_g: pick(ranges.imbalance_g),
    misalignment_g: pick(ranges.misalignment_g),
    vane_pass_g: pick(ranges.vane_pass_g),
    noise_g: pick(ranges.noise_g),
    phases: [phase(), phase(), phase(), phase(), phase()] as PumpParameters["phases"],
    element_slip: pick(ELEMENT_SLIP),
    impact_jitter: pick(IMPACT_JITTER),
    load_zone: pick(LOAD_ZONE),
  };
  const outerSpread = OUTER_DEFECT_SPREAD * loadZoneHalfAngle(parameters.load_zone);
  const outer_defect_rad = random.uniform(-outerSpread, outerSpread);
  const inner_defect_rad = phase();
  const resonances = Array.from({ length: random.integer(...RESONANCES) }, (): Resonance => ({
    position: random.next(), damping: pick(RESONANCE_DAMPING), gain: pick(RESONANCE_GAIN),
  }));
  const strongest = Math.max(...resonances.map((r) => r.gain));
  for (const r of resonances) r.gain /= strongest;
  // The motor, from a generator of its own seeded by a phase drawn above, so that every other
  // draw (the pump's and the windows' after it) stays what it was without the motor's line.
  const motor = new Random(Math.floor((parameters.phases[4] / (2 * Math.PI)) * 2 ** 32) >>> 0);
  const pole_pairs = motor.integer(...POLE_PAIRS);
  const supply_hz = (2 * pole_pairs * parameters.rpm) / 60;
  const velocity = motor.uniform(...ranges.supply_mm_s) / 1000;
  const supply_g = (Math.SQRT2 * 2 * Math.PI * supply_hz * velocity) / STANDARD_GRAVITY_M_S2;
  const supply_phase = motor.uniform(0, 2 * Math.PI);
  return { ...parameters, outer_defect_rad, inner_defect_rad, resonances, pole_pairs, supply_hz, supply_g, supply_phase };
}
