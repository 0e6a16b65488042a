// The running speed (ANALYSIS.md §4): measured from its harmonic family (speed.ts) over the
// decimated acquisition of consecutive windows, or over this window's own spectrum when it came
// alone; taken when it is clear and fine enough, else the configured speed stands. Then the
// velocity of the running-speed lines and of the vane pass.

import { speedCapture, streamStep, stream_rate_hz as speed_stream_rate_hz, SPEED_POINTS_MAX, KNOCK_SCRATCH_BYTES } from "../speed-stream";
import { speedFromStream, speedFromSpectrum, speedCheckRange, speedOuterRaceOrder, speed_hz, speed_z, speed_confidence, speed_bin_hz, speed_sum_hh, stream_spectrum_points, FAMILY_Z } from "../speed";
import { PASSBAND_SHARE, SLIP_MAX, LINE_HALF_BINS, HANN_ENBW_BINS } from "./constants";
import { machine, result } from "./machine";
import { lineVelocity, bandVelocityMs2, VELOCITY_LOW_HZ, VELOCITY_HIGH_HZ } from "./spectra";
import { window_samples, fft_size, bins, bin_hz, raw, power, baseband } from "./buffers";
import { ASSERTS, holds } from "../assert";

/** The harmonic family is summed up to this many times the top of the speed range. */
const SPEED_HARMONICS_SPAN: f64 = 10.0;
/** With a configured speed, the range sought around it: an induction motor runs below its
 *  synchronous speed by its slip (up to 6 %), and the speed a user configures may be either
 *  the synchronous one or the nameplate's, at full load's slip, which a lightly loaded motor
 *  runs above by as much: synchronous = rated / (1 − slip). */
const SPEED_LOW_SHARE: f64 = 0.94;
export const SPEED_HIGH_SHARE: f64 = 1.0 / SPEED_LOW_SHARE;

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

// The decimation's scratch, `raw` and `power` below, hold at least SPEED_POINTS_MAX / 2 + 1 f32:
// room for the knocks' excision too.
if ((SPEED_POINTS_MAX / 2 + 1) * 4 < KNOCK_SCRATCH_BYTES) ERROR("the speed stream's scratch is smaller than its knock excision takes");

/** Shaft speed from its harmonic family, over the decimated acquisition of the windows so far
 *  (speed.ts, ANALYSIS.md §4). Runs before the window's own spectra: it borrows their buffers. */
export function measureSpeed(samples_ptr: usize, previous_ptr: usize, scale: f64): void {
  // The scratch speed-stream.ts and speed.ts write: a window of f32 and half of one and one
  // more for the decimation; the stream's points + 2 f32 (up to SPEED_POINTS_MAX), half of them
  // and one more, and as many again for the prominences.
  if (ASSERTS) assert(holds(raw, 0, max(fft_size, SPEED_POINTS_MAX) + 2) && holds(power, 0, max(bins, SPEED_POINTS_MAX / 2 + 1)) && holds(baseband, 0, max(bins, SPEED_POINTS_MAX / 2 + 1)) && fft_size >= window_samples && bins == (fft_size >> 1) + 1, "speed's scratch smaller than it writes");
  speedRange();
  speedOuterRaceOrder(machine.bpfo_order);
  speed_streamed = speedCapture(samples_ptr, previous_ptr, machine.sample_rate_hz, speed_top_hz, speed_high_hz, changetype<usize>(raw), changetype<usize>(power));
  if (!speed_streamed) {
    stream_lines_hz = 0.0;
    moved_count = 0;
    speed_moved = 0.0;
    return;
  }
  speedFromStream(speed_low_hz, speed_high_hz, speed_top_hz, machine.ftf_order, stream_reference_hz, changetype<usize>(raw), changetype<usize>(power), changetype<usize>(baseband));
  // The stream's spectrum is in `power` until the window's own spectra take it back.
  if (stream_spectrum_points > 0) {
    streamLines(scale);
    estimateTaken(stream_spectrum_points);
  }
}

