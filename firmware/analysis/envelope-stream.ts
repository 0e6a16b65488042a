// The bearing's envelope streamed over consecutive windows (ANALYSIS.md §5): one window of 4096
// samples at 48 kHz is 85 ms, 11.7 Hz per bin, too coarse to tell a defect's lines from their
// neighbours. When windows follow one another, the squared envelopes of the window's bands are
// streamed across them and their spectra taken over STREAM_POINTS points each: finer bins by a
// longer record, not by wider tolerances. A band's envelope is taken per block by FFT, which is circular:
// only each block's middle half is kept, and the block straddling two windows (the previous
// window's second half and this one's first) fills the gap, so the stream is seamless.

import { fftRealPlaced, fftSlot, fftSlotShift } from "../fft";
import { DEFECTS, SLIP_MAX, FINDING_ALPHA, LN_10, STREAM_POINTS } from "./constants";
import { band_modulation_hz, band_low_hz, band_high_hz, fastestDefectOrder, ENVELOPE_BANDS } from "./bands";
import { bandEnvelope, bandSpanHz, windowedSpectrum } from "./envelope";
import {
  defectsIn, cageIn, correctedLog10, setEnvelopeSpectrum, AVERAGE_SHAPE_MAX, bestReset, bestTake, best_ambiguous, readingAmbiguous,
  best_bpfo_ln_p, best_bpfi_ln_p, best_bsf_ln_p, best_bpfo_strength, best_bpfi_strength, best_bsf_strength, best_bpfi_sidebands, best_band,
  bpfo_ln_p, bpfi_ln_p, bsf_ln_p, ftf_ln_p, bpfo_strength, bpfi_strength, bsf_strength, ftf_strength, bpfi_sidebands,
} from "./evidence";
import { machine, result } from "./machine";
import { SPEED_HIGH_SHARE } from "./running-speed";
import { window_samples, fft_size, raw, baseband, envelope, setRawEnds } from "./buffers";
import { ASSERTS, holds } from "../assert";
import { speed_bin_hz, speed_reference_z, speed_reference_hz, FAMILY_Z } from "../speed";

const STREAM_DECIMATION_MAX: i32 = 16;
/** The stream's rate against the highest modulation it must carry: Nyquist at 1.25 × it. */
const STREAM_RATE_OVER_MODULATION: f64 = 2.5;

let stream: StaticArray<f32> = new StaticArray<f32>(0);
let stream_count: i32 = 0;
let stream_points: i32 = 0;
/** The stream's bands: those the window that began it enveloped (its bands of largest spectral
 *  kurtosis, whose envelopes were as long as its first's), each streamed in its own
 *  STREAM_POINTS of `stream`. */
let stream_bands: i32 = 0;
const stream_low_hz = new StaticArray<f64>(ENVELOPE_BANDS);
const stream_high_hz = new StaticArray<f64>(ENVELOPE_BANDS);
/** The points of each band's block envelope, and the decimation that brings it to the stream's
 *  rate: a band twice as wide as the first has an envelope of twice the points, averaged in
 *  groups twice as long. A band whose envelope has fewer points than the first's, or not a
 *  power-of-two multiple of them, cannot share the stream. */
const stream_envelope_points = new StaticArray<i32>(ENVELOPE_BANDS);
const stream_band_decimation = new StaticArray<i32>(ENVELOPE_BANDS);
/** The sum of the shaft speeds of the stream's windows, and how many: the acquisition's speed is
 *  their mean. */
let stream_speed_sum: f64 = 0.0;
let stream_windows: i32 = 0;
/** Whether the stream began on a measured speed, and its windows whose speed was far off. */
let stream_speed_measured: bool = false;
/** Whether its rate was set for a speed (measured or configured), not for the whole range. */
let stream_speed_known: bool = false;
let stream_speed_outliers: i32 = 0;
/** The outliers' speeds' sum, whether they agree (each within the slip of their mean), and the
 *  speed the stream's bands and rate were planned for. */
let stream_outlier_sum: f64 = 0.0;
let stream_outliers_agree: bool = true;
let stream_plan_hz: f64 = 0.0;
/** The bin of the speed estimate the stream's speed came from: a finer one outvoting it found
 *  the estimate's mistake; one as coarse, a shaft that changed its speed. */
let stream_speed_bin_hz: f64 = 0.0;
/** Whether a window measured its speed far from the stream's while the stream's speed had no
 *  family left in the estimate's spectrum: the shaft changed its speed, and the stream, of the
 *  old one, ends. */
let stream_shaft_moved: bool = false;
/** Whether the window the stream began on held impacts (its kurtosis above what Gaussian noise
 *  gives): a stream begun on one that did not gives way to the first that does. This window's. */
let stream_impulsive: bool = false;
let window_impulsive: bool = false;
let stream_decimation: i32 = 1;
/** Decimated envelope points per half window, and the stream's sample rate. */
let stream_segment: i32 = 0;
let stream_rate_hz: f64 = 0.0;
/** This window's part in the stream: whether it continues the stream, which bands' blocks the
 *  band loop took (streamTake; a bit per band), whether the oldest points have made room for
 *  this window's, how many points it adds, and whether the stream began on this window. */
