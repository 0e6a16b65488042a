// A bearing defect's evidence in an envelope spectrum (ANALYSIS.md §5): for each harmonic, the
// probability that noise alone lifts the zone's largest bin as far above its floor as it is,
// with the bins other families or the running speed claim left out; the harmonics (and the
// inner race's sidebands) combined by Fisher's method; and the Bonferroni correction for the
// bands and defects tested.

import { HARMONICS, LINE_HALF_BINS, SLIP_MAX, DEFECTS, DEFECT_OUTER, DEFECT_INNER, DEFECT_ELEMENT, HANN_ENBW_BINS, STRENGTH_FAILED, LN_2, LN_10, LOG10_P_MIN, FINDING_ALPHA } from "./constants";
import { machine } from "./machine";
import { speed_tolerance } from "./running-speed";
import { baseband, setF32 } from "./buffers";
import { ASSERTS, holds } from "../assert";

/** Background bins whose median is a defect zone's noise floor (15 each side). */
const FLOOR_BINS: i32 = 30;
const MEDIAN_SCRATCH: i32 = FLOOR_BINS + 1;
/** Scratch for the median of a line's background. (The high-frequency band's median works in
 *  `baseband`, free until the envelope analysis.) */
let scratch: StaticArray<f32> = new StaticArray<f32>(MEDIAN_SCRATCH);
// zoneLnP writes the floor's bins to scratch at 0 … FLOOR_BINS − 1; the zone reads the floor's
// bins beside it only when FLOOR_BINS of them lie below the last bin.
if (MEDIAN_SCRATCH < FLOOR_BINS) ERROR("a defect zone's floor does not fit its scratch");

/** The envelope spectrum in `baseband` that zoneLnP reads: its bin spacing and last bin, the
 *  width of the band it is the envelope of, and the shape of its bins' distribution under
 *  noise: 1 for one spectrum (exponential bins), k for an average worth k independent spectra
 *  (gamma bins of shape k, envelope-stream.ts). */
let env_bin_hz: f64 = 1.0;
let env_last: i32 = 0;
let env_band_hz: f64 = 0.0;
let env_shape: i32 = 1;

/** The envelope spectrum zoneLnP reads next: in `baseband`, bins of `spacing_hz` up to `last`,
 *  the squared envelope of a band `band_hz` wide, an average worth `shape` independent spectra
 *  (1: a single one). */
// @ts-ignore: decorator
@inline export function setEnvelopeSpectrum(spacing_hz: f64, last: i32, band_hz: f64, shape: i32 = 1): void {
  env_bin_hz = spacing_hz;
  env_last = last;
  env_band_hz = band_hz;
  env_shape = shape;
}

/** Median of the first `count` values of `scratch` (at most MEDIAN_SCRATCH: the neighbourhood
 *  of a line), the value of rank count/2, by Wirth's selection: partition about the value at
 *  that rank, keep the side that holds it, until one value is left. The scratch is reordered.
 *  Each pass shrinks the range by one value at least, so at most `count` passes. */
function scratchMedian(count: i32): f64 {
  if (count <= 0) return 0.0;
  const base = changetype<usize>(scratch);
  const target = count >> 1;
  let low = 0;
  let high = count - 1;
  for (let pass = 0; pass < count && low < high; pass++) {
    const pivot = load<f32>(base + (<usize>target << 2));
    let i = low;
    let j = high;
    do {
      while (load<f32>(base + (<usize>i << 2)) < pivot) i++;
      while (pivot < load<f32>(base + (<usize>j << 2))) j--;
      if (i <= j) {
        const a = base + (<usize>i << 2);
        const b = base + (<usize>j << 2);
        const t = load<f32>(a);
        store<f32>(a, load<f32>(b));
        store<f32>(b, t);
        i++;
        j--;
      }
    } while (i <= j);
    if (j < target) low = i;
    if (target < i) high = j;
  }
  return <f64>load<f32>(base + (<usize>target << 2));
}

/** Power of bin `k` of the envelope spectrum, as f32. */
// @ts-ignore: decorator
@inline function envelopePower(k: i32): f32 {
  const at = changetype<usize>(baseband) + (<usize>k << 3);
  const re = load<f32>(at);
  const im = load<f32>(at, 4);
  return re * re + im * im;
}

