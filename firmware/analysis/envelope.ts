// A band's squared envelope and its spectrum (ANALYSIS.md §5): the band's bins of the window's
// unwindowed FFT shifted to baseband and inverse-transformed, squared, then mean-removed,
// Hann-windowed and transformed again. The spectrum is left in `baseband` for evidence.ts.

import { fftRealPlaced, fftConjugateHalfFilled, fftSlotEntry, fftSlotAt, fftSlotShift, fftAngleStep, fftCosAt, nextPowerOfTwo } from "../fft";
import { setEnvelopeSpectrum } from "./evidence";
import { bins, bin_hz, raw, baseband, envelope, envelope_points_max, raw_first, raw_last, window_samples, fft_size } from "./buffers";
import { ASSERTS, holds } from "../assert";

/** Points of the last band's envelope (envelopeSpectrum), and the width its bins span. */
export let envelope_points: i32 = 0;
let envelope_band_hz: f64 = 0.0;

/** Squared-envelope spectrum of the band [low_hz, high_hz] into `baseband` (bins 0 to
 *  envelope_points/2 at bin_hz spacing, interleaved re, im: zoneLnP reads their powers).
 *  False when the band is too narrow. */
export function envelopeSpectrum(low_hz: f64, high_hz: f64): bool {
  const points = bandEnvelope(low_hz, high_hz);
  if (points == 0) return false;
  envelope_points = points;
  setEnvelopeSpectrum(bin_hz, points / 2, envelope_band_hz);
  return hannSpectrum(changetype<usize>(envelope), points, envelope_sum) >= 0;
}

/** The sum of the last band's squared envelope (bandEnvelope), in f64 in the order
 *  windowedSpectrum sums it. */
let envelope_sum: f64 = 0.0;

/** The squared envelope |z|² of the band [low_hz, high_hz] of the spectrum in `raw` into
 *  `envelope`: the band's bins shifted to baseband and inverse-transformed over the returned
 *  number of points (0 when the band is too narrow or too wide), which span the whole block. */
export function bandEnvelope(low_hz: f64, high_hz: f64): i32 {
  const k_low = bandLowBin(low_hz);
  const k_high = bandHighBin(high_hz);
  const band_bins = k_high - k_low + 1;
  if (band_bins < 4) return 0;
  envelope_band_hz = <f64>band_bins * bin_hz;
  const points = nextPowerOfTwo(2 * band_bins, 256);
  if (points > envelope_points_max) return 0;
  const z = changetype<usize>(baseband);
  if (ASSERTS) assert(holds(baseband, 0, 2 * points) && holds(envelope, 0, points) && k_high + 1 < bins, "band envelope past its buffers");
  // The band's bins at baseband, zero above: band_bins ≤ points/2. Conjugated: the forward FFT
  // of conj(Z) is the conjugate of the inverse, and |·|² ignores it.
  const source = matchedBand(k_low, band_bins);
  if (fftConjugateHalfFilled(source, band_bins, z, points) < 0) return 0;
  // Summed as they are written, for the mean the spectrum removes (hannSpectrum).
  let sum: f64 = 0.0;
  let to = changetype<usize>(envelope);
  const end = z + (<usize>points << 3);
  for (let from = z; from < end; from += 8) {
    const re = load<f32>(from);
    const im = load<f32>(from, 4);
    const value = re * re + im * im;
    store<f32>(to, value);
    sum += <f64>value;
    to += 4;
  }
  envelope_sum = sum;
  return points;
}

/** The band's bins of the block whose FFT `raw` holds, with the block's ends matched, into
 *  `envelope` (free until the envelope is written): X[k] − R[k], R the DFT of the line
 *  r(n) = a + b n through the block's first and last samples (over the block's samples, zero in
 *  its padding), so that the block less the line starts and ends at 0 and wraps without a jump.
 *  A brick-wall band of an unwindowed FFT otherwise carries the jump's sinc tails across the
 *  whole block, 1/(π W t) of the jump at t from an end: where the machine's strong content lies
 *  below the band, they are the band's strongest thing, and their size, the signal sampled at
 *  the blocks' ends, folds the machine's slow modulations into the envelope (a tone-free 13–19
 *  kHz band at 64 kHz showed a cage's family at log10 p −28). The line's own spectrum falls as
 *  1/k from bin 0; what it leaves, a jump in slope, has tails a further 1/(π W t) smaller.
 *  With q = e^(−2πik/N), M samples of N: R = a (1 − q^M)/(1 − q) + b q (1 − M q^(M−1) + (M − 1) q^M)/(1 − q)². */
