// The window's spectra and what is read straight off them (ANALYSIS.md §2, §3, §6): the
// unwindowed FFT the envelope analysis works from, the Hann power spectrum, velocity RMS and its
// ISO 10816-3 zone, a line's velocity, and the broadband floor of the high band.

import { fftRealPlaced, fftSlot, fftSlotShift, fftSlotEntry, fftSlotAt } from "../fft";
import { spectrumCompute, spectrumPtr, spectrumEnbwBins, WINDOW_HANN } from "../spectrum";
import { STATUS_OK } from "../status";
import { selectBegin, selectTally, selectEnd } from "../stats";
import { LINE_HALF_BINS, HANN_ENBW_BINS, PASSBAND_SHARE } from "./constants";
import { machine, result } from "./machine";
import { window_samples, fft_size, bins, bin_hz, raw, power, baseband, getF32, setF32, setRawEnds } from "./buffers";
import { ASSERTS, holds } from "../assert";

export const VELOCITY_LOW_HZ: f64 = 10.0;
export const VELOCITY_HIGH_HZ: f64 = 1000.0;
const HF_LOW_SHARE: f64 = 1.0 / 8.0;
const HF_HIGH_SHARE: f64 = PASSBAND_SHARE;

/** The noise bandwidth, in bins, of the window the power spectrum was taken with. */
let enbw_bins: f64 = 1.0;

/** The unwindowed FFT of the window in m/s², its `mean` (in its units) removed (for the envelope), and the Hann
 *  spectrum as power per bin in (m/s²)². When the window needs no zero-padding, the Hann
 *  spectrum comes from the same FFT (Hann is the cosine sum 0.5, −0.25, −0.25 on bins k,
 *  k∓1); a padded window is windowed over its own samples and transformed again. */
export function spectra(samples_ptr: usize, scale: f64, mean: f64): i32 {
  // A padded window's Hann spectrum is taken first, in `raw` (lent to spectrum.ts).
  if (fft_size != window_samples) {
    const status = spectrumCompute(samples_ptr, window_samples, WINDOW_HANN);
    if (status < 0) return status;
    enbw_bins = spectrumEnbwBins(WINDOW_HANN);
    const amplitudes = spectrumPtr();
    if (ASSERTS) assert(holds(power, 0, bins), "power spectrum past its buffer");
    for (let k = 0; k < bins; k++) {
      const a = <f64>load<f32>(amplitudes + (<usize>k << 2)) * scale;
      setF32(power, k, <f32>(a * a * 0.5 / enbw_bins));
    }
  }
  const out = changetype<usize>(raw);
  // Written in pairs where the FFT wants them (fftSlot), zero-padded to fft_size.
  if (ASSERTS) assert(holds(raw, 0, fft_size + 2), "window's FFT past its buffer");
  const half = fft_size >> 1;
  const shift = fftSlotShift(half);
  // In f32: x − mean is exact where a DC level dwarfs the vibration (Sterbenz) and rounded once
  // elsewhere; the mean's own rounding to f32 is a constant, which moves bin 0 only; the scale's
  // (g to m/s², 9.80665 to 3e-8) scales every bin alike.
  const mean_f32 = <f32>mean;
  const scale_f32 = <f32>scale;
  // The pairs wholly in the window, then (an odd window's last sample and) the padding: the
  // loop that runs for every sample tests nothing but its end.
  const pairs = window_samples >> 1;
  let entry = fftSlotEntry(0);
  const samples_end = samples_ptr + (<usize>pairs << 3);
  for (let from = samples_ptr; from < samples_end; from += 8) {
    const slot = out + fftSlotAt(entry, shift);
    store<f32>(slot, (load<f32>(from) - mean_f32) * scale_f32);
    store<f32>(slot, (load<f32>(from, 4) - mean_f32) * scale_f32, 4);
    entry += 2;
  }
  const from = samples_end;
  for (let i = pairs; i < half; i++) {
    const slot = out + fftSlot(i, shift);
    store<f32>(slot, (i << 1) < window_samples ? (load<f32>(from) - mean_f32) * scale_f32 : <f32>0.0);
    store<f32>(slot, 0.0, 4);
  }
  setRawEnds(<f64>((load<f32>(samples_ptr) - mean_f32) * scale_f32), <f64>((load<f32>(samples_ptr + (<usize>(window_samples - 1) << 2)) - mean_f32) * scale_f32));
  const raw_bins = fftRealPlaced(out, fft_size);
  if (raw_bins < 0) return raw_bins;
  if (fft_size == window_samples) hannPowerFromRaw();
  return STATUS_OK;
}