/** A speed that moves within the speed stream's span (a drive that does not hold it, a load
 *  that comes and goes) is measured as its mean over the span, 2.7 s: behind the newest points,
 *  which the bearing's envelope is read over, by up to the whole of its movement. Speed
 *  wandering ± 2 % over 4 s put the outer race's lines 3 % off, where they were read as the
 *  inner race's (bench/speed-wander.bench.ts). The estimate is taken again each time a quarter
 *  of the stream is new, so the last MOVED_ESTIMATES of them span the stream: how far apart they
 *  lie is how far the speed moved, and the speed of the newest points may lie anywhere in that
 *  (speed_tolerance takes it; where it is wider than the slip, the defects are read across it,
 *  and a race that depends on where in it the speed lies is named no more: §5, "A speed no
 *  measurement confirmed"). A steady shaft's estimates lie within a few hundredths of a percent
 *  of each other. */
const MOVED_ESTIMATES: i32 = 4;
const moved_hz = new StaticArray<f64>(MOVED_ESTIMATES);
let moved_count: i32 = 0;
let moved_next: i32 = 0;
/** The relative spread of the last estimates (0: fewer than two). */
let speed_moved: f64 = 0.0;

/** The stream's estimate just taken over `points` points: into the last estimates when the
 *  speed was measured over the full stream, and they start again when it was not, or over fewer
 *  points (the stream began again, or is still growing). */
function estimateTaken(points: i32): void {
  // Estimates over fewer points than the full stream's (a stream still growing) are coarser
  // (1,024 points: bins of 5 % of a 30 Hz shaft) and differ by their bins: only the full
  // stream's are compared.
  const full = speedTaken() && points == SPEED_POINTS_MAX;
  if (!full) moved_count = 0;
  // An estimate further from the last than a motor's slip (6 %) is another family's (the
  // estimate's mistake, or its correction), not a speed that moved: the estimates start again.
  if (moved_count > 0 && Math.abs(speed_hz / unchecked(moved_hz[(moved_next - 1 + MOVED_ESTIMATES) % MOVED_ESTIMATES]) - 1.0) > SPEED_HIGH_SHARE - 1.0) moved_count = 0;
  if (full) {
    unchecked(moved_hz[moved_next] = speed_hz);
    moved_next = (moved_next + 1) % MOVED_ESTIMATES;
    moved_count = min(moved_count + 1, MOVED_ESTIMATES);
  }
  speed_moved = 0.0;
  if (moved_count < 2) return;
  let low = Infinity;
  let high: f64 = 0.0;
  let sum: f64 = 0.0;
  for (let k = 0; k < moved_count; k++) {
    const hz = unchecked(moved_hz[(moved_next - 1 - k + MOVED_ESTIMATES) % MOVED_ESTIMATES]);
    low = Math.min(low, hz);
    high = Math.max(high, hz);
    sum += hz;
  }
  speed_moved = (high - low) / (sum / <f64>moved_count);
}

/** The running-speed lines read off the speed stream's spectrum (ANALYSIS.md §6, "Lines finer
 *  than the window"), at the shaft speed they were read for (0: none), the stream's bins, and
 *  each line's velocity (mm/s; −1 where the line lies past the stream's passband). They stand
 *  while the speed's estimate does (speed.ts takes the stream's spectrum again once a quarter of
 *  its points are new). */
let stream_lines_hz: f64 = 0.0;
let stream_lines_bin_hz: f64 = 0.0;
let stream_line_1x_mm_s: f64 = 0.0;
let stream_line_2x_mm_s: f64 = 0.0;
let stream_line_3x_mm_s: f64 = 0.0;
let stream_line_vane_mm_s: f64 = 0.0;
/** The velocity's mean square (m/s)² in the stream's spectrum from VELOCITY_LOW_HZ up to its
 *  passband's top (stream_velocity_top_hz, 0: none). */
