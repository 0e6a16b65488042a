// Time-domain features of one window: mean-removed RMS, peak, peak-to-peak, crest factor,
// kurtosis and skewness. Two passes in f64 over f32 samples; no allocation.

export let feature_mean: f64 = 0.0;
export let feature_rms: f64 = 0.0;
export let feature_peak: f64 = 0.0;
export let feature_peak_to_peak: f64 = 0.0;
export let feature_crest: f64 = 0.0;
export let feature_kurtosis: f64 = 0.0;
export let feature_skewness: f64 = 0.0;

/** Computes the features of `count` f32 samples at `ptr`, scaled by `scale` (units → m/s²).
 *  Crest factor, kurtosis and skewness are 0 for a constant signal. */
export function computeTimeFeatures(ptr: usize, count: i32, scale: f64): void {
  let sum: f64 = 0.0;
  let low: f64 = Infinity;
  let high: f64 = -Infinity;
  for (let i = 0; i < count; i++) {
    const x = <f64>load<f32>(ptr + (<usize>i << 2));
    sum += x;
    if (x < low) low = x;
    if (x > high) high = x;
  }
  const mean = sum / <f64>count;
  let m2: f64 = 0.0;
  let m3: f64 = 0.0;
  let m4: f64 = 0.0;
  for (let i = 0; i < count; i++) {
    const d = <f64>load<f32>(ptr + (<usize>i << 2)) - mean;
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
