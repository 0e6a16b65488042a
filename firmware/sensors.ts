// Readings besides vibration: the bearing-housing temperature. The host puts its latest
// reading in storage record 0x200 (read-only here: the host's sensor mailbox, ABI.md), and
// each window takes it when it is fresh. The temperature the pump ran at while its vibration
// baseline was learned is its own baseline (a section of the state record, persist.ts); the
// rise above it is what a bearing losing its lubrication or a pump running off its curve shows.

import { host_storage_read } from "./host";
import * as persist from "./persist";
import { ASSERTS } from "./assert";

const STORAGE_KEY_SENSORS: i32 = 0x200;
const SENSOR_BYTES: i32 = 16; // f64 °C, f64 Unix ms of the reading
const BASELINE_MAGIC: u32 = 0x504d4554; // "TEMP"
const BASELINE_BYTES: i32 = 16; // magic, count, sum (f64)
/** A reading older (or newer) than this, against the window's start, is not the window's. */
const READING_AGE_MAX_MS: f64 = 3_600_000.0;
const TEMPERATURE_MIN_C: f64 = -60.0;
const TEMPERATURE_MAX_C: f64 = 300.0;

const reading: usize = memory.data(SENSOR_BYTES);
const baseline_record: usize = persist.temperature_section;

// The mailbox (0x200) is two f64; the baseline section a magic, a count and an f64 sum.
if (SENSOR_BYTES != 16 || BASELINE_BYTES != 16 || BASELINE_BYTES != persist.TEMPERATURE_BYTES) ERROR("the temperature records are not 16 bytes each");

let baseline_windows: i32 = 36;
let baseline_count: i32 = 0;
let baseline_sum: f64 = 0.0;

/** This window's temperature, and its rise over the baseline, when there are. */
export let has_temperature: bool = false;
export let temperature_c: f64 = 0.0;
export let has_rise: bool = false;
export let rise_k: f64 = 0.0;

export function restore(windows: i32): void {
  baseline_windows = windows;
  baseline_count = 0;
  baseline_sum = 0.0;
  if (persist.readSection(persist.SECTION_TEMPERATURE) == BASELINE_BYTES && load<u32>(baseline_record) == BASELINE_MAGIC) {
    baseline_count = min(<i32>load<u32>(baseline_record, 4), baseline_windows);
    baseline_sum = load<f64>(baseline_record, 8);
  }
}

/** Forgets the temperature baseline (after maintenance, with the vibration baseline). */
export function reset(): void {
  baseline_count = 0;
  baseline_sum = 0.0;
  save();
}

function save(): void {
  if (ASSERTS) assert(baseline_count >= 0 && baseline_count <= baseline_windows, "temperature baseline record with a bad count");
  store<u32>(baseline_record, BASELINE_MAGIC);
  store<u32>(baseline_record, <u32>baseline_count, 4);
  store<f64>(baseline_record, baseline_sum, 8);
  persist.changed(persist.SECTION_TEMPERATURE, BASELINE_BYTES);
}

/** Takes the host's reading for the window that starts at `window_start_ms`, if it has one
 *  that is fresh and plausible; learns the baseline from the first windows with one. */
export function update(window_start_ms: i64): void {
  has_temperature = false;
  has_rise = false;
  if (host_storage_read(STORAGE_KEY_SENSORS, reading, SENSOR_BYTES) != SENSOR_BYTES) return;
  const celsius = load<f64>(reading);
  const at_ms = load<f64>(reading, 8);
  if (!isFinite(celsius) || celsius < TEMPERATURE_MIN_C || celsius > TEMPERATURE_MAX_C) return;
  if (!isFinite(at_ms) || Math.abs(at_ms - <f64>window_start_ms) > READING_AGE_MAX_MS) return;
  has_temperature = true;
  temperature_c = celsius;
  if (baseline_count < baseline_windows) {
    baseline_count += 1;
    baseline_sum += celsius;
    save();
  }
  if (baseline_count >= baseline_windows) {
    has_rise = true;
    rise_k = celsius - baseline_sum / <f64>baseline_count;
  }
}