/** Power per bin of the periodic Hann window of length fft_size, from the unwindowed bins:
 *  amplitude A = 2|X_w|/Σw with Σw = N/2, power A²/2 over the noise bandwidth of 1.5 bins, as
 *  one factor on |X_w|² (no square root). The loop reads each bin where it lies, three times (a
 *  load costs fewer instructions than handing a bin on from one turn to the next). In
 *  f32, as the bins are and the powers are kept: a few f32 roundings of each power (a relative
 *  error under 1e-6), far below the spectrum's own scatter. */
function hannPowerFromRaw(): void {
  const x = changetype<usize>(raw);
  const half = fft_size >> 1;
  const amplitude_scale = 4.0 / <f64>fft_size; // 2 / Σw
  enbw_bins = HANN_ENBW_BINS;
  const power_scale = <f32>(amplitude_scale * amplitude_scale * 0.5 / HANN_ENBW_BINS);
  if (ASSERTS) assert(holds(power, 0, half + 1), "Hann powers past their buffer");
  // X[-1] = conj X[1] and X[N/2+1] = conj X[N/2-1] for a real signal, and the two ends have no
  // mirror image in the negative frequencies (half the amplitude, a quarter of the power).
  setF32(power, 0, hannEndPower(x, 0, 1, power_scale));
  setF32(power, half, hannEndPower(x, half, half - 1, power_scale));
  const out = changetype<usize>(power);
  const end = out + (<usize>half << 2);
  let below = x; // bin k − 1; k and k + 1 follow it
  for (let at = out + 4; at < end; at += 4) {
    const w_re: f32 = 0.5 * load<f32>(below, 8) - 0.25 * (load<f32>(below) + load<f32>(below, 16));
    const w_im: f32 = 0.5 * load<f32>(below, 12) - 0.25 * (load<f32>(below, 4) + load<f32>(below, 20));
    store<f32>(at, (w_re * w_re + w_im * w_im) * power_scale);
    below += 8;
  }
}

/** hannPowerFromRaw at an end bin `k` (0 or N/2), whose neighbours on both sides are bin
 *  `neighbour` and its conjugate. */
function hannEndPower(x: usize, k: i32, neighbour: i32, power_scale: f32): f32 {
  const re: f32 = 0.5 * load<f32>(x + (<usize>k << 3)) - 0.5 * load<f32>(x + (<usize>neighbour << 3));
  const im: f32 = 0.5 * load<f32>(x + (<usize>k << 3), 4);
  return (re * re + im * im) * power_scale * 0.25;
}

/** Velocity RMS over VELOCITY_LOW_HZ–VELOCITY_HIGH_HZ (mm/s) and its ISO 10816-3 zone. Below
 *  `stream_top_hz` (0: nowhere) the finer speed stream's spectrum gave `stream_ms2` (m/s)², and
 *  the window's bins add what lies above. */
