// A centrifugal pump's vibration as its accelerometer reports it, in g, and the faults it
// develops (degradation.ts). The bearing faults come from a physical model of a rolling bearing
// rather than from the formulas the firmware looks for, so that a fleet run tests the firmware
// against effects it does not assume:
//
// - Running speed: below synchronous speed by the motor's slip times the load; it wanders between
//   windows (0.2 %) and drifts within one (a random walk over segments of the window, its peak
//   excursion 0.2–0.5 %). Every shaft-locked line and every defect rate follows the drift.
// - Lines: 1× (imbalance), 2× (misalignment), 3×, vane-pass and its second harmonic.
// - Bearing defects: each defect is struck at its kinematic rate (BPFO, BPFI, 2×BSF: the element
//   hits both races once per spin) times (1 − s): the rolling elements slip, s drawn per pump in
//   1–2 %; and each interval between impacts varies at random by 1–2 % of the period, the
//   variations adding up in time, so that the impacts are not periodic but cyclostationary
//   (Randall & Antoni 2011, "Rolling element bearing diagnostics — a tutorial", MSSP 25(2):
//   485–520). The train starts at a random phase in every window: the jitter's spread grows
//   as the square root of the impacts, to a whole period after some 4,000 of them (half a
//   minute), and windows lie minutes to hours apart.
// - Load zone (Stribeck; McFadden & Smith 1984, "Model for the vibration produced by a single
//   point defect in a rolling element bearing", JSV 96(1): 69–82; Harris & Kotzalas, Rolling
//   Bearing Analysis): the load an element carries at angle θ from the load line is
//   q(θ) = [1 − (1 − cos θ)/(2ε)]^n inside the load zone |θ| < arccos(1 − 2ε) and 0 outside,
//   n = 1.5 for ball bearings, ε drawn per pump in 0.3–0.5 (load zones of ±66° to ±90°). An
//   impact is as strong as the load there. The outer race is stationary: its defect, drawn per
//   pump in the middle half of the load zone (where fatigue spalls start), is struck equally
//   hard every time, by a fixed factor q(θ_defect). The inner race's defect turns with the shaft
//   and is loaded once per revolution: its impacts are modulated at 1× by q, bursts rather than a
//   sinusoid, so its envelope spectrum has 1×, 2×, 3× sidebands. A defective element is carried
//   round by the cage: modulated the same way at the cage frequency FTF × (1 − s).
// - Transmission: every impact excites the 2–3 structural resonances of the pump's casing and
//   mounting, each drawn per pump anywhere from 1 kHz to 0.4 × the sample rate (not in the
//   firmware's band bank), with a damping ratio of 2–8 % and a gain of its own.
// - Cavitation: broadband high-frequency noise; imbalance and misalignment grow their lines.
// - The sensor, a MEMS vibration sensor like ST's IIS3DWB (datasheet: 75 µg/√Hz, 16 bits over
//   ±16 g): white noise at that density, 1/f noise below an assumed 10 Hz corner, and the
//   16-bit ADC, which rounds every sample to its 2^-11 g step and clips at full scale.

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
}

/** Run-to-run wander of running speed between windows, as a fraction. */
const SPEED_WANDER = 0.002;
/** Running speed drifts within a window: a random walk over segments of this many samples,
 *  scaled to a peak excursion drawn in this range (a fraction of the speed). The lines' phasors
 *  are set exactly at each segment's start: their rotation's rounding error grows by about one
 *  ulp a step, so it stays far below float32 resolution. */
const DRIFT_SEGMENT_SAMPLES = 256;
const DRIFT_EXCURSION: [number, number] = [0.002, 0.005];
const THIRD_ORDER_SHARE = 0.3;
const VANE_PASS_SECOND_SHARE = 0.35;

/** What each fault adds at functional failure (severity 1), in g: a bearing impact's ring at
 *  full load, at the peak of the pump's strongest resonance. */
