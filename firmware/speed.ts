// The shaft speed from the signal (ANALYSIS.md §4). One window is too short to place a shaft's
// harmonics (4096 samples at 48 kHz are 11.7 Hz per bin against a 25–30 Hz shaft; at 12 kHz a
// bearing's tones sit less than a bin from the half-orders of the shaft). So the speed is taken
// from a longer acquisition: every window is low-pass filtered and decimated to a rate that just
// carries the harmonics the estimate reads, and the decimated points are streamed across
// consecutive windows (speed-stream.ts). The spectrum of the stream has bins as fine as its
// length allows; the speed is the candidate whose harmonic family stands out most,
// among the lines that can be its fundamental (every rotor carries a residual unbalance, so a
// shaft's first order is a line). No allocation; every loop has a fixed bound.

import { lnNormalTail } from "./stats";
import {
  stream_count, stream_rate_hz, stream_new_points, stream_restarted, streamDesigned, streamRead, streamPower, PASSBAND_SHARE,
} from "./speed-stream";
import { ASSERTS, holds } from "./assert";
import { SLIP_MAX } from "./analysis/constants";

/** The shortest stream a spectrum is taken of, and the doublings from it to the longest. */
const SPEED_POINTS_MIN: i32 = 64;
const SPEED_POINTS_DOUBLINGS: i32 = 6;
/** A harmonic family's lines must stand this many bins apart to be told from their neighbours:
 *  the main lobe of a Hann window is ±2 bins. */
const FAMILY_SPACING_BINS: f64 = 4.0;
/** Two lines closer than Hann's main-lobe half-width (2 bins) merge into one peak: a line that
 *  close to DC or to its neighbours cannot be seen. */
const LINE_SEEN_BINS: f64 = 2.0;
/** A line's frequency is good to about a tenth of a bin at 10 dB over its floor (Grandke's
 *  interpolation); a fundamental is sought within three of those of a line. */
const LINE_TOLERANCE_BINS: f64 = 0.3;
const STEPS_PER_BIN: i32 = 40;
const HARMONICS_MAX: i32 = 512;
const FLOOR_BLOCK: i32 = 16;
/** Mean and standard deviation of max(0, ln(P / median)) for a bin of noise (P exponential):
 *  E1(ln 2) and the square root of its second moment less its square (ANALYSIS.md §4). */
const PROMINENCE_NOISE_MEAN: f64 = 0.37867;
const PROMINENCE_NOISE_SD: f64 = 0.51820;
/** A harmonic family is there at z ≥ 3 (one-sided 1.3e-3 under noise). */
export const FAMILY_Z: f64 = 3.0;
/** The fewest lines a family of a shaft above the range searched shows below the top read
 *  (the cage's rule in estimate): one or two lines are no family. */
const FAMILY_LINES_MIN: i32 = 3;
/** A line whose power is 10 × its floor's median has a 1e-3 chance under noise
 *  (exp(−10 ln 2)): only such lines are fundamentals or refine the speed. */
const LINE_PROMINENCE_LN: f64 = 2.302585092994046;
/** A line whose power is log2(20) = 4.32 × its floor's median has a 5 % chance under noise
 *  (2^−y for y × the median): the conventional level at which a speed the estimate before
 *  measured still shows its first order (estimate), where a new speed needs a clear line. */
const LINE_SHOWN_PROMINENCE_LN: f64 = 1.4637016209466132;
/** Scratch for a floor block's median. */
const block = new StaticArray<f32>(FLOOR_BLOCK);

/** The measured speed (Hz), its harmonic family's z under noise, 1 − the chance that noise
 *  makes its family stand out from the spectrum between its lines, and the stream's bin. */
export let speed_hz: f64 = 0.0;
export let speed_z: f64 = 0.0;
export let speed_confidence: f64 = 0.0;
export let speed_bin_hz: f64 = 0.0;
/** Σh² over the lines that refined the speed (0: none), for its uncertainty. */
export let speed_sum_hh: f64 = 0.0;
/** The family z, in the stream's last spectrum, of the reference speed its caller gave (the
 *  speed the bearing's envelope stream has been running at): under FAMILY_Z the shaft is no
 *  longer there. 0 without a reference. */
export let speed_reference_z: f64 = 0.0;
/** With a configured speed, the machine's whole range, searched too (0, 0: no configured speed):
 *  a speed configured wrong by more than the slip leaves the shaft's family outside the range
 *  around it, which then holds at best a family of a few of its lines. */
let check_low_hz: f64 = 0.0;
let check_high_hz: f64 = 0.0;
/** The speed the last estimate on the speed stream measured, when this one is taken on the same
 *  stream (0: none). */
let previous_hz: f64 = 0.0;
/** Whether the configured speed is in doubt (ANALYSIS.md §4, "A configured speed that is
 *  wrong"): the last two estimates found the same clear family outside its range that no speed
 *  in it explains, where the range held no candidate, or only one of that family's rates times a
 *  small ratio, or a multiple of it below which the family's own lines stand. The speed is not
 *  changed (another shaft, a motor's behind a belt, makes such a family too); bearing lines read
 *  at it make no finding. */
