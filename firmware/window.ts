// What becomes of a complete window: its time features, the check of its sensor, the vibration
// analysis, the trend, advice and temperature it feeds, and its telemetry.

import * as config from "./config";
import * as trend from "./trend";
import * as advice from "./advice";
import * as sensors from "./sensors";
import * as analysis from "./analysis";
import * as persist from "./persist";
import { computeTimeFeatures, feature_rms, feature_kurtosis, feature_crest } from "./features";
import { sensorHealth, windowMean, SENSOR_OK } from "./sensor-health";
import { windowPtr, window_start_ms, last_window, followsLastWindow, keepLastWindow } from "./device";
import { publishAlarm, publishAdvice, reportStorage } from "./messages";
import { publishTelemetry, publishSensorFault } from "./telemetry";
import { STATUS_OK } from "./status";

export const STANDARD_GRAVITY_M_S2: f64 = 9.80665;

/** The window's place in its measurement: 0 for one that follows no window, one more for each
 *  that follows the one before, modulo the windows a measurement takes (a stream of windows
 *  without end is measurement after measurement). */
let acquisition_position: i32 = 0;

/** Analyses the complete window and publishes what it found; STATUS_OK or an error status. */
export function analyseWindow(): i32 {
  const scale = config.current.units == config.UNITS_G ? STANDARD_GRAVITY_M_S2 : 1.0;
  computeTimeFeatures(windowPtr(), config.current.window_samples, scale);
  const sensor = sensorHealth(windowPtr(), config.current.window_samples);
  // The window before, when this one follows it without a gap and was a measurement: the
  // analysis streams the bearing's envelope across consecutive windows (ANALYSIS.md §5).
  const follows = followsLastWindow();
  const analysed = sensor == SENSOR_OK
    ? analysis.analyse(windowPtr(), scale, windowMean(), feature_kurtosis, feature_crest, follows ? changetype<usize>(last_window) : 0) : STATUS_OK;
  keepLastWindow(sensor == SENSOR_OK);
  if (sensor != SENSOR_OK) return sensorFailed(sensor);
  if (analysed < 0) return analysed;
  const r = analysis.result;
  // One measurement is `windows` consecutive windows (the configuration's): the trend takes one
  // value a measurement, its last window's, whose analysis streamed across the others. Its
  // tests count measurements, independent of one another; the windows of one are not.
  const windows = config.current.acquisition_windows;
  acquisition_position = follows ? (acquisition_position + 1) % windows : 0;
  const trended = acquisition_position == windows - 1;
  if (trended) trend.update(<f64>window_start_ms / 1000.0, r.health, feature_rms, r.velocity_rms_mm_s, feature_kurtosis);
  const alarm_changed = trended && trend.level_changed;
  // A trend's alarm with no finding behind it (the vibration grew within zones A and B) takes
  // the running speed's pattern for its cause: a 1× that tripled calls for balancing.
  advice.update(r.fault == analysis.FAULT_NONE ? r.running_pattern : r.fault);
  sensors.update(window_start_ms);
  // Kept in RAM, written hourly; an alarm that changed is written at once, so no reboot can
  // take it back.
  reportStorage(persist.saveIfDue(window_start_ms, alarm_changed));
  if (alarm_changed) publishAlarm();
  if (advice.action_changed) publishAdvice(window_start_ms);
  return publishTelemetry();
}

/** A window from a failed sensor is no evidence of the machine's health: the trend, the alarm
 *  and the baseline do not take it; the advice counts it, so a pump in alarm whose sensor keeps
 *  failing is told to check the sensor. */
function sensorFailed(sensor: i32): i32 {
  advice.update(analysis.FAULT_SENSOR);
  sensors.update(window_start_ms);
  reportStorage(persist.saveIfDue(window_start_ms, false));
  if (advice.action_changed) publishAdvice(window_start_ms);
  return publishSensorFault(sensor);
}