const BEARING_IMPACT_G_MAX = 3.0;
const ROLLING_ELEMENT_SHARE = 0.7;
const CAVITATION_G_MAX = 2.0;
const IMBALANCE_G_MAX = 0.25;
const MISALIGNMENT_2X_G_MAX = 0.2;
const MISALIGNMENT_1X_G_MAX = 0.05;
const MISALIGNMENT_3X_G_MAX = 0.08;
/** Late damage raises the noise floor too: noise × (1 + this × severity). */
const DAMAGE_NOISE_GAIN = 2.0;

/** The bearing's physics, drawn per pump (see the header). */
const ELEMENT_SLIP: [number, number] = [0.01, 0.02];
const IMPACT_JITTER: [number, number] = [0.01, 0.02];
const LOAD_ZONE: [number, number] = [0.3, 0.5];
/** Stribeck's load exponent for ball bearings (10/9 for roller bearings). */
const LOAD_EXPONENT = 1.5;
/** Outer-race defects lie within this share of the load zone's half-angle of the load line. */
const OUTER_DEFECT_SPREAD = 0.5;
/** No interval between impacts is shorter than this share of the mean (a bound: with 1–2 %
 *  jitter it is never reached). */
const IMPACT_INTERVAL_MIN = 0.5;
const RESONANCES: [number, number] = [2, 3];
const RESONANCE_LOW_HZ = 1000;
/** Resonances lie below this share of the sample rate (above it the sensor's and the
 *  converter's anti-alias filtering would take them). */
const RESONANCE_HIGH_SHARE = 0.4;
const RESONANCE_DAMPING: [number, number] = [0.02, 0.08];
const RESONANCE_GAIN: [number, number] = [0.3, 1];
/** An impact rings until its slowest resonance has decayed by e^-RING_DECAYS. */
const RING_DECAYS = 8;

/** The sensor (ST IIS3DWB's datasheet: 75 µg/√Hz, 16 bits over ±16 g, 0.488 mg a step). */
const SENSOR_NOISE_G_PER_SQRT_HZ = 75e-6;
const SENSOR_FULL_SCALE_G = 16;
const ADC_LEVELS = 32768; // a 16-bit converter's levels each side of zero
/** 1/f noise: its density equals the white noise's at this frequency; made of first-order
 *  processes of equal variance at corners a factor PINK_POLE_RATIO apart, which sum to 1/f
 *  between the lowest and the highest; drawn at about PINK_RATE_HZ and interpolated. */
const PINK_CORNER_HZ = 10;
const PINK_POLES_HZ = [1, 4, 16];
const PINK_POLE_RATIO = 4;
const PINK_RATE_HZ = 256;

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
  return { ...parameters, outer_defect_rad, inner_defect_rad, resonances };
}

/** The window's hottest loops as WebAssembly SIMD, two float64 lanes at a time (V8 does not
 *  vectorise JavaScript, and the lines' rotations are bound by floating-point throughput):
 *  `lines` adds the five lines to a stretch of the window: their cos and sin of a step (k, q)
 *  and their starting phasors (c, s) in pairs at LINE_PARAMETERS, line 4's pair padded; `ring`
 *  adds gain × a ring to the window; `adc` converts the window as the sensor's converter does,
 *  to float32. (The conversion is a pass of its own: inside `lines` it made that loop about 65 %
 *  slower.) The bytes are
 *  simulator/physics/pump-kernels.wat assembled by binaryen (the command is in that file; a test holds
 *  the two together). In short:
 *
 *  (func "lines" (param window n)                  ;; n > 0
 *    load k01 k23 k4_ q01 q23 q4_ c01 c23 c4_ s01 s23 s4_ (v128 at 0, 16, ..., 176)
 *    loop: f64[window] += ((((s01.0 + s01.1) + s23.0) + s23.1) + s4_.0)
 *          t = c·k − s·q; s = s·k + c·q; c = t     (each pair)
 *          window += 8; until --n = 0)
 *  (func "ring" (param dst src n gain)             ;; f64[dst + i] += gain · f64[src + i]
 *    pairs by f64x2, then the odd one)
 *  (func "adc" (param src dst n scale step levels) ;; pairs by f64x2, then the odd one:
 *    f32[dst + i] = demote(min(max(nearest(f64[src + i] · scale), −levels), levels − 1) · step))
 */
