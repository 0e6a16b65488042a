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

/** The window's two hottest loops as WebAssembly SIMD, two float64 lanes at a time: the same
 *  IEEE operations in the same order as the scalar loops they replace, so the same bits (V8
 *  does not vectorise JavaScript, and the lines' rotations are bound by floating-point
 *  throughput). `lines` adds the five lines to a block of the window, rounding to float32:
 *  their cos and sin of a step (k, q) and their starting phasors (c, s) in pairs at
 *  LINE_PARAMETERS, line 4's pair padded; `ring` adds gain × a ring to the window. The bytes
 *  are simulator/pump-kernels.wat assembled by binaryen (the command is in that file; a test
 *  holds the two together). In short:
 *
 *  (func "lines" (param src dst n)                 ;; n > 0
 *    load k01 k23 k4_ q01 q23 q4_ c01 c23 c4_ s01 s23 s4_ (v128 at 0, 16, ..., 176)
 *    loop: f32[dst] = demote(f64[src] + ((((s01.0 + s01.1) + s23.0) + s23.1) + s4_.0))
 *          t = c·k − s·q; s = s·k + c·q; c = t     (each pair)
 *          src += 8; dst += 4; until --n = 0)
 *  (func "ring" (param dst src n gain)             ;; f64[dst + i] += gain · f64[src + i]
 *    pairs by f64x2, then the odd one)
 */
export const KERNELS_WASM = "AGFzbQEAAAABDgJgA39/fwBgBH9/f3wAAwMCAAEFAwEAAQcZAwZtZW1vcnkCAAVsaW5lcwAABHJpbmcAAQqOAwKpAgENe0EA/QAEACEDQQD9AAQQIQRBAP0ABCAhBUEA/QAEMCEGQQD9AARAIQdBAP0ABFAhCEEA/QAEYCEJQQD9AARwIQpBAP0ABIABIQtBAP0ABJABIQxBAP0ABKABIQ1BAP0ABLABIQ4DQCABIAArAwAgDP0hACAM/SEBoCAN/SEAoCAN/SEBoCAO/SEAoKC2OAIAIAkgA/3yASAMIAb98gH98QEhDyAMIAP98gEgCSAG/fIB/fABIQwgDyEJIAogBP3yASANIAf98gH98QEhDyANIAT98gEgCiAH/fIB/fABIQ0gDyEKIAsgBf3yASAOIAj98gH98QEhDyAOIAX98gEgCyAI/fIB/fABIQ4gDyELIABBCGohACABQQRqIQEgAkEBayICDQALC2EBAXsgA/0UIQQCQANAIAJBAkkNASAAIAD9AAQAIAQgAf0ABAD98gH98AH9CwQAIABBEGohACABQRBqIQEgAkECayECDAALAAsgAgRAIAAgACsDACADIAErAwCioDkDAAsL";
const kernels = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(KERNELS_WASM, "base64"))).exports as {
  memory: WebAssembly.Memory;
  lines(sourceByte: number, targetByte: number, count: number): void;
  ring(targetByte: number, sourceByte: number, count: number, gain: number): void;
};

/** The kernels' memory: the line parameters, then the window in float64 (noise, impacts and
 *  cavitation are summed there), the window rounded to float32, and the ring of the impacts
 *  being added. Shared by every model in the thread (sample() runs to completion, one at a
 *  time); grown to the largest window and ring. */
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

/** target[i] = work[i] + the LINES lines, amplitude · sin(step·i + phase) each, for i in
 *  [0, count): the window's last pass, rounded to float32 once. Each sine comes from rotating a
 *  phasor (four multiplications a sample instead of a Math.sin), all five in one pass, in the
 *  `lines` kernel; re-seeded exactly every ROTATION_BLOCK samples. */
function addLines(target: Float32Array, count: number): void {
  const p = lineParameters;
  p.fill(0);
  for (let l = 0; l < LINES; l++) {
    p[l] = Math.cos(lineStep[l]);
    p[6 + l] = Math.sin(lineStep[l]);
  }
  for (let start = 0; start < count; start += ROTATION_BLOCK) {
    const end = Math.min(count, start + ROTATION_BLOCK);
    for (let l = 0; l < LINES; l++) {
      const angle = lineStep[l] * start + linePhase[l];
      p[12 + l] = lineAmplitude[l] * Math.cos(angle);
      p[18 + l] = lineAmplitude[l] * Math.sin(angle);
    }
    kernels.lines(WORK_BYTE + 8 * start, roundedByte + 4 * start, end - start);
  }
  target.set(rounded.subarray(0, count));
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
    // Sized first: growing the kernels' memory would detach a view in use.
    const window = workFor(count, this.orders !== undefined ? this.ringFor(sampleRateHz).length : 0);
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
    addLines(out, count);
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
    ringWork.set(ring);
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
      kernels.ring(WORK_BYTE + 8 * at, ringByte, end, gain); // window[at + i] += gain · ring[i]
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
