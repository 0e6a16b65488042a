// The firmware's self-test (the self_test export and command): the feature path on a signal
// whose features are known. The update agent runs it before it confirms a new image.

import * as faults from "./faults";
import { computeTimeFeatures, feature_rms, feature_peak, feature_crest, feature_kurtosis, feature_skewness } from "./features";
import { STATUS_OK, STATUS_SELF_TEST_FAILED } from "./status";
import { ASSERTS, within } from "./assert";

const SELF_TEST_SAMPLES: i32 = 64;
const self_test_signal: usize = memory.data(SELF_TEST_SAMPLES << 2);

/** Checks the feature path on a signal with known features: a square wave of amplitude 2
 *  around 1 has RMS 2, peak 2, crest factor 1, kurtosis 1, skewness 0. */
export function selfTest(): i32 {
  if (isDefined(IMPELLER_FAULT)) {
    if (faults.selfTestFails()) return STATUS_SELF_TEST_FAILED;
  }
  // The signal's region holds SELF_TEST_SAMPLES f32: the loop's last write is its last four bytes.
  if (ASSERTS) assert(within(self_test_signal + (<usize>(SELF_TEST_SAMPLES - 1) << 2), 4, self_test_signal, <usize>SELF_TEST_SAMPLES << 2), "self-test signal past its region");
  for (let i = 0; i < SELF_TEST_SAMPLES; i++) {
    store<f32>(self_test_signal + (<usize>i << 2), (i & 1) == 0 ? 3.0 : -1.0);
  }
  computeTimeFeatures(self_test_signal, SELF_TEST_SAMPLES, 1.0);
  const good = Math.abs(feature_rms - 2.0) < 1e-12 && Math.abs(feature_peak - 2.0) < 1e-12 &&
    Math.abs(feature_crest - 1.0) < 1e-12 && Math.abs(feature_kurtosis - 1.0) < 1e-12 &&
    Math.abs(feature_skewness) < 1e-12;
  return good ? STATUS_OK : STATUS_SELF_TEST_FAILED;
}