export const KERNELS_WASM = "AGFzbQEAAAABFgNgAn9/AGAEf39/fABgBn9/f3x8fAADBAMAAQIFAwEAAQcfBAZtZW1vcnkCAAVsaW5lcwAABHJpbmcAAQNhZGMAAgqkBAOhAgENe0EA/QAEACECQQD9AAQQIQNBAP0ABCAhBEEA/QAEMCEFQQD9AARAIQZBAP0ABFAhB0EA/QAEYCEIQQD9AARwIQlBAP0ABIABIQpBAP0ABJABIQtBAP0ABKABIQxBAP0ABLABIQ0DQCAAIAArAwAgC/0hACAL/SEBoCAM/SEAoCAM/SEBoCAN/SEAoKA5AwAgCCAC/fIBIAsgBf3yAf3xASEOIAsgAv3yASAIIAX98gH98AEhCyAOIQggCSAD/fIBIAwgBv3yAf3xASEOIAwgA/3yASAJIAb98gH98AEhDCAOIQkgCiAE/fIBIA0gB/3yAf3xASEOIA0gBP3yASAKIAf98gH98AEhDSAOIQogAEEIaiEAIAFBAWsiAQ0ACwthAQF7IAP9FCEEAkADQCACQQJJDQEgACAA/QAEACAEIAH9AAQA/fIB/fAB/QsEACAAQRBqIQAgAUEQaiEBIAJBAmshAgwACwALIAIEQCAAIAArAwAgAyABKwMAoqA5AwALC5wBAQR7IAP9FCEGIAT9FCEHIAWa/RQhCCAFRAAAAAAAAPA/of0UIQkCQANAIAJBAkkNASABIAD9AAQAIAb98gH9lAEgCP33ASAJ/fYBIAf98gH9Xv1bAwAAIABBEGohACABQQhqIQEgAkECayECDAALAAsgAgRAIAEgACsDAP0UIAb98gH9lAEgCP33ASAJ/fYB/SEAIASitjgCAAsL";
const kernels = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(KERNELS_WASM, "base64"))).exports as {
  memory: WebAssembly.Memory;
  lines(windowByte: number, count: number): void;
  ring(targetByte: number, sourceByte: number, count: number, gain: number): void;
  adc(sourceByte: number, targetByte: number, count: number, scale: number, step: number, levels: number): void;
};

/** The ADC's step, in g, and its levels a g. */
export const ADC_STEP_G = SENSOR_FULL_SCALE_G / ADC_LEVELS;
const ADC_LEVELS_PER_G = ADC_LEVELS / SENSOR_FULL_SCALE_G;

/** The kernels' memory: the line parameters, then the window in float64 (noise, impacts and
 *  cavitation are summed there), the window as the ADC reports it in float32, and the ring of
 *  the impacts being added. Shared by every model in the thread (sample() runs to completion,
 *  one at a time); grown to the largest window and ring. */
const LINE_PARAMETERS = 24; // k, q, c, s: three pairs each
const WORK_BYTE = 256;
const PAGE_BYTES = 65536;
let capacitySamples = -1;
let capacityRing = -1;
let work = new Float64Array(0);
let rounded = new Float32Array(0);
let ringWork = new Float64Array(0);
let lineParameters = new Float64Array(0);
let roundedByte = 0;
let ringByte = 0;
/** A window's worth of normals for cavitation (Random.normals, the ziggurat). */
let normals = new Float64Array(0);
/** The window's 1/f noise at its own rate, and the normals that drive it. */
let pink = new Float64Array(0);
let pinkNormals = new Float64Array(0);
/** The window's speed drift: each segment's shaft speed (Hz) and the shaft's turns at its start. */
let segmentHz = new Float64Array(0);
let segmentTurns = new Float64Array(0);
let segments = 0;

