// The device's state between the host's calls: the inbox, the buffers the first configuration
// sizes (the window being filled, the last complete window, the outbox) and where the window
// stands; applying a configuration, with what the analysis derives from it (the bearing's
// defect orders, the ISO zone limits); and the boot count.

import * as config from "./config";
import * as analysis from "./analysis";
import { cosTurns } from "./fft";
import { host_storage_read, host_storage_write } from "./host";
import { warnThrottled, WARN_DISCONTINUITY, WARN_STALE_WINDOW } from "./text";
import { STATUS_OK, STATUS_STORAGE, STATUS_NEEDS_REBOOT } from "./status";
import { ASSERTS, holds } from "./assert";
import { Text, T } from "./names";

export const INBOX_BYTES: i32 = 2048;
const STORAGE_KEY_COUNTERS: i32 = 1;
const COUNTERS_BYTES: i32 = 4;
/** A batch whose timestamp is further than this from where the window expects it starts a new window. */
const CONTINUITY_SLACK_MS: f64 = 2.0;
/** A partial window older than this many window lengths is dropped by tick(). */
const STALE_WINDOWS: f64 = 2.0;

export const inbox: usize = memory.data(INBOX_BYTES);
const counters: usize = memory.data(COUNTERS_BYTES);

// The counters record (key 1) is the boot count, one u32.
if (COUNTERS_BYTES != <i32>sizeof<u32>()) ERROR("the counters record is one u32");

export let initialised: bool = false;
let window: StaticArray<f32> = new StaticArray<f32>(0);
let window_capacity: i32 = 0;
let window_fill: i32 = 0;
export let window_start_ms: i64 = 0;
export let outbox: StaticArray<u8> = new StaticArray<u8>(0);
/** The last complete window, kept for a raw waveform request. */
export let last_window: StaticArray<f32> = new StaticArray<f32>(0);
export let last_window_start_ms: i64 = 0;
export let last_window_valid: bool = false;
/** Whether the last window's sensor was sound (a failed one breaks the envelope's stream). */
let last_window_sound: bool = false;
export let boot_count: u32 = 0;

export function windowPtr(): usize { return changetype<usize>(window); }
export function outPtr(): usize { return changetype<usize>(outbox); }

/** The firmware has its configuration and buffers: the ABI's calls are open. */
export function markInitialised(): void {
  initialised = true;
}

// ---------------------------------------------------------------------------------------
// Configuration

/** Applies a staged configuration, allocating the buffers on the first call only. */
export function applyStaged(): i32 {
  const window_samples = config.stagedWindowSamples();
  const message_bytes = config.stagedMessageBytes();
  if (!initialised) {
    const status = analysis.analysisInit(window_samples);
    if (status < 0) return status;
    window = new StaticArray<f32>(window_samples);
    last_window = new StaticArray<f32>(window_samples);
    window_capacity = window_samples;
    outbox = new StaticArray<u8>(message_bytes);
    if (ASSERTS) assert(window.length == window_samples && last_window.length == window_samples, "window buffers not of the window's length");
  } else if (window_samples != window_capacity || message_bytes > outbox.length) {
    return STATUS_NEEDS_REBOOT; // buffers and tables are sized once per boot
  }
  config.commit();
  configureMachine();
  analysis.analysisConfigured();
  window_fill = 0;
  last_window_valid = false; // it was taken under the old configuration
  return STATUS_OK;
}

// ISO 10816-3 zone boundaries A/B, B/C, C/D in mm/s: [group 1 rigid, flexible, group 2 rigid, flexible].
const ZONE_LIMITS_MM_S: usize = memory.data<f64>([2.3, 4.5, 7.1, 3.5, 7.1, 11.0, 1.4, 2.8, 4.5, 2.3, 4.5, 7.1]);

/** Derives what the analysis needs from the configuration in force. */
function configureMachine(): void {
  const c = config.current;
  const m = analysis.machine;
  m.sample_rate_hz = c.sample_rate_hz;
  m.shaft_hz_nominal = c.shaft_rpm / 60.0;
  m.shaft_hz_min = c.rpm_min / 60.0;
  m.shaft_hz_max = c.rpm_max / 60.0;
  m.vanes = c.vanes;
  if (c.rolling_elements > 0.0) {
    // cosTurns, not Math.cos: the same value to an ulp for an angle below a quarter turn, and
    // without Math.cos's argument reduction for huge angles (~1.3 KB of the flashable image).
    const ratio = c.element_diameter_mm / c.pitch_diameter_mm * cosTurns(c.contact_angle_deg / 360.0);
    m.bpfo_order = c.rolling_elements / 2.0 * (1.0 - ratio);
    m.bpfi_order = c.rolling_elements / 2.0 * (1.0 + ratio);
    m.ftf_order = 0.5 * (1.0 - ratio);
    m.bsf_order = c.pitch_diameter_mm / (2.0 * c.element_diameter_mm) * (1.0 - ratio * ratio);
  } else {
    m.bpfo_order = 0.0;
    m.bpfi_order = 0.0;
    m.ftf_order = 0.0;
    m.bsf_order = 0.0;
  }
  m.band_low_hz = c.band_low_hz;
  m.band_high_hz = c.band_high_hz;
  // A configuration holds a group and a foundation (config.ts): one of the four rows.
  const row = ZONE_LIMITS_MM_S + <usize>((c.iso_group == config.ISO_GROUP_LARGE ? 0 : 2) + c.foundation) * 24;
  if (ASSERTS) assert(c.foundation == config.FOUNDATION_RIGID || c.foundation == config.FOUNDATION_FLEXIBLE, "a foundation past the zone limits");
  m.zone_ab_mm_s = load<f64>(row);
  m.zone_bc_mm_s = load<f64>(row, 8);
  m.zone_cd_mm_s = load<f64>(row, 16);
  m.cavitation_m_s2 = c.cavitation_m_s2;
}