/** Set by zoneLnP: whether the zone and its floor lay in the envelope spectrum, and the
 *  zone's peak amplitude over the floor's median amplitude. */
let zone_valid: bool = false;
let zone_ratio: f64 = 1.0;
/** Set by zoneLnP: whether none of the zone's bins was left out (binMasked). */
let zone_whole: bool = false;

/** The family zoneLnP tests (DEFECT_*), and the shaft speed: bins that other families also
 *  claim, or that hold a running-speed harmonic, cannot tell this defect from them and are
 *  left out of its zones (ANALYSIS.md §5). */
let testing_defect: i32 = -1;
let mask_shaft_hz: f64 = 0.0;
let mask_vane_hz: f64 = 0.0;
let mask_tolerance: f64 = 0.0;
const defect_hz = new StaticArray<f64>(DEFECTS);

/** Whether `hz` lies within Hann's main lobe (±LINE_HALF_BINS) of a harmonic of `base_hz`: a
 *  line there fills those bins wherever between two bins it falls. */
// @ts-ignore: decorator
@inline function nearHarmonic(hz: f64, base_hz: f64): bool {
  if (base_hz <= 0.0) return false;
  const harmonic = Math.round(hz / base_hz) * base_hz;
  return harmonic > 0.0 && Math.abs(hz - harmonic) <= <f64>LINE_HALF_BINS * env_bin_hz;
}

function binMasked(k: i32): bool {
  const hz = <f64>k * env_bin_hz;
  // A running-speed harmonic, when the spectrum shows the shaft's lines; the vane pass's
  // harmonics always, when the pump's vanes are known (shaftShows).
  if (nearHarmonic(hz, mask_shaft_hz) || nearHarmonic(hz, mask_vane_hz)) return true;
  // A zone of another defect's harmonic series (all of it: an outer race's fourth harmonic can
  // stand where a ball's third is sought).
  for (let d = 0; d < DEFECTS; d++) {
    if (d == testing_defect) continue;
    const f = unchecked(defect_hz[d]);
    if (f <= 0.0) continue;
    const line = Math.max(1.0, Math.round(hz / f)) * f;
    if (Math.abs(hz - line) <= Math.max(env_bin_hz, mask_tolerance * line)) return true;
  }
  return false;
}

/** ln of the probability that noise alone lifts the largest bin within ±half_hz of centre_hz
 *  as far above the floor as it is (ANALYSIS.md §5): a bin of the squared envelope's spectrum
 *  of noise is exponential about its local mean, the floor's median over FLOOR_BINS bins beside
 *  the zone estimates that mean as median / ln 2, and the largest of m such bins exceeds y means
 *  with probability 1 − (1 − e^−y)^m. */