function workFor(samples: number, ringSamples = 0): Float64Array {
  if (samples > capacitySamples || ringSamples > capacityRing) {
    capacitySamples = Math.max(samples, capacitySamples);
    capacityRing = Math.max(ringSamples, capacityRing);
    roundedByte = WORK_BYTE + 8 * capacitySamples;
    ringByte = roundedByte + 4 * capacitySamples + (capacitySamples % 2 === 0 ? 0 : 4);
    const bytes = ringByte + 8 * capacityRing;
    const memory = kernels.memory;
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE_BYTES));
    // Growing detaches the old views: make them all again.
    lineParameters = new Float64Array(memory.buffer, 0, LINE_PARAMETERS);
    work = new Float64Array(memory.buffer, WORK_BYTE, capacitySamples);
    rounded = new Float32Array(memory.buffer, roundedByte, capacitySamples);
    ringWork = new Float64Array(memory.buffer, ringByte, capacityRing);
  }
  if (normals.length < samples) normals = new Float64Array(samples);
  const segmentsMax = Math.ceil(samples / DRIFT_SEGMENT_SAMPLES);
  if (segmentHz.length < segmentsMax) {
    segmentHz = new Float64Array(segmentsMax);
    segmentTurns = new Float64Array(segmentsMax + 1);
  }
  return work;
}

/** The shaft's turns from the window's start to sample position `x` (a fraction of a sample
 *  allowed; before the start, at the first segment's speed). */
function shaftTurns(x: number, sampleRateHz: number): number {
  const k = x <= 0 ? 0 : Math.min(segments - 1, Math.floor(x / DRIFT_SEGMENT_SAMPLES));
  return segmentTurns[k] + (segmentHz[k] * (x - k * DRIFT_SEGMENT_SAMPLES)) / sampleRateHz;
}

/** The shaft speed at sample position `x`, Hz. */
function shaftHzAt(x: number): number {
  return segmentHz[x <= 0 ? 0 : Math.min(segments - 1, Math.floor(x / DRIFT_SEGMENT_SAMPLES))];
}

/** The running-speed lines of a window: 1x, 2x, 3x, vane-pass and its second harmonic, as
 *  orders of the shaft speed, their amplitudes, and their phases as unit phasors. */
const LINES = 5;
const lineOrder = new Float64Array(LINES);
const lineAmplitude = new Float64Array(LINES);
const linePhaseCos = new Float64Array(LINES);
const linePhaseSin = new Float64Array(LINES);

/** (re, im)^m for a whole m ≥ 1, by squaring: at most 2·log2(m) multiplications. */
const power = new Float64Array(2);
function phasorPower(re: number, im: number, m: number): void {
  let pr = 1, pi = 0;
  for (let e = m; e > 0; e >>= 1) {
    if (e & 1) {
      const t = pr * re - pi * im;
      pi = pr * im + pi * re;
      pr = t;
    }
    const t = re * re - im * im;
    im = 2 * re * im;
    re = t;
  }
  power[0] = pr;
  power[1] = pi;
}

/** target[i] = the ADC's reading of work[i] + the LINES lines, for i in [0, count): the
 *  window's last pass, rounded to the converter's step and to float32 once. Segment by segment
 *  of the speed drift, each line's step and starting phase come from the shaft's (its order's
 *  power of the shaft's phasors); within a segment each sine comes from rotating a phasor
 *  (four multiplications a sample instead of a Math.sin), all five in one pass, in the `lines`
 *  kernel. */