function matchedBand(k_low: i32, band_bins: i32): usize {
  const out = changetype<usize>(envelope);
  const m = window_samples;
  const a = raw_first;
  const b = (raw_last - raw_first) / <f64>(m - 1);
  const mf = <f64>m;
  if (m == fft_size) {
    // Unpadded, q^M = 1: R = −b M / (1 − q) = −(b M / 2)(1 − i cot(θ/2)), θ = 2πk/N, and
    // cot(θ/2) = (1 + cos θ) / sin θ; bins below N/2 have θ in (0, π). In f32, as the bins are.
    const half_bm = <f32>(0.5 * b * mf);
    const quarter = fft_size >> 2;
    // Below a quarter turn cos θ and sin θ are the table at u and at a quarter less u; above,
    // −sin and cos of the angle past it: the table walked by pointers, one up and one down.
    const stride = <usize>fftAngleStep(fft_size) << 2;
    let from = changetype<usize>(raw) + (<usize>k_low << 3);
    let to = out;
    const end = from + (<usize>band_bins << 3);
    const split = changetype<usize>(raw) + (<usize>min(max(quarter, k_low), k_low + band_bins) << 3);
    let up = fftCosAt(0) + (<usize>(k_low & (quarter - 1)) * stride);
    let down = fftCosAt(0) + (<usize>(quarter - (k_low & (quarter - 1))) * stride);
    for (; from < split; from += 8) { // θ below a quarter turn
      const c = load<f32>(up), sn = load<f32>(down);
      store<f32>(to, load<f32>(from) + half_bm);
      store<f32>(to, load<f32>(from, 4) - half_bm * (1.0 + c) / sn, 4);
      to += 8;
      up += stride;
      down -= stride;
    }
    if (k_low < quarter) { // past the quarter turn: u = k − quarter from 0
      up = fftCosAt(0);
      down = fftCosAt(0) + (<usize>quarter * stride);
    }
    for (; from < end; from += 8) { // θ from a quarter turn on: cos θ = −sin u, sin θ = cos u
      const c = -load<f32>(down), sn = load<f32>(up);
      store<f32>(to, load<f32>(from) + half_bm);
      store<f32>(to, load<f32>(from, 4) - half_bm * (1.0 + c) / sn, 4);
      to += 8;
      up += stride;
      down -= stride;
    }
    return out;
  }
  for (let i = 0; i < band_bins; i++) {
    const k = k_low + i;
    unit(k);
    const qr = unit_cos, qi = -unit_sin; // q
    unit(<i32>((<i64>k * <i64>m) % <i64>fft_size));
    const pr = unit_cos, pi = -unit_sin; // q^M
    const dr = 1.0 - qr, di = -qi; // 1 − q
    const dd = dr * dr + di * di;
    // a (1 − q^M) / (1 − q)
    const nr = 1.0 - pr, ni = -pi;
    const g0r = (nr * dr + ni * di) / dd, g0i = (ni * dr - nr * di) / dd;
    // q^(M−1) = q^M conj(q); t = 1 − M q^(M−1) + (M − 1) q^M; u = q t
    const sr = pr * qr + pi * qi, si = pi * qr - pr * qi;
    const tr = 1.0 - mf * sr + (mf - 1.0) * pr, ti = -mf * si + (mf - 1.0) * pi;
    const ur = qr * tr - qi * ti, ui = qr * ti + qi * tr;
    // u / (1 − q)² = u conj(1 − q)² / |1 − q|⁴
    const cr = dr * dr - di * di, ci = -2.0 * dr * di;
    const dd2 = dd * dd;
    const g1r = (ur * cr - ui * ci) / dd2, g1i = (ur * ci + ui * cr) / dd2;
    const from = changetype<usize>(raw) + (<usize>k << 3);
    store<f32>(out + (<usize>i << 3), <f32>(<f64>load<f32>(from) - a * g0r - b * g1r));
    store<f32>(out + (<usize>i << 3), <f32>(<f64>load<f32>(from, 4) - a * g0i - b * g1i), 4);
  }
  return out;
}