export let speed_doubted: bool = false;
/** The speed of the last estimate's unexplained family outside the configured range (0: none). */
let doubt_candidate_hz: f64 = 0.0;
/** While the configured speed is in doubt, the speed the signal shows instead (0: no doubt):
 *  the unexplained family the doubt rests on, as the estimate that found it last placed it, and
 *  how sure that is (speed_confidence's measure). Published beside the configured speed, which
 *  the analysis keeps (ANALYSIS.md §4, "A configured speed that is wrong"). */
export let seen_hz: f64 = 0.0;
export let seen_confidence: f64 = 0.0;

/** Sets the whole range the next estimates search besides the configured speed's (0, 0: none). */
export function speedCheckRange(low_hz: f64, high_hz: f64): void {
  check_low_hz = low_hz;
  check_high_hz = high_hz;
}

/** The reference the last estimate weighed (0: none); the next one's, given by the caller. */
export let speed_reference_hz: f64 = 0.0;
let reference_hz: f64 = 0.0;

/** The last estimate's spectrum length and range, and whether it found a speed. */
let measured_points: i32 = 0;
let measured_low_hz: f64 = 0.0;
let measured_high_hz: f64 = 0.0;
let measured_ok: bool = false;
/** Whether the spectrum read was of a zero-padded window (its lines' interpolation differs). */
let zero_padded: bool = false;
let power_ptr: usize = 0;
let prominence_ptr: usize = 0;
let prominence_bins: i32 = 0;
let bin_hz: f64 = 1.0;
/** The points of the stream spectrum speedFromStream took this window into its `power_at`
 *  (0: it took none, the estimate standing or the stream too short). */
export let stream_spectrum_points: i32 = 0;

/** Whether estimate() reads the spectrum the last one read, to the same top (its prominences
 *  and the reference's z stand). */
let same_spectrum: bool = false;
/** Measures the speed in [low_hz, high_hz] from harmonics up to `top_hz` in the stream's
 *  spectrum, with `work_ptr` (stream points + 2 f32), `power_at` and `prominence_at` (stream
 *  points / 2 + 1 f32 each) as scratch. False when the stream is too short to resolve a family
 *  in the range. */
export function speedFromStream(low_hz: f64, high_hz: f64, top_hz: f64, cage: f64, reference: f64, work_ptr: usize, power_at: usize, prominence_at: usize): bool {
  cage_order = cage;
  reference_hz = reference;
  stream_spectrum_points = 0;
  if (stream_count < SPEED_POINTS_MIN || !streamDesigned()) return clear();
  // The newest power-of-two number of points: at most SPEED_POINTS_DOUBLINGS turns, the stream
  // holding at most SPEED_POINTS_MAX.
  let points = SPEED_POINTS_MIN;
  for (let turn = 0; turn < SPEED_POINTS_DOUBLINGS && points << 1 <= stream_count; turn++) points <<= 1;
  // The spectrum is taken again once a quarter of its points are new (or it grew): in between,
  // the estimate stands.
  if (!stream_restarted && points == measured_points && stream_new_points < (points >> 2) && low_hz == measured_low_hz && high_hz == measured_high_hz) return measured_ok;
  measured_points = points;
  measured_low_hz = low_hz;
  measured_high_hz = high_hz;
  streamRead();
  power_ptr = power_at;
  prominence_ptr = prominence_at;
  streamPower(points, work_ptr, power_at);
  stream_spectrum_points = points;
  zero_padded = false;
  // The speed the estimate before measured on this stream, for the rule that keeps it against its
  // multiple (estimate).
  previous_hz = measured_ok && !stream_restarted ? speed_hz : 0.0;
  measured_ok = estimateChecked(points >> 1, stream_rate_hz / <f64>points, low_hz, high_hz, Math.min(top_hz, PASSBAND_SHARE * stream_rate_hz));
  return measured_ok;
}


/** Measures the speed as speedFromStream does, in one window's power spectrum (`bins` bins of
 *  `spectrum_bin_hz` at `power_at`, Hann-windowed, `padded` when the window was zero-padded),
 *  with `prominence_at` (bins f32) as scratch. */
export function speedFromSpectrum(power_at: usize, bins: i32, spectrum_bin_hz: f64, padded: bool, low_hz: f64, high_hz: f64, top_hz: f64, cage: f64, prominence_at: usize): bool {
  cage_order = cage;
  reference_hz = 0.0;
  previous_hz = 0.0;
  measured_points = 0;
  power_ptr = power_at;
  prominence_ptr = prominence_at;
  zero_padded = padded;
  measured_ok = estimateChecked(bins - 1, spectrum_bin_hz, low_hz, high_hz, top_hz);
  return measured_ok;
}

/** estimate() over the configured speed's range [low_hz, high_hz]; where a whole range is to be
 *  checked (speedCheckRange) in a spectrum fine enough (the range's lowest speed
 *  FAMILY_SPACING_BINS up), the whole range too, in the same spectrum and to the same top, for
 *  a clear family outside the configured range that puts the configured speed in doubt
 *  (doubts): found twice in a row at one speed, the configured speed is in doubt (speed_doubted,
 *  doubtAt). The estimate itself is the configured range's. */