function addLines(target: Float32Array, count: number, sampleRateHz: number): void {
  const p = lineParameters;
  p.fill(0);
  for (let k = 0; k < segments; k++) {
    const start = k * DRIFT_SEGMENT_SAMPLES;
    const end = Math.min(count, start + DRIFT_SEGMENT_SAMPLES);
    const stepRad = (2 * Math.PI * segmentHz[k]) / sampleRateHz;
    const turns = segmentTurns[k] - Math.floor(segmentTurns[k]);
    const stepCos = Math.cos(stepRad), stepSin = Math.sin(stepRad);
    const atCos = Math.cos(2 * Math.PI * turns), atSin = Math.sin(2 * Math.PI * turns);
    for (let l = 0; l < LINES; l++) {
      const order = lineOrder[l];
      // Silent at or above Nyquist.
      const amplitude = order * segmentHz[k] < sampleRateHz / 2 ? lineAmplitude[l] : 0;
      phasorPower(stepCos, stepSin, order);
      p[l] = power[0];
      p[6 + l] = power[1];
      phasorPower(atCos, atSin, order);
      const c = power[0] * linePhaseCos[l] - power[1] * linePhaseSin[l];
      const s = power[0] * linePhaseSin[l] + power[1] * linePhaseCos[l];
      p[12 + l] = amplitude * c;
      p[18 + l] = amplitude * s;
    }
    kernels.lines(WORK_BYTE + 8 * start, end - start);
  }
  kernels.adc(WORK_BYTE, roundedByte, count, ADC_LEVELS_PER_G, ADC_STEP_G, ADC_LEVELS);
  target.set(rounded.subarray(0, count));
}

export class PumpModel {
  private ring = new Float64Array(0);
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
   *  `sampleRateHz`; returns the window's mean shaft speed. The window is summed in float64
   *  (machine and sensor noise, the sensor's 1/f noise, bearing impacts and cavitation, then
   *  the lines on the way out) and converted as the sensor's ADC does, to float32, once. */
  sample(out: Float32Array, sampleRateHz: number, timeMs = 0): number {
    const p = this.parameters;
    const count = out.length;
    // Sized first: growing the kernels' memory would detach a view in use.
    const window = workFor(count, this.orders !== undefined ? this.ringFor(sampleRateHz).length : 0);
    const shaftHz = this.shaftHz * (1 + SPEED_WANDER * this.random.gaussian());
    this.drift(count, sampleRateHz, shaftHz);
    const imbalance = this.level("imbalance", timeMs);
    const misalignment = this.level("misalignment", timeMs);
    const bearingDamage = Math.max(this.level("outer_race", timeMs), this.level("inner_race", timeMs), this.level("rolling_element", timeMs));
    // The machine's noise and the sensor's white noise are independent normals: one draw of
    // their combined deviation.
    const machineNoise = p.noise_g * (1 + DAMAGE_NOISE_GAIN * bearingDamage);
    const sensorNoise = SENSOR_NOISE_G_PER_SQRT_HZ * Math.sqrt(sampleRateHz / 2);
    this.random.normals(window, count, Math.hypot(machineNoise, sensorNoise));
    this.addPinkNoise(window, count, sampleRateHz);
    if (this.orders !== undefined) this.addBearingDefects(count, sampleRateHz, timeMs);
    const cavitation = this.level("cavitation", timeMs);
    if (cavitation > 0) this.addCavitation(window, count, CAVITATION_G_MAX * cavitation);
    this.setLine(0, 1, p.imbalance_g + IMBALANCE_G_MAX * imbalance + MISALIGNMENT_1X_G_MAX * misalignment);
    this.setLine(1, 2, p.misalignment_g + MISALIGNMENT_2X_G_MAX * misalignment);
    this.setLine(2, 3, THIRD_ORDER_SHARE * p.misalignment_g + MISALIGNMENT_3X_G_MAX * misalignment);
    this.setLine(3, p.vanes, p.vane_pass_g);
    this.setLine(4, 2 * p.vanes, VANE_PASS_SECOND_SHARE * p.vane_pass_g);
    addLines(out, count, sampleRateHz);
    return shaftHz;
  }

  /** Sets line `l` of the window: `order` × the shaft speed, at its phase. */
  private setLine(l: number, order: number, amplitude: number): void {
    const phase = this.parameters.phases[l];
    lineOrder[l] = order;
    lineAmplitude[l] = amplitude;
    linePhaseCos[l] = Math.cos(phase);
    linePhaseSin[l] = Math.sin(phase);
  }

