// The window's diagnosis (ANALYSIS.md §6): every finding by its own rule, so that a bearing
// defect and a process fault are both reported; the fault is the most severe of them, or
// "unknown" when the window is abnormal without a pattern; then severity and health index.

import { LINE_HALF_BINS, STRENGTH_FAILED, LN_10, FINDING_ALPHA } from "./constants";
import { speed_doubted } from "../speed";
import {
  machine, result, FINDINGS_MAX, FAULT_NONE, FAULT_IMBALANCE, FAULT_MISALIGNMENT, FAULT_OUTER_RACE,
  FAULT_INNER_RACE, FAULT_ROLLING_ELEMENT, FAULT_CAVITATION, FAULT_UNKNOWN,
} from "./machine";
import { window_samples } from "./buffers";
import { ASSERTS } from "../assert";

/** Evidence this improbable under noise, short of a finding, makes the window abnormal. */
const SUSPECT_ALPHA: f64 = 1e-2;
/** Amplitude ratio of a defect's lines over their floor for bearing severity 2 (3 at STRENGTH_FAILED). */
const STRENGTH_SEVERE: f64 = 6.0;
const KURTOSIS_ABNORMAL: f64 = 5.0;
const KURTOSIS_FAILED: f64 = 12.0;
const CREST_ABNORMAL: f64 = 7.0;
const MISALIGNMENT_2X_OVER_1X: f64 = 0.75;
const RUNNING_SPEED_SHARE: f64 = 0.5;
const FLATNESS_NOISE: f64 = 0.5;
/** Median over mean of exponential bins (a flat noise spectrum): ln 2. */
const FLATNESS_GAUSSIAN: f64 = 0.6931471805599453;

function clip01(x: f64): f64 {
  return Math.max(0.0, Math.min(1.0, x));
}

function addFinding(kind: i32, strength: f64, confidence: f64): void {
  const at = result.findings;
  if (at >= FINDINGS_MAX) return;
  if (ASSERTS) assert(at >= 0 && kind >= FAULT_NONE && kind <= FAULT_UNKNOWN, "a finding out of range");
  unchecked(result.finding_kind[at] = kind);
  unchecked(result.finding_strength[at] = strength);
  unchecked(result.finding_confidence[at] = clip01(confidence));
  result.findings = at + 1;
}

function severityOf(kind: i32, strength: f64): i32 {
  if (kind >= FAULT_OUTER_RACE && kind <= FAULT_ROLLING_ELEMENT) {
    const bearing_severity = strength >= STRENGTH_FAILED ? 3 : strength >= STRENGTH_SEVERE ? 2 : 1;
    return max(result.iso_zone, bearing_severity);
  }
  return result.iso_zone;
}

/** Every finding of the window, each by its own rule (ANALYSIS.md §6), so a bearing defect and a
 *  process fault are both reported; the fault is the most severe of them. `kurtosis` and
 *  `crest` come from the time-domain features. */
export function diagnose(kurtosis: f64, crest: f64): void {
  result.findings = 0;
  // Bearing: the most significant defect, when its corrected probability is below FINDING_ALPHA.
  let bearing_log10_p = result.bpfo_log10_p;
  let bearing_kind = FAULT_OUTER_RACE;
  let bearing_strength = result.bpfo_strength;
  if (result.bpfi_log10_p < bearing_log10_p) {
    bearing_log10_p = result.bpfi_log10_p;
    bearing_kind = FAULT_INNER_RACE;
    bearing_strength = result.bpfi_strength;
  }
  if (result.bsf_log10_p < bearing_log10_p) {
    bearing_log10_p = result.bsf_log10_p;
    bearing_kind = FAULT_ROLLING_ELEMENT;
    bearing_strength = result.bsf_strength;
  }
  const bearing_p = Math.exp(bearing_log10_p * LN_10);
  // A defect is sought where the speed puts it: a configured one, or one measured (its family
  // at z ≥ 3). Under noise the lines' probability is bearing_p wherever they are sought, so a
  // speed's error makes no false finding; an error by a whole factor (the estimate's octave
  // ambiguity) keeps the race, whose families are harmonics of the shaft (ANALYSIS.md §6). A
  // speed that was not measured makes the defect's lines no finding, only an abnormality.
  // A configured speed in doubt (its range shows no candidate, or only a bearing rate of the
  // clearest family outside it, which no speed in it explains: a wrong configuration, or a
  // stronger shaft beside it) is no place to read a defect at, even where the range's candidate
  // was measured: its lines make an abnormality, no finding (ANALYSIS.md §4).
  // So is a configured speed no measurement confirmed, where the defect named depends on where
  // in its uncertainty the speed lies (result.reading_ambiguous, ANALYSIS.md §5).
  const speed_known = (machine.shaft_hz_nominal > 0.0 || result.speed_measured) && !speed_doubted && !result.reading_ambiguous;
  if (bearing_p < FINDING_ALPHA && speed_known) addFinding(bearing_kind, bearing_strength, 1.0 - bearing_p);
  processFindings();
  // The fault: the most severe finding, the first listed (bearing) on a tie.
  let fault = FAULT_NONE;
  let strength: f64 = 0.0;
  let severity = result.iso_zone;
  let most = -1;
  for (let i = 0; i < result.findings; i++) {
    const kind = unchecked(result.finding_kind[i]);
    const s = severityOf(kind, unchecked(result.finding_strength[i]));
    if (s > most) {
      most = s;
      fault = kind;
      strength = unchecked(result.finding_strength[i]);
      severity = s;
    }
  }
  if (result.findings == 0 && (bearing_p < SUSPECT_ALPHA || kurtosis > KURTOSIS_ABNORMAL || crest > CREST_ABNORMAL || result.iso_zone >= 2)) {
    fault = FAULT_UNKNOWN;
    strength = bearing_strength;
  }
  result.fault = fault;
  result.strength = strength;
  result.severity = severity;
  result.health = healthIndex(fault, kurtosis);
}

