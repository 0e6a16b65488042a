// Exports of the debug build only (build/firmware.debug.wasm): firmware internals that the
// test harness calls with JS arrays through @assemblyscript/loader. Never in the flashable build.

import {
  computeTimeFeatures, feature_mean, feature_rms, feature_peak, feature_peak_to_peak,
  feature_crest, feature_kurtosis, feature_skewness,
} from "./features";
import { halfToF64 } from "./cbor";

/** [mean, rms, peak, peak_to_peak, crest, kurtosis, skewness] of `samples` times `scale`. */
export function debug_time_features(samples: Float32Array, scale: f64): Float64Array {
  computeTimeFeatures(samples.dataStart, samples.length, scale);
  const out = new Float64Array(7);
  out[0] = feature_mean;
  out[1] = feature_rms;
  out[2] = feature_peak;
  out[3] = feature_peak_to_peak;
  out[4] = feature_crest;
  out[5] = feature_kurtosis;
  out[6] = feature_skewness;
  return out;
}

export function debug_half_to_f64(half: u32): f64 {
  return halfToF64(half);
}