let stream_continuing: bool = false;
let stream_captured: i32 = 0;
let stream_room_made: bool = false;
let stream_adding: i32 = 0;
let stream_starting: bool = false;

/** The average of the stream's spectra (ANALYSIS.md §5, "Averaged spectra"): mean power per
 *  bin; how many spectra it holds; the points the stream has taken since it started, and that
 *  count when the average took its last spectrum. While no stream continues, the windows alone
 *  average their spectra in the same buffer (window-average.ts, sharedAverage). */
let average: StaticArray<f32> = new StaticArray<f32>(0);
let average_spectra: i32 = 0;
let stream_taken: i32 = 0;
let average_taken_at: i32 = 0;
/** Spectra the average holds as a mean; past them it forgets the oldest as it takes new ones. */
const AVERAGE_SPECTRA_MAX: i32 = 32;
/** Hann's overlap correlation at half a block: Σ w(n) w(n + N/2) / Σ w(n)² = 1/6, so two
 *  spectra half a block apart correlate (1/6)² = 1/36 in power (Welch 1967). */
const HANN_HALF_OVERLAP_POWER_CORRELATION: f64 = 1.0 / 36.0;
// An average of AVERAGE_SPECTRA_MAX spectra is worth fewer independent ones, within the tail's terms.
if (AVERAGE_SPECTRA_MAX > AVERAGE_SHAPE_MAX) ERROR("the average's shape past the averaged tail's terms");

/** Sizes the stream (once per boot): STREAM_POINTS points a band, whatever the window's length
 *  (a window of 2048 samples once had a stream of its band envelope's 512 points, half the
 *  time of a 4096-sample window's and bins twice as wide), and the average of each band's
 *  spectra. */
export function streamInit(): void {
  stream_points = STREAM_POINTS;
  stream = new StaticArray<f32>(ENVELOPE_BANDS * stream_points);
  average = new StaticArray<f32>(ENVELOPE_BANDS * (stream_points / 2 + 1));
}

/** Where band `j`'s points begin in `stream`, and its average in `average`. */
// @ts-ignore: decorator
@inline function bandPoints(j: i32): usize {
  return changetype<usize>(stream) + (<usize>(j * stream_points) << 2);
}
// @ts-ignore: decorator
@inline function bandAverage(j: i32): usize {
  return changetype<usize>(average) + (<usize>(j * (stream_points / 2 + 1)) << 2);
}

/** Band `j`'s share of `average` (its last bin AVERAGE_BIN_LAST), for the other that uses it:
 *  the windows alone's average (window-average.ts), which holds it only while no stream
 *  continues; a stream writes it only once full. */
export function sharedAverage(j: i32): usize {
  if (ASSERTS) assert(j >= 0 && j < ENVELOPE_BANDS && holds(average, j * (stream_points / 2 + 1), stream_points / 2 + 1), "a band's average past its buffer");
  return bandAverage(j);
}
export const AVERAGE_BIN_LAST: i32 = STREAM_POINTS / 2;

/** The seconds a full stream of this window's plan spans (0 when none could start). */
export function streamSpanS(): f64 {
  return stream_segment > 0 && stream_rate_hz > 0.0 ? <f64>stream_points / stream_rate_hz : 0.0;
}

/** The width of band `j`'s bins in the window's spectrum: its envelope's spectrum ends there. */
function streamBandHz(j: i32): f64 {
  return bandSpanHz(unchecked(stream_low_hz[j]), unchecked(stream_high_hz[j]));
}

/** The stream's band that is [low_hz, high_hz], −1 for none. */
function streamBandOf(low_hz: f64, high_hz: f64): i32 {
  if (stream_segment <= 0) return -1;
  for (let j = 0; j < stream_bands; j++) {
    if (unchecked(stream_low_hz[j]) == low_hz && unchecked(stream_high_hz[j]) == high_hz) return j;
  }
  return -1;
}

/** Empties the stream: the next window that can starts another. */
export function streamReset(): void {
  stream_count = 0;
  memory.fill(changetype<usize>(excise_pending), 0, <usize>ENVELOPE_BANDS << 2);
  memory.fill(changetype<usize>(excise_next), 0, <usize>ENVELOPE_BANDS << 2);
  stream_segment = 0;
  stream_bands = 0;
  stream_taken = 0;
  average_spectra = 0;
}

/** Whether this window continues the stream: it follows the window before (`previous_ptr`, 0
 *  when it does not); it is not the first window with impacts (`impulsive`) after a stream begun
 *  without them, whose first band is another; and the stream's speed has not been outvoted by its windows'
 *  (or those that outvoted it agree on a speed its bands carry, which it then takes). A shaft does
 *  not change its speed by more than a window's estimate can tell within a second or two; the
 *  stream's speed is their speeds' mean. Windows before the speed was first measured published
 *  the middle of the range: the first measured speed starts the stream's mean afresh. Their
 *  band, set for the whole range, carries any speed in it; their rate did too, and the measured
 *  speed may need less of it (streamReplan). A stream that does not continue is emptied. */
