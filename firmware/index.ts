// impeller firmware, ABI v1: the exports a host calls, each checking its inputs and handing the
// work to the module that owns it. Every buffer is sized by the first init() from the
// configuration and never reallocated. firmware/ABI.md describes the contract;
// firmware/impeller_abi.h is its C form. Where the rest lives (README, "Layout"):
//
//   device.ts     the device's buffers and state, applying a configuration, the boot count
//   window.ts     a complete window: features, sensor check, analysis, trend, telemetry
//   commands.ts   commands and their replies; messages.ts events; telemetry.ts the window's pack
//   window-spectra.ts  the last window's spectra, copied out on request
//   analysis.ts   the vibration analysis, its steps in analysis/; speed.ts and speed-stream.ts
//                 the running speed
//   trend.ts      health across windows and the alarm; forecast.ts the remaining life
//   persist.ts    the running state's storage record, written hourly
//   assert.ts     assertions, compiled into the debug build only
//   debug/        the debug build's own exports, never in the flashable image

import "./panic"; // the abort handler (asconfig: --use abort=firmware/panic/panic)
import * as faults from "./faults";
import * as policy from "./policy";
import * as trend from "./trend";
import * as advice from "./advice";
import * as sensors from "./sensors";
import * as config from "./config";
import * as persist from "./persist";
import { ABI_VERSION, FIRMWARE_VERSION } from "./version";
import {
  inbox, INBOX_BYTES, initialised, markInitialised, applyStaged, countBoot, boot_count,
  samplesAt, samplesRoom, takeSamples, dropStaleWindow,
} from "./device";
import { analyseWindow } from "./window";
import { handleCommand } from "./commands";
import { publishBoot, publishPolicy, publishError, reportStorage } from "./messages";
import { selfTest } from "./self-test";
import { copySpectrum, spectrumBinHz } from "./window-spectra";
import { log, logNumber, warnThrottled, LOG_INFO, LOG_WARN, WARN_BAD_SAMPLES } from "./text";
import { STATUS_OK, STATUS_NOT_INITIALISED, STATUS_BAD_ARGUMENT, STATUS_BAD_SAMPLES, STATUS_NEEDS_REBOOT } from "./status";
import { Text, T } from "./names";

// ---------------------------------------------------------------------------------------
// Identity

export function abi_version(): i32 { return ABI_VERSION; }
export function fw_version(): i32 { return FIRMWARE_VERSION; }

// ---------------------------------------------------------------------------------------
// Configuration

export function inbox_buffer(): usize { return inbox; }
export function inbox_capacity(): i32 { return INBOX_BYTES; }

/** Starts the firmware with the CBOR configuration the host wrote at inbox_buffer(). */
export function init(len: i32): i32 {
  if (isDefined(IMPELLER_FAULT)) faults.atInit();
  if (initialised) return STATUS_NEEDS_REBOOT;
  if (len <= 0 || len > INBOX_BYTES) return STATUS_BAD_ARGUMENT;
  const staged = config.stage(inbox, len);
  if (staged != STATUS_OK) return staged;
  applyStaged();
  markInitialised();
  const counted = countBoot();
  if (counted != STATUS_OK) log(LOG_WARN, T.log_boot_counter);
  policy.restore();
  persist.restore(); // before the sections it holds
  trend.restore(config.current.baseline_windows);
  advice.restore();
  sensors.restore(config.current.baseline_windows);
  // Provisioning happens once; the owner map in later boots' configurations changes nothing.
  if (config.owner_present && !policy.provisioned) {
    if (!policy.provision(config.owner_token_ptr, config.owner_token_len, config.owner_waveform, config.owner_detail)) {
      log(LOG_WARN, T.log_policy_unstored);
    }
  }
  logNumber(LOG_INFO, T.log_started, <i64>boot_count);
  const booted = publishBoot(boot_count);
  // A device without an owner policy has nothing to report: everything may leave it.
  if (booted != STATUS_OK || !policy.provisioned) return booted;
  return publishPolicy();
}

// ---------------------------------------------------------------------------------------
// Samples

