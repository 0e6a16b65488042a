// The last analysed window's spectra, copied into a host's buffer on request (the `spectrum`
// export, ABI.md "Spectra"): its Hann power spectrum as the analysis left it, and the
// squared-envelope spectrum of the band its diagnosis used, taken again from the window's
// samples. Nothing here runs per window: a request pays for what it asks.

import { measureWindow, windowMean } from "./sensor-health";
import * as config from "./config";
import { last_window, lastWindowAnalysed } from "./device";
import { result } from "./analysis/machine";
import { spectra } from "./analysis/spectra";
import { bandEnvelope, windowedSpectrum } from "./analysis/envelope";
import { bins, bin_hz, raw, power, baseband, envelope, getF32 } from "./analysis/buffers";
import { STANDARD_GRAVITY_M_S2 } from "./window";
import { STATUS_BAD_ARGUMENT, STATUS_NO_ROOM, STATUS_NO_DATA } from "./status";
import { ASSERTS } from "./assert";

/** The window's Hann power spectrum: (m/s²)² per bin, bins 0 … fft_size/2. */
export const SPECTRUM_POWER: i32 = 0;
/** The squared-envelope spectrum of the diagnosis's band: power per bin, bins 0 … points/2. */
export const SPECTRUM_ENVELOPE: i32 = 1;

/** The bin spacing of both spectra (Hz): the window's sample rate over its FFT size; 0 when
 *  no analysed window is kept. */
export function spectrumBinHz(): f64 {
  return lastWindowAnalysed() ? bin_hz : 0.0;
}

/** Copies spectrum `kind` of the last analysed window into `capacity` f32 at `ptr`: the number
 *  of values written, STATUS_BAD_ARGUMENT for an unknown kind or a buffer outside memory or
 *  over the buffers the spectra are computed in, STATUS_NO_DATA without an analysed window (or
 *  for the envelope, without a band), STATUS_NO_ROOM when they do not fit. */
export function copySpectrum(kind: i32, ptr: usize, capacity: i32): i32 {
  if (kind != SPECTRUM_POWER && kind != SPECTRUM_ENVELOPE) return STATUS_BAD_ARGUMENT;
  if (!bufferFree(ptr, capacity)) return STATUS_BAD_ARGUMENT;
  if (!lastWindowAnalysed()) return STATUS_NO_DATA;
  if (kind == SPECTRUM_POWER) {
    if (capacity < bins) return STATUS_NO_ROOM;
    for (let k = 0; k < bins; k++) store<f32>(ptr + (<usize>k << 2), getF32(power, k));
    return bins;
  }
  const points = envelopeAgain();
  if (points < 0) return points;
  const count = (points >> 1) + 1;
  if (capacity < count) return STATUS_NO_ROOM;
  const z = changetype<usize>(baseband);
  for (let k = 0; k < count; k++) {
    const re = load<f32>(z + (<usize>k << 3));
    const im = load<f32>(z + (<usize>k << 3), 4);
    store<f32>(ptr + (<usize>k << 2), re * re + im * im);
  }
  return count;
}

/** The squared-envelope spectrum of the diagnosis's band into `baseband`, from the last
 *  window's samples, as envelopeSpectrum takes it (called apart, so that the analysis keeps it
 *  inlined): its points, or a negative status. The window's FFT in `raw` did not outlive its
 *  analysis (the envelope's stream works there), so it is taken again, and with it the same
 *  power spectrum. */
function envelopeAgain(): i32 {
  const low_hz = result.band_low_hz;
  const high_hz = result.band_high_hz;
  if (high_hz <= low_hz) return STATUS_NO_DATA; // no band was enveloped: no bearing, or no speed
  const scale = config.current.units == config.UNITS_G ? STANDARD_GRAVITY_M_S2 : 1.0;
  // The mean as the analysis took it: from the window's measuring pass, taken again.
  measureWindow(changetype<usize>(last_window), config.current.window_samples);
  const status = spectra(changetype<usize>(last_window), scale, windowMean());
  if (status < 0) return status;
  const points = bandEnvelope(low_hz, high_hz);
  if (points == 0) return STATUS_NO_DATA;
  const transformed = windowedSpectrum(changetype<usize>(envelope), points);
  return transformed < 0 ? transformed : points;
}

/** Whether `capacity` f32 at `ptr` lie in memory and clear of the buffers the spectra are read
 *  from and computed in (a copy there would overwrite its own source). */
function bufferFree(ptr: usize, capacity: i32): bool {
  if (ptr == 0 || capacity <= 0) return false;
  const end = <u64>ptr + (<u64>capacity << 2);
  if (end > (<u64>memory.size() << 16)) return false;
  if (ASSERTS) assert(power.length >= bins, "power spectrum shorter than the window's bins");
  return apart(ptr, end, changetype<usize>(last_window), last_window.length)
    && apart(ptr, end, changetype<usize>(raw), raw.length)
    && apart(ptr, end, changetype<usize>(power), power.length)
    && apart(ptr, end, changetype<usize>(baseband), baseband.length)
    && apart(ptr, end, changetype<usize>(envelope), envelope.length);
}

/** Whether [ptr, end) and the `floats` f32 at `at` share no byte. */
function apart(ptr: usize, end: u64, at: usize, floats: i32): bool {
  return end <= <u64>at || <u64>ptr >= <u64>at + (<u64>floats << 2);
}