export function streamContinues(previous_ptr: usize, impulsive: bool): bool {
  // A stream begun on a window without impacts (its kurtosis no more than noise's), whose band
  // of largest spectral kurtosis was noise's, starts again on the first window with impacts
  // (ANALYSIS.md §5).
  window_impulsive = impulsive;
  let continuing = previous_ptr != 0 && stream_segment > 0 && !stream_shaft_moved;
  if (continuing && impulsive && !stream_impulsive) {
    // The same band as the stream's: it goes on, its band now seen to ring.
    continuing = unchecked(band_low_hz[0]) == unchecked(stream_low_hz[0]) && unchecked(band_high_hz[0]) == unchecked(stream_high_hz[0]);
    stream_impulsive = continuing;
  }
  if (continuing && stream_speed_outliers > stream_windows) {
    // Outvoted. Where the windows that outvoted it agree, on a speed measured finer than the
    // stream's was (the estimate grew finer: the stream's speed was its mistake, not the
    // shaft's change) and whose modulation the bands and rate carry (no faster than planned
    // for), the stream goes on at theirs: its points are the bands' envelopes, which hold no
    // speed. Its rate, planned for the faster speed, is re-planned for theirs (kept, it would
    // span half the time it can for the rest of the record). Otherwise it starts again.
    const outliers_hz = stream_outlier_sum / <f64>stream_speed_outliers;
    continuing = stream_outliers_agree && outliers_hz <= stream_plan_hz * (1.0 + SLIP_MAX) && speed_bin_hz < stream_speed_bin_hz;
    if (continuing) {
      stream_speed_sum = stream_outlier_sum;
      stream_windows = stream_speed_outliers;
      stream_speed_outliers = 0;
      stream_speed_bin_hz = speed_bin_hz;
      streamReplan(band_modulation_hz);
    }
  }
  if (continuing && !stream_speed_measured && result.speed_measured) {
    if (!stream_speed_known) streamReplan(band_modulation_hz);
    stream_speed_sum = result.shaft_hz;
    stream_windows = 1;
    stream_speed_measured = true;
    stream_speed_known = true;
    stream_speed_bin_hz = speed_bin_hz;
  }
  if (!continuing) streamReset();
  stream_continuing = continuing;
  stream_captured = 0;
  stream_room_made = false;
  stream_starting = false;
  stream_adding = continuing ? 2 * stream_segment : stream_segment;
  return continuing;
}

/** The envelope of band `b` of this window, [low_hz, high_hz], just taken (bandEnvelope, its
 *  `points` in `envelope`), into the stream: when none continues, the first band starts one and
 *  the window's other bands join it; a continuing stream takes its own bands'. */
export function streamTake(b: i32, low_hz: f64, high_hz: f64, points: i32): void {
  if (!stream_continuing) {
    if (b == 0) stream_starting = streamStart(band_modulation_hz, points);
    if (!stream_starting || stream_bands >= ENVELOPE_BANDS) return;
    const first_points = unchecked(stream_envelope_points[0]);
    if (b > 0 && (points < first_points || points % first_points != 0)) return;
    const j = stream_bands++;
    unchecked(stream_envelope_points[j] = points);
    unchecked(stream_band_decimation[j] = stream_decimation * (points / first_points));
    unchecked(stream_low_hz[j] = low_hz);
    unchecked(stream_high_hz[j] = high_hz);
    streamCapture(points, j, 0);
    if (j == 0) {
      stream_count += stream_segment;
      stream_taken += stream_segment;
    }
    return;
  }
  const j = streamBandOf(low_hz, high_hz);
  if (j < 0 || (stream_captured & (1 << j)) != 0) return;
  if (points != unchecked(stream_envelope_points[j])) return;
  streamRoom();
  streamCapture(points, j, stream_count + stream_segment);
  stream_captured |= 1 << j;
}

/** Room for this window's points, made once: the oldest go. */
function streamRoom(): void {
  if (stream_room_made) return;
  streamMakeRoom(stream_adding);
  stream_room_made = true;
}

/** After the bands, a continuing stream's end of the window: its blocks (streamContinue), and
 *  the window's speed `f` into the stream's mean. A shaft does not move by more than its slip
 *  from one second to the next: a speed that far from the stream's is the estimate's mistake,
 *  left out of the mean (and counted: when such windows outnumber the others, the stream's own
 *  speed was the mistake and it starts again). */
export function streamEndWindow(previous_ptr: usize, samples_ptr: usize, scale: f64, f: f64): void {
  streamContinue(previous_ptr, samples_ptr, scale, stream_adding);
  const mean = stream_speed_sum / <f64>stream_windows;
  if (Math.abs(f - mean) <= SLIP_MAX * mean) {
    stream_speed_sum += f;
    stream_windows++;
  } else if (streamReplansFor(f)) {
    // The speed measured over a longer acquisition found the sub-multiple that a shorter one
    // could not tell from its multiple (ANALYSIS.md §4): the shaft did not halve its speed, the
    // estimate grew finer. The stream's bands and rate, set for the multiple, carry the
    // sub-multiple's slower modulation: it goes on at the new speed.
    stream_speed_sum = f;
    stream_windows = 1;
    stream_speed_outliers = 0;
    stream_speed_bin_hz = speed_bin_hz;
    streamReplan(band_modulation_hz);
  } else {
    // Far from the stream's speed, measured, and the stream's speed (the one the estimate
    // weighed, within the slip) without a family in the spectrum that measured it: no
    // estimate's mistake, the shaft moved (a drive changed its speed). A shaft still there
    // would still show its family.
    const weighed = Math.abs(speed_reference_hz - mean) <= SLIP_MAX * mean;
    if (result.speed_measured && weighed && speed_reference_z < FAMILY_Z) stream_shaft_moved = true;
    if (stream_speed_outliers > 0) {
      const outliers_hz = stream_outlier_sum / <f64>stream_speed_outliers;
      if (Math.abs(f - outliers_hz) > SLIP_MAX * outliers_hz) stream_outliers_agree = false;
    } else {
      stream_outlier_sum = 0.0;
      stream_outliers_agree = true;
    }
    stream_outlier_sum += f;
    stream_speed_outliers++;
  }
}