let stream_velocity_ms2: f64 = 0.0;
let stream_velocity_top_hz: f64 = 0.0;

/** The lines at the shaft speed this window will take, from the stream's spectrum in `power`
 *  (stream_spectrum_points points of the decimated stream, Hann-windowed, unscaled powers of
 *  its i16 values; `scale` turns the samples' units into m/s²). */
function streamLines(scale: f64): void {
  const points = stream_spectrum_points;
  const f = shaftHzTaken();
  stream_lines_hz = f;
  stream_lines_bin_hz = speed_stream_rate_hz / <f64>points;
  // Power per bin as the window's (spectra.ts): amplitude 2|X|/Σw, Σw = N/2, power A²/2 over
  // Hann's noise bandwidth; the stream's values are i16 of its step, in the samples' units.
  const amplitude_scale = 4.0 / <f64>points * streamStep() * scale;
  const power_scale = amplitude_scale * amplitude_scale * 0.5 / HANN_ENBW_BINS;
  const top_hz = PASSBAND_SHARE * speed_stream_rate_hz;
  stream_line_1x_mm_s = streamLineVelocity(f, points, power_scale, top_hz);
  stream_line_2x_mm_s = streamLineVelocity(2.0 * f, points, power_scale, top_hz);
  stream_line_3x_mm_s = streamLineVelocity(3.0 * f, points, power_scale, top_hz);
  stream_line_vane_mm_s = machine.vanes > 0 ? streamLineVelocity(<f64>machine.vanes * f, points, power_scale, top_hz) : 0.0;
  // The velocity below the passband's top (and the ISO band's): Σ power / ω².
  stream_velocity_top_hz = Math.min(top_hz, VELOCITY_HIGH_HZ);
  const k_top = min(points >> 1, <i32>Math.floor(stream_velocity_top_hz / stream_lines_bin_hz));
  if (ASSERTS) assert(holds(power, 0, k_top + 1), "the stream's velocity past its spectrum");
  const k_low = max(1, <i32>Math.ceil(VELOCITY_LOW_HZ / stream_lines_bin_hz));
  stream_velocity_ms2 = bandVelocityMs2(changetype<usize>(power), stream_lines_bin_hz, k_low, k_top, power_scale);
  stream_velocity_top_hz = <f64>k_top * stream_lines_bin_hz;
}

/** Whether the window reads its low frequencies off the speed stream's spectrum: it was taken
 *  over this window and those before (the estimate may stand on one a few windows old), and
 *  its bins are finer than the window's own (fs over its samples). */
function streamFiner(): bool {
  return speed_streamed && stream_lines_hz > 0.0 && stream_lines_bin_hz < machine.sample_rate_hz / <f64>window_samples;
}

/** The velocity's mean square (m/s)² the speed stream's spectrum holds from VELOCITY_LOW_HZ to
 *  streamVelocityTopHz(), for velocityAndZone (0 with no finer stream). */
export function streamVelocityMs2(): f64 {
  return streamFiner() ? stream_velocity_ms2 : 0.0;
}
/** The top of what streamVelocityMs2() covers (Hz; 0: nothing, the window's spectrum covers all). */
export function streamVelocityTopHz(): f64 {
  return streamFiner() ? stream_velocity_top_hz : 0.0;
}

/** Velocity RMS (mm/s) of the line at `hz` in the stream's spectrum in `power`: the energy of
 *  ±LINE_HALF_BINS around it, as lineVelocity reads the window's; −1 past `top_hz`. */
function streamLineVelocity(hz: f64, points: i32, power_scale: f64, top_hz: f64): f64 {
  const centre = <i32>Math.round(hz / stream_lines_bin_hz);
  if (hz <= 0.0 || centre < 1 || hz + <f64>LINE_HALF_BINS * stream_lines_bin_hz > top_hz) return -1.0;
  if (ASSERTS) assert(holds(power, 0, (points >> 1) + 1) && centre + LINE_HALF_BINS <= (points >> 1), "a line past the stream's spectrum");
  return Math.sqrt(bandVelocityMs2(changetype<usize>(power), stream_lines_bin_hz, max(1, centre - LINE_HALF_BINS), centre + LINE_HALF_BINS, power_scale)) * 1000.0;
}