function zoneLnP(centre_hz: f64, half_hz: f64): f64 {
  zone_valid = false;
  zone_ratio = 1.0;
  zone_whole = false;
  // A band's squared envelope has a spectrum that ends at the band's width: under noise the
  // triangle W − f (the band's spectrum correlated with itself). Each bin is read over its share
  // of it, which leaves noise's bins of one mean, and a zone's floor ends short of W (ANALYSIS.md
  // §5, "Where the band's envelope ends").
  const support = env_band_hz / env_bin_hz;
  const last = min(env_last, <i32>support);
  const support_f32 = <f32>support;
  const centre = centre_hz / env_bin_hz;
  const half = Math.max(1.0, half_hz / env_bin_hz);
  const k_low = max(1, <i32>Math.ceil(centre - half));
  const k_high = <i32>Math.floor(centre + half);
  if (k_high < k_low || k_high + FLOOR_BINS >= last) return 0.0;
  let peak: f32 = 0.0;
  let open_bins = 0;
  for (let k = k_low; k <= k_high; k++) {
    if (binMasked(k)) continue;
    peak = max(peak, envelopePower(k) / (support_f32 - <f32>k));
    open_bins++;
  }
  if (open_bins == 0) return 0.0;
  // The floor: up to half its bins below the zone, the rest above.
  if (ASSERTS) assert(holds(scratch, 0, FLOOR_BINS) && k_high + FLOOR_BINS < last, "a zone's floor past its scratch or its spectrum");
  let count = 0;
  for (let k = max(1, k_low - FLOOR_BINS / 2); k < k_low; k++) {
    setF32(scratch, count, envelopePower(k) / (support_f32 - <f32>k));
    count++;
  }
  for (let k = k_high + 1; count < FLOOR_BINS; k++) {
    setF32(scratch, count, envelopePower(k) / (support_f32 - <f32>k));
    count++;
  }
  const median = scratchMedian(count);
  zone_valid = true;
  zone_whole = open_bins == k_high - k_low + 1;
  if (median <= 0.0) {
    zone_ratio = peak > 0.0 ? STRENGTH_FAILED : 1.0;
    return peak > 0.0 ? LOG10_P_MIN * LN_10 : 0.0;
  }
  zone_ratio = Math.sqrt(<f64>peak / median);
  // The floor is an estimate: a bin over a mean estimated from n independent bins exceeds y with
  // probability (1 + y/n)^−n (an F distribution), not e^−y. The median of exponential bins has
  // (ln 2)² the efficiency of their mean, and the Hann window makes neighbouring bins share
  // their power (1.5 bins per independent one), so n and the zone's m are counted accordingly.
  const zone_m = Math.max(1.0, <f64>open_bins / HANN_ENBW_BINS);
  let ln_single: f64;
  if (env_shape == 1) {
    const y = <f64>peak / (median / LN_2);
    const floor_n = <f64>count * LN_2 * LN_2 / HANN_ENBW_BINS;
    ln_single = -floor_n * Math.log(1.0 + y / floor_n);
  } else {
    ln_single = averagedLnTail(<f64>peak, median, count, env_shape);
  }
  const single = Math.exp(ln_single);
  // For a small single-bin probability q, 1 − (1 − q)^m is m q to within m q².
  const ln_p = single < 1e-8 ? Math.log(zone_m) + ln_single : Math.log(1.0 - Math.exp(zone_m * Math.log(1.0 - single)));
  return Math.max(LOG10_P_MIN * LN_10, Math.min(0.0, ln_p));
}

/** Terms of the averaged tail's sum at most (the largest shape envelope-stream.ts gives). */
export const AVERAGE_SHAPE_MAX: i32 = 32;

/** ln of the probability that a bin of an average worth `shape` independent spectra lies as far
 *  above its floor as `peak` over the median `median` of `count` bins beside it (ANALYSIS.md §5,
 *  "Averaged spectra"). Under noise such a bin is gamma of shape k about its mean μ; the floor's
 *  median over the gamma's median-to-mean ratio estimates μ, worth n = count k e(k) / 1.5
 *  exponential bins (e(k) the median's efficiency against the mean for gamma data, 1.5 bins per
 *  independent one under Hann). The bin over that estimate, y = peak / μ̂, is F(2k, 2n) under
 *  noise, whose tail for a whole k is (1 − u)^n Σ_{j<k} C(n + j − 1, j) u^j, u = (k y / n) /
 *  (1 + k y / n); for k = 1 it is (1 + y/n)^−n, the single spectrum's. */
export function averagedLnTail(peak: f64, median: f64, count: i32, shape_asked: i32): f64 {
  // The sums below run over the shape: bounded by AVERAGE_SHAPE_MAX, as every loop is.
  const shape = min(max(shape_asked, 1), AVERAGE_SHAPE_MAX);
  const k = <f64>shape;
  // The median of a gamma of shape k and mean k (Choi 1994: within 5e-5 of it at k = 2, closer above).
  const gamma_median = k - 1.0 / 3.0 + 8.0 / (405.0 * k) + 184.0 / (25515.0 * k * k) + 2248.0 / (3444525.0 * k * k * k);
  // The median's efficiency: its relative variance is 1 / (4 f(m)² m²) per sample against the
  // mean's 1 / k, f the gamma's density; ln(f(m) m) = k ln m − m − ln Γ(k), Γ(k) = (k − 1)!.
  let ln_gamma: f64 = 0.0;
  for (let j = 2; j < shape; j++) ln_gamma += Math.log(<f64>j);
  const ln_fm = k * Math.log(gamma_median) - gamma_median - ln_gamma;
  const efficiency = 4.0 * Math.exp(2.0 * ln_fm) / k;
  const y = peak / (median * k / gamma_median);
  const floor_n = <f64>count * k * efficiency / HANN_ENBW_BINS;
  const ky = k * y / floor_n;
  const u = ky / (1.0 + ky);
  let term: f64 = 1.0;
  let sum: f64 = 1.0;
  for (let j = 1; j < shape; j++) {
    term *= (floor_n + <f64>(j - 1)) / <f64>j * u;
    sum += term;
  }
  return -floor_n * Math.log(1.0 + ky) + Math.log(sum);
}