/** Whether `f` is `mean` over a whole number from 2 on, to within the slip. */
function subMultiple(f: f64, mean: f64): bool {
  if (f <= 0.0 || f >= mean) return false;
  const k = Math.round(mean / f);
  return k >= 2.0 && Math.abs(k * f - mean) <= SLIP_MAX * mean;
}

/** The stream's speed (the mean of its windows'), 0 without a stream: the next window's speed
 *  estimate weighs its family (running-speed.ts). */
export function streamSpeedHz(): f64 {
  return stream_segment > 0 && stream_windows > 0 ? stream_speed_sum / <f64>stream_windows : 0.0;
}

/** Whether streamEndWindow will re-plan the stream for this window's speed `f` (measured, a
 *  sub-multiple of the stream's), which can leave it fewer points than it held. */
export function streamReplansFor(f: f64): bool {
  if (stream_segment <= 0 || stream_windows <= 0) return false;
  const mean = stream_speed_sum / <f64>stream_windows;
  return Math.abs(f - mean) > SLIP_MAX * mean && result.speed_measured && subMultiple(f, mean);
}

/** Whether [low_hz, high_hz] is one of the stream's bands. */
export function isStreamBand(low_hz: f64, high_hz: f64): bool {
  return streamBandOf(low_hz, high_hz) >= 0;
}

/** The fewest points a stream's spectrum is taken over before the stream is full: 32 bins, about
 *  what a defect's zone and its 30-bin floor need. */
const STREAM_POINTS_MIN: i32 = 64;

/** The points the stream's spectrum decides over this window (streamEvidence), 0 for none: all
 *  its points once it holds its full length; while it fills, the largest power of two of them
 *  it holds, when their bins are finer than the window's own envelope spectrum's
 *  (`window_bin_hz`): a shorter record, the same noise model, and the finest bins there are (at
 *  48 kHz a 4096-sample window's are 11.7 Hz; the stream's 256 points after two windows, 5.9). */
export function streamSpectrumPoints(window_bin_hz: f64): i32 {
  if (stream_segment <= 0) return 0;
  if (stream_count >= stream_points) return stream_points;
  let points = stream_points >> 1;
  while (points > stream_count && points > STREAM_POINTS_MIN) points >>= 1;
  if (points > stream_count) return 0;
  return stream_rate_hz / <f64>points < window_bin_hz ? points : 0;
}

/** The largest power-of-two decimation of an envelope at `envelope_rate_hz` that keeps 2.5 ×
 *  `modulation_hz`. */
function decimationFor(envelope_rate_hz: f64, modulation_hz: f64): i32 {
  let decimation = 1;
  while (decimation < STREAM_DECIMATION_MAX && envelope_rate_hz / <f64>(decimation * 2) >= STREAM_RATE_OVER_MODULATION * modulation_hz) decimation <<= 1;
  return decimation;
}

/** A stream begun before the speed was known, its rate set for the top of the range, re-planned
 *  for the measured speed's `modulation_hz`: where that allows a coarser decimation, the points
 *  held are averaged in groups as capture would have averaged them (a mean of equal groups' means
 *  is their mean), so the stream keeps what it holds and spans more time in the same points. */
function streamReplan(modulation_hz: f64): void {
  const planned = streamReplanned(modulation_hz);
  if (planned) stream_plan_hz = result.shaft_hz;
}

/** streamReplan's work: whether the rate changed. */
function streamReplanned(modulation_hz: f64): bool {
  const envelope_rate_hz = stream_rate_hz * <f64>stream_decimation;
  const decimation = decimationFor(envelope_rate_hz, modulation_hz);
  if (decimation <= stream_decimation) return false;
  const factor = decimation / stream_decimation;
  // Segments of the new plan are whole points: the old segments are `factor` of them each.
  if (stream_segment % factor != 0 || stream_count % factor != 0) return false;
  const kept = stream_count / factor;
  const scale = <f32>(1.0 / <f64>factor);
  if (ASSERTS) assert(stream_count <= stream_points && holds(stream, 0, stream_bands * stream_points), "envelope stream re-planned past its buffer");
  for (let j = 0; j < stream_bands; j++) {
    const base = bandPoints(j);
    for (let i = 0; i < kept; i++) {
      let sum: f32 = 0.0;
      const from = base + (<usize>(i * factor) << 2);
      for (let d = 0; d < factor; d++) sum += load<f32>(from + (<usize>d << 2));
      store<f32>(base + (<usize>i << 2), sum * scale);
    }
  }
  stream_count = kept;
  stream_taken = kept;
  average_spectra = 0; // its bins were of the old rate
  stream_segment /= factor;
  for (let j = 0; j < stream_bands; j++) unchecked(stream_band_decimation[j] *= factor);
  stream_decimation = decimation;
  stream_rate_hz = envelope_rate_hz / <f64>decimation;
  return true;
}