/** ISO 20816-3's zone C (iso_zone 2): vibration unsatisfactory for long-term operation. */
const ZONE_C: i32 = 2;

/** Process faults, each on its own: cavitation, then misalignment or imbalance. The running
 *  speed's pattern is taken whatever the zone (result.running_pattern), but it is a finding only
 *  from zone C: in zones A and B the vibration is acceptable for unrestricted long-term
 *  operation, and a 1×-dominated spectrum there is a sound pump's residual unbalance. */
function processFindings(): void {
  if (result.hf_floor_m_s2 >= machine.cavitation_m_s2 && result.hf_flatness >= FLATNESS_NOISE) {
    addFinding(FAULT_CAVITATION, result.hf_floor_m_s2 / machine.cavitation_m_s2, result.hf_flatness / FLATNESS_GAUSSIAN);
  }
  result.running_pattern = FAULT_NONE;
  const line_energy = result.line_1x_mm_s * result.line_1x_mm_s + result.line_2x_mm_s * result.line_2x_mm_s
    + result.line_3x_mm_s * result.line_3x_mm_s;
  const velocity_energy = result.velocity_rms_mm_s * result.velocity_rms_mm_s;
  // The running-speed rules need 1x and 2x apart and clear of DC: the shaft's line at least
  // 2 × LINE_HALF_BINS + 1 bins up, in the bins the lines were read in (the window's own, fs
  // over its samples whatever the padding, or the speed stream's, finer).
  const lines_resolved = result.shaft_hz >= <f64>(2 * LINE_HALF_BINS + 1) * result.lines_bin_hz;
  if (velocity_energy <= 0.0 || !lines_resolved) return;
  const share_1x = result.line_1x_mm_s * result.line_1x_mm_s / velocity_energy;
  let share: f64 = 0.0;
  if (result.line_2x_mm_s >= MISALIGNMENT_2X_OVER_1X * result.line_1x_mm_s && line_energy >= RUNNING_SPEED_SHARE * velocity_energy) {
    result.running_pattern = FAULT_MISALIGNMENT;
    share = line_energy / velocity_energy;
  } else if (share_1x >= RUNNING_SPEED_SHARE) {
    result.running_pattern = FAULT_IMBALANCE;
    share = share_1x;
  }
  if (result.running_pattern != FAULT_NONE && result.iso_zone >= ZONE_C) addFinding(result.running_pattern, share, share);
}

/** Health index, 0 healthy … 1 failed: the largest of velocity over the C/D limit, the bearing's
 *  strength, the kurtosis and, for cavitation, the high band's floor, each clipped to 0…1. */
function healthIndex(fault: i32, kurtosis: f64): f64 {
  const bearing = Math.max(result.bpfo_strength, Math.max(result.bpfi_strength, result.bsf_strength));
  let health = clip01(result.velocity_rms_mm_s / machine.zone_cd_mm_s);
  health = Math.max(health, clip01((bearing - 1.0) / (STRENGTH_FAILED - 1.0)));
  health = Math.max(health, clip01((kurtosis - 3.0) / (KURTOSIS_FAILED - 3.0)));
  if (fault == FAULT_CAVITATION) health = Math.max(health, clip01(result.hf_floor_m_s2 / (2.0 * machine.cavitation_m_s2)));
  return health;
}