/** ln of Fisher's combination of `tests` independent probabilities whose logarithms sum to
 *  `sum_ln_p`: P(χ²(2n) > −2 Σ ln p) = e^−s Σ_{k<n} s^k / k!, s = −Σ ln p. */
function fisherLnP(sum_ln_p: f64, tests: i32): f64 {
  if (tests <= 0) return 0.0;
  const s = -sum_ln_p;
  let term: f64 = 1.0;
  let total: f64 = 1.0;
  for (let k = 1; k < tests; k++) {
    term *= s / <f64>k;
    total += term;
  }
  return Math.min(0.0, -s + Math.log(total));
}

/** Set by familySum: the ln p of a family's harmonics summed, how many of their zones lay in the
 *  spectrum, and the product of their amplitude ratios. */
let family_sum: f64 = 0.0;
let family_tests: i32 = 0;
let family_product: f64 = 1.0;

/** The first `harmonics` harmonics of `hz`, each sought within ±`tolerance` of itself, into
 *  family_sum, family_tests and family_product (Fisher's method combines them). A train of
 *  impacts (`impacts`) puts no more into a harmonic than into the lowest it shows: its squared
 *  envelope's lines follow the spectrum of one impact's decaying ring, which falls with
 *  frequency, and the impacts' jitter thins the higher ones further. So a harmonic counts no
 *  more (in probability and in amplitude) than the lowest harmonic read whole (no bin of its zone
 *  left out, so that its line could not hide there): a line above it is no part of the train. */
function familySum(hz: f64, harmonics: i32, tolerance: f64, impacts: bool = false): void {
  family_sum = 0.0;
  family_tests = 0;
  family_product = 1.0;
  let have_lowest = false;
  let lowest_ln_p: f64 = 0.0;
  let lowest_ratio: f64 = 0.0;
  for (let h = 1; h <= harmonics; h++) {
    const line_hz = hz * <f64>h;
    let ln_p = zoneLnP(line_hz, tolerance * line_hz);
    if (!zone_valid) continue;
    let ratio = zone_ratio;
    if (impacts) {
      if (have_lowest) {
        ln_p = Math.max(ln_p, lowest_ln_p);
        ratio = Math.min(ratio, lowest_ratio);
      } else if (zone_whole) {
        have_lowest = true;
        lowest_ln_p = ln_p;
        lowest_ratio = ratio;
      }
    }
    family_sum += ln_p;
    family_tests++;
    family_product *= Math.max(ratio, 1e-6);
  }
}

/** Set by defectLnP: the geometric mean of the harmonics' amplitude ratios, and that of the
 *  sidebands' when asked for. */
let defect_strength: f64 = 0.0;
let sideband_strength: f64 = 0.0;

/** ln of the combined false-finding probability of the defect at `hz`: its HARMONICS harmonics,
 *  each sought within ±(slip + speed uncertainty), and, for `sideband_hz` > 0, the first
 *  harmonic's sidebands at ± sideband_hz. */
function defectLnP(hz: f64, sideband_hz: f64): f64 {
  defect_strength = 0.0;
  sideband_strength = 0.0;
  if (hz <= 0.0) return 0.0;
  const tolerance = SLIP_MAX + read_tolerance;
  familySum(hz, HARMONICS, tolerance, true);
  let sum = family_sum;
  let tests = family_tests;
  if (tests > 0) defect_strength = Math.exp(Math.log(family_product) / <f64>tests);
  if (sideband_hz > 0.0) {
    let sidebands: f64 = 1.0;
    for (let side = -1; side <= 1; side += 2) {
      const ln_p = zoneLnP(hz + <f64>side * sideband_hz, tolerance * hz);
      if (!zone_valid) continue;
      sum += ln_p;
      tests++;
      sidebands *= Math.max(zone_ratio, 1e-6);
    }
    sideband_strength = Math.sqrt(sidebands);
  }
  return fisherLnP(sum, tests);
}