/** cos and sin of 2π j / fft_size (0 ≤ j < fft_size), from the FFT's quarter-wave table. */
let unit_cos: f64 = 0.0;
let unit_sin: f64 = 0.0;
function unit(j: i32): void {
  const step = fftAngleStep(fft_size);
  const quarter = fft_size >> 2;
  const u = j & (quarter - 1);
  const turn = j / quarter; // the quadrant: (cos, sin) turn by a quarter each
  const near = <f64>load<f32>(fftCosAt(u * step)); // cos of the angle within the quadrant
  const far = <f64>load<f32>(fftCosAt((quarter - u) * step)); // its sin
  unit_cos = turn == 0 ? near : turn == 1 ? -far : turn == 2 ? -near : far;
  unit_sin = turn == 0 ? far : turn == 1 ? near : turn == 2 ? -far : -near;
}

/** The first and last of the window's bins that the band from `low_hz` to `high_hz` takes. */
// @ts-ignore: decorator
@inline function bandLowBin(low_hz: f64): i32 {
  return max(1, <i32>Math.ceil(low_hz / bin_hz));
}
// @ts-ignore: decorator
@inline function bandHighBin(high_hz: f64): i32 {
  return min(bins - 2, <i32>Math.floor(high_hz / bin_hz));
}

/** The width of the window's bins that the band [low_hz, high_hz] takes (bandEnvelope): its
 *  squared envelope's spectrum ends there. */
export function bandSpanHz(low_hz: f64, high_hz: f64): f64 {
  return <f64>(bandHighBin(high_hz) - bandLowBin(low_hz) + 1) * bin_hz;
}

/** The spectrum of `points` values at `values` (a power of two up to envelope_points_max), mean
 *  removed and Hann-windowed, into `baseband` (bins 0 … points/2, interleaved re, im). */
export function windowedSpectrum(values: usize, points: i32): i32 {
  let sum: f64 = 0.0;
  for (let n = 0; n < points; n++) sum += <f64>load<f32>(values + (<usize>n << 2));
  return hannSpectrum(values, points, sum);
}

/** windowedSpectrum of values whose sum (in f64, in their order) is `sum`. */
function hannSpectrum(values: usize, points: i32, sum: f64): i32 {
  const mean = <f32>(sum / <f64>points);
  const z = changetype<usize>(baseband);
  // The periodic Hann window 0.5 − 0.5·cos(2πn/points), its cosine read from the FFT's
  // quarter-wave table (f32, no table of its own), a quarter of the window at a time: forwards,
  // backwards negated, forwards negated, backwards. Written where the real FFT wants the values
  // (fftSlot); `baseband` holds points + 2 f32 and more.
  if (ASSERTS) assert(points >= 8 && holds(baseband, 0, points + 2), "envelope spectrum past its buffer");
  const step_bytes = <isize>fftAngleStep(points) << 2;
  const quarter = fftCosAt(fftAngleStep(points) * (points >> 2));
  const pairs = points >> 3; // sample pairs per quarter
  const shift = fftSlotShift(points >> 1);
  hannQuarter(values, mean, z, shift, 0, pairs, fftCosAt(0), step_bytes, 0.5);
  hannQuarter(values, mean, z, shift, pairs, pairs, quarter, -step_bytes, -0.5);
  hannQuarter(values, mean, z, shift, 2 * pairs, pairs, fftCosAt(0), step_bytes, -0.5);
  hannQuarter(values, mean, z, shift, 3 * pairs, pairs, quarter, -step_bytes, 0.5);
  return fftRealPlaced(z, points);
}

/** `pairs` sample pairs from pair `first` on, less `mean`, times the Hann weight
 *  0.5 − half_sign·cos, the cosines from `cos_at` on in steps of `cos_step` bytes, into their
 *  fftSlot at `z`. */
function hannQuarter(values: usize, mean: f32, z: usize, shift: i32, first: i32, pairs: i32, cos_at: usize, cos_step: isize, half_sign: f32): void {
  let c = cos_at;
  let entry = fftSlotEntry(first);
  const from = values + (<usize>first << 3);
  const end = from + (<usize>pairs << 3);
  for (let at = from; at < end; at += 8) {
    const w0 = <f32>0.5 - half_sign * load<f32>(c);
    c += cos_step;
    const w1 = <f32>0.5 - half_sign * load<f32>(c);
    c += cos_step;
    const slot = z + fftSlotAt(entry, shift);
    store<f32>(slot, (load<f32>(at) - mean) * w0);
    store<f32>(slot, (load<f32>(at, 4) - mean) * w1, 4);
    entry += 2;
  }
}