/** Starts a stream of bands whose block envelopes have `points` points and must carry
 *  `modulation_hz`: decimated (by averaging) to the lowest power-of-two share of the envelope's
 *  rate that keeps 2.5 × modulation_hz. Its bands join it (streamTake). False when a half
 *  window does not map to whole decimated points. */
function streamStart(modulation_hz: f64, points: i32): bool {
  streamReset();
  const envelope_rate_hz = <f64>points * machine.sample_rate_hz / <f64>fft_size;
  const decimation = decimationFor(envelope_rate_hz, modulation_hz);
  // A quarter window must be whole envelope points, and a half window whole decimated ones.
  const quarter = window_samples * points / fft_size / 4;
  if (quarter * 4 * fft_size != window_samples * points || (2 * quarter) % decimation != 0) return false;
  stream_segment = 2 * quarter / decimation;
  if (2 * stream_segment > stream_points) return false;
  unchecked(stream_envelope_points[0] = points);
  stream_speed_sum = result.shaft_hz;
  stream_windows = 1;
  stream_speed_measured = result.speed_measured;
  stream_speed_known = result.speed_measured || machine.shaft_hz_nominal > 0.0;
  stream_speed_outliers = 0;
  stream_plan_hz = stream_speed_known ? result.shaft_hz : Infinity;
  stream_shaft_moved = false;
  stream_speed_bin_hz = speed_bin_hz;
  stream_impulsive = window_impulsive;
  stream_decimation = decimation;
  stream_rate_hz = envelope_rate_hz / <f64>decimation;
  return true;
}

/** Writes the middle half of the block envelope in `envelope` (`points` of them) into band `j`'s
 *  points from `position` on, averaged in groups of the band's decimation. */
function streamCapture(points: i32, j: i32, position: i32): void {
  const env = changetype<usize>(envelope);
  const first = points / 4;
  const at = bandPoints(j) + (<usize>position << 2);
  const decimation = unchecked(stream_band_decimation[j]);
  const scale = <f32>(1.0 / <f64>decimation);
  // The block's middle half (points / 4 on) is at least stream_segment × decimation points.
  if (ASSERTS) assert(j < stream_bands && position >= 0 && position + stream_segment <= stream_points && holds(stream, j * stream_points + position, stream_segment) && first + stream_segment * decimation <= points, "envelope stream past its buffer");
  for (let i = 0; i < stream_segment; i++) {
    let sum: f32 = 0.0;
    const from = env + (<usize>(first + i * decimation) << 2);
    for (let d = 0; d < decimation; d++) sum += load<f32>(from + (<usize>d << 2));
    store<f32>(at + (<usize>i << 2), sum * scale);
  }
  exciseBursts(j, position);
}

/** A knock (a valve, water hammer, a tool on the pipe) rings in the bands louder than the
 *  defect's impacts; its squared envelope, one pulse far above the rest, spreads over every bin
 *  of the stream's spectra for as long as the stream holds it, and the defects' lines no longer
 *  stand out. A defect's pulses repeat, so the largest of the points held stands for them; a
 *  knock comes once, briefly. Of noise's squared envelope (exponential, mean m) the largest of
 *  M points held is about m ln M, and one of n new points passes t times that with chance
 *  n e^(−t ln M): t = ln(n / EXCISE_FALSE) / ln M keeps it to EXCISE_FALSE. A run of new points
 *  beyond t times the largest held, shorter than the fastest defect's period (a defect's own
 *  pulse recurs), is replaced by the straight line between the points either side; a longer
 *  one is the vibration's own level and stays. A run is read on past its block's middle half
 *  into the points that follow it in the stream, where they are there: a knock that rang
 *  across that end (at 48 kHz, one starting a quarter window into the window ends the
 *  straddling block's half) stayed for the stream's 8 windows, its run cut off at the block's
 *  end. Not before a quarter of the stream is held. */
const EXCISE_FALSE: f64 = 1e-6;
/** Per band, the points at the end of a window's own block that ran beyond its limit (0:
 *  none): decided with the next window's straddling block, which follows them in the stream.
 *  `excise_next` holds this window's until its straddling block has read the last one's. */
const excise_pending = new StaticArray<i32>(ENVELOPE_BANDS);
const excise_next = new StaticArray<i32>(ENVELOPE_BANDS);

/** Band `j`'s new points from `position` (stream_segment of them), against those it held. A
 *  window's own block comes first, a segment past the stream's end; the block straddling it and
 *  the window before fills the gap after, and a run in it may go on into the own block. */
