// Time-domain features of one window: mean-removed RMS, peak, peak-to-peak, crest factor,
// kurtosis and skewness. The mean and the extremes come from the window's one measuring pass
// (sensor-health.ts measureWindow, which the sensor's tests read too); the moments about the
// mean take a second pass, in f64 over f32 samples (the deviations of a window on a DC level
// need f64, and f32 sums of 4,096 fourth powers would put kurtosis off by up to 1e-4). No
// allocation.

import { measureWindow, windowMean, windowHigh, windowLow } from "./sensor-health";

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
  let m2: f64 = 0.0;
  let m3: f64 = 0.0;
  let m4: f64 = 0.0;
  const end = ptr + (<usize>count << 2);
  for (let at = ptr; at < end; at += 4) {
    const d = <f64>load<f32>(at) - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= <f64>count;
  m3 /= <f64>count;
  m4 /= <f64>count;
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
