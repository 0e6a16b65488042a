// A recording at another sample rate, for replaying real vibration through the plan the
// firmware makes at a rate no recording was made at (bench/resampled.bench.ts): rational
// resampling by a Blackman-windowed sinc.

/** The cut-off, as a share of the new rate (or of the old, when the rate rises). */
const CUTOFF_SHARE = 0.45;
/** The kernel's half-width in samples of the lower of the two rates. The Blackman window's
 *  transition is 5.5 over its length (Oppenheim & Schafer, Table 7.2): 0.11 of that rate,
 *  ±0.057 about the cut-off, so what lies 0.507 of the new rate and above is 74 dB down, and
 *  what lies between 0.45 and 0.507 folds to 0.49 of it and above, beyond the firmware's 0.4. */
const HALF_WIDTH = 24;
/** The largest `up` (phases of precomputed taps). */
const UP_MAX = 1024;

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
      const u = (t + half + 1) / (2 * half + 2); // within (0, 1) across the kernel
      kernel[j] = sinc * (0.42 - 0.5 * Math.cos(2 * Math.PI * u) + 0.08 * Math.cos(4 * Math.PI * u));
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