function estimateChecked(last_bin: i32, spectrum_bin_hz: f64, low_hz: f64, high_hz: f64, top: f64): bool {
  const found = estimate(last_bin, spectrum_bin_hz, low_hz, high_hz, top);
  const wide_low = Math.min(check_low_hz, low_hz);
  const wide_high = Math.max(check_high_hz, high_hz);
  const resolved = FAMILY_SPACING_BINS * spectrum_bin_hz <= low_hz;
  const geometry = cage_order > 0.0 && cage_order < 0.5;
  if (check_high_hz <= 0.0 || !resolved || !geometry || (wide_low >= low_hz && wide_high <= high_hz)) {
    noDoubt();
    return found;
  }
  const found_hz = speed_hz;
  const found_z = speed_z;
  const found_sum_hh = speed_sum_hh;
  const confidence = speed_confidence;
  // The whole range's clearest family, where it lies outside the configured range and the
  // spectrum does not say which of it and the range's candidate (or none) is the shaft (doubts):
  // a speed configured at the cage's rate (a motor on a 60 Hz supply configured with its 50 Hz
  // nameplate's speed is at 0.83 of it, the cage's second order at 0.80), or an octave off.
  let candidate: f64 = 0.0;
  // The configured range's search took the prominences (its range resolved: its lowest speed,
  // FAMILY_SPACING_BINS up, lies in it).
  same_spectrum = true;
  const wide_found = estimate(last_bin, spectrum_bin_hz, wide_low, wide_high, top);
  same_spectrum = false;
  if (wide_found && speed_z >= FAMILY_Z && (speed_hz < low_hz || speed_hz > high_hz)
    && doubts(found, found_hz, speed_hz, low_hz, high_hz, top)) candidate = speed_hz;
  doubtAt(candidate, speed_confidence);
  // The configured range's estimate stands (none, when it failed); the reference's z, taken
  // with the prominences, was not taken again.
  speed_hz = found ? found_hz : 0.0;
  speed_z = found ? found_z : 0.0;
  speed_sum_hh = found ? found_sum_hh : 0.0;
  speed_confidence = confidence;
  return found;
}

/** Whether a clear family at `shaft_hz`, outside the configured range [low_hz, high_hz], puts
 *  the configured speed in doubt. Where the range held no candidate: no speed in it explains the
 *  family (a harmonic of one only where that speed's own lines stand, explainedBy). Where it held
 *  one at `found_hz`: the candidate is one of the family's rates times a small ratio and no speed
 *  in the range explains the family (bearingRateOf), or the candidate is a multiple of the family
 *  below which the family's own lines stand (multipleOf). */
function doubts(found: bool, found_hz: f64, shaft_hz: f64, low_hz: f64, high_hz: f64, top: f64): bool {
  if (!found) return !explainedBy(shaft_hz, low_hz, high_hz, top);
  return (!explainedBy(shaft_hz, low_hz, high_hz, 0.0) && bearingRateOf(found_hz, shaft_hz)) || multipleOf(found_hz, shaft_hz, top);
}

/** Whether the range's candidate at `hz` is m times the clearest family `shaft_hz` (m = 2, 3,
 *  within the slip) whose own lines, the harmonics of it that are no multiple of m, make a
 *  family: that family's, whose every m-th line the candidate's holds (a 4-pole motor's speed
 *  configured as a 2-pole one's). */
function multipleOf(hz: f64, shaft_hz: f64, top: f64): bool {
  for (let m = 2; m <= 3; m++) {
    const sub = hz / <f64>m;
    if (Math.abs(shaft_hz - sub) > SLIP_MAX * sub) continue;
    return familyZ(shaft_hz, top, m) >= FAMILY_Z;
  }
  return false;
}

/** Whether `hz` is one of the bearing's rates (shareOf) of a shaft at `shaft_hz`, or the shaft's,
 *  times h / m (h, m up to RATIO_MAX): a family at r h / m holds r's family in every m-th line;
 *  or one of the outer race's lower shaft sidebands, BPFO − k f. */
const RATIO_MAX: i32 = 4;
function bearingRateOf(hz: f64, shaft_hz: f64): bool {
  for (let i = -1; i < SHARES; i++) {
    const rate = (i < 0 ? 1.0 : shareOf(i)) * shaft_hz;
    if (rate <= 0.0) continue;
    for (let h = 1; h <= RATIO_MAX; h++) {
      for (let m = 1; m <= RATIO_MAX; m++) {
        const at = rate * <f64>h / <f64>m;
        if (Math.abs(hz - at) <= SLIP_MAX * at) return true;
      }
    }
  }
  // The outer race's lower shaft sidebands, BPFO − k f, every one above zero: a shaft's
  // unbalance or runout loads the races once a turn, and the impacts on a defect fixed in the
  // load zone swell and fade with it (a family there is the defect's and the shaft's together).
  for (let k = 1; <f64>k < bpfo_order && k <= HARMONICS_MAX; k++) {
    const at = (bpfo_order - <f64>k) * shaft_hz;
    if (Math.abs(hz - at) <= SLIP_MAX * at) return true;
  }
  return false;
}

