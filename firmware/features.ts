// Time-domain features of one window: mean-removed RMS, peak, peak-to-peak, crest factor,
// kurtosis and skewness, all from the window's one measuring pass (sensor-health.ts
// measureWindow, which the sensor's tests read too): the mean, the extremes, and the moments
// about the mean from sums of powers about the first sample, in f64 over f32 samples (the
// deviations of a window on a DC level need f64, and f32 sums of 4,096 fourth powers would put
// kurtosis off by up to 1e-4). No allocation.

import { measureWindow, windowMean, windowHigh, windowLow, windowMoment2, windowMoment3, windowMoment4 } from "./sensor-health";

export let feature_mean: f64 = 0.0;
export let feature_rms: f64 = 0.0;
export let feature_peak: f64 = 0.0;
export let feature_peak_to_peak: f64 = 0.0;
export let feature_crest: f64 = 0.0;
export let feature_kurtosis: f64 = 0.0;
export let feature_skewness: f64 = 0.0;

/** Computes the features of `count` f32 samples at `ptr`, scaled by `scale` (units → m/s²), and
 *  measures the window for sensorHealth. Crest factor, kurtosis and skewness are 0 for a
 *  constant signal. */
export function computeTimeFeatures(ptr: usize, count: i32, scale: f64): void {
  measureWindow(ptr, count);
  const mean = windowMean();
  const low = windowLow();
  const high = windowHigh();
  const m2 = windowMoment2();
  const m3 = windowMoment3();
  const m4 = windowMoment4();
  const rms = Math.sqrt(m2);
  const peak = Math.max(high - mean, mean - low);

  feature_mean = mean * scale;
  feature_rms = rms * scale;
  feature_peak = peak * scale;
  feature_peak_to_peak = (high - low) * scale;
  if (m2 > 0.0) {
    feature_crest = peak / rms;
    feature_kurtosis = m4 / (m2 * m2);
    feature_skewness = m3 / (m2 * rms);
  } else {
    feature_crest = 0.0;
    feature_kurtosis = 0.0;
    feature_skewness = 0.0;
  }
}