/** The shaft's first two harmonics' combined probability under noise below which the envelope
 *  spectrum is taken to show the running speed (shaftShows): the conventional 5 %, on the
 *  cautious side (a weak sign of the shaft keeps its bins out). */
const SHAFT_SHOWN_ALPHA: f64 = 0.05;
/** Running-speed harmonics whose lines tell whether the envelope carries the shaft's rate. */
const SHAFT_SHOWN_HARMONICS: i32 = 2;

/** Whether the envelope spectrum zoneLnP reads shows the running speed at `f` (ANALYSIS.md §5,
 *  "Bins that cannot tell"): its first two harmonics, each the largest bin within the speed's
 *  uncertainty of it against its floor, combined by Fisher's method, below SHAFT_SHOWN_ALPHA.
 *  The band's envelope carries the shaft's rate when the shaft modulates the band's energy (an
 *  inner race passing through the load zone once a turn, unbalance or eccentricity loading the
 *  bearing, looseness); then its lines fill the bins of every harmonic and a defect line
 *  there is no evidence. When neither its fundamental nor its second harmonic shows, a line at
 *  a whole order is not the shaft's, and a defect whose order, less the elements' slip, lies
 *  at a whole order (the SKF 6203's BPFO, 3.053 × the shaft) is tested there. Another defect's
 *  line is never taken for the shaft's (its zones stay masked); nor is the vane pass's, which
 *  stays masked whatever this finds. */
function shaftShows(f: f64): bool {
  mask_shaft_hz = 0.0;
  testing_defect = -1;
  familySum(f, SHAFT_SHOWN_HARMONICS, read_tolerance);
  // No open bin about either line: nothing says the shaft is absent, so its bins stay out.
  if (family_tests == 0) return true;
  return fisherLnP(family_sum, family_tests) < Math.log(SHAFT_SHOWN_ALPHA);
}

/** Whether the last defectsIn found the running speed in its spectrum (cageIn reads it). */
let shaft_shown: bool = true;

/** The running speed's and the vane pass's masks for shaft speed `f` (binMasked): the shaft's
 *  harmonics when the spectrum shows them, or when `always` (the inner race, whose impacts the
 *  shaft carries through the load zone: its envelope without the shaft's line is not an inner
 *  race's, and a line at a whole order there is impacts at the running speed's rate). */
function maskRunningSpeed(f: f64, always: bool = false): void {
  mask_shaft_hz = shaft_shown || always ? f : 0.0;
  mask_vane_hz = machine.vanes > 0 ? <f64>machine.vanes * f : 0.0;
  mask_tolerance = SLIP_MAX + read_tolerance;
}

function unmaskRunningSpeed(): void {
  mask_shaft_hz = 0.0;
  mask_vane_hz = 0.0;
}

/** Each defect's ln p and strength in the envelope spectrum zoneLnP reads (set by defectsIn). */
export let bpfo_ln_p: f64 = 0.0;
export let bpfi_ln_p: f64 = 0.0;
export let bsf_ln_p: f64 = 0.0;
export let bpfo_strength: f64 = 0.0;
export let bpfi_strength: f64 = 0.0;
export let bsf_strength: f64 = 0.0;
export let bpfi_sidebands: f64 = 0.0;

/** The relative uncertainty of the speed the families are read at: the speed's own, or, in the
 *  scan of ambiguousAcross, what is left of it between two speeds of the scan. */
let read_tolerance: f64 = 0.0;
/** Whether defectsAt reads the inner race's sidebands (not in the scan: ambiguousAcross). */
let read_sidebands: bool = true;

/** The step of the scan over an uncertain speed, relative: the elements' slip. The true speed
 *  lies within half a step of one of the speeds read. */