function exciseBursts(j: i32, position: i32): void {
  const straddling = position == stream_count;
  const pending = straddling ? unchecked(excise_pending[j]) : 0;
  if (straddling) {
    unchecked(excise_pending[j] = unchecked(excise_next[j]));
    unchecked(excise_next[j] = 0);
  }
  const held = min(position, stream_count) - pending;
  if (held < stream_points / 4 || stream_windows <= 0) return;
  const base = bandPoints(j);
  let largest: f64 = 0.0;
  for (let i = 0; i < held; i++) largest = Math.max(largest, <f64>load<f32>(base + (<usize>i << 2)));
  const times = Math.log(<f64>stream_segment / EXCISE_FALSE) / Math.log(<f64>held);
  const limit = times * largest;
  if (!(limit > 0.0)) return;
  const order_max = fastestDefectOrder();
  const f = stream_speed_sum / <f64>stream_windows;
  const run_max = order_max > 0.0 && f > 0.0 ? <i32>Math.floor(stream_rate_hz / (order_max * f)) : 0;
  const at = base + (<usize>position << 2);
  // The points there to read from `position`: the straddling block's, then the own block's.
  const end = straddling ? 2 * stream_segment : stream_segment;
  let i = 0;
  // The last window's run, if it goes on here: excised whole when it ends in time.
  while (i < end && pending > 0 && <f64>load<f32>(at + (<usize>i << 2)) > limit) i++;
  if (pending > 0 && pending + i <= run_max && i < end) bridge(base, position - pending, position + i);
  while (i < stream_segment) {
    if (<f64>load<f32>(at + (<usize>i << 2)) <= limit) {
      i++;
      continue;
    }
    let k = i + 1;
    while (k < end && <f64>load<f32>(at + (<usize>k << 2)) > limit) k++;
    if (k - i <= run_max) {
      if (k < end) bridge(base, position + i, position + k);
      else if (!straddling) unchecked(excise_next[j] = k - i);
    }
    i = k;
  }
}

/** Replaces a band's points `first` … `end` − 1 (from `base`) by the straight line between the
 *  points either side. */
function bridge(base: usize, first: i32, end: i32): void {
  const before = <f64>load<f32>(base + (<usize>(first - 1) << 2));
  const after = <f64>load<f32>(base + (<usize>end << 2));
  const span = <f64>(end - first + 1);
  for (let m = first; m < end; m++) store<f32>(base + (<usize>m << 2), <f32>(before + (after - before) * <f64>(m - first + 1) / span));
}

/** Makes room for `adding` points: the oldest go. */
function streamMakeRoom(adding: i32): void {
  const over = stream_count + adding - stream_points;
  if (over <= 0) return;
  if (ASSERTS) assert(over <= stream_count, "envelope stream dropping points it does not hold");
  for (let j = 0; j < stream_bands; j++) {
    const base = bandPoints(j);
    memory.copy(base, base + (<usize>over << 2), <usize>(stream_count - over) << 2);
  }
  stream_count -= over;
}

/** The spectrum of the block made of the previous window's second half and this window's
 *  first half, into `raw` (mean removed, in m/s²), as spectra() makes the window's. */
function straddlingSpectrum(previous_ptr: usize, samples_ptr: usize, scale: f64): i32 {
  const half_window = window_samples >> 1;
  let sum: f64 = 0.0;
  for (let n = 0; n < window_samples; n++) sum += <f64>load<f32>(straddlingAt(previous_ptr, samples_ptr, half_window, n));
  const mean = <f32>(sum / <f64>window_samples); // f32 from here, as spectra() does
  const scale_f32 = <f32>scale;
  const out = changetype<usize>(raw);
  if (ASSERTS) assert(holds(raw, 0, fft_size + 2), "straddling block's FFT past its buffer");
  const half = fft_size >> 1;
  const shift = fftSlotShift(half);
  for (let i = 0; i < half; i++) {
    const n = i << 1;
    let even: f32 = 0.0, odd: f32 = 0.0;
    if (n < window_samples) even = (load<f32>(straddlingAt(previous_ptr, samples_ptr, half_window, n)) - mean) * scale_f32;
    if (n + 1 < window_samples) odd = (load<f32>(straddlingAt(previous_ptr, samples_ptr, half_window, n + 1)) - mean) * scale_f32;
    const slot = out + fftSlot(i, shift);
    store<f32>(slot, even);
    store<f32>(slot, odd, 4);
  }
  setRawEnds(<f64>((load<f32>(straddlingAt(previous_ptr, samples_ptr, half_window, 0)) - mean) * scale_f32),
    <f64>((load<f32>(straddlingAt(previous_ptr, samples_ptr, half_window, window_samples - 1)) - mean) * scale_f32));
  return fftRealPlaced(out, fft_size);
}

// @ts-ignore: decorator
@inline function straddlingAt(previous_ptr: usize, samples_ptr: usize, half_window: i32, n: i32): usize {
  return n < half_window ? previous_ptr + (<usize>(n + half_window) << 2) : samples_ptr + (<usize>(n - half_window) << 2);
}

/** This window's part of a continuing stream: its own block in each band (unless the band loop
 *  captured it) and the block straddling the two windows, which goes first. */
function streamContinue(previous_ptr: usize, samples_ptr: usize, scale: f64, adding: i32): void {
  streamRoom();
  if (!captureBands(stream_count + stream_segment, stream_captured)) return;
  // `raw` is free now: the straddling block's spectrum goes there.
  if (straddlingSpectrum(previous_ptr, samples_ptr, scale) < 0 || !captureBands(stream_count, 0)) {
    streamReset();
    return;
  }
  stream_count += adding;
  stream_taken += adding;
}