  /** The window's speed drift: a random walk over its segments with its time-weighted mean
   *  taken out (the window's mean speed stays `shaftHz`) and scaled to a peak excursion drawn
   *  from DRIFT_EXCURSION; fills segmentHz and segmentTurns. */
  private drift(count: number, sampleRateHz: number, shaftHz: number): void {
    segments = Math.ceil(count / DRIFT_SEGMENT_SAMPLES);
    const excursion = this.random.uniform(...DRIFT_EXCURSION);
    let walk = 0;
    let mean = 0;
    for (let k = 0; k < segments; k++) {
      if (k > 0) walk += this.random.gaussian();
      segmentHz[k] = walk;
      mean += walk * (Math.min(count, (k + 1) * DRIFT_SEGMENT_SAMPLES) - k * DRIFT_SEGMENT_SAMPLES);
    }
    mean /= count;
    let peak = 0;
    for (let k = 0; k < segments; k++) peak = Math.max(peak, Math.abs(segmentHz[k] - mean));
    const scale = peak > 0 ? excursion / peak : 0;
    segmentTurns[0] = 0;
    for (let k = 0; k < segments; k++) {
      segmentHz[k] = shaftHz * (1 + scale * (segmentHz[k] - mean));
      segmentTurns[k + 1] = segmentTurns[k] + (segmentHz[k] * DRIFT_SEGMENT_SAMPLES) / sampleRateHz;
    }
  }

  /** The sensor's 1/f noise: PINK_POLES_HZ first-order processes of equal variance, each
   *  starting the window at a draw from its stationary distribution (the half hour since the
   *  last window is far longer than their memory), drawn every `decimation` samples and
   *  interpolated linearly between (their power lies far below that rate). */
  private addPinkNoise(window: Float64Array, count: number, sampleRateHz: number): void {
    const decimation = Math.max(1, Math.floor(sampleRateHz / PINK_RATE_HZ));
    const points = Math.floor((count - 1) / decimation) + 2;
    const poles = PINK_POLES_HZ.length;
    if (pink.length < points) {
      pink = new Float64Array(points);
      pinkNormals = new Float64Array(points * poles);
    }
    const values = pink;
    const draws = pinkNormals;
    const deviation = SENSOR_NOISE_G_PER_SQRT_HZ * Math.sqrt(PINK_CORNER_HZ * Math.log(PINK_POLE_RATIO));
    this.random.normals(draws, points * poles, deviation);
    values.fill(0, 0, points);
    for (let q = 0, d = 0; q < poles; q++) {
      const a = Math.exp((-2 * Math.PI * PINK_POLES_HZ[q] * decimation) / sampleRateHz);
      const b = Math.sqrt(1 - a * a);
      let y = draws[d++];
      values[0] += y;
      for (let j = 1; j < points; j++) {
        y = a * y + b * draws[d++];
        values[j] += y;
      }
    }
    let value = values[0];
    for (let j = 1, i = 0; i < count; j++) {
      const slope = (values[j] - value) / decimation;
      const end = Math.min(count, i + decimation);
      for (; i < end; i++) {
        window[i] += value;
        value += slope;
      }
      value = values[j];
    }
  }

