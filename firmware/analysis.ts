// The vibration analysis of one window, as firmware/ANALYSIS.md describes it: spectrum, ISO
// velocity severity, running-speed lines, envelope analysis at the bearing's defect
// frequencies, and a diagnosis with strength, severity and health index. This file is the
// analysis's face to the rest of the firmware; its steps live in analysis/, in the order
// analyse() runs them:
//
//   running-speed.ts    the shaft speed (measured by speed.ts) and its lines' velocities
//   spectra.ts          the window's FFT and Hann power spectrum, velocity RMS and ISO zone,
//                       the high band's floor
//   bands.ts            which bands to envelope: spectral kurtosis over a bank of bands
//   envelope.ts         a band's squared envelope and its spectrum
//   envelope-stream.ts  the envelope streamed across consecutive windows, for finer bins
//   window-average.ts   the envelope spectra of windows alone, averaged
//   evidence.ts         a defect's false-finding probability in an envelope spectrum
//   bearing.ts          the bearing's evidence over the bands and the stream
//   diagnosis.ts        findings, fault, severity and health index
//
// machine.ts holds what the analysis knows of the machine and what it found, buffers.ts the
// buffers the steps share and constants.ts the constants they share. Buffers are sized once by
// analysisInit(); analyse() allocates nothing and every loop has a fixed bound.

import { STATUS_OK, STATUS_BAD_ARGUMENT } from "./status";
import { speedInit } from "./speed-stream";
import { bandsInit } from "./analysis/bands";
import { bearingEvidence } from "./analysis/bearing";
import { diagnose } from "./analysis/diagnosis";
import { streamInit } from "./analysis/envelope-stream";
import { averageReset } from "./analysis/window-average";
import { measureSpeed, estimateSpeed, runningSpeedLines, streamVelocityTopHz, streamVelocityMs2 } from "./analysis/running-speed";
import { spectra, velocityAndZone, highFrequencyFloor } from "./analysis/spectra";
import { window_samples, fft_size, raw, windowInit, windowBegin } from "./analysis/buffers";

export {
  Machine, Result, machine, result,
  FAULT_NONE, FAULT_IMBALANCE, FAULT_MISALIGNMENT, FAULT_OUTER_RACE, FAULT_INNER_RACE,
  FAULT_ROLLING_ELEMENT, FAULT_CAVITATION, FAULT_UNKNOWN, FAULT_SENSOR,
} from "./analysis/machine";
import { ASSERTS, holds } from "./assert";

/** Sizes every buffer for windows of `samples` (once per boot). */
export function analysisInit(samples: i32): i32 {
  if (window_samples != 0) return samples == window_samples ? STATUS_OK : STATUS_BAD_ARGUMENT;
  const status = windowInit(samples);
  if (status < 0) return status;
  streamInit();
  bandsInit();
  speedInit(samples);
  return STATUS_OK;
}

/** A new configuration (its speed, bearing or rate): what the windows alone averaged was
 *  measured under the old one. (A stream ends by itself: the window after a new configuration
 *  follows none.) */
export function analysisConfigured(): void {
  averageReset();
}

/** A buffer of `floats` f32 (at most window_samples) that is free until analyse() runs: the raw
 *  FFT's, for a check that looks at the window before it is analysed (sensor-health.ts). */
export function scratchBeforeAnalysis(floats: i32): usize {
  if (ASSERTS) assert(floats <= window_samples && holds(raw, 0, floats), "scratch asked for more than the raw FFT's buffer");
  return changetype<usize>(raw);
}

/** Analyses the window at `samples_ptr` (window_samples f32 in the configured units, of mean
 *  `mean`; `scale` turns them into m/s²), `previous_ptr` the window before when this one
 *  follows it without a gap (else 0). `kurtosis` and `crest` come from the time-domain features. */
export function analyse(samples_ptr: usize, scale: f64, mean: f64, kurtosis: f64, crest: f64, previous_ptr: usize): i32 {
  if (window_samples == 0) return STATUS_BAD_ARGUMENT;
  windowBegin();
  measureSpeed(samples_ptr, previous_ptr, scale);
  const status = spectra(samples_ptr, scale, mean);
  if (status < 0) return status;
  velocityAndZone(streamVelocityTopHz(), streamVelocityMs2());
  estimateSpeed();
  runningSpeedLines();
  highFrequencyFloor();
  bearingEvidence(samples_ptr, previous_ptr, scale, kurtosis);
  diagnose(kurtosis, crest);
  return STATUS_OK;
}
