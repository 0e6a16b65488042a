// The running speed (ANALYSIS.md §4): measured from its harmonic family (speed.ts) over the
// decimated acquisition of consecutive windows, or over this window's own spectrum when it came
// alone; taken when it is clear and fine enough, else the configured speed stands. Then the
// velocity of the running-speed lines and of the vane pass.

import { speedCapture, SPEED_POINTS_MAX } from "../speed-stream";
import { speedFromStream, speedFromSpectrum, speedCheckRange, speedOuterRaceOrder, speed_hz, speed_z, speed_confidence, speed_bin_hz, speed_sum_hh, FAMILY_Z } from "../speed";
import { PASSBAND_SHARE, SLIP_MAX } from "./constants";
import { machine, result } from "./machine";
import { lineVelocity } from "./spectra";
import { window_samples, fft_size, bins, bin_hz, raw, power, baseband } from "./buffers";
import { ASSERTS, holds } from "../assert";

/** The harmonic family is summed up to this many times the top of the speed range. */
const SPEED_HARMONICS_SPAN: f64 = 10.0;
/** With a configured speed, the range sought around it: an induction motor runs below its
 *  synchronous speed by its slip (up to 6 %), and the speed a user configures may be either
 *  the synchronous one or the nameplate's, at full load's slip, which a lightly loaded motor
 *  runs above by as much: synchronous = rated / (1 − slip). */
const SPEED_LOW_SHARE: f64 = 0.94;
const SPEED_HIGH_SHARE: f64 = 1.0 / SPEED_LOW_SHARE;

/** Relative uncertainty of the speed the defect zones allow for besides slip. */
export let speed_tolerance: f64 = 0.0;
/** The speed the bearing's envelope stream runs at (0: none), whose family the next estimate
 *  weighs too (speed_reference_z). */
let stream_reference_hz: f64 = 0.0;

/** Sets the speed the next windows' estimates weigh as the stream's (0: no stream). */
export function setStreamReference(hz: f64): void {
  stream_reference_hz = hz;
}
/** The speed range sought this window, and the top of the harmonics read for it. */
let speed_low_hz: f64 = 0.0;
let speed_high_hz: f64 = 0.0;
let speed_top_hz: f64 = 0.0;

function speedRange(): void {
  speed_low_hz = machine.shaft_hz_min;
  speed_high_hz = machine.shaft_hz_max;
  const nominal = machine.shaft_hz_nominal;
  // With a configured speed, the machine's whole range is searched too where the configured
  // range shows no candidate: a clear family there that no speed in it explains, found twice
  // in a row, puts the configured speed in doubt (speed.ts, ANALYSIS.md §4).
  speedCheckRange(nominal > 0.0 ? speed_low_hz : 0.0, nominal > 0.0 ? speed_high_hz : 0.0);
  if (nominal > 0.0) {
    speed_low_hz = nominal * SPEED_LOW_SHARE;
    speed_high_hz = nominal * SPEED_HIGH_SHARE;
  }
  speed_top_hz = Math.min(PASSBAND_SHARE * machine.sample_rate_hz, SPEED_HARMONICS_SPAN * speed_high_hz);
}

/** Whether this window's speed comes from the decimated acquisition over it and the windows
 *  before; otherwise from its own spectrum. */
let speed_streamed: bool = false;

/** Shaft speed from its harmonic family, over the decimated acquisition of the windows so far
 *  (speed.ts, ANALYSIS.md §4). Runs before the window's own spectra: it borrows their buffers. */
export function measureSpeed(samples_ptr: usize, previous_ptr: usize): void {
  // The scratch speed-stream.ts and speed.ts write: a window of f32 and half of one and one
  // more for the decimation; the stream's points + 2 f32 (up to SPEED_POINTS_MAX), half of them
  // and one more, and as many again for the prominences.
  if (ASSERTS) assert(holds(raw, 0, max(fft_size, SPEED_POINTS_MAX) + 2) && holds(power, 0, max(bins, SPEED_POINTS_MAX / 2 + 1)) && holds(baseband, 0, max(bins, SPEED_POINTS_MAX / 2 + 1)) && fft_size >= window_samples && bins == (fft_size >> 1) + 1, "speed's scratch smaller than it writes");
  speedRange();
  speedOuterRaceOrder(machine.bpfo_order);
  speed_streamed = speedCapture(samples_ptr, previous_ptr, machine.sample_rate_hz, speed_top_hz, changetype<usize>(raw), changetype<usize>(power));
  if (speed_streamed) speedFromStream(speed_low_hz, speed_high_hz, speed_top_hz, machine.ftf_order, stream_reference_hz, changetype<usize>(raw), changetype<usize>(power), changetype<usize>(baseband));
}

/** The window's shaft speed: the measured one when its family is clear (z ≥ FAMILY_Z) and fine
 *  enough to improve on the configured speed; otherwise the configured one. */
export function estimateSpeed(): void {
  // A window alone: its own spectrum (`baseband` is free until the high band's floor).
  if (!speed_streamed) speedFromSpectrum(changetype<usize>(power), bins, bin_hz, fft_size != window_samples, speed_low_hz, speed_high_hz, speed_top_hz, machine.ftf_order, changetype<usize>(baseband));
  const nominal = machine.shaft_hz_nominal;
  // The stream places a speed to about one bin at its top harmonic: coarser than the configured
  // speed's own uncertainty (slip), the measurement does not replace it.
  const coarse = nominal > 0.0 && (speed_bin_hz <= 0.0 || speed_bin_hz / speed_top_hz > SLIP_MAX);
  result.speed_measured = speed_hz > 0.0 && speed_z >= FAMILY_Z && !coarse;
  // How sure the measured speed is; a speed that was not measured is not sure at all.
  result.speed_confidence = result.speed_measured ? speed_confidence : 0.0;
  if (result.speed_measured) {
    result.shaft_hz = speed_hz;
    // A line's frequency is good to about a tenth of a bin; the fit divides it by √Σh².
    speed_tolerance = speed_sum_hh > 0.0 ? 0.1 * speed_bin_hz / Math.sqrt(speed_sum_hh) / speed_hz : speed_bin_hz / speed_hz;
  } else {
    // Not measured, coarse or not: the shaft turns somewhere in the range sought.
    result.shaft_hz = nominal > 0.0 ? nominal : speed_hz > 0.0 ? speed_hz : 0.5 * (speed_low_hz + speed_high_hz);
    speed_tolerance = nominal > 0.0 ? SPEED_HIGH_SHARE - 1.0 : 1.0;
  }
}

/** Velocity of the 1×, 2×, 3× and vane-pass lines at the window's shaft speed. */
export function runningSpeedLines(): void {
  const f = result.shaft_hz;
  result.line_1x_mm_s = lineVelocity(f);
  result.line_2x_mm_s = lineVelocity(2.0 * f);
  result.line_3x_mm_s = lineVelocity(3.0 * f);
  result.line_vane_mm_s = machine.vanes > 0 ? lineVelocity(<f64>machine.vanes * f) : 0.0;
}
