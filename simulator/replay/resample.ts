// A recording at another sample rate, for replaying real vibration through the plan the
// firmware makes at a rate no recording was made at (bench/resampled.bench.ts): rational
// resampling by a Kaiser-windowed sinc.

/** The cut-off, as a share of the new rate (or of the old, when the rate rises). */
const CUTOFF_SHARE = 0.45;
/** What lies beyond the transition is this far down (dB). Kaiser's design (Oppenheim & Schafer,
 *  eq. 7.62–7.63): β = 0.1102 (A − 8.7), and a transition of Δω radians a sample needs
 *  (A − 7.95) / (2.285 Δω) taps. 100 dB: what the filter leaves of a strong line, or, when the
 *  rate rises, of the images of the recording's whole spectrum above its band, lies below any
 *  sensor's noise in the empty band above (a 74 dB filter left images there that a few seconds
 *  of averaged envelope spectra show as lines). */
const STOPBAND_DB = 100;
const KAISER_BETA = 0.1102 * (STOPBAND_DB - 8.7);
/** The transition, in cycles a sample of the lower of the two rates: from 0.40 (the firmware
 *  reads up to 0.4 of its rate) to 0.50, about the cut-off; what lies between 0.45 and 0.50
 *  folds to 0.50–0.55, beyond 0.4. */
const TRANSITION = 0.1;
/** The kernel's half-width in samples of the lower of the two rates. */
const HALF_WIDTH = Math.ceil((STOPBAND_DB - 7.95) / (2.285 * 2 * Math.PI * TRANSITION) / 2);
/** The largest `up` (phases of precomputed taps). */
const UP_MAX = 1024;

/** The modified Bessel function I0 (its power series; its terms fall below 1e-17 of the sum
 *  within 40 terms for the β here). */
function besselI0(x: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 60 && term > 1e-17 * sum; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}

/** `x` at `up / down` times its rate (whole numbers, up ≤ 1024): output sample m is the
 *  windowed-sinc interpolation of the input about input position m · down / up, its taps
 *  precomputed for each of the `up` phases and scaled to unit gain at DC. */
export function resample(x: Float32Array, up: number, down: number): Float32Array {
  if (!Number.isInteger(up) || !Number.isInteger(down) || up < 1 || down < 1 || up > UP_MAX) {
    throw new RangeError(`resample by ${up} / ${down}: whole numbers, 1 ≤ up ≤ ${UP_MAX}, down ≥ 1`);
  }
  const ratio = up / down;
  const cutoff = CUTOFF_SHARE * Math.min(1, ratio); // cycles per input sample
  const half = Math.ceil(HALF_WIDTH / Math.min(1, ratio)); // input samples
  const taps = 2 * half + 1;
  // Phase p: output m with (m · down) mod up = p lies p / up of a sample past input floor(m · down / up).
  const kernels = Array.from({ length: up }, (_, p) => {
    const kernel = new Float64Array(taps);
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const t = j - half - p / up; // input sample less the output's position
      const sinc = t === 0 ? 1 : Math.sin(2 * Math.PI * cutoff * t) / (2 * Math.PI * cutoff * t);
      const u = t / (half + 1); // within (−1, 1) across the kernel
      kernel[j] = sinc * besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - u * u))) / besselI0(KAISER_BETA);
      sum += kernel[j];
    }
    for (let j = 0; j < taps; j++) kernel[j] /= sum;
    return kernel;
  });
  const out = new Float32Array(Math.floor((x.length * up) / down));
  for (let m = 0; m < out.length; m++) {
    const base = Math.floor((m * down) / up) - half;
    const kernel = kernels[(m * down) % up];
    let acc = 0;
    for (let j = Math.max(0, -base); j < taps && base + j < x.length; j++) acc += x[base + j] * kernel[j];
    out[m] = acc;
  }
  return out;
}

/** The Kaiser window at u ∈ [−1, 1], from a table of KAISER_TABLE points (linear between). */
const KAISER_TABLE = 4096;
let kaiserTable: Float64Array | null = null;
function kaiserAt(u: number): number {
  if (kaiserTable === null) {
    kaiserTable = new Float64Array(KAISER_TABLE + 1);
    for (let i = 0; i <= KAISER_TABLE; i++) kaiserTable[i] = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - (i / KAISER_TABLE) ** 2))) / besselI0(KAISER_BETA);
  }
  const at = Math.min(1, Math.abs(u)) * KAISER_TABLE;
  const i = Math.min(KAISER_TABLE - 1, Math.floor(at));
  return kaiserTable[i] + (kaiserTable[i + 1] - kaiserTable[i]) * (at - i);
}

/** `x` read at the input positions `position(m)` (in input samples, increasing, at most
 *  `fastest` input samples per output one): output sample m is the Kaiser-windowed sinc
 *  interpolation of x about position(m), cut at CUTOFF_SHARE / fastest of the input rate so that
 *  nothing folds, and as long as the positions stay within x. A machine whose speed wanders is
 *  its recording read at a wandering pace (bench/speed-wander.bench.ts). */
export function warp(x: Float32Array, position: (m: number) => number, fastest: number): Float32Array {
  if (!(fastest >= 1)) throw new RangeError(`warp: the fastest pace ${fastest} must be at least 1`);
  const cutoff = CUTOFF_SHARE / fastest;
  const half = Math.ceil(HALF_WIDTH * fastest);
  const out: number[] = [];
  for (let m = 0; ; m++) {
    const at = position(m);
    const base = Math.floor(at);
    if (base + half >= x.length) break;
    let acc = 0;
    let sum = 0;
    for (let k = Math.max(0, base - half + 1); k <= base + half; k++) {
      const t = k - at;
      const sinc = t === 0 ? 1 : Math.sin(2 * Math.PI * cutoff * t) / (2 * Math.PI * cutoff * t);
      const weight = sinc * kaiserAt(t / (half + 1));
      acc += x[k] * weight;
      sum += weight;
    }
    out.push(acc / sum);
  }
  return Float32Array.from(out);
}
