// The time-domain features computed independently in TypeScript (float64), to hold the
// firmware's numbers to. Same definitions as firmware/features.ts: mean-removed RMS, peak as
// the largest excursion from the mean, kurtosis m4/m2², skewness m3/m2^1.5.

export interface TimeFeatures {
  mean: number;
  rms: number;
  peak: number;
  peakToPeak: number;
  crest: number;
  kurtosis: number;
  skewness: number;
}

export function timeFeatures(samples: ArrayLike<number>, scale = 1): TimeFeatures {
  const n = samples.length;
  let sum = 0;
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < n; i++) {
    sum += samples[i];
    low = Math.min(low, samples[i]);
    high = Math.max(high, samples[i]);
  }
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = samples[i] - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  const rms = Math.sqrt(m2);
  const peak = Math.max(high - mean, mean - low);
  return {
    mean: mean * scale,
    rms: rms * scale,
    peak: peak * scale,
    peakToPeak: (high - low) * scale,
    crest: m2 > 0 ? peak / rms : 0,
    kurtosis: m2 > 0 ? m4 / (m2 * m2) : 0,
    skewness: m2 > 0 ? m3 / (m2 * rms) : 0,
  };
}
