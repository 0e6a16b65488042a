// Constants that more than one step of the analysis reads. ANALYSIS.md says where each comes
// from (§6, "Where the constants come from"); none was chosen by looking at a recording.

/** A line's energy is summed over ±LINE_HALF_BINS around it: Hann's main lobe. */
export const LINE_HALF_BINS: i32 = 2;
/** Hann's equivalent noise bandwidth in bins. */
export const HANN_ENBW_BINS: f64 = 1.5;
/** The analogue anti-alias filter of a vibration front end passes up to about 0.4 fs. */
export const PASSBAND_SHARE: f64 = 0.4;
/** The widest envelope band, as a share of the sample rate: it sizes the envelope buffers (fs/12:
 *  M = 1024 points for a 4096-sample window, which keeps the window within two pages). */
export const BAND_WIDTH_MAX_SHARE: f64 = 1.0 / 12.0;
/** Points of a band's envelope streamed over consecutive windows (envelope-stream.ts): the
 *  stream's length in time is these points at the stream's rate, which the defects' modulation
 *  sets, whatever the window's length (the buffers and the FFT's tables hold a spectrum of them). */
export const STREAM_POINTS: i32 = 1024;
/** Defect harmonics tested (ANALYSIS.md §5). */
export const HARMONICS: i32 = 3;
/** Rolling elements slip 1–2 % against the cage (Randall & Antoni 2011): the real defect
 *  frequencies lie up to this share below (or, with a speed error, above) the kinematic ones. */
export const SLIP_MAX: f64 = 0.02;
/** The bearing's defects, each tested as a harmonic family in the envelope spectrum. */
export const DEFECTS: i32 = 3;
export const DEFECT_OUTER: i32 = 0;
export const DEFECT_INNER: i32 = 1;
export const DEFECT_ELEMENT: i32 = 2;
/** A finding's false-finding probability per window under noise, after the Bonferroni
 *  correction for every band and defect tested: one window in a thousand of a sound machine. */
export const FINDING_ALPHA: f64 = 1e-3;
/** Amplitude ratio of a defect's lines over their floor for bearing severity 3 (failed). */
export const STRENGTH_FAILED: f64 = 12.0;
export const LN_2: f64 = 0.6931471805599453;
export const LN_10: f64 = 2.302585092994046;
/** The smallest log10 of a probability the analysis reports. */
export const LOG10_P_MIN: f64 = -300.0;

// The defects' indices are the slots of their frequencies (evidence.ts defect_hz).
if (DEFECT_OUTER < 0 || DEFECT_INNER < 0 || DEFECT_ELEMENT < 0) ERROR("a defect index is negative");
if (DEFECT_OUTER >= DEFECTS || DEFECT_INNER >= DEFECTS || DEFECT_ELEMENT >= DEFECTS) ERROR("a defect index is past DEFECTS");
if (DEFECT_OUTER == DEFECT_INNER || DEFECT_INNER == DEFECT_ELEMENT || DEFECT_OUTER == DEFECT_ELEMENT) ERROR("two defects share an index");