/** Counts this boot in persistent storage. A missing record is a first boot. */
export function countBoot(): i32 {
  const read = host_storage_read(STORAGE_KEY_COUNTERS, counters, COUNTERS_BYTES);
  if (ASSERTS) assert(read <= COUNTERS_BYTES, "host read the counters record past its buffer");
  boot_count = read == COUNTERS_BYTES ? load<u32>(counters) + 1 : 1;
  store<u32>(counters, boot_count);
  return host_storage_write(STORAGE_KEY_COUNTERS, counters, COUNTERS_BYTES) == 0 ? STATUS_OK : STATUS_STORAGE;
}

// ---------------------------------------------------------------------------------------
// The window being filled

/** Where the host writes the next samples (0 before init). */
export function samplesAt(): usize {
  if (ASSERTS) assert(!initialised || (window_fill >= 0 && window_fill < window_capacity), "window fill out of its window");
  return initialised ? windowPtr() + (<usize>window_fill << 2) : 0;
}

/** How many samples fit at samplesAt() before the window is complete (0 before init). */
export function samplesRoom(): i32 {
  return initialised ? config.current.window_samples - window_fill : 0;
}

/** Takes `count` samples the host wrote at `batch` (samplesAt()), the first taken at
 *  `timestamp_ms`: a batch that does not follow the window without a gap starts it again.
 *  True when the window is complete (the next batch starts the next one). */
export function takeSamples(batch: usize, count: i32, timestamp_ms: i64): bool {
  if (window_fill == 0) {
    window_start_ms = timestamp_ms;
  } else {
    const expected_ms = <f64>window_start_ms + <f64>window_fill * 1000.0 / config.current.sample_rate_hz;
    if (Math.abs(<f64>timestamp_ms - expected_ms) > CONTINUITY_SLACK_MS) {
      warnThrottled(WARN_DISCONTINUITY, T.log_discontinuity);
      if (ASSERTS) assert(holds(window, 0, count), "restarted window past its buffer");
      memory.copy(windowPtr(), batch, <usize>count << 2);
      window_fill = 0;
      window_start_ms = timestamp_ms;
    }
  }
  window_fill += count;
  if (ASSERTS) assert(window_fill <= window_capacity, "samples past the window");
  if (window_fill < config.current.window_samples) return false;
  window_fill = 0;
  return true;
}

/** Drops a partial window whose samples stopped arriving before `now_ms`, so the next batch
 *  starts a clean one. */
export function dropStaleWindow(now_ms: i64): void {
  if (window_fill == 0) return;
  const window_ms = <f64>config.current.window_samples * 1000.0 / config.current.sample_rate_hz;
  if (<f64>(now_ms - window_start_ms) > STALE_WINDOWS * window_ms + CONTINUITY_SLACK_MS) {
    warnThrottled(WARN_STALE_WINDOW, T.log_stale_window);
    window_fill = 0;
  }
}

// ---------------------------------------------------------------------------------------
// The last complete window

/** Whether the complete window follows the last one without a gap and the last one was a
 *  measurement: the analysis then streams the bearing's envelope across them (ANALYSIS.md §5). */
export function followsLastWindow(): bool {
  const window_ms = <f64>config.current.window_samples * 1000.0 / config.current.sample_rate_hz;
  return last_window_valid && last_window_sound && Math.abs(<f64>(window_start_ms - last_window_start_ms) - window_ms) <= CONTINUITY_SLACK_MS;
}

/** Whether the last complete window was analysed (kept, and its sensor sound): its spectra are
 *  the analysis's last ones. */
export function lastWindowAnalysed(): bool {
  return last_window_valid && last_window_sound;
}

/** Keeps the complete window as the last one; `sound`: whether its sensor was. The two buffers
 *  trade places rather than copy (sample_buffer() is asked before every batch, ABI.md): the
 *  next window fills the one that held the last. */
export function keepLastWindow(sound: bool): void {
  if (ASSERTS) assert(last_window.length == window.length, "the last window's buffer is not the window's size");
  const kept = window;
  window = last_window;
  last_window = kept;
  last_window_start_ms = window_start_ms;
  last_window_valid = true;
  last_window_sound = sound;
}
