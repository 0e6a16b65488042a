// The pump model's working memory and its hottest loops: the window summed in float64, the ring
// of the impacts being added, the running speed's drift within the window, the running-speed
// lines, the sensor's 1/f noise, and the sensor's converter. Shared by every model in the thread
// (a window is made to completion, one at a time), grown to the largest window and ring; the
// loops that bound the cost are WebAssembly SIMD kernels (pump-kernels.wat).

import type { Random } from "./random.js";

/** Running speed drifts within a window: a random walk over segments of this many samples,
 *  scaled to a peak excursion drawn in this range (a fraction of the speed). The lines' phasors
 *  are set exactly at each segment's start: their rotation's rounding error grows by about one
 *  ulp a step, so it stays far below float32 resolution. */
const DRIFT_SEGMENT_SAMPLES = 256;
const DRIFT_EXCURSION: [number, number] = [0.002, 0.005];

/** The sensor (ST IIS3DWB's datasheet: 75 µg/√Hz, 16 bits over ±16 g, 0.488 mg a step). */
export const SENSOR_NOISE_G_PER_SQRT_HZ = 75e-6;
const SENSOR_FULL_SCALE_G = 16;
const ADC_LEVELS = 32768; // a 16-bit converter's levels each side of zero
/** 1/f noise: its density equals the white noise's at this frequency; made of first-order
 *  processes of equal variance at corners a factor PINK_POLE_RATIO apart, which sum to 1/f
 *  between the lowest and the highest; drawn at about PINK_RATE_HZ and interpolated. */
const PINK_CORNER_HZ = 10;
const PINK_POLES_HZ = [1, 4, 16];
const PINK_POLE_RATIO = 4;
const PINK_RATE_HZ = 256;

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
 *    loop: f64[window] += (((((s01.0 + s01.1) + s23.0) + s23.1) + s4_.0) + s4_.1)
 *          t = c·k − s·q; s = s·k + c·q; c = t     (each pair)
 *          window += 8; until --n = 0)
 *  (func "ring" (param dst src n gain)             ;; f64[dst + i] += gain · f64[src + i]
 *    pairs by f64x2, then the odd one)
 *  (func "adc" (param src dst n scale step levels) ;; pairs by f64x2, then the odd one:
 *    f32[dst + i] = demote(min(max(nearest(f64[src + i] · scale), −levels), levels − 1) · step))
 */
export const KERNELS_WASM = "AGFzbQEAAAABFgNgAn9/AGAEf39/fABgBn9/f3x8fAADBAMAAQIFAwEAAQcfBAZtZW1vcnkCAAVsaW5lcwAABHJpbmcAAQNhZGMAAgqqBAOnAgENe0EA/QAEACECQQD9AAQQIQNBAP0ABCAhBEEA/QAEMCEFQQD9AARAIQZBAP0ABFAhB0EA/QAEYCEIQQD9AARwIQlBAP0ABIABIQpBAP0ABJABIQtBAP0ABKABIQxBAP0ABLABIQ0DQCAAIAArAwAgC/0hACAL/SEBoCAM/SEAoCAM/SEBoCAN/SEAoCAN/SEBoKA5AwAgCCAC/fIBIAsgBf3yAf3xASEOIAsgAv3yASAIIAX98gH98AEhCyAOIQggCSAD/fIBIAwgBv3yAf3xASEOIAwgA/3yASAJIAb98gH98AEhDCAOIQkgCiAE/fIBIA0gB/3yAf3xASEOIA0gBP3yASAKIAf98gH98AEhDSAOIQogAEEIaiEAIAFBAWsiAQ0ACwthAQF7IAP9FCEEAkADQCACQQJJDQEgACAA/QAEACAEIAH9AAQA/fIB/fAB/QsEACAAQRBqIQAgAUEQaiEBIAJBAmshAgwACwALIAIEQCAAIAArAwAgAyABKwMAoqA5AwALC5wBAQR7IAP9FCEGIAT9FCEHIAWa/RQhCCAFRAAAAAAAAPA/of0UIQkCQANAIAJBAkkNASABIAD9AAQAIAb98gH9lAEgCP33ASAJ/fYBIAf98gH9Xv1bAwAAIABBEGohACABQQhqIQEgAkECayECDAALAAsgAgRAIAEgACsDAP0UIAb98gH9lAEgCP33ASAJ/fYB/SEAIASitjgCAAsL";
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
const LINE_PARAMETERS = 24; // k, q, c, s: three pairs each (the five running-speed lines and the supply's)
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
export let normals = new Float64Array(0);
/** The window's 1/f noise at its own rate, and the normals that drive it. */
let pink = new Float64Array(0);
let pinkNormals = new Float64Array(0);
/** The window's speed drift: each segment's shaft speed (Hz) and the shaft's turns at its start. */
let segmentHz = new Float64Array(0);
let segmentTurns = new Float64Array(0);
let segments = 0;

