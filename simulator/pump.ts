// A centrifugal pump's vibration as its accelerometer sees it, in g: the running-speed lines
// (1x imbalance, 2x misalignment, 3x), vane-pass and its second harmonic, broadband noise,
// and the faults it develops (degradation.ts): bearing defects whose impacts ring a structural
// resonance (outer race; inner race modulated at 1x; rolling element at 2x the ball spin,
// modulated at the cage frequency), cavitation as broadband high-frequency noise, growing
// imbalance and misalignment. Running speed falls with load by the motor's slip and wanders a
// little between windows.

import { severity, type Degradation } from "./degradation.js";
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
  /** The structural resonance a bearing impact rings, and its damping ratio. */
  resonance_hz: number;
  damping: number;
}

/** Run-to-run wander of running speed between windows, as a fraction. */
const SPEED_WANDER = 0.002;
const THIRD_ORDER_SHARE = 0.3;
const VANE_PASS_SECOND_SHARE = 0.35;

/** What each fault adds at functional failure (severity 1), in g. */
const BEARING_IMPACT_G_MAX = 3.0;
const ROLLING_ELEMENT_SHARE = 0.7;
const CAVITATION_G_MAX = 2.0;
const IMBALANCE_G_MAX = 0.25;
const MISALIGNMENT_2X_G_MAX = 0.2;
const MISALIGNMENT_1X_G_MAX = 0.05;
const MISALIGNMENT_3X_G_MAX = 0.08;
/** Late damage raises the noise floor too: noise × (1 + this × severity). */
const DAMAGE_NOISE_GAIN = 2.0;
const INNER_RACE_MODULATION = 0.8;
const ROLLING_ELEMENT_MODULATION = 0.5;
/** Impact timing jitter as a share of the impact period (rolling elements slip). */
const IMPACT_JITTER = 0.005;
/** An impact rings until its envelope has decayed by e^-RING_DECAYS. */
const RING_DECAYS = 8;

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
    resonance_hz: random.uniform(2000, 4500),
    damping: random.uniform(0.03, 0.08),
  };
}

/** Samples between exact re-seeds of a sine's rotation: the recurrence's rounding error grows
 *  by about one ulp a step, so it stays far below float32 resolution. */
const ROTATION_BLOCK = 1024;

/** Work buffers shared by every model in the thread (sample() runs to completion, one at a
 *  time): the window in float64, and a window's worth of normals (Random.normals, the
 *  ziggurat). Grown to the largest window. */
let work = new Float64Array(0);
let normals = new Float64Array(0);

function workFor(samples: number): Float64Array {
  if (work.length < samples) {
    work = new Float64Array(samples);
    normals = new Float64Array(samples);
  }
  return work;
}

/** The running-speed lines of a window: 1x, 2x, 3x, vane-pass and its second harmonic. */
const LINES = 5;
/** Each line's step (radians a sample), amplitude and phase for the window being made. */
const lineStep = new Float64Array(LINES);
const lineAmplitude = new Float64Array(LINES);
const linePhase = new Float64Array(LINES);

/** Sets line `l` of the window: silent at or above Nyquist. */
function setLine(l: number, sampleRateHz: number, hz: number, amplitude: number, phase: number): void {
  const audible = hz < sampleRateHz / 2;
  lineStep[l] = audible ? (2 * Math.PI * hz) / sampleRateHz : 0;
  lineAmplitude[l] = audible ? amplitude : 0;
  linePhase[l] = phase;
}

/** target[i] = source[i] + the LINES lines, amplitude · sin(step·i + phase) each, for i in
 *  [0, count): the window's last pass, rounded to float32 once. Each sine comes from rotating a
 *  phasor (four multiplications a sample instead of a Math.sin), all five in one pass so their
 *  chains of multiplications run side by side; re-seeded exactly every ROTATION_BLOCK samples. */