const SCAN_STEP: f64 = SLIP_MAX;
/** The steps the scan reads at most either side of the speed given: a configured speed's
 *  uncertainty (6.4 %) takes 4. A speed known no better than this (neither measured nor
 *  configured: the whole range) makes no finding anyway (diagnosis.ts). */
const SCAN_STEPS_MAX: i32 = 8;

/** Whether the last defectsIn's reading was ambiguous (ambiguousAcross). */
let reading_ambiguous: bool = false;

/** Every defect's evidence at shaft speed `f` in the envelope spectrum zoneLnP reads, each
 *  defect's harmonics sought within the slip and the speed's uncertainty. Where that uncertainty
 *  is larger than the slip (a configured speed no measurement confirmed: ±6.4 %), or `f` is
 *  `disputed` (the relative gap to a speed the window measured, envelope-stream.ts: the zones
 *  stay the speed's own), the spectrum is also read at speeds SCAN_STEP apart across the larger
 *  of the two (ambiguousAcross), and the reading is
 *  ambiguous, its race depending on where in the uncertainty the speed lies (ANALYSIS.md §5, "A
 *  speed no measurement confirmed"), when either
 *  - both races are significant at some speed and neither by more than the speeds read, or
 *  - the wide zones put one race first and the speeds read one at a time the other.
 *  Without a configured speed it is ambiguous too where the octave below reads the other race
 *  better (octaveBelowReadsBetter).
 *  An ambiguous reading names no defect (diagnosis.ts); the evidence is the wide zones'. */
export function defectsIn(f: f64, disputed: f64 = 0.0): void {
  reading_ambiguous = false;
  const uncertainty = Math.max(speed_tolerance, disputed);
  const steps = uncertainty > SLIP_MAX ? <i32>Math.ceil(uncertainty / SCAN_STEP) : 0;
  // A step must move a line the scan reads by a bin at least: the top harmonic read of the
  // lowest defect (each defect's family is read to its HARMONICS-th, and a step moves that one
  // HARMONICS times as far as its first). In coarser bins neighbouring speeds read the same bins
  // of every harmonic, and the scan could not tell one speed from another.
  const lowest_hz = Math.min(machine.bpfo_order, Math.min(machine.bpfi_order, 2.0 * machine.bsf_order)) * f;
  const scanned = steps > 0 && steps <= SCAN_STEPS_MAX && SCAN_STEP * HARMONICS * lowest_hz >= env_bin_hz;
  if (scanned) reading_ambiguous = ambiguousAcross(f, steps);
  read_tolerance = speed_tolerance;
  // Without a configured speed, the octave below is read first (octaveBelowReadsBetter), so
  // that the reading at `f` is the last and stands.
  const octave = !reading_ambiguous && machine.shaft_hz_nominal <= 0.0 && 0.5 * f >= machine.shaft_hz_min;
  let race_below = DEFECT_OUTER;
  let below_ln: f64 = 0.0;
  if (octave) {
    defectsAt(0.5 * f);
    race_below = bpfo_ln_p <= bpfi_ln_p ? DEFECT_OUTER : DEFECT_INNER;
    below_ln = Math.min(bpfo_ln_p, bpfi_ln_p);
  }
  defectsAt(f);
  if (scanned && !reading_ambiguous) {
    const wide = strongestDefect(bpfo_ln_p, bpfi_ln_p, bsf_ln_p);
    reading_ambiguous = wide != scan_strongest && wide != DEFECT_ELEMENT && scan_strongest != DEFECT_ELEMENT;
  }
  if (octave && !reading_ambiguous) reading_ambiguous = octaveBelowReadsBetter(race_below, below_ln);
}

/** Whether the octave below the speed read explains the lines better with the other race
 *  (`race_below`, its ln p `below_ln`) than the speed read does with the race it names (the
 *  reading defectsAt left). Without a configured speed the estimate's error is a whole factor,
 *  an octave above the shaft while a short acquisition cannot yet tell the shaft from its
 *  second harmonic (ANALYSIS.md §4), and a whole factor does not always keep the race: where
 *  twice BPFI lies within the slip of three times BPFO (a 6205: 10.83 and 10.755 times the
 *  shaft), an outer race read an octave high fills the inner race's zones. Only a race named
 *  (its probability below FINDING_ALPHA) is put in doubt, and only by a race below more
 *  significant than it by the two speeds read (Bonferroni): at the right speed the octave
 *  below often reads some race too, more weakly. */