/** The configured speed comes in doubt when this estimate and the one before found the same
 *  unexplained shaft `hz` outside its range (0: none), and leaves it when two in a row found
 *  none: a machine's shafts do not come and go from one estimate to the next, and a doubt that
 *  lapsed whenever one estimate saw another family, or none, would read the defects at a
 *  doubted speed every other window. */
function doubtAt(hz: f64, confidence: f64): void {
  if (hz > 0.0) {
    // Found again: the doubt, and the speed the signal shows, this estimate's family.
    if (doubt_candidate_hz > 0.0 && Math.abs(hz - doubt_candidate_hz) <= SLIP_MAX * doubt_candidate_hz) {
      speed_doubted = true;
      seen_hz = hz;
      seen_confidence = confidence;
    }
    doubt_clear = 0;
  } else if (speed_doubted && ++doubt_clear >= 2) {
    speed_doubted = false;
  }
  if (!speed_doubted) {
    seen_hz = 0.0;
    seen_confidence = 0.0;
  }
  doubt_candidate_hz = hz;
}
/** Estimates in a row, while in doubt, that found no unexplained shaft outside the range. */
let doubt_clear: i32 = 0;

/** No doubt, and nothing toward one. */
function noDoubt(): void {
  speed_doubted = false;
  seen_hz = 0.0;
  seen_confidence = 0.0;
  doubt_candidate_hz = 0.0;
  doubt_clear = 0;
}

/** Whether a shaft turning in [low_hz, high_hz] makes a family at `hz`: `hz` is one of its
 *  harmonics m s, or a sub-multiple of it (whose family holds the shaft's: the octave question
 *  estimate() answers within a range, not a wrong configuration), or one of the cage's
 *  combinations below it or its BPFO above it, which estimate() resolves (shareOf; its caller
 *  has the geometry). With `own_lines_top` (where the range held no candidate), a harmonic m s
 *  is explained only where s's own lines, those between its m-th harmonics, make a family up to
 *  that top: every rotor's first order is a line, and a speed without its own lines is not the
 *  shaft whose harmonic `hz` would be (a 2-pole motor's speed configured as a 4-pole one's).
 *  Nor is a bearing rate of a shaft s explained where s's own lines (those `hz`'s family does
 *  not make) make no family: the cage turns because a shaft does (a speed configured 1.25 times
 *  the shaft's puts the shaft at 0.80 of it, twice the cage's rate of a shaft at the
 *  configured speed, 0.797 on a 6205). */
function explainedBy(hz: f64, low_hz: f64, high_hz: f64, own_lines_top: f64): bool {
  for (let m = 2; m <= HARMONICS_MAX; m++) {
    const over = hz / <f64>m;
    const times = hz * <f64>m;
    if (times >= low_hz && times <= high_hz) return true;
    if (over >= low_hz && over <= high_hz && (own_lines_top <= 0.0 || familyZ(over, own_lines_top, m) >= FAMILY_Z)) return true;
    if (over < low_hz && times > high_hz) break;
  }
  for (let i = 0; i < SHARES; i++) {
    const share = shareOf(i);
    if (share <= 0.0) continue;
    const shaft_hz = hz / share;
    if (shaft_hz >= low_hz && shaft_hz <= high_hz && (own_lines_top <= 0.0 || familyZ(shaft_hz, own_lines_top, 0, hz) >= FAMILY_Z)) return true;
  }
  return false;
}

/** The bearing's rates as shares of the shaft's: the cage's combinations with the shaft that
 *  lie below it, up to the cage's second order and the shaft's first (f_cage, 2 f_cage,
 *  f − f_cage, f − 2 f_cage), then the outer race's defect rate, BPFO, above it (0 when not
 *  given). */
const SHARES: i32 = 5;
function shareOf(i: i32): f64 {
  if (i == 0) return cage_order;
  if (i == 1) return 2.0 * cage_order;
  if (i == 2) return 1.0 - cage_order;
  if (i == 3) return 1.0 - 2.0 * cage_order;
  return bpfo_order;
}

/** The outer race's defect order, BPFO over the shaft (0: none). */
let bpfo_order: f64 = 0.0;

/** Sets the outer race's defect order the next estimates weigh (0: no geometry). */
export function speedOuterRaceOrder(bpfo: f64): void {
  bpfo_order = bpfo;
}

/** No estimate: the stream is too short (and nothing to doubt a configured speed with). */
function clear(): bool {
  noDoubt();
  speed_hz = 0.0;
  speed_z = 0.0;
  speed_confidence = 0.0;
  speed_sum_hh = 0.0;
  speed_reference_z = 0.0;
  speed_reference_hz = 0.0;
  measured_points = 0;
  measured_ok = false;
  return false;
}