/** Each stream band's envelope of the block whose spectrum is in `raw`, into its points from
 *  `position` on, but the bands whose bit `skip` holds (the band loop took theirs). False, the
 *  stream emptied, when a band's envelope cannot be taken as the stream's were. */
function captureBands(position: i32, skip: i32): bool {
  for (let j = 0; j < stream_bands; j++) {
    if ((skip & (1 << j)) != 0) continue;
    const points = unchecked(stream_envelope_points[j]);
    if (bandEnvelope(unchecked(stream_low_hz[j]), unchecked(stream_high_hz[j])) != points) {
      streamReset();
      return false;
    }
    streamCapture(points, j, position);
  }
  return true;
}

/** The defects' evidence in the spectra of the stream's last `points` points
 *  (streamSpectrumPoints), at the stream's speed (the mean of its windows'), as the window's
 *  bands give theirs: each defect keeps its most significant band, corrected for the bands and
 *  the four tests in each (three defects, and, once the stream is full, the cage family in the
 *  average of its spectra, averagedEvidence: counted before too, so the correction does not jump
 *  when the stream fills). */
export function streamEvidence(points: i32): void {
  const f = stream_speed_sum / <f64>stream_windows;
  if (ASSERTS) assert(points > 0 && points <= stream_count && points <= stream_points, "a stream spectrum past the points held");
  const full = points >= stream_points;
  const take = full && averageDue();
  // The window measured a speed further than the slip from the stream's, within a motor's slip
  // range of it (further is another family's: an octave, the cage): one of the two estimates
  // is off, and the shaft turns anywhere between them. A race that depends on where is named
  // no more (defectsIn's scan, which only withholds a name).
  const disagreement = Math.abs(result.shaft_hz / f - 1.0);
  const disputed = result.speed_measured && disagreement > SLIP_MAX && disagreement <= SPEED_HIGH_SHARE - 1.0 ? disagreement : 0.0;
  bestReset();
  for (let j = 0; j < stream_bands; j++) {
    if (windowedSpectrum(bandPoints(j) + (<usize>(stream_count - points) << 2), points) < 0) return;
    setEnvelopeSpectrum(stream_rate_hz / <f64>points, points / 2, streamBandHz(j));
    defectsIn(f, disputed);
    bestTake(j);
    if (take) averageTake(j);
  }
  if (take) {
    average_spectra++;
    average_taken_at = stream_taken;
  }
  const tests_ln = Math.log(<f64>(stream_bands * (DEFECTS + 1)));
  keepEvidence(tests_ln, best_bpfo_ln_p, best_bpfo_strength, best_bpfi_ln_p, best_bpfi_strength, best_bpfi_sidebands, best_bsf_ln_p, best_bsf_strength, <f64>points / stream_rate_hz, best_ambiguous);
  result.band_low_hz = unchecked(stream_low_hz[max(0, best_band)]);
  result.band_high_hz = unchecked(stream_high_hz[max(0, best_band)]);
  if (full) averagedEvidence(f, tests_ln);
}

/** Whether the average takes this window's spectra: when the stream has moved on by half a block
 *  since it last took one (so the spectra it holds overlap by half at most). */
function averageDue(): bool {
  return average_spectra == 0 || stream_taken - average_taken_at >= stream_points / 2;
}

/** Takes band `j`'s stream spectrum, in `baseband`, into its average: a mean of all it took up to
 *  AVERAGE_SPECTRA_MAX, then a running mean over that many. */
function averageTake(j: i32): void {
  if (ASSERTS) assert(j < stream_bands, "the average of a band the stream does not hold");
  meanTake(bandAverage(j), stream_points / 2, average_spectra, AVERAGE_SPECTRA_MAX);
}

/** Takes the spectrum in `baseband` (bins 0 … `last`) into the mean power per bin at `mean_ptr`
 *  (in `average`), which holds `taken` spectra: a mean of all it took up to `most`, then a
 *  running mean over that many. The first is taken as it is, whatever the buffer held. */
export function meanTake(mean_ptr: usize, last: i32, taken: i32, most: i32): void {
  const weight = <f32>(1.0 / <f64>min(taken + 1, most));
  const z = changetype<usize>(baseband);
  const first = <usize>(mean_ptr - changetype<usize>(average)) >> 2;
  if (ASSERTS) assert(holds(average, <i32>first, last + 1) && holds(baseband, 0, 2 * last + 2), "a mean past its buffer");
  for (let k = 0; k <= last; k++) {
    const re = load<f32>(z + (<usize>k << 3));
    const im = load<f32>(z + (<usize>k << 3), 4);
    const was = taken == 0 ? <f32>0.0 : load<f32>(mean_ptr + (<usize>k << 2));
    store<f32>(mean_ptr + (<usize>k << 2), was + (re * re + im * im - was) * weight);
  }
}

/** The mean power per bin at `mean_ptr` (bins 0 … `last`) into `baseband`, where zoneLnP reads a
 *  spectrum's bins: as an amplitude and a zero. */