function octaveBelowReadsBetter(race_below: i32, below_ln: f64): bool {
  const here = strongestDefect(bpfo_ln_p, bpfi_ln_p, bsf_ln_p);
  if (here == DEFECT_ELEMENT) return false;
  const here_ln = Math.min(bpfo_ln_p, bpfi_ln_p);
  return race_below != here && here_ln < Math.log(FINDING_ALPHA) && below_ln + LN_2 < here_ln;
}

/** DEFECT_OUTER, DEFECT_INNER or DEFECT_ELEMENT, whichever of the three ln p is the smallest
 *  (the first on a tie). */
function strongestDefect(outer: f64, inner: f64, element: f64): i32 {
  if (outer <= inner && outer <= element) return DEFECT_OUTER;
  return inner <= element ? DEFECT_INNER : DEFECT_ELEMENT;
}

/** The defect the last scan (ambiguousAcross) found the strongest. */
let scan_strongest: i32 = -1;

/** The spectrum read at speeds SCAN_STEP apart over ±`steps` steps about `f`, each with zones of
 *  the slip and half a step; each defect keeps its smallest probability over the speeds (and
 *  scan_strongest the defect of the smallest). Whether both races are significant (below
 *  FINDING_ALPHA times the speeds read: Bonferroni) and within the speeds read of each other
 *  (choosing the best of 2 steps + 1 speeds is worth no more than that factor). Why: a zone as
 *  wide as the whole uncertainty takes any line within ±8.4 % of a harmonic, another defect's or
 *  its sidebands'. BPFI + BPFO = n f_r, so BPFI lies (n (d/D) cos α less its nearest whole
 *  number) f_r from one of the outer race's shaft sidebands BPFO + k f_r, 0.17 f_r on a 6205
 *  (3.1 % of BPFI), and a speed a step off puts BPFI on BPFO + 2 f_r. The inner race's sidebands
 *  are not read here: they are the lines the races share. */
function ambiguousAcross(f: f64, steps: i32): bool {
  read_tolerance = 0.5 * SCAN_STEP;
  read_sidebands = false;
  let outer: f64 = 0.0;
  let inner: f64 = 0.0;
  let element: f64 = 0.0;
  for (let j = -steps; j <= steps; j++) {
    defectsAt(f * (1.0 + <f64>j * SCAN_STEP));
    outer = Math.min(outer, bpfo_ln_p);
    inner = Math.min(inner, bpfi_ln_p);
    element = Math.min(element, bsf_ln_p);
  }
  read_sidebands = true;
  const ln_speeds = Math.log(<f64>(2 * steps + 1));
  scan_strongest = strongestDefect(outer, inner, element);
  const stronger = Math.min(outer, inner);
  const weaker = Math.max(outer, inner);
  return weaker + ln_speeds < Math.log(FINDING_ALPHA) && weaker <= stronger + ln_speeds;
}

/** Every defect's evidence at shaft speed `f`, each sought within the slip and read_tolerance. */
function defectsAt(f: f64): void {
  unchecked(defect_hz[DEFECT_OUTER] = machine.bpfo_order * f);
  unchecked(defect_hz[DEFECT_INNER] = machine.bpfi_order * f);
  unchecked(defect_hz[DEFECT_ELEMENT] = 2.0 * machine.bsf_order * f);
  mask_vane_hz = 0.0;
  mask_tolerance = SLIP_MAX + read_tolerance;
  shaft_shown = shaftShows(f);
  maskRunningSpeed(f);
  testing_defect = DEFECT_OUTER;
  bpfo_ln_p = defectLnP(machine.bpfo_order * f, 0.0);
  bpfo_strength = defect_strength;
  testing_defect = DEFECT_ELEMENT;
  bsf_ln_p = defectLnP(2.0 * machine.bsf_order * f, 0.0);
  bsf_strength = defect_strength;
  testing_defect = DEFECT_INNER;
  maskRunningSpeed(f, true);
  bpfi_ln_p = defectLnP(machine.bpfi_order * f, read_sidebands ? f : 0.0);
  bpfi_strength = defect_strength;
  bpfi_sidebands = sideband_strength;
  testing_defect = -1;
  unmaskRunningSpeed();
}