/** The estimate over the spectrum at power_ptr (`last_bin` + 1 bins of `spectrum_bin_hz`). */
function estimate(last_bin: i32, spectrum_bin_hz: f64, low_hz: f64, high_hz: f64, top: f64): bool {
  speed_hz = 0.0;
  speed_z = 0.0;
  speed_confidence = 0.0;
  speed_sum_hh = 0.0;
  bin_hz = spectrum_bin_hz;
  speed_bin_hz = bin_hz;
  const low = Math.max(low_hz, FAMILY_SPACING_BINS * bin_hz);
  if (low > high_hz) return false;
  // The whole range's search after the configured range's (estimateChecked) reads the same
  // spectrum to the same top: its prominences and the reference's z are those just taken.
  if (!same_spectrum) {
    prominence_bins = prominence(min(<i32>Math.ceil(top / bin_hz) + 2, last_bin - 1));
    // The reference's family, wherever it lies: the best candidate near it (its place is good
    // to a line's tolerance).
    speed_reference_z = reference_hz > 0.0 ? referenceZ(reference_hz, top) : 0.0;
    speed_reference_hz = reference_hz;
  }

  // Every clear line in the range is a candidate fundamental; the family is weighed around it.
  const fine = bin_hz / <f64>STEPS_PER_BIN;
  let best_hz = bestFamily(low, high_hz, low, high_hz, top);
  let best_z = best_family_z;
  // A supply's lines are no harmonics of the shaft: a motor's electrical frequency is its pole
  // pairs times the shaft's over one less the slip, never below it. So where a family below the
  // candidate has a clear line for its fundamental, its own lines (those no harmonic of the
  // candidate makes) stand out as a family, and they stand out from the spectrum between them
  // more than the candidate's own lines do, the candidate is the supply's and that family the
  // shaft's (or the cage's, which the rule after this one resolves).
  if (best_hz > 0.0) {
    const below_hz = best_hz - 2.0 * LINE_TOLERANCE_BINS * bin_hz;
    const found = bestFamily(low, below_hz, low, below_hz, top, best_hz);
    if (found > 0.0 && best_family_z >= FAMILY_Z) {
      best_hz = found;
      best_z = familyZ(found, top, 0);
    }
  }
  // A family at the cage's rate, or at a combination of the shaft and the cage, presupposes a
  // shaft turning faster (the cage turns because the shaft does): where that shaft's own family
  // is there, it is the explanation. Combinations up to the cage's second order and the shaft's
  // first that lie below the shaft: f_cage, 2 f_cage, f − f_cage, f − 2 f_cage. So does a
  // family at the outer race's defect rate, BPFO, of a shaft turning slower: a defect fixed in
  // the load zone is struck at evenly spaced times, which make a family of lines at BPFO's
  // harmonics, often the strongest in the spectrum. (An inner race's or a rolling element's
  // impacts swell and fade as the defect turns through the load zone: their lines spread into
  // sidebands of the shaft or the cage rather than a family of their own.) Where the candidate
  // is BPFO of a shaft whose own family is there, that shaft is the speed.
  // With a configured speed the shaft sought may turn above the range searched, up to the
  // machine's whole range: a cage's family in the range then means no shaft in it.
  const shaft_limit_hz = Math.max(high_hz, check_high_hz);
  if (best_hz > 0.0 && cage_order > 0.0 && cage_order < 0.5) {
    let alternative_hz: f64 = 0.0;
    let alternative_z: f64 = FAMILY_Z;
    for (let i = 0; i < SHARES; i++) {
      const share = shareOf(i);
      if (share <= 0.0) continue;
      const shaft_hz = best_hz / share;
      // The candidate's place is good to the line tolerance, divided by the share; the line
      // sought there is good to the line tolerance itself. A shaft within that of the range's
      // top may be in it.
      const tolerance = LINE_TOLERANCE_BINS * bin_hz * (1.0 + 1.0 / share);
      if (shaft_hz - tolerance > shaft_limit_hz) continue;
      const found = bestFamily(shaft_hz - tolerance, shaft_hz + tolerance, low, shaft_limit_hz, top);
      // Above the range searched, a shaft explains the candidate only with a family of three
      // lines at least below the top read (one or two lines are no family) that outscores it:
      // a machine's spectrum holds families (z ≥ 3) at many rates, and one that happens to lie
      // at a cage share's distance must not unseat a right configuration.
      if (found > high_hz && (<f64>FAMILY_LINES_MIN * found > top || best_family_z <= best_z)) continue;
      if (found > 0.0 && best_family_z >= alternative_z) {
        alternative_hz = found;
        alternative_z = best_family_z;
      }
    }
    if (alternative_hz > high_hz) return false;
    if (alternative_hz > 0.0) {
      best_hz = alternative_hz;
      best_z = alternative_z;
    }
  }
  // A family at twice or three times the speed holds only part of the true one's lines: where a
  // sub-multiple's fundamental is a clear line (no harmonic of the candidate can make it) and
  // the harmonics only it has stand out as a family (z ≥ 3), the sub-multiple is the speed.
  for (let m = 3; m >= 2 && best_hz > 0.0; m--) {
    const sub_hz = best_hz / <f64>m;
    if (sub_hz < low) continue;
    const tolerance = LINE_TOLERANCE_BINS * bin_hz * (1.0 + 1.0 / <f64>m);
    const found = bestFamily(sub_hz - tolerance, sub_hz + tolerance, low, high_hz, top);
    if (found > 0.0 && familyZ(found, top, m) >= FAMILY_Z) {
      best_hz = found;
      best_z = familyZ(found, top, 0);
      break;
    }
  }
  // Nor is the speed the estimate before measured on this stream (its first order a clear line
  // then) given up for its multiple while its first order still shows as a line
  // (LINE_SHOWN_PROMINENCE_LN) and the harmonics only it has stand out as a family: the
  // multiple's family is then part of its own. The rule above, with the earlier measurement in
  // place of a clear line now. (A shaft that doubled its speed leaves the old one's first order
  // and odd harmonics empty.) Not where that speed is itself one tooth of a finer comb (its own
  // half's or third's harmonics stand out: lines a few hertz apart throughout, whose every tooth
  // in the range leads a family): nothing then says which tooth is the shaft.
  for (let m = 2; m <= 3 && best_hz > 0.0 && previous_hz >= low && previous_hz <= high_hz; m++) {
    const tolerance = LINE_TOLERANCE_BINS * bin_hz * (1.0 + <f64>m);
    if (Math.abs(best_hz - <f64>m * previous_hz) > tolerance) continue;
    if (prominenceAt(previous_hz) >= LINE_SHOWN_PROMINENCE_LN && familyZ(previous_hz, top, m) >= FAMILY_Z && !toothOfComb(previous_hz, top)) {
      best_hz = previous_hz;
      best_z = familyZ(previous_hz, top, 0);
    }
    break;
  }
  if (best_hz <= 0.0 || hidden(best_hz, low_hz, low)) return false;
  speed_z = best_z;
  speed_confidence = 1.0 - normalTail(familyContrastT(best_hz, top));
  const refined_hz = refine(best_hz, top, fine);
  // The family's lines place it outside the range: a speed there is not one of the range's, and
  // the range's edge, which clamping would give, is no measurement either.
  if (refined_hz < low || refined_hz > high_hz) {
    speed_z = 0.0;
    speed_confidence = 0.0;
    return false;
  }
  speed_hz = refined_hz;
  return true;
}

