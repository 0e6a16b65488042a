// The envelope spectra of windows alone, averaged (ANALYSIS.md §5, "Windows alone"). Windows
// minutes apart, as a fleet's are, never stream, and one window's envelope spectrum is a single
// periodogram whose bins scatter about their mean as exponentials: a defect's lines stand in it
// no clearer than the floor lets them. The spectra of windows alone at one speed, in the same
// bands, are averaged instead: under noise their mean's bins are gamma of shape k, k the windows
// averaged (disjoint in time, so independent), and the floor no longer scatters. The average
// holds as many windows as a full stream spans, so that a finding stands on as many seconds of
// signal as it does where windows follow one another.

import { DEFECTS, SLIP_MAX } from "./constants";
import { band_low_hz, band_high_hz, ENVELOPE_BANDS } from "./bands";
import { bandSpanHz } from "./envelope";
import { sharedAverage, streamSpanS, keepEvidence, meanTake, meanAsSpectrum, AVERAGE_BIN_LAST } from "./envelope-stream";
import {
  defectsIn, setEnvelopeSpectrum, bestReset, bestTake, best_ambiguous, AVERAGE_SHAPE_MAX,
  best_bpfo_ln_p, best_bpfi_ln_p, best_bsf_ln_p, best_bpfo_strength, best_bpfi_strength, best_bsf_strength, best_bpfi_sidebands, best_band,
} from "./evidence";
import { machine, result } from "./machine";
import { window_samples } from "./buffers";

/** The average's bands (those of the window that began it), the points of each band's
 *  envelope, and how many windows' spectra each holds. */
let average_bands: i32 = 0;
const average_low_hz = new StaticArray<f64>(ENVELOPE_BANDS);
const average_high_hz = new StaticArray<f64>(ENVELOPE_BANDS);
const average_points = new StaticArray<i32>(ENVELOPE_BANDS);
const average_spectra = new StaticArray<i32>(ENVELOPE_BANDS);
/** The windows averaged and the sum of their speeds: the average's speed is their mean. */
let average_windows: i32 = 0;
let average_speed_sum: f64 = 0.0;
/** The most windows the average holds: as many as a full stream of its plan spans, at least 2;
 *  past them it is a running mean over that many. */
let average_windows_max: i32 = 0;
/** Whether the window that began it held impacts (its kurtosis above noise's). */
let average_impulsive: bool = false;
/** The bands this window took into the average (a bit per band). */
let taken_bits: i32 = 0;

/** Empties the average: a window that follows the one before streams instead, and the stream
 *  may write the buffer the average shares. */
export function averageReset(): void {
  average_bands = 0;
  average_windows = 0;
  average_speed_sum = 0.0;
  for (let j = 0; j < ENVELOPE_BANDS; j++) unchecked(average_spectra[j] = 0);
}

/** A window alone at shaft speed `f` (`impulsive`: its kurtosis above noise's) whose `bands`
 *  bands chooseBands just set. It joins the average when its speed lies within the slip of the
 *  average's (a shaft whose speed moved has moved its lines) and the average did not begin on a
 *  window without impacts while this one has them in another first band (the rule a stream
 *  follows, envelope-stream.ts); it then envelopes the average's bands instead of its own.
 *  Otherwise the average starts again on this window's. Returns the bands to envelope. */
export function averageJoin(bands: i32, f: f64, impulsive: bool): i32 {
  taken_bits = 0;
  let joins = average_windows > 0;
  if (joins) {
    const mean = average_speed_sum / <f64>average_windows;
    joins = Math.abs(f - mean) <= SLIP_MAX * mean;
  }
  if (joins && impulsive && !average_impulsive) {
    joins = unchecked(band_low_hz[0]) == unchecked(average_low_hz[0]) && unchecked(band_high_hz[0]) == unchecked(average_high_hz[0]);
    average_impulsive = joins;
  }
  if (!joins) {
    averageReset();
    average_windows_max = 0;
    average_bands = bands;
    average_impulsive = impulsive;
    for (let j = 0; j < bands; j++) {
      unchecked(average_low_hz[j] = band_low_hz[j]);
      unchecked(average_high_hz[j] = band_high_hz[j]);
    }
    return bands;
  }
  for (let j = 0; j < average_bands; j++) {
    unchecked(band_low_hz[j] = average_low_hz[j]);
    unchecked(band_high_hz[j] = average_high_hz[j]);
  }
  return average_bands;
}

/** Whether the average decides this window: it holds a window before it (which joined). */
export function averageDecides(): bool {
  return average_windows > 0;
}

/** Band `j`'s envelope spectrum, just taken into `baseband` from an envelope of `points`
 *  points, into the band's mean: a mean of the windows it took up to average_windows_max, then
 *  a running mean over that many. */
export function averageTake(j: i32, points: i32): void {
  if (j >= average_bands) return;
  if (average_windows_max == 0) {
    // As many windows as a full stream spans; the stream of this window's plan began with it.
    const window_s = <f64>window_samples / machine.sample_rate_hz;
    const stream_windows = <i32>Math.ceil(streamSpanS() / window_s - 1e-9);
    average_windows_max = min(AVERAGE_SHAPE_MAX, max(2, stream_windows));
  }
  const taken = unchecked(average_spectra[j]);
  if (taken == 0) unchecked(average_points[j] = points);
  else if (points != unchecked(average_points[j])) return;
  meanTake(sharedAverage(j), min(points / 2, AVERAGE_BIN_LAST), taken, average_windows_max);
  unchecked(average_spectra[j] = taken + 1);
  taken_bits |= 1 << j;
}

/** After the bands: the window's speed `f` into the average's, and, once a band's mean holds two
 *  windows, the defects' evidence in the means (bins of `bin_hz`), as a stream's spectra give
 *  theirs: each defect keeps its most significant band, corrected for the bands and the three
 *  defects. False when the average does not decide (no band's mean holds two windows). */
export function averageEvidence(f: f64, bin_hz: f64): bool {
  if (taken_bits == 0) return false;
  average_speed_sum += f;
  average_windows++;
  const mean_hz = average_speed_sum / <f64>average_windows;
  bestReset();
  let tested = 0;
  let deepest = 0;
  for (let j = 0; j < average_bands; j++) {
    const spectra = min(unchecked(average_spectra[j]), average_windows_max);
    if (spectra < 2) continue;
    const last = min(unchecked(average_points[j]) / 2, AVERAGE_BIN_LAST);
    meanAsSpectrum(sharedAverage(j), last);
    setEnvelopeSpectrum(bin_hz, last, bandSpanHz(unchecked(average_low_hz[j]), unchecked(average_high_hz[j])), spectra);
    defectsIn(mean_hz);
    bestTake(j);
    tested++;
    deepest = max(deepest, spectra);
  }
  if (tested == 0) return false;
  const tests_ln = Math.log(<f64>(average_bands * DEFECTS));
  const window_s = <f64>window_samples / machine.sample_rate_hz;
  keepEvidence(tests_ln, best_bpfo_ln_p, best_bpfo_strength, best_bpfi_ln_p, best_bpfi_strength, best_bpfi_sidebands, best_bsf_ln_p, best_bsf_strength, <f64>deepest * window_s, best_ambiguous);
  result.band_low_hz = unchecked(average_low_hz[max(0, best_band)]);
  result.band_high_hz = unchecked(average_high_hz[max(0, best_band)]);
  return true;
}