function addLines(source: Float64Array, target: Float32Array, count: number): void {
  const k0 = Math.cos(lineStep[0]), q0 = Math.sin(lineStep[0]);
  const k1 = Math.cos(lineStep[1]), q1 = Math.sin(lineStep[1]);
  const k2 = Math.cos(lineStep[2]), q2 = Math.sin(lineStep[2]);
  const k3 = Math.cos(lineStep[3]), q3 = Math.sin(lineStep[3]);
  const k4 = Math.cos(lineStep[4]), q4 = Math.sin(lineStep[4]);
  for (let start = 0; start < count; start += ROTATION_BLOCK) {
    const end = Math.min(count, start + ROTATION_BLOCK);
    let angle = lineStep[0] * start + linePhase[0];
    let c0 = lineAmplitude[0] * Math.cos(angle), s0 = lineAmplitude[0] * Math.sin(angle);
    angle = lineStep[1] * start + linePhase[1];
    let c1 = lineAmplitude[1] * Math.cos(angle), s1 = lineAmplitude[1] * Math.sin(angle);
    angle = lineStep[2] * start + linePhase[2];
    let c2 = lineAmplitude[2] * Math.cos(angle), s2 = lineAmplitude[2] * Math.sin(angle);
    angle = lineStep[3] * start + linePhase[3];
    let c3 = lineAmplitude[3] * Math.cos(angle), s3 = lineAmplitude[3] * Math.sin(angle);
    angle = lineStep[4] * start + linePhase[4];
    let c4 = lineAmplitude[4] * Math.cos(angle), s4 = lineAmplitude[4] * Math.sin(angle);
    for (let i = start; i < end; i++) {
      target[i] = source[i] + (s0 + s1 + s2 + s3 + s4);
      let next = c0 * k0 - s0 * q0; s0 = s0 * k0 + c0 * q0; c0 = next;
      next = c1 * k1 - s1 * q1; s1 = s1 * k1 + c1 * q1; c1 = next;
      next = c2 * k2 - s2 * q2; s2 = s2 * k2 + c2 * q2; c2 = next;
      next = c3 * k3 - s3 * q3; s3 = s3 * k3 + c3 * q3; c3 = next;
      next = c4 * k4 - s4 * q4; s4 = s4 * k4 + c4 * q4; c4 = next;
    }
  }
}

export class PumpModel {
  private ring = new Float32Array(0);
  private ringRateHz = 0;
  private previousNoise = 0;

  private faults: Degradation[];

  constructor(
    readonly parameters: PumpParameters,
    private readonly random: Random,
    degradations: readonly Degradation[] = [],
    private readonly orders?: BearingOrders,
  ) {
    this.faults = [...degradations];
  }

  /** The faults the pump has now (a repair takes away those it fixed). */
  get degradations(): readonly Degradation[] {
    return this.faults;
  }

  /** A repair at `timeMs`: every fault that has begun by then is fixed (the bearing replaced,
   *  the impeller balanced, the shaft aligned, the suction put right); later ones still come.
   *  Returns the faults it fixed. */
  repair(timeMs: number): Degradation[] {
    const fixed = this.faults.filter((d) => d.onsetMs <= timeMs);
    this.faults = this.faults.filter((d) => d.onsetMs > timeMs);
    return fixed;
  }

  /** Severity of each of this pump's faults at `timeMs`, by kind. */
  severities(timeMs: number): Map<string, number> {
    return new Map(this.degradations.map((d) => [d.kind, severity(d, timeMs)]));
  }

  /** Shaft speed under the pump's load, before the window's wander. */
  get shaftHz(): number {
    const p = this.parameters;
    return (p.rpm / 60) * (1 - p.slip * p.load);
  }

  /** Severity at `timeMs` of the pump's (first) fault of `kind`; 0 without one. */
  private level(kind: string, timeMs: number): number {
    for (const d of this.faults) if (d.kind === kind) return severity(d, timeMs);
    return 0;
  }