/** The cage's rate over the shaft's (0: no bearing geometry). */
let cage_order: f64 = 0.0;
let best_family_z: f64 = 0.0;

/** The candidate of the largest family z (in best_family_z) among those around the clear lines
 *  whose interpolated frequency lies in [from_hz, to_hz], each within ±LINE_TOLERANCE_BINS and
 *  kept in [low_hz, high_hz]; 0 when there is none. With `apart_hz`, a family (z ≥ FAMILY_Z)
 *  beside that one: its z over the lines apart_hz's cannot make, and only where those stand
 *  out from the spectrum between them more than apart_hz's own do (familyContrastT of each
 *  without the other's lines). */
function bestFamily(from_hz: f64, to_hz: f64, low_hz: f64, high_hz: f64, top: f64, apart_hz: f64 = 0.0): f64 {
  const fine = bin_hz / <f64>STEPS_PER_BIN;
  const k_first = max(2, <i32>Math.floor(from_hz / bin_hz) - 1);
  const k_last = min(prominence_bins - 2, <i32>Math.ceil(to_hz / bin_hz) + 1);
  let best_hz: f64 = 0.0;
  best_family_z = -Infinity;
  for (let k = k_first; k <= k_last; k++) {
    if (!isLine(k)) continue;
    const line_hz = (<f64>k + peakOffset(k)) * bin_hz;
    if (line_hz < from_hz || line_hz > to_hz || line_hz < low_hz || line_hz > high_hz) continue;
    const from = line_hz - LINE_TOLERANCE_BINS * bin_hz;
    for (let s = 0; s <= 2 * <i32>(LINE_TOLERANCE_BINS * <f64>STEPS_PER_BIN); s++) {
      const hz = from + <f64>s * fine;
      if (hz < low_hz || hz > high_hz) continue;
      const z = familyZ(hz, top, 0, apart_hz);
      if (z > best_family_z && (apart_hz <= 0.0 || (z >= FAMILY_Z && familyContrastT(hz, top, apart_hz) > familyContrastT(apart_hz, top, hz)))) {
        best_family_z = z;
        best_hz = hz;
      }
    }
  }
  return best_hz;
}

/** Whether the harmonics only a sub-multiple of `hz` (a half, a third) has stand out as a family
 *  (z ≥ FAMILY_Z), where that sub-multiple's lines stand apart (FAMILY_SPACING_BINS). */
function toothOfComb(hz: f64, top: f64): bool {
  for (let m = 2; m <= 3; m++) {
    const sub_hz = hz / <f64>m;
    if (sub_hz >= FAMILY_SPACING_BINS * bin_hz && familyZ(sub_hz, top, m) >= FAMILY_Z) return true;
  }
  return false;
}