export function workFor(samples: number, ringSamples = 0): Float64Array {
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
export function shaftTurns(x: number, sampleRateHz: number): number {
  const k = x <= 0 ? 0 : Math.min(segments - 1, Math.floor(x / DRIFT_SEGMENT_SAMPLES));
  return segmentTurns[k] + (segmentHz[k] * (x - k * DRIFT_SEGMENT_SAMPLES)) / sampleRateHz;
}

/** The shaft speed at sample position `x`, Hz. */
export function shaftHzAt(x: number): number {
  return segmentHz[x <= 0 ? 0 : Math.min(segments - 1, Math.floor(x / DRIFT_SEGMENT_SAMPLES))];
}

/** The running-speed lines of a window: 1x, 2x, 3x, vane-pass and its second harmonic, as
 *  orders of the shaft speed, their amplitudes, and their phases as unit phasors. A sixth line
 *  in the kernel, the supply's (setSupplyLine), keeps its own frequency. */
const LINES = 5;
/** The kernel's slot of the supply's line, after the running-speed lines. */
const SUPPLY_LINE = LINES;
let supplyHz = 0;
let supplyAmplitude = 0;
let supplyPhaseRad = 0;
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
export function addLines(target: Float32Array, count: number, sampleRateHz: number): void {
  const p = lineParameters;
  p.fill(0);
  // The supply's line turns at its own rate whatever the shaft does: one step for the window,
  // and its phase at each segment's start the window's start phase plus its turns since.
  const supplyStepRad = (2 * Math.PI * supplyHz) / sampleRateHz;
  const supply = supplyHz < sampleRateHz / 2 ? supplyAmplitude : 0;
  p[SUPPLY_LINE] = Math.cos(supplyStepRad);
  p[6 + SUPPLY_LINE] = Math.sin(supplyStepRad);
  for (let k = 0; k < segments; k++) {
    const start = k * DRIFT_SEGMENT_SAMPLES;
    const end = Math.min(count, start + DRIFT_SEGMENT_SAMPLES);
    const stepRad = (2 * Math.PI * segmentHz[k]) / sampleRateHz;
    const turns = segmentTurns[k] - Math.floor(segmentTurns[k]);
    const stepCos = Math.cos(stepRad), stepSin = Math.sin(stepRad);
    const atCos = Math.cos(2 * Math.PI * turns), atSin = Math.sin(2 * Math.PI * turns);
    const supplyRad = supplyPhaseRad + supplyStepRad * start;
    p[12 + SUPPLY_LINE] = supply * Math.cos(supplyRad);
    p[18 + SUPPLY_LINE] = supply * Math.sin(supplyRad);
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


/** The fastest shaft speed of the window's drift, Hz. */
export function fastestShaftHz(): number {
  let fastestHz = 0;
  for (let k = 0; k < segments; k++) fastestHz = Math.max(fastestHz, segmentHz[k]);
  return fastestHz;
}

/** The ring every impact of the next defect adds (loaded once per defect). */
export function loadRing(ring: Float64Array): void {
  ringWork.set(ring);
}

/** window[at + i] += gain · ring[i], for the part of the ring (of `length`) inside the window
 *  of `count`: an impact before the window (at < 0) rings into its start. */
export function addRing(at: number, length: number, count: number, gain: number): void {
  if (at < 0) kernels.ring(WORK_BYTE, ringByte - 8 * at, Math.min(length + at, count), gain);
  else kernels.ring(WORK_BYTE + 8 * at, ringByte, Math.min(length, count - at), gain);
}

/** Sets the window's supply line: `hz` whatever the shaft's speed, of peak `amplitude`, at
 *  phase `phaseRad` (a sine's) at the window's first sample; silent at or above Nyquist. */
export function setSupplyLine(hz: number, amplitude: number, phaseRad: number): void {
  supplyHz = hz;
  supplyAmplitude = amplitude;
  supplyPhaseRad = phaseRad;
}

/** Sets line `l` of the window: `order` × the shaft speed, at its phase. */
export function setLine(l: number, order: number, amplitude: number, phase: number): void {
  lineOrder[l] = order;
  lineAmplitude[l] = amplitude;
  linePhaseCos[l] = Math.cos(phase);
  linePhaseSin[l] = Math.sin(phase);
}


/** The window's speed drift: a random walk over its segments with its time-weighted mean
 *  taken out (the window's mean speed stays `shaftHz`) and scaled to a peak excursion drawn
 *  from DRIFT_EXCURSION; fills segmentHz and segmentTurns. */
export function drift(random: Random, count: number, sampleRateHz: number, shaftHz: number): void {
  segments = Math.ceil(count / DRIFT_SEGMENT_SAMPLES);
  const excursion = random.uniform(...DRIFT_EXCURSION);
  let walk = 0;
  let mean = 0;
  for (let k = 0; k < segments; k++) {
    if (k > 0) walk += random.gaussian();
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
export function addPinkNoise(random: Random, window: Float64Array, count: number, sampleRateHz: number): void {
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
  random.normals(draws, points * poles, deviation);
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