  /** What one impact rings, built once per sample rate: the sum of the pump's resonances until
   *  the slowest has decayed by e^-RING_DECAYS. Each is the acceleration of a mode whose
   *  velocity rings as a decaying sine, from rest back to rest: a decaying sine's first
   *  difference, of peak about its gain. It sums to nothing (the structure is left as it was),
   *  so impacts modulated at 1× add no 1× line of their own; a bare decaying sine would, by its
   *  area (about 1/ω of its peak), and a pump with an inner-race fault would read as
   *  unbalanced. */
  private ringFor(sampleRateHz: number): Float64Array {
    if (this.ringRateHz !== sampleRateHz) {
      const modes = this.parameters.resonances.map((r) => {
        const hz = resonanceHz(r.position, sampleRateHz);
        const step = (2 * Math.PI * hz * Math.sqrt(1 - r.damping * r.damping)) / sampleRateHz;
        return { decay: (2 * Math.PI * hz * r.damping) / sampleRateHz, step, gain: r.gain / (2 * Math.sin(step / 2)) };
      });
      const length = Math.ceil(RING_DECAYS / Math.min(...modes.map((m) => m.decay)));
      this.ring = new Float64Array(length);
      for (const m of modes) {
        let previous = 0;
        for (let i = 0; i < length; i++) {
          const velocity = Math.exp(-m.decay * i) * Math.sin(m.step * i);
          this.ring[i] += m.gain * (velocity - previous);
          previous = velocity;
        }
      }
      this.ringRateHz = sampleRateHz;
    }
    return this.ring;
  }

  private addBearingDefects(count: number, sampleRateHz: number, timeMs: number): void {
    const o = this.orders!;
    const p = this.parameters;
    const rolling = 1 - p.element_slip;
    const outer = this.level("outer_race", timeMs);
    const inner = this.level("inner_race", timeMs);
    const element = this.level("rolling_element", timeMs);
    // The stationary outer-race defect: at its place in the load zone every time.
    if (outer > 0) this.addImpacts(count, sampleRateHz, o.bpfo * rolling, BEARING_IMPACT_G_MAX * outer, 0, p.outer_defect_rad);
    // The inner race's defect turns with the shaft through the load zone.
    if (inner > 0) this.addImpacts(count, sampleRateHz, o.bpfi * rolling, BEARING_IMPACT_G_MAX * inner, 1, p.inner_defect_rad);
    // The defective element goes round with the cage, from wherever the cage is.
    if (element > 0) {
      const cageRad = this.random.uniform(0, 2 * Math.PI);
      this.addImpacts(count, sampleRateHz, 2 * o.bsf * rolling, BEARING_IMPACT_G_MAX * ROLLING_ELEMENT_SHARE * element, o.ftf * rolling, cageRad);
    }
  }

  /** One defect's impacts at `order` × the shaft speed (drifting with it), each interval
   *  jittered and the jitter accumulating, from a random phase; each impact rings the
   *  resonances at `amplitude` × the load zone at the defect's angle from the load line,
   *  `angleRad` + `modulationOrder` turns a turn of the shaft. Impacts up to a ring's length
   *  before the window ring into it. */
  private addImpacts(count: number, sampleRateHz: number, order: number, amplitude: number, modulationOrder: number, angleRad: number): void {
    const p = this.parameters;
    const ring = this.ring;
    const length = ring.length;
    ringWork.set(ring);
    let fastestHz = 0;
    for (let k = 0; k < segments; k++) fastestHz = Math.max(fastestHz, segmentHz[k]);
    const impactsMax = Math.ceil((count + length) / ((IMPACT_INTERVAL_MIN * sampleRateHz) / (order * fastestHz))) + 1;
    let x = -length + this.random.next() * (sampleRateHz / (order * shaftHzAt(-length)));
    for (let impact = 0; impact < impactsMax && x < count; impact++) {
      const at = Math.round(x);
      const load = loadZone(angleRad + 2 * Math.PI * modulationOrder * shaftTurns(x, sampleRateHz), p.load_zone);
      if (load > 0 && at > -length) {
        const gain = amplitude * load;
        if (at < 0) kernels.ring(WORK_BYTE, ringByte - 8 * at, Math.min(length + at, count), gain);
        else kernels.ring(WORK_BYTE + 8 * at, ringByte, Math.min(length, count - at), gain); // window[at + i] += gain · ring[i]
      }
      const interval = (sampleRateHz / (order * shaftHzAt(x))) * Math.max(IMPACT_INTERVAL_MIN, 1 + p.impact_jitter * this.random.gaussian());
      x += interval;
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