/** The largest family z within ±LINE_TOLERANCE_BINS of `hz`. */
function referenceZ(hz: f64, top: f64): f64 {
  const fine = bin_hz / <f64>STEPS_PER_BIN;
  const steps = <i32>(LINE_TOLERANCE_BINS * <f64>STEPS_PER_BIN);
  let best: f64 = -Infinity;
  for (let s = -steps; s <= steps; s++) best = Math.max(best, familyZ(hz + <f64>s * fine, top));
  return best;
}


/** Whether `at` lies within LINE_SEEN_BINS (Hann's half lobe) of a harmonic of `other_hz`
 *  (> 0): a line there could be that family's. */
// @ts-ignore: decorator
@inline function sharedWith(at: f64, other_hz: f64): bool {
  return Math.abs(at - Math.round(at / other_hz) * other_hz) <= LINE_SEEN_BINS * bin_hz;
}

/** Whether `hz` could be a harmonic of a speed in the range below the family search
 *  ([range_low_hz, resolved_low_hz)): a sub-multiple there whose own first order either cannot
 *  be seen (within LINE_SEEN_BINS of DC or of its neighbours) or is a clear line. A shaft's first
 *  order is a line, so a sub-multiple seen without one is not the speed. */
function hidden(hz: f64, range_low_hz: f64, resolved_low_hz: f64): bool {
  for (let m = 2; m <= HARMONICS_MAX; m++) {
    const sub = hz / <f64>m;
    if (sub < range_low_hz) return false;
    if (sub >= resolved_low_hz) continue;
    if (sub < LINE_SEEN_BINS * bin_hz) return true;
    const k = <i32>Math.round(sub / bin_hz);
    for (let j = max(2, k - 1); j <= min(k + 1, prominence_bins - 2); j++) {
      if (isLine(j) && Math.abs((<f64>j + peakOffset(j)) * bin_hz - sub) <= LINE_TOLERANCE_BINS * bin_hz) return true;
    }
  }
  return false;
}