/** The window's shaft speed: the measured one when its family is clear (z ≥ FAMILY_Z) and fine
 *  enough to improve on the configured speed; otherwise the configured one. */
export function estimateSpeed(): void {
  // A window alone: its own spectrum (`baseband` is free until the high band's floor).
  if (!speed_streamed) speedFromSpectrum(changetype<usize>(power), bins, bin_hz, fft_size != window_samples, speed_low_hz, speed_high_hz, speed_top_hz, machine.ftf_order, changetype<usize>(baseband));
  const nominal = machine.shaft_hz_nominal;
  result.speed_measured = speedTaken();
  // How sure the measured speed is; a speed that was not measured is not sure at all.
  result.speed_confidence = result.speed_measured ? speed_confidence : 0.0;
  result.shaft_hz = shaftHzTaken();
  if (result.speed_measured) {
    // A line's frequency is good to about a tenth of a bin; the fit divides it by √Σh².
    speed_tolerance = speed_sum_hh > 0.0 ? 0.1 * speed_bin_hz / Math.sqrt(speed_sum_hh) / speed_hz : speed_bin_hz / speed_hz;
    if (speed_streamed && speed_moved > SLIP_MAX) speed_tolerance = Math.max(speed_tolerance, speed_moved);
  } else {
    speed_tolerance = nominal > 0.0 ? SPEED_HIGH_SHARE - 1.0 : 1.0;
  }
}

/** Whether the estimate is taken: its family clear (z ≥ FAMILY_Z) and fine enough. The stream
 *  places a speed to about one bin at its top harmonic: coarser than the configured speed's own
 *  uncertainty (slip), the measurement does not replace it. */
function speedTaken(): bool {
  const nominal = machine.shaft_hz_nominal;
  const coarse = nominal > 0.0 && (speed_bin_hz <= 0.0 || speed_bin_hz / speed_top_hz > SLIP_MAX);
  return speed_hz > 0.0 && speed_z >= FAMILY_Z && !coarse;
}

/** The shaft speed the window takes: the measured one when taken; otherwise the configured one,
 *  or, without one, the estimate's or the middle of the range (the shaft turns somewhere in it). */
function shaftHzTaken(): f64 {
  if (speedTaken()) return speed_hz;
  const nominal = machine.shaft_hz_nominal;
  return nominal > 0.0 ? nominal : speed_hz > 0.0 ? speed_hz : 0.5 * (speed_low_hz + speed_high_hz);
}

/** Velocity of the 1×, 2×, 3× and vane-pass lines at the window's shaft speed: off the speed
 *  stream's spectrum where its bins are finer than the window's own (fs over its samples) and it
 *  was read at this speed, each line within its passband; otherwise off the window's. */
export function runningSpeedLines(): void {
  const f = result.shaft_hz;
  const streamed = streamFiner() && stream_lines_hz == f;
  result.lines_bin_hz = streamed ? stream_lines_bin_hz : machine.sample_rate_hz / <f64>window_samples;
  result.line_1x_mm_s = streamed && stream_line_1x_mm_s >= 0.0 ? stream_line_1x_mm_s : lineVelocity(f);
  result.line_2x_mm_s = streamed && stream_line_2x_mm_s >= 0.0 ? stream_line_2x_mm_s : lineVelocity(2.0 * f);
  result.line_3x_mm_s = streamed && stream_line_3x_mm_s >= 0.0 ? stream_line_3x_mm_s : lineVelocity(3.0 * f);
  const vane_hz = <f64>machine.vanes * f;
  result.line_vane_mm_s = machine.vanes <= 0 ? 0.0 : streamed && stream_line_vane_mm_s >= 0.0 ? stream_line_vane_mm_s : lineVelocity(vane_hz);
}