  /** Fills `out` with the window that starts at `timeMs` (Unix ms), sampled at
   *  `sampleRateHz`; returns the shaft speed used. The window is summed in float64 (noise,
   *  then bearing impacts and cavitation, then the lines on the way out) and rounded to float32
   *  once. */
  sample(out: Float32Array, sampleRateHz: number, timeMs = 0): number {
    const p = this.parameters;
    const count = out.length;
    const window = workFor(count);
    const shaftHz = this.shaftHz * (1 + SPEED_WANDER * this.random.gaussian());
    const imbalance = this.level("imbalance", timeMs);
    const misalignment = this.level("misalignment", timeMs);
    const bearingDamage = Math.max(this.level("outer_race", timeMs), this.level("inner_race", timeMs), this.level("rolling_element", timeMs));
    const noise = p.noise_g * (1 + DAMAGE_NOISE_GAIN * bearingDamage);
    this.random.normals(window, count, noise);
    if (this.orders !== undefined) this.addBearingDefects(window, count, sampleRateHz, timeMs, shaftHz);
    const cavitation = this.level("cavitation", timeMs);
    if (cavitation > 0) this.addCavitation(window, count, CAVITATION_G_MAX * cavitation);
    const rate = sampleRateHz;
    setLine(0, rate, shaftHz, p.imbalance_g + IMBALANCE_G_MAX * imbalance + MISALIGNMENT_1X_G_MAX * misalignment, p.phases[0]);
    setLine(1, rate, 2 * shaftHz, p.misalignment_g + MISALIGNMENT_2X_G_MAX * misalignment, p.phases[1]);
    setLine(2, rate, 3 * shaftHz, THIRD_ORDER_SHARE * p.misalignment_g + MISALIGNMENT_3X_G_MAX * misalignment, p.phases[2]);
    setLine(3, rate, p.vanes * shaftHz, p.vane_pass_g, p.phases[3]);
    setLine(4, rate, 2 * p.vanes * shaftHz, VANE_PASS_SECOND_SHARE * p.vane_pass_g, p.phases[4]);
    addLines(window, out, count);
    return shaftHz;
  }

  /** The decaying resonance one impact rings, built once per sample rate. */
  private ringFor(sampleRateHz: number): Float32Array {
    if (this.ringRateHz !== sampleRateHz) {
      const p = this.parameters;
      const decay = (2 * Math.PI * p.resonance_hz * p.damping) / sampleRateHz;
      const step = (2 * Math.PI * p.resonance_hz) / sampleRateHz;
      this.ring = Float32Array.from({ length: Math.ceil(RING_DECAYS / decay) }, (_, i) => Math.exp(-decay * i) * Math.sin(step * i));
      this.ringRateHz = sampleRateHz;
    }
    return this.ring;
  }

  private addBearingDefects(window: Float64Array, count: number, sampleRateHz: number, timeMs: number, shaftHz: number): void {
    const o = this.orders!;
    // Impact rate, amplitude share, modulation rate and depth of each defect.
    this.addImpacts(window, count, sampleRateHz, timeMs, this.level("outer_race", timeMs), o.bpfo * shaftHz, 1, 0, 0);
    this.addImpacts(window, count, sampleRateHz, timeMs, this.level("inner_race", timeMs), o.bpfi * shaftHz, 1, shaftHz, INNER_RACE_MODULATION);
    this.addImpacts(window, count, sampleRateHz, timeMs, this.level("rolling_element", timeMs), 2 * o.bsf * shaftHz,
      ROLLING_ELEMENT_SHARE, o.ftf * shaftHz, ROLLING_ELEMENT_MODULATION);
  }

  /** One defect's impacts at `rateHz`, each ringing the resonance, at severity `s`. */
  private addImpacts(window: Float64Array, count: number, sampleRateHz: number, timeMs: number, s: number, rateHz: number,
    share: number, modulationHz: number, depth: number): void {
    if (s <= 0 || rateHz <= 0) return;
    const ring = this.ringFor(sampleRateHz);
    const startS = timeMs / 1000;
    const amplitude = BEARING_IMPACT_G_MAX * share * s;
    const period = sampleRateHz / rateHz;
    // Impacts continue from one window to the next: the first falls on the defect's own clock.
    const firstIndex = Math.ceil(startS * rateHz);
    for (let k = firstIndex; ; k++) {
      const at = Math.round((k / rateHz - startS) * sampleRateHz + IMPACT_JITTER * period * this.random.gaussian());
      if (at >= count) break;
      if (at < 0) continue;
      const t = startS + at / sampleRateHz;
      const gain = amplitude * (1 - depth + depth * (0.5 + 0.5 * Math.cos(2 * Math.PI * modulationHz * t)));
      const end = Math.min(ring.length, count - at);
      for (let i = 0; i < end; i++) window[at + i] += gain * ring[i];
    }
  }

  /** Broadband noise tilted to high frequencies (a first difference of white noise), the
   *  collapse of vapour bubbles. `rmsG` is its RMS. */
  private addCavitation(window: Float64Array, count: number, rmsG: number): void {
    const scale = rmsG / Math.SQRT2; // the difference of two unit normals has variance 2
    this.random.normals(normals, count);
    let previous = this.previousNoise;
    for (let i = 0; i < count; i++) {
      const w = normals[i];
      window[i] += scale * (w - previous);
      previous = w;
    }
    this.previousNoise = previous;
  }
}