/** Each defect's most significant evidence over several bands' spectra (bestTake after each
 *  band's defectsIn): its smallest ln p (the stronger on a tie), with its strength (and the inner
 *  race's sidebands), and the band that holds the smallest of all (−1 before any). */
export let best_bpfo_ln_p: f64 = 0.0;
export let best_bpfi_ln_p: f64 = 0.0;
export let best_bsf_ln_p: f64 = 0.0;
export let best_bpfo_strength: f64 = 0.0;
export let best_bpfi_strength: f64 = 0.0;
export let best_bsf_strength: f64 = 0.0;
export let best_bpfi_sidebands: f64 = 0.0;
export let best_band: i32 = -1;
/** Whether the last defectsIn read its spectrum ambiguously. */
export function readingAmbiguous(): bool {
  return reading_ambiguous;
}

/** Whether any band bestTake took was read ambiguously (defectsIn). */
export let best_ambiguous: bool = false;
let best_of_all: f64 = 1.0;

/** No band's evidence yet. */
export function bestReset(): void {
  best_bpfo_ln_p = 0.0;
  best_bpfi_ln_p = 0.0;
  best_bsf_ln_p = 0.0;
  best_bpfo_strength = 0.0;
  best_bpfi_strength = 0.0;
  best_bsf_strength = 0.0;
  best_bpfi_sidebands = 0.0;
  best_band = -1;
  best_of_all = 1.0;
  best_ambiguous = false;
}

/** Band `band`'s evidence, just found by defectsIn, into the best over the bands. */
export function bestTake(band: i32): void {
  if (bpfo_ln_p < best_bpfo_ln_p || (bpfo_ln_p == best_bpfo_ln_p && bpfo_strength > best_bpfo_strength)) {
    best_bpfo_ln_p = bpfo_ln_p;
    best_bpfo_strength = bpfo_strength;
  }
  if (bsf_ln_p < best_bsf_ln_p || (bsf_ln_p == best_bsf_ln_p && bsf_strength > best_bsf_strength)) {
    best_bsf_ln_p = bsf_ln_p;
    best_bsf_strength = bsf_strength;
  }
  if (bpfi_ln_p < best_bpfi_ln_p || (bpfi_ln_p == best_bpfi_ln_p && bpfi_strength > best_bpfi_strength)) {
    best_bpfi_ln_p = bpfi_ln_p;
    best_bpfi_strength = bpfi_strength;
    best_bpfi_sidebands = bpfi_sidebands;
  }
  best_ambiguous = best_ambiguous || reading_ambiguous;
  const strongest = Math.min(bpfo_ln_p, Math.min(bpfi_ln_p, bsf_ln_p));
  if (strongest < best_of_all) {
    best_of_all = strongest;
    best_band = band;
  }
}

/** The cage family's ln p and strength in the envelope spectrum zoneLnP reads (set by cageIn). */
export let ftf_ln_p: f64 = 0.0;
export let ftf_strength: f64 = 0.0;

/** The cage family's evidence at shaft speed `f`, after defectsIn on the same spectrum: the
 *  harmonics of the cage's rotation (FTF), at which the impacts of a defect the cage carries
 *  round, a rolling element's, swell and fade as it passes through the load zone (ANALYSIS.md
 *  §5). A race's defect does not turn with the cage. Every defect's zones and the running
 *  speed's lines are left out of the family's zones. */
export function cageIn(f: f64): void {
  read_tolerance = speed_tolerance;
  maskRunningSpeed(f);
  testing_defect = -1;
  ftf_ln_p = defectLnP(machine.ftf_order * f, 0.0);
  ftf_strength = defect_strength;
  unmaskRunningSpeed();
}

/** log10 of a probability after the Bonferroni correction for e^tests_ln tests, clipped. */
export function correctedLog10(ln_p: f64, tests_ln: f64): f64 {
  return Math.max(LOG10_P_MIN, Math.min(0.0, (ln_p + tests_ln) / LN_10));
}
