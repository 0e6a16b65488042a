// What the analysis knows of the machine (from the configuration) and what it found in the last
// window: the two objects every step reads or fills, and the diagnoses it can make.

/** Findings a window can hold at once (a bearing defect and process faults). */
export const FINDINGS_MAX: i32 = 4;

export const FAULT_NONE: i32 = 0;
export const FAULT_IMBALANCE: i32 = 1;
export const FAULT_MISALIGNMENT: i32 = 2;
export const FAULT_OUTER_RACE: i32 = 3;
export const FAULT_INNER_RACE: i32 = 4;
export const FAULT_ROLLING_ELEMENT: i32 = 5;
export const FAULT_CAVITATION: i32 = 6;
export const FAULT_UNKNOWN: i32 = 7;
/** The window is no measurement (firmware/sensor-health.ts): no machine diagnosis is drawn from it. */
export const FAULT_SENSOR: i32 = 8;

// diagnosis.ts finds at most one bearing defect, cavitation, and misalignment or imbalance.
if (FINDINGS_MAX < 3) ERROR("a window's findings do not fit");
if (FAULT_UNKNOWN + 1 != FAULT_SENSOR) ERROR("the sensor fault must follow the machine's diagnoses");

/** What the analysis needs to know of the machine (from the configuration). */
export class Machine {
  sample_rate_hz: f64 = 0.0;
  shaft_hz_nominal: f64 = 0.0; // 0: unknown
  shaft_hz_min: f64 = 10.0;
  shaft_hz_max: f64 = 60.0;
  vanes: i32 = 0;
  bpfo_order: f64 = 0.0; // 0: no bearing geometry
  bpfi_order: f64 = 0.0;
  bsf_order: f64 = 0.0;
  ftf_order: f64 = 0.0;
  band_low_hz: f64 = 0.0; // 0, 0: choose the band
  band_high_hz: f64 = 0.0;
  zone_ab_mm_s: f64 = 1.4;
  zone_bc_mm_s: f64 = 2.8;
  zone_cd_mm_s: f64 = 4.5;
  cavitation_m_s2: f64 = 2.0;
}

/** The results of the last analyse(). */
export class Result {
  velocity_rms_mm_s: f64 = 0.0;
  iso_zone: i32 = 0;
  shaft_hz: f64 = 0.0;
  speed_measured: bool = false;
  line_1x_mm_s: f64 = 0.0;
  /** The bins the running-speed lines were read in (Hz): the window's own (fs over its samples)
   *  or the speed stream's, finer (running-speed.ts). */
  lines_bin_hz: f64 = 0.0;
  line_2x_mm_s: f64 = 0.0;
  line_3x_mm_s: f64 = 0.0;
  line_vane_mm_s: f64 = 0.0;
  bpfo_strength: f64 = 0.0;
  bpfi_strength: f64 = 0.0;
  bsf_strength: f64 = 0.0;
  bpfi_sideband: f64 = 0.0;
  /** Each defect's evidence as log10 of its false-finding probability under noise, after the
   *  Bonferroni correction (0 when there is none; −3 is one chance in a thousand). */
  bpfo_log10_p: f64 = 0.0;
  bpfi_log10_p: f64 = 0.0;
  bsf_log10_p: f64 = 0.0;
  /** Whether the defect the evidence names depends on where in its uncertainty a configured
   *  speed that no measurement confirmed lies (evidence.ts, defectsIn): its lines then make an
   *  abnormality, no finding. */
  reading_ambiguous: bool = false;
  /** How sure the speed is: 1 − the probability that noise alone makes its harmonic family. */
  speed_confidence: f64 = 0.0;
  /** Seconds of envelope the bearing evidence was taken over when streamed across consecutive
   *  windows (0: this window alone). */
  stream_s: f64 = 0.0;
  band_low_hz: f64 = 0.0;
  band_high_hz: f64 = 0.0;
  hf_floor_m_s2: f64 = 0.0;
  hf_flatness: f64 = 0.0;
  fault: i32 = FAULT_NONE;
  /** The running speed's pattern (FAULT_IMBALANCE, FAULT_MISALIGNMENT or FAULT_NONE) whatever
   *  the zone: below zone C it is no finding, but a trend's alarm takes it for its cause. */
  running_pattern: i32 = FAULT_NONE;
  strength: f64 = 0.0;
  severity: i32 = 0;
  health: f64 = 0.0;
  /** Every finding of the window (the fault above is the most severe of them): kind (FAULT_*),
   *  strength and confidence (1 − its false-finding probability). */
  findings: i32 = 0;
  finding_kind: StaticArray<i32> = new StaticArray<i32>(FINDINGS_MAX);
  finding_strength: StaticArray<f64> = new StaticArray<f64>(FINDINGS_MAX);
  finding_confidence: StaticArray<f64> = new StaticArray<f64>(FINDINGS_MAX);
}

export const machine = new Machine();
export const result = new Result();