export function meanAsSpectrum(mean_ptr: usize, last: i32): void {
  const z = changetype<usize>(baseband);
  if (ASSERTS) assert(holds(baseband, 0, 2 * last + 2), "a mean past the spectrum's buffer");
  for (let k = 0; k <= last; k++) {
    store<f32>(z + (<usize>k << 3), Mathf.sqrt(load<f32>(mean_ptr + (<usize>k << 2))));
    store<f32>(z + (<usize>k << 3), 0.0, 4);
  }
}

/** What the average of the stream's spectra is worth in independent ones, as a whole number
 *  (rounded down: fewer is the cautious side): K spectra half a block apart have the variance of
 *  K / (1 + 2 ρ (K − 1) / K) independent ones, ρ the power correlation of neighbours (Welch
 *  1967); the running mean past AVERAGE_SPECTRA_MAX is worth more than that many, and is
 *  counted as that many. */
function averageShape(): i32 {
  const spectra = <f64>min(average_spectra, AVERAGE_SPECTRA_MAX);
  const worth = spectra / (1.0 + 2.0 * HANN_HALF_OVERLAP_POWER_CORRELATION * (spectra - 1.0) / spectra);
  return max(1, <i32>worth);
}

/** The cage family in the average of each band's stream spectra. A rolling element's defect
 *  strikes the races at 2 × BSF, and the cage carries it through the load zone once a cage turn,
 *  so its impacts swell and fade at FTF; no race defect turns with the cage. Where a single
 *  spectrum is too short to show that slow family, the average of many shows it. When, in a
 *  band's average, the cage family is the most significant, races included, and below
 *  FINDING_ALPHA after the correction for the window's `tests_ln` tests, that average's
 *  evidence is the window's, the cage family's as the rolling element's (ANALYSIS.md §5,
 *  "Averaged spectra"); of several such bands, the one of the most significant cage family. */
function averagedEvidence(f: f64, tests_ln: f64): void {
  if (machine.ftf_order <= 0.0 || average_spectra == 0) return;
  const half = stream_points / 2;
  const z = changetype<usize>(baseband);
  const alpha_log10 = Math.log(FINDING_ALPHA) / LN_10;
  let cage_ln: f64 = 0.0;
  let bpfo_ln: f64 = 0.0, bpfi_ln: f64 = 0.0, bpfo_s: f64 = 0.0, bpfi_s: f64 = 0.0, cage_s: f64 = 0.0, sidebands: f64 = 0.0;
  let cage_band = -1;
  let ambiguous = false;
  // Each race's most significant band, over all of them: the cage must stand out of them all.
  let best_race_ln: f64 = 0.0;
  for (let j = 0; j < stream_bands; j++) {
    meanAsSpectrum(bandAverage(j), half);
    setEnvelopeSpectrum(stream_rate_hz / <f64>stream_points, half, streamBandHz(j), averageShape());
    defectsIn(f);
    ambiguous = ambiguous || readingAmbiguous();
    cageIn(f);
    const race_ln = Math.min(bpfo_ln_p, bpfi_ln_p);
    if (correctedLog10(race_ln, tests_ln) < alpha_log10) best_race_ln = Math.min(best_race_ln, race_ln);
    if (!(ftf_ln_p < bpfo_ln_p && ftf_ln_p < bpfi_ln_p && ftf_ln_p < bsf_ln_p && correctedLog10(ftf_ln_p, tests_ln) < alpha_log10)) continue;
    if (cage_band >= 0 && ftf_ln_p >= cage_ln) continue;
    cage_band = j;
    cage_ln = ftf_ln_p;
    cage_s = ftf_strength;
    bpfo_ln = bpfo_ln_p;
    bpfo_s = bpfo_strength;
    bpfi_ln = bpfi_ln_p;
    bpfi_s = bpfi_strength;
    sidebands = bpfi_sidebands;
  }
  if (cage_band < 0 || !(cage_ln < best_race_ln)) return;
  keepEvidence(tests_ln, bpfo_ln, bpfo_s, bpfi_ln, bpfi_s, sidebands, cage_ln, cage_s, <f64>((min(average_spectra, AVERAGE_SPECTRA_MAX) + 1) * half) / stream_rate_hz, ambiguous);
  result.band_low_hz = unchecked(stream_low_hz[cage_band]);
  result.band_high_hz = unchecked(stream_high_hz[cage_band]);
}

/** The defects' evidence as the window's, corrected for `tests_ln` tests, the rolling element's
 *  given (its 2 × BSF family's or the cage's), taken over `span_s`. */
export function keepEvidence(tests_ln: f64, outer_ln_p: f64, outer_strength: f64, inner_ln_p: f64, inner_strength: f64, sidebands: f64, element_ln_p: f64, element_strength: f64, span_s: f64, ambiguous: bool): void {
  result.reading_ambiguous = ambiguous;
  result.bpfo_log10_p = correctedLog10(outer_ln_p, tests_ln);
  result.bpfi_log10_p = correctedLog10(inner_ln_p, tests_ln);
  result.bsf_log10_p = correctedLog10(element_ln_p, tests_ln);
  result.bpfo_strength = outer_strength;
  result.bpfi_strength = inner_strength;
  result.bsf_strength = element_strength;
  result.bpfi_sideband = sidebands;
  result.stream_s = span_s;
}