// @ts-ignore: decorator
@inline function powerAt(k: i32): f64 {
  return <f64>load<f32>(power_ptr + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline function prominenceOf(k: i32): f64 {
  return <f64>load<f32>(prominence_ptr + (<usize>k << 2));
}

/** Prominence of every bin up to `k_top` over its block's floor, max(0, ln(P / median)): a line
 *  stands out, noise averages PROMINENCE_NOISE_MEAN. The floor is the median of the bin's block
 *  of FLOOR_BLOCK bins, which a line's three bins cannot move. Returns the bins filled. */
function prominence(k_top: i32): i32 {
  store<f32>(prominence_ptr, 0.0);
  for (let start = 1; start <= k_top; start += FLOOR_BLOCK) {
    const end = min(start + FLOOR_BLOCK, k_top + 1);
    const count = end - start;
    if (ASSERTS) assert(holds(block, 0, count), "floor block past its scratch"); // blockMedian's writes
    const floor = blockMedian(power_ptr + (<usize>start << 2), count);
    for (let k = start; k < end; k++) {
      const p = powerAt(k);
      store<f32>(prominence_ptr + (<usize>k << 2), floor > 0.0 && p > floor ? <f32>Math.log(p / floor) : <f32>0.0);
    }
  }
  return k_top + 1;
}

/** The value of rank count/2 among `count` (≤ FLOOR_BLOCK) f32 at `from`: an insertion sort
 *  of a copy, a few dozen comparisons for a block. */
function blockMedian(from: usize, count: i32): f64 {
  const sorted = changetype<usize>(block);
  for (let i = 0; i < count; i++) {
    const value = load<f32>(from + (<usize>i << 2));
    let j = i;
    while (j > 0 && load<f32>(sorted + (<usize>(j - 1) << 2)) > value) {
      store<f32>(sorted + (<usize>j << 2), load<f32>(sorted + (<usize>(j - 1) << 2)));
      j--;
    }
    store<f32>(sorted + (<usize>j << 2), value);
  }
  return <f64>load<f32>(sorted + (<usize>(count >> 1) << 2));
}

/** A clear line peaks at bin k: 10 × its floor and above its neighbours. */
function isLine(k: i32): bool {
  return prominenceOf(k) >= LINE_PROMINENCE_LN && powerAt(k) >= powerAt(k - 1) && powerAt(k) > powerAt(k + 1);
}

/** Offset (bins, within ±0.5) of a line's true frequency from its peak bin: Grandke's
 *  interpolation, exact for a sine through a Hann window: the larger neighbour's ratio α to the
 *  peak gives the offset (2α − 1)/(α + 1) bins towards it. */
function peakOffset(peak: i32): f64 {
  const a = Math.sqrt(powerAt(peak - 1));
  const b = Math.sqrt(powerAt(peak));
  const c = Math.sqrt(powerAt(peak + 1));
  if (b <= 0.0) return 0.0;
  let offset: f64;
  if (!zero_padded) {
    const alpha = Math.max(a, c) / b;
    offset = (c >= a ? 1.0 : -1.0) * (2.0 * alpha - 1.0) / (alpha + 1.0);
  } else {
    // Zero-padded: the bins are finer than the window's resolution; a parabola fits the lobe.
    const denominator = a - 2.0 * b + c;
    offset = denominator != 0.0 ? 0.5 * (a - c) / denominator : 0.0;
  }
  return Math.max(-0.5, Math.min(0.5, offset));
}

function prominenceAt(hz: f64): f64 {
  const position = hz / bin_hz;
  const k = <i32>position;
  if (k < 1 || k + 1 >= prominence_bins) return 0.0;
  const t = position - <f64>k;
  return (1.0 - t) * prominenceOf(k) + t * prominenceOf(k + 1);
}

/** The prominence of `hz`'s harmonics up to `top_hz` (leaving out every `skip`-th when skip > 0,
 *  and those `apart_hz`'s family could make when it is given: the lines only its family has)
 *  above noise's mean, as a z-score under noise: N harmonics of noise sum to N·mean with
 *  variance N·sd². */
function familyZ(hz: f64, top_hz: f64, skip: i32 = 0, apart_hz: f64 = 0.0): f64 {
  const harmonics = min(<i32>(top_hz / hz), HARMONICS_MAX);
  let sum: f64 = 0.0;
  let count = 0;
  const apart = apart_hz > 0.0;
  for (let h = 1; h <= harmonics; h++) {
    if (skip > 0 && h % skip == 0) continue;
    if (apart && sharedWith(hz * <f64>h, apart_hz)) continue;
    sum += prominenceAt(hz * <f64>h) - PROMINENCE_NOISE_MEAN;
    count++;
  }
  return count > 0 ? sum / (PROMINENCE_NOISE_SD * Math.sqrt(<f64>count)) : 0.0;
}

/** How far the harmonics of `hz` (those more than LINE_SEEN_BINS from every harmonic of
 *  `apart_hz` when it is given) stand out from the spectrum between them: each one's
 *  prominence less the mean of the prominences a quarter of `hz` to either side, as a one-sample
 *  t statistic over them. Measured against the spectrum's own density of lines, not a noise
 *  model: a machine's spectrum is full of lines, which lift every position alike. */
function familyContrastT(hz: f64, top_hz: f64, apart_hz: f64 = 0.0): f64 {
  const all = min(<i32>(top_hz / hz), HARMONICS_MAX);
  let harmonics = 0;
  let sum: f64 = 0.0;
  let sum_squares: f64 = 0.0;
  for (let h = 1; h <= all; h++) {
    const at = hz * <f64>h;
    if (apart_hz > 0.0 && sharedWith(at, apart_hz)) continue;
    harmonics++;
    const contrast = prominenceAt(at) - 0.5 * (prominenceAt(at - 0.25 * hz) + prominenceAt(at + 0.25 * hz));
    sum += contrast;
    sum_squares += contrast * contrast;
  }
  if (harmonics < 2) return 0.0;
  const mean = sum / <f64>harmonics;
  const variance = (sum_squares - sum * mean) / <f64>(harmonics - 1);
  if (variance <= 0.0) return mean > 0.0 ? FAMILY_Z * 10.0 : 0.0;
  return mean / Math.sqrt(variance / <f64>harmonics);
}

/** The upper tail of the standard normal distribution, Φ(−z) (stats.ts). */
function normalTail(z: f64): f64 {
  return z >= 0.0 ? Math.exp(lnNormalTail(z)) : 1.0 - Math.exp(lnNormalTail(-z));
}

/** Least squares of f·h against the family's clear lines (each one's interpolated frequency,
 *  weighted by its order); the candidate itself when none is clear. Not clamped to the range:
 *  the caller refuses a place outside it. */
function refine(candidate_hz: f64, top_hz: f64, fine_hz: f64): f64 {
  const harmonics = min(<i32>(top_hz / candidate_hz), HARMONICS_MAX);
  let sum_hf: f64 = 0.0;
  let sum_hh: f64 = 0.0;
  for (let h = 1; h <= harmonics; h++) {
    const centre = <i32>Math.round(candidate_hz * <f64>h / bin_hz);
    if (centre < 2 || centre + 2 >= prominence_bins) break;
    let peak = centre;
    for (let k = centre - 1; k <= centre + 1; k++) if (powerAt(k) > powerAt(peak)) peak = k;
    if (!isLine(peak)) continue;
    const line_hz = (<f64>peak + peakOffset(peak)) * bin_hz;
    // A line of this family lies within its tolerance of its place, give or take the search's step.
    if (Math.abs(line_hz - candidate_hz * <f64>h) > LINE_TOLERANCE_BINS * bin_hz + fine_hz * <f64>h) continue;
    sum_hf += <f64>h * line_hz;
    sum_hh += <f64>(h * h);
  }
  speed_sum_hh = sum_hh;
  return sum_hh > 0.0 ? sum_hf / sum_hh : candidate_hz;
}
