// Transmission paths a recording can be replayed through (bench/paths.bench.ts): filters that
// another machine's housing, mounting or sensor could put between a bearing and the firmware.
// Each is a cascade of second-order sections from the bilinear transform (RBJ's audio-EQ
// cookbook), run forwards once: causal, as a sensor's path is, in f64 over f32 samples. And the
// noise floor of the sensor at the path's end.

import type { Random } from "../physics/random.js";

type Section = readonly [b0: number, b1: number, b2: number, a0: number, a1: number, a2: number];

/** The Q of the two sections of a fourth-order Butterworth filter: 1 / (2 cos(π/8)) and
 *  1 / (2 cos(3π/8)). */
const BUTTERWORTH_4_Q = [1 / (2 * Math.cos(Math.PI / 8)), 1 / (2 * Math.cos((3 * Math.PI) / 8))];

function run(x: Float32Array, [b0, b1, b2, a0, a1, a2]: Section): Float32Array {
  const y = new Float32Array(x.length);
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = (b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
    x2 = x1;
    x1 = x[i];
    y2 = y1;
    y1 = v;
    y[i] = v;
  }
  return y;
}

function checked(rateHz: number, hz: number): number {
  if (!(hz > 0 && hz < rateHz / 2)) throw new RangeError(`a filter at ${hz} Hz is not between 0 and half the rate (${rateHz / 2} Hz)`);
  return (2 * Math.PI * hz) / rateHz;
}

/** `x` through a fourth-order Butterworth filter at `hz`: its two sections, each from the
 *  angle's cosine and the section's α. */
function butterworth4(x: Float32Array, rateHz: number, hz: number, section: (c: number, alpha: number) => Section): Float32Array {
  const w = checked(rateHz, hz);
  return BUTTERWORTH_4_Q.reduce((y, q) => run(y, section(Math.cos(w), Math.sin(w) / (2 * q))), x);
}

/** `x` (at `rateHz`) through a fourth-order Butterworth high-pass at `hz`: 24 dB an octave. */
export function highPass(x: Float32Array, rateHz: number, hz: number): Float32Array {
  return butterworth4(x, rateHz, hz, (c, alpha) => [(1 + c) / 2, -(1 + c), (1 + c) / 2, 1 + alpha, -2 * c, 1 - alpha]);
}

/** `x` through a fourth-order Butterworth low-pass at `hz`. */
export function lowPass(x: Float32Array, rateHz: number, hz: number): Float32Array {
  return butterworth4(x, rateHz, hz, (c, alpha) => [(1 - c) / 2, 1 - c, (1 - c) / 2, 1 + alpha, -2 * c, 1 - alpha]);
}

/** `x` through a resonance: a peak of `gainDb` at `hz` with quality `q`, flat elsewhere. */
export function resonance(x: Float32Array, rateHz: number, hz: number, q: number, gainDb: number): Float32Array {
  const w = checked(rateHz, hz);
  const a = 10 ** (gainDb / 40);
  const alpha = Math.sin(w) / (2 * q);
  const c = Math.cos(w);
  return run(x, [1 + alpha * a, -2 * c, 1 - alpha * a, 1 + alpha / a, -2 * c, 1 - alpha / a]);
}

/** A general-purpose piezoelectric accelerometer's noise floor: PCB 352C33's datasheet gives a
 *  broadband resolution of 0.00015 g RMS from 1 Hz to 10 kHz, 1.5 µg/√Hz. */
export const SENSOR_NOISE_G_PER_SQRT_HZ = 1.5e-6;

/** `x` (at `rateHz`, in g) with the sensor's white noise floor added in place, drawn from
 *  `random`: a band a filter or a higher rate empties holds it, never less. Returns `x`. */
export function addSensorNoise(x: Float32Array, rateHz: number, random: Random): Float32Array {
  const noise = new Float64Array(x.length);
  random.normals(noise, x.length, SENSOR_NOISE_G_PER_SQRT_HZ * Math.sqrt(rateHz / 2));
  for (let i = 0; i < x.length; i++) x[i] += noise[i];
  return x;
}
