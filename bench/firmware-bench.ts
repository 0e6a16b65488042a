// Benchmark entry (not firmware): fft.ts compiled alone with the release flags, so
// bench/fft.bench.ts can time fftReal without widening the firmware's fixed ABI.

import "../firmware/panic"; // the abort handler the release flags name (--use abort=firmware/panic/panic)
import { fftInit, fftReal, fftTableBytes } from "../firmware/fft";
import { STATUS_BAD_ARGUMENT } from "../firmware/status";

const REPEATS_MAX: i32 = 1 << 20;

let input = new StaticArray<f32>(0);
let output = new StaticArray<f32>(0);

/** Builds the FFT tables and the input/output buffers for sizes up to `size_max`. */
export function bench_fft_init(size_max: i32): i32 {
  const status = fftInit(size_max);
  if (status < 0) return status;
  input = new StaticArray<f32>(size_max);
  output = new StaticArray<f32>(size_max + 2);
  return status;
}

/** Bytes held by fft.ts's tables for the size_max given to bench_fft_init. */
export function bench_table_bytes(): i32 { return fftTableBytes(); }

/** Where the host writes the samples (f32, size_max of them). */
export function bench_input_ptr(): usize { return changetype<usize>(input); }
/** Where the bins of the last run are (interleaved re, im). */
export function bench_output_ptr(): usize { return changetype<usize>(output); }

/** Runs the real FFT of the input `repeats` times out of place; returns the last status. */
export function bench_fft_run(size: i32, repeats: i32): i32 {
  if (repeats < 1 || repeats > REPEATS_MAX || size > input.length) return STATUS_BAD_ARGUMENT;
  let status = 0;
  for (let r = 0; r < repeats; r++) {
    status = fftReal(changetype<usize>(input), size, changetype<usize>(output));
  }
  return status;
}