/** Where the host writes the next samples (f32, in the configured units). */
export function sample_buffer(): usize {
  return samplesAt();
}

/** How many samples fit at sample_buffer() before the window is complete. */
export function sample_capacity(): i32 {
  return samplesRoom();
}

/** Whether all `count` f32 at `ptr` are finite: x − x is 0 for a finite x and NaN for an
 *  infinity or a NaN, and a NaN stays in the sum: one branch a batch, not one a sample. Four
 *  samples a turn while four remain (the loop's own instructions would be half the work), then
 *  one. */
function allFinite(ptr: usize, count: i32): bool {
  let zero: f32 = 0.0;
  const end = ptr + (<usize>count << 2);
  const fours_end = ptr + (<usize>(count & ~3) << 2);
  let at = ptr;
  for (; at < fours_end; at += 16) {
    const a = load<f32>(at), b = load<f32>(at, 4), c = load<f32>(at, 8), d = load<f32>(at, 12);
    zero += (a - a) + (b - b) + (c - c) + (d - d);
  }
  for (; at < end; at += 4) {
    const x = load<f32>(at);
    zero += x - x;
  }
  return zero == 0.0;
}

/** Takes `count` samples the host wrote at sample_buffer(), the first taken at
 *  `timestamp_ms` (Unix milliseconds). Returns the number of messages published (0 or 1). */
export function process(count: i32, timestamp_ms: i64): i32 {
  if (!initialised) return STATUS_NOT_INITIALISED;
  if (count <= 0 || count > sample_capacity()) {
    if (warnThrottled(WARN_BAD_SAMPLES, T.log_batch_size)) publishError(STATUS_BAD_ARGUMENT, T.samples);
    return STATUS_BAD_ARGUMENT;
  }
  const batch = sample_buffer();
  if (!allFinite(batch, count)) {
    if (warnThrottled(WARN_BAD_SAMPLES, T.log_batch_non_finite)) publishError(STATUS_BAD_SAMPLES, T.samples);
    return STATUS_BAD_SAMPLES;
  }
  if (!takeSamples(batch, count, timestamp_ms)) return 0;
  if (isDefined(IMPELLER_FAULT)) faults.onWindow();
  const status = analyseWindow();
  return status == STATUS_OK ? 1 : status;
}

// ---------------------------------------------------------------------------------------
// Spectra

/** Copies spectrum `kind` of the last analysed window (0 its power spectrum, 1 the squared
 *  envelope's of the diagnosis's band) into the host's `capacity` f32 at `ptr`: the number of
 *  values written, or a negative status (window-spectra.ts). */
export function spectrum(kind: i32, ptr: usize, capacity: i32): i32 {
  if (!initialised) return STATUS_NOT_INITIALISED;
  return copySpectrum(kind, ptr, capacity);
}

/** The bin spacing (Hz) of the spectra spectrum() copies; 0 while it has none to give. */
export function spectrum_bin_hz(): f64 {
  return initialised ? spectrumBinHz() : 0.0;
}

// ---------------------------------------------------------------------------------------
// Commands

/** Handles the command the host wrote at inbox_buffer(). Every command with a readable id
 *  gets a reply; the return value is the command's own status. */
export function handle_message(len: i32): i32 {
  if (!initialised) return STATUS_NOT_INITIALISED;
  if (len <= 0 || len > INBOX_BYTES) return STATUS_BAD_ARGUMENT;
  return handleCommand(len);
}

// ---------------------------------------------------------------------------------------
// Housekeeping

/** Periodic call from the host with the current Unix time: drops a partial window whose
 *  samples stopped arriving, so the next batch starts a clean one, and writes the running
 *  state when its hour is up. */
export function tick(now_ms: i64): i32 {
  if (!initialised) return STATUS_NOT_INITIALISED;
  dropStaleWindow(now_ms);
  reportStorage(persist.saveIfDue(now_ms, false));
  return STATUS_OK;
}

/** Checks the feature path on a signal with known features (self-test.ts). */
export function self_test(): i32 {
  return selfTest();
}
