// The bearing's evidence (ANALYSIS.md §5): envelope analysis over the chosen bands, each defect
// keeping its most significant band, its probability multiplied by the number of bands and
// defects tested (Bonferroni). Over consecutive windows the bands' envelopes are streamed
// too (envelope-stream.ts), and once the stream is full its finer spectrum decides.

import { DEFECTS, FINDING_ALPHA } from "./constants";
import { lnKurtosisTail } from "../stats";
import { window_samples } from "./buffers";
import { chooseBands, band_low_hz, band_high_hz } from "./bands";
import { envelopeSpectrum, bandEnvelope, envelope_points } from "./envelope";
import { streamReset, streamContinues, streamTake, streamEndWindow, streamSpectrumPoints, streamEvidence, streamSpeedHz, isStreamBand, streamReplansFor } from "./envelope-stream";
import { averageReset, averageJoin, averageDecides, averageTake, averageEvidence } from "./window-average";
import { setStreamReference } from "./running-speed";
import {
  defectsIn, correctedLog10, bestReset, bestTake, best_ambiguous,
  best_bpfo_ln_p, best_bpfi_ln_p, best_bsf_ln_p, best_bpfo_strength, best_bpfi_strength, best_bsf_strength, best_bpfi_sidebands, best_band,
} from "./evidence";
import { machine, result } from "./machine";

/** The bearing's evidence in the window at `samples_ptr` (`previous_ptr` the window before when
 *  this one follows it, else 0; `scale` turns samples into m/s²; `kurtosis` its samples') into
 *  `result`. */
export function bearingEvidence(samples_ptr: usize, previous_ptr: usize, scale: f64, kurtosis: f64): void {
  clearBearing();
  if (machine.bpfo_order <= 0.0 || result.shaft_hz <= 0.0) {
    streamReset();
    setStreamReference(0.0);
    return;
  }
  let bands = chooseBands(samples_ptr);
  const f = result.shaft_hz;
  // The window holds impacts when Gaussian noise would give its kurtosis less often than a
  // finding's false-alarm probability.
  const impulsive = lnKurtosisTail(kurtosis, window_samples) < Math.log(FINDING_ALPHA);
  // A window alone (none before it, minutes apart as a fleet's are) joins the average of the
  // windows alone; one that follows the window before streams instead.
  const alone = previous_ptr == 0;
  if (alone) bands = averageJoin(bands, f, impulsive);
  else averageReset();
  const average_decides = alone && averageDecides();
  const continuing = streamContinues(previous_ptr, impulsive);
  // Each defect keeps its smallest ln p over the bands (the stronger on a tie), and the window's
  // band is the one that holds the smallest of all.
  bestReset();
  let enveloped = 0;
  // A stream that already holds enough to decide this window needs only its own band's envelope:
  // the other bands' would decide nothing. (Unless the window re-plans it, which can leave it
  // too few points to decide.)
  const window_bin_hz = machine.sample_rate_hz / <f64>window_samples;
  const stream_decides = continuing && streamSpectrumPoints(window_bin_hz) > 0 && !streamReplansFor(f);
  for (let b = 0; b < bands; b++) {
    const low = unchecked(band_low_hz[b]);
    const high = unchecked(band_high_hz[b]);
    if (stream_decides) {
      // Only the stream's bands, and only their envelopes: their spectra would decide nothing.
      if (isStreamBand(low, high)) streamTake(b, low, high, bandEnvelope(low, high));
      continue;
    }
    if (!envelopeSpectrum(low, high)) continue;
    streamTake(b, low, high, envelope_points);
    enveloped++;
    if (alone) averageTake(b, envelope_points);
    // The average will decide: this window's own spectra would decide nothing.
    if (average_decides) continue;
    defectsIn(f);
    bestTake(b);
  }
  const bpfo_ln = best_bpfo_ln_p;
  const bpfi_ln = best_bpfi_ln_p;
  const bsf_ln = best_bsf_ln_p;
  const ambiguous = best_ambiguous;
  result.bpfo_strength = best_bpfo_strength;
  result.bpfi_strength = best_bpfi_strength;
  result.bsf_strength = best_bsf_strength;
  result.bpfi_sideband = best_bpfi_sidebands;
  if (best_band >= 0) {
    result.band_low_hz = unchecked(band_low_hz[best_band]);
    result.band_high_hz = unchecked(band_high_hz[best_band]);
  }
  if (continuing) streamEndWindow(previous_ptr, samples_ptr, scale, f);
  setStreamReference(streamSpeedHz());
  // The stream decides once it holds its full length, or, filling, finer bins than the window's.
  const stream_points = streamSpectrumPoints(window_bin_hz);
  if (stream_points > 0) {
    streamEvidence(stream_points);
    return;
  }
  if (enveloped == 0) return;
  if (alone && averageEvidence(f, window_bin_hz)) return;
  const tests_ln = Math.log(<f64>(enveloped * DEFECTS));
  result.bpfo_log10_p = correctedLog10(bpfo_ln, tests_ln);
  result.bpfi_log10_p = correctedLog10(bpfi_ln, tests_ln);
  result.bsf_log10_p = correctedLog10(bsf_ln, tests_ln);
  result.reading_ambiguous = ambiguous;
}

/** No bearing evidence yet. */
function clearBearing(): void {
  result.bpfo_strength = 0.0;
  result.bpfi_strength = 0.0;
  result.bsf_strength = 0.0;
  result.bpfi_sideband = 0.0;
  result.bpfo_log10_p = 0.0;
  result.bpfi_log10_p = 0.0;
  result.bsf_log10_p = 0.0;
  result.band_low_hz = 0.0;
  result.band_high_hz = 0.0;
  result.stream_s = 0.0;
  result.reading_ambiguous = false;
}