export function velocityAndZone(stream_top_hz: f64, stream_ms2: f64): void {
  const high_hz = Math.min(VELOCITY_HIGH_HZ, machine.sample_rate_hz * 0.5);
  const low_hz = Math.max(VELOCITY_LOW_HZ, stream_top_hz);
  let k = 1;
  while (k < bins && (stream_top_hz > 0.0 ? <f64>k * bin_hz <= low_hz : <f64>k * bin_hz < low_hz)) k++;
  let k_high = k - 1;
  while (k_high + 1 < bins && <f64>(k_high + 1) * bin_hz <= high_hz) k_high++;
  const v = Math.sqrt(bandVelocityMs2(changetype<usize>(power), bin_hz, k, k_high, 1.0) + stream_ms2) * 1000.0;
  result.velocity_rms_mm_s = v;
  result.iso_zone = v < machine.zone_ab_mm_s ? 0 : v < machine.zone_bc_mm_s ? 1 : v < machine.zone_cd_mm_s ? 2 : 3;
}

/** Velocity mean square, (m/s)², of bins `k_low` … `k_high` (k_low ≥ 1) of the power spectrum at
 *  `power_ptr`, bins of `spectrum_bin_hz` whose powers times `power_scale` are (m/s²)² per bin:
 *  Σ power[k] / (2π k Δf)² = Σ (power[k] / k²) / (2π Δf)², one division a bin. The window's
 *  spectrum's and the speed stream's (analysis/running-speed.ts). */
export function bandVelocityMs2(power_ptr: usize, spectrum_bin_hz: f64, k_low: i32, k_high: i32, power_scale: f64): f64 {
  if (ASSERTS) assert(k_low >= 1, "a velocity band from DC");
  let sum: f64 = 0.0;
  for (let k = k_low; k <= k_high; k++) {
    const kk = <f64>k;
    sum += <f64>load<f32>(power_ptr + (<usize>k << 2)) / (kk * kk);
  }
  const omega_bin = 2.0 * Math.PI * spectrum_bin_hz;
  return sum * power_scale / (omega_bin * omega_bin);
}

function binOf(hz: f64): i32 {
  return <i32>Math.round(hz / bin_hz);
}

/** Velocity RMS (mm/s) of the line at `hz`: the energy of ±LINE_HALF_BINS around it. */
export function lineVelocity(hz: f64): f64 {
  const centre = binOf(hz);
  if (hz <= 0.0 || centre < 1 || centre >= bins - 1) return 0.0;
  if (ASSERTS) assert(holds(power, 0, bins), "a line past the power spectrum");
  return Math.sqrt(bandVelocityMs2(changetype<usize>(power), bin_hz, max(1, centre - LINE_HALF_BINS), min(bins - 1, centre + LINE_HALF_BINS), 1.0)) * 1000.0;
}

/** Broadband floor of the high band (median power × bins, as RMS) and its flatness (median / mean). */
export function highFrequencyFloor(): void {
  const k_low = max(1, binOf(machine.sample_rate_hz * HF_LOW_SHARE));
  const k_high = min(bins - 1, binOf(machine.sample_rate_hz * HF_HIGH_SHARE));
  const count = max(0, k_high - k_low + 1);
  let sum: f64 = 0.0;
  if (ASSERTS) assert(holds(baseband, 0, count), "high band's powers past their buffer");
  selectBegin();
  let to = changetype<usize>(baseband);
  const from = changetype<usize>(power) + (<usize>k_low << 2);
  const end = from + (<usize>count << 2);
  for (let at = from; at < end; at += 4) {
    const p = load<f32>(at);
    store<f32>(to, p);
    selectTally(p);
    sum += <f64>p;
    to += 4;
  }
  if (count == 0 || sum <= 0.0) {
    result.hf_floor_m_s2 = 0.0;
    result.hf_flatness = 0.0;
    return;
  }
  const median = powerMedian(count);
  result.hf_floor_m_s2 = Math.sqrt(median * <f64>count);
  result.hf_flatness = median / (sum / <f64>count);
}

/** Median of the first `count` values of `baseband`, all of them non-negative (powers) and
 *  tallied as they were written, the value of rank count/2; reorders them (stats.ts). */
function powerMedian(count: i32): f64 {
  return selectEnd(changetype<usize>(baseband), count, count >> 1);
}
