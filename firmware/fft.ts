// Real-input FFT for power-of-two sizes FFT_SIZE_MIN..FFT_SIZE_MAX (16..8192), the numeric core of the
// vibration spectrum. An N-point real FFT is an N/2-point complex FFT over the samples packed as
// z[n] = x[2n] + i·x[2n+1], followed by a split step that separates the even and odd halves.
// The complex FFT is decimation in time over bit-reversed data, in radix-8 stages (8-point DFTs,
// whose only multiplications inside are by cos(π/4)) where the doublings left are a multiple of
// three and radix-4 stages before them otherwise: as few passes over the data as the size
// allows, each stage's angle 0 without multiplications (the first stage has no other).
// fftInit() builds the only tables (a quarter-wave cosine and a bit-reversal permutation, for
// the largest size) once; smaller sizes reuse them by striding and shifting, and a stage
// multiplies its W², W³ … out of W (read from the cosine) once per angle, so nothing is
// allocated afterwards.
//
// Precision: all in f32. Against a float64 DFT of gaussian noise (test/firmware/fft.test.ts) the
// largest error of a bin is 2.8e-7 · RMS · √N at N = 64, 5.4e-7 at 4096 (ANALYSIS.md §2).
//
// Layout: input is `size` f32 samples; output is bins 0..size/2 interleaved as re, im
// (size + 2 f32). X[k] = Σ x[n]·e^(−2πi·kn/size), unscaled. The output may be the input
// buffer itself (it then needs size + 2 f32 of room), which saves a window-sized buffer.

import { STATUS_OK, STATUS_NOT_INITIALISED, STATUS_BAD_ARGUMENT, STATUS_NO_ROOM, STATUS_NEEDS_REBOOT }
  from "./status";
import { ASSERTS, holds } from "./assert";

export const FFT_SIZE_MIN: i32 = 16;
export const FFT_SIZE_MAX: i32 = 8192;
// Bit-reversed indices below FFT_SIZE_MAX / 2 are kept as u16.
if ((FFT_SIZE_MAX >> 1) > 65536 || FFT_SIZE_MIN < 4 || FFT_SIZE_MIN > FFT_SIZE_MAX) ERROR("FFT sizes out of the tables' range");

/** cos(2π·t/size_max) for t in 0..size_max/4; sin comes from the same table read backwards. */
let cosine: StaticArray<f32> = new StaticArray<f32>(0);
/** Bit reversal of 0..size_max/2 − 1 over log2(size_max/2) bits; shift right for smaller sizes. */
let reversed: StaticArray<u16> = new StaticArray<u16>(0);
let size_max_init: i32 = 0;
let bits_max: i32 = 0; // log2(size_max / 2)

function isPowerOfTwo(n: i32): bool {
  return n > 0 && (n & (n - 1)) == 0;
}

/** Doublings from 1 to the largest power of two an i32 holds (2^30): no power-of-two search
 *  turns more often. */
const DOUBLINGS_MAX: i32 = 30;

/** The smallest power of two that is at least `n` and at least `floor` (itself a power of two),
 *  for n up to 2^30. A counted loop: at most DOUBLINGS_MAX turns, whatever `n` is. */
export function nextPowerOfTwo(n: i32, floor: i32): i32 {
  let size = floor;
  for (let turn = 0; turn < DOUBLINGS_MAX && size < n; turn++) size <<= 1;
  return size;
}

/** Builds the tables for real sizes up to `size_max` (a power of two in FFT_SIZE_MIN..FFT_SIZE_MAX).
 *  A repeated call with a size no larger than the first is a no-op; a larger one would have to
 *  allocate again, which the stub runtime cannot take back, so it is refused. */
export function fftInit(size_max: i32): i32 {
  if (!isPowerOfTwo(size_max) || size_max < FFT_SIZE_MIN || size_max > FFT_SIZE_MAX) return STATUS_BAD_ARGUMENT;
  if (size_max_init != 0) return size_max <= size_max_init ? STATUS_OK : STATUS_NEEDS_REBOOT;

  const quarter = size_max >> 2;
  cosine = new StaticArray<f32>(quarter + 1);
  if (ASSERTS) assert(holds(cosine, 0, quarter + 1), "cosine table shorter than a quarter wave");
  for (let t = 0; t <= quarter; t++) {
    unchecked(cosine[t] = <f32>cosTurns(<f64>t / <f64>size_max));
  }
  const half = size_max >> 1;
  const bits = <i32>ctz<u32>(<u32>half);
  reversed = new StaticArray<u16>(half);
  if (ASSERTS) assert(holds(reversed, 0, half), "bit-reversal table shorter than half the size");
  for (let i = 0; i < half; i++) {
    unchecked(reversed[i] = <u16>(bitrev32(<u32>i) >>> (32 - bits)));
  }
  size_max_init = size_max;
  bits_max = bits;
  return STATUS_OK;
}

/** The cosine table's step for an angle of 2π/`count` (count a power of two from 2 up to the
 *  size given to fftInit), for fftCos. */
export function fftAngleStep(count: i32): i32 {
  if (ASSERTS) assert(count >= 2 && count <= size_max_init && (count & (count - 1)) == 0, "angle step of a size the tables do not serve");
  return size_max_init / count;
}

/** Address of cos(2π·t/size_max) in the quarter-wave table, for 0 ≤ t ≤ size_max/4: the f32
 *  the FFT's twiddles are. */
export function fftCosAt(t: i32): usize {
  if (ASSERTS) assert(t >= 0 && t <= (size_max_init >> 2), "cosine past the quarter wave");
  return changetype<usize>(cosine) + (<usize>t << 2);
}

/** Bytes held by the tables (for the memory budget); 0 before fftInit. */
export function fftTableBytes(): i32 {
  return (cosine.length << 2) + (reversed.length << 1);
}

const TAYLOR_TERMS: i32 = 9; // past (π/4)^18/18! the terms are below f64's resolution

/** cos(2π·turns) for turns ≥ 0, folded by symmetry to at most 1/8 turn and summed as a Taylor
 *  series. The tables use it instead of Math.cos, which would add ~1.3 KB of argument reduction
 *  for huge angles to a flashable build that only ever asks for angles in one turn. */
export function cosTurns(turns: f64): f64 {
  let x = turns - Math.floor(turns);
  if (x > 0.5) x = 1.0 - x; // cos(2π(1 − x)) = cos(2πx)
  let sign = 1.0;
  if (x > 0.25) { x = 0.5 - x; sign = -1.0; } // cos(2π(½ − x)) = −cos(2πx)
  const odd = x > 0.125;
  if (odd) x = 0.25 - x; // cos(2π(¼ − x)) = sin(2πx)
  const angle = 2.0 * Math.PI * x;
  const square = angle * angle;
  let term = odd ? angle : 1.0;
  let sum = term;
  for (let k = 1; k <= TAYLOR_TERMS; k++) {
    const m = <f64>(2 * k + (odd ? 1 : 0));
    term *= -square / ((m - 1.0) * m);
    sum += term;
  }
  return sign * sum;
}

function bitrev32(v: u32): u32 {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return (v >>> 16) | (v << 16);
}

function fitsInMemory(ptr: usize, bytes: usize): bool {
  const end = <u64>ptr + <u64>bytes;
  return ptr != 0 && end <= (<u64>memory.size() << 16);
}

/** Real FFT of `size` f32 samples at `input_ptr` into bins 0..size/2 at `out_ptr` (interleaved
 *  re, im; size + 2 f32). `out_ptr` may equal `input_ptr`; any other overlap is refused.
 *  Returns the number of bins (size/2 + 1), STATUS_NOT_INITIALISED before fftInit,
 *  STATUS_BAD_ARGUMENT for a size that is not a power of two in FFT_SIZE_MIN..FFT_SIZE_MAX or a
 *  buffer outside memory, STATUS_NO_ROOM for a size above the one given to fftInit. */
export function fftReal(input_ptr: usize, size: i32, out_ptr: usize): i32 {
  if (!isPowerOfTwo(size) || size < FFT_SIZE_MIN || size > FFT_SIZE_MAX) return STATUS_BAD_ARGUMENT;
  if (size_max_init == 0) return STATUS_NOT_INITIALISED;
  if (size > size_max_init) return STATUS_NO_ROOM;
  const in_bytes = <usize>size << 2;
  const out_bytes = in_bytes + 8;
  if (!fitsInMemory(input_ptr, in_bytes) || !fitsInMemory(out_ptr, out_bytes)) return STATUS_BAD_ARGUMENT;
  const overlaps = input_ptr < out_ptr + out_bytes && out_ptr < input_ptr + in_bytes;
  if (overlaps && input_ptr != out_ptr) return STATUS_BAD_ARGUMENT;

  const half = size >> 1;
  const step = size_max_init / size; // table stride for this size's angles 2π·k/size
  permute(input_ptr, out_ptr, half);
  complexStages(out_ptr, half);
  splitReal(out_ptr, half, step);
  return half + 1;
}

/** In-place forward complex FFT of `count` points at `ptr` (interleaved re, im f32), unscaled:
 *  Z[k] = Σ z[n]·e^(−2πi·kn/count). An inverse transform is the conjugate of the forward
 *  transform of the conjugate. `count` is a power of two from 2 to half the size given to
 *  fftInit. Returns `count`, or STATUS_NOT_INITIALISED / STATUS_BAD_ARGUMENT / STATUS_NO_ROOM. */
export function fftComplex(ptr: usize, count: i32): i32 {
  if (!isPowerOfTwo(count) || count < 2 || count > (FFT_SIZE_MAX >> 1)) return STATUS_BAD_ARGUMENT;
  if (size_max_init == 0) return STATUS_NOT_INITIALISED;
  if (count > (size_max_init >> 1)) return STATUS_NO_ROOM;
  if (!fitsInMemory(ptr, <usize>count << 3)) return STATUS_BAD_ARGUMENT;
  permute(ptr, ptr, count);
  complexStages(ptr, count);
  return count;
}

// A caller that computes its samples can write them where the transform wants them and spare
// it the permutation: sample pair (x[2i], x[2i+1]) of a `size`-point real transform goes to byte
// offset fftSlot(i, fftSlotShift(size >> 1)), then fftRealPlaced runs the rest.

/** The shift that fftSlot takes for a complex transform of `count` points (a power of two
 *  from 2 to half the size given to fftInit). */
export function fftSlotShift(count: i32): i32 {
  return bits_max - <i32>ctz<u32>(<u32>count);
}

/** Byte offset of packed complex point `i` (0 ≤ i < count) in bit-reversed order. */
// @ts-ignore: decorator
@inline export function fftSlot(i: i32, shift: i32): usize {
  return fftSlotAt(fftSlotEntry(i), shift);
}

/** The table entry fftSlot reads for point `i`; point i + 1's is 2 bytes on, so a loop over
 *  the points walks the entries (fftSlotAt) instead of indexing them. */
// @ts-ignore: decorator
@inline export function fftSlotEntry(i: i32): usize {
  return changetype<usize>(reversed) + (<usize>i << 1);
}

/** fftSlot of the point whose table entry is at `entry` (fftSlotEntry). */
// @ts-ignore: decorator
@inline export function fftSlotAt(entry: usize, shift: i32): usize {
  return <usize>(<i32>load<u16>(entry) >>> shift) << 3;
}

/** fftReal in place at `ptr` for samples already placed by fftSlot; same results and statuses. */
export function fftRealPlaced(ptr: usize, size: i32): i32 {
  if (!isPowerOfTwo(size) || size < FFT_SIZE_MIN || size > FFT_SIZE_MAX) return STATUS_BAD_ARGUMENT;
  if (size_max_init == 0) return STATUS_NOT_INITIALISED;
  if (size > size_max_init) return STATUS_NO_ROOM;
  if (!fitsInMemory(ptr, (<usize>size << 2) + 8)) return STATUS_BAD_ARGUMENT;
  const half = size >> 1;
  complexStages(ptr, half);
  splitReal(ptr, half, size_max_init / size);
  return half + 1;
}

/** Forward complex FFT of `count` points into `out_ptr` (count·8 bytes, apart from the source)
 *  whose first `filled` points (filled ≤ count/2) are the conjugates of the complex values at
 *  `source_ptr` and whose others are zero: the conjugate of count × the inverse FFT of those
 *  values, which is all a squared envelope |·|² needs. The same numbers as fftComplex over the
 *  zero-padded conjugates; where the transform's first stage is radix 4 (every count but 8, 64,
 *  512 and 4,096), with the upper half of the input zero, that stage reads its two non-zero
 *  inputs where they lie: no permutation, half the additions.
 *  Returns `count`, or the statuses of fftComplex. */
export function fftConjugateHalfFilled(source_ptr: usize, filled: i32, out_ptr: usize, count: i32): i32 {
  if (!isPowerOfTwo(count) || count < 4 || count > (FFT_SIZE_MAX >> 1)) return STATUS_BAD_ARGUMENT;
  if (size_max_init == 0) return STATUS_NOT_INITIALISED;
  if (count > (size_max_init >> 1)) return STATUS_NO_ROOM;
  if (filled < 0 || filled > (count >> 1)) return STATUS_BAD_ARGUMENT;
  if (!fitsInMemory(out_ptr, <usize>count << 3) || (filled > 0 && !fitsInMemory(source_ptr, <usize>filled << 3))) return STATUS_BAD_ARGUMENT;
  const out_bytes = <usize>count << 3;
  if (source_ptr < out_ptr + out_bytes && out_ptr < source_ptr + (<usize>filled << 3)) return STATUS_BAD_ARGUMENT;
  // Its writes: slots 0 … count − 1 of the output, which fitsInMemory() checked.
  if (ASSERTS) assert(count >= 4 && count <= (size_max_init >> 1), "conjugate FFT larger than its tables");
  const table = changetype<usize>(reversed);
  const shift = fftSlotShift(count);
  if (<i32>ctz<u32>(<u32>count) % 3 == 0) {
    // A power of two whose stages are all radix 8 (twiddleStages): the values at their slots
    // and zeros elsewhere, then the whole transform (its first stage takes eight points at a
    // time, which this one would not save).
    let at = table; // slot g's index, g = 0 … count − 1
    let a = out_ptr;
    do {
      const n = <i32>load<u16>(at) >>> shift;
      let x0r: f32 = 0.0, x0i: f32 = 0.0;
      if (n < filled) {
        x0r = load<f32>(source_ptr + (<usize>n << 3));
        x0i = -load<f32>(source_ptr + (<usize>n << 3), 4);
      }
      store<f32>(a, x0r); store<f32>(a, x0i, 4);
      at += 2;
      a += 8;
    } while (a < out_ptr + out_bytes);
    complexStages(out_ptr, count);
  } else {
    // Radix-4: slots 4g … 4g+3 hold inputs n, n + count/2, n + count/4, n + 3·count/4; the
    // second and fourth are zero.
    const quarter = count >> 2;
    let at = table; // slot 4g's index, g = 0 … count/4 − 1
    let a = out_ptr;
    do {
      const n = <i32>load<u16>(at) >>> shift;
      let x0r: f32 = 0.0, x0i: f32 = 0.0, x1r: f32 = 0.0, x1i: f32 = 0.0;
      if (n < filled) {
        x0r = load<f32>(source_ptr + (<usize>n << 3));
        x0i = -load<f32>(source_ptr + (<usize>n << 3), 4);
      }
      if (n + quarter < filled) {
        x1r = load<f32>(source_ptr + (<usize>(n + quarter) << 3));
        x1i = -load<f32>(source_ptr + (<usize>(n + quarter) << 3), 4);
      }
      store<f32>(a, x0r + x1r); store<f32>(a, x0i + x1i, 4);
      store<f32>(a, x0r + x1i, 8); store<f32>(a, x0i - x1r, 12);
      store<f32>(a, x0r - x1r, 16); store<f32>(a, x0i - x1i, 20);
      store<f32>(a, x0r - x1i, 24); store<f32>(a, x0i + x1r, 28);
      at += 8;
      a += 32;
    } while (a < out_ptr + out_bytes);
    twiddleStages(out_ptr, count, 16);
  }
  return count;
}

/** Puts the packed complex samples into bit-reversed order, in place or as a copy. */
function permute(input_ptr: usize, out_ptr: usize, count: i32): void {
  // Its writes: points 0 … count − 1 at out_ptr, which the caller checked lie in memory.
  if (ASSERTS) assert(count >= 2 && (count & (count - 1)) == 0 && count <= (size_max_init >> 1), "permutation larger than its table");
  const table = changetype<usize>(reversed);
  const shift = bits_max - <i32>ctz<u32>(<u32>count);
  if (input_ptr == out_ptr) {
    for (let i = 0; i < count; i++) {
      const j = <i32>load<u16>(table + (<usize>i << 1)) >>> shift;
      if (i < j) {
        const a = out_ptr + (<usize>i << 3);
        const b = out_ptr + (<usize>j << 3);
        const t = load<u64>(a); // one complex f32 pair moved as a unit
        store<u64>(a, load<u64>(b));
        store<u64>(b, t);
      }
    }
  } else {
    for (let i = 0; i < count; i++) {
      const j = <i32>load<u16>(table + (<usize>i << 1)) >>> shift;
      store<u64>(out_ptr + (<usize>i << 3), load<u64>(input_ptr + (<usize>j << 3)));
    }
  }
}

/** In-place complex DIT FFT of `count` points already in bit-reversed order. */
function complexStages(p: usize, count: i32): void {
  if (ASSERTS) assert(count >= 2 && (count & (count - 1)) == 0 && count <= (size_max_init >> 1), "complex FFT larger than its tables");
  if (count == 2) {
    const ar = load<f32>(p), ai = load<f32>(p, 4), br = load<f32>(p, 8), bi = load<f32>(p, 12);
    store<f32>(p, ar + br); store<f32>(p, ai + bi, 4);
    store<f32>(p, ar - br, 8); store<f32>(p, ai - bi, 12);
  } else {
    // The first stage's DFTs (4 or 8 points) are all angle 0.
    twiddleStages(p, count, 4);
  }
}

/** One 8-point DFT of twiddled inputs in bit-reversed order, l0 … l7 = y0, y4, y2, y6, y1, y5,
 *  y3, y7: 2-point DFTs of (y0, y4), (y2, y6), (y1, y5), (y3, y7), then a radix-4 step whose
 *  twiddles are 1 for the even outputs and 1, e^(−iπ/4), −i, e^(−3iπ/4) for the odd ones. Output
 *  s (natural order) is stored at `o0` … `o7`. Inlined into the radix-8 stages, at angle 0
 *  (twiddle-free) and at the others. */
// @ts-ignore: decorator
@inline function radix8Butterfly(o0: usize, o1: usize, o2: usize, o3: usize, o4: usize, o5: usize, o6: usize, o7: usize,
  l0r: f32, l0i: f32, l1r: f32, l1i: f32, l2r: f32, l2i: f32, l3r: f32, l3i: f32,
  l4r: f32, l4i: f32, l5r: f32, l5i: f32, l6r: f32, l6i: f32, l7r: f32, l7i: f32): void {
  const half_root: f32 = 0.70710678118654752; // cos(π/4)
  // Even outputs: the 4-point DFT of the 2-point DFTs' sums (y0 + y4, y1 + y5, y2 + y6, y3 + y7).
  radix4Butterfly(o0, o2, o4, o6, l0r + l1r, l0i + l1i, l4r + l5r, l4i + l5i, l2r + l3r, l2i + l3i, l6r + l7r, l6i + l7i);
  // Odd outputs: the 4-point DFT of the differences, twiddled by 1, e^(−iπ/4), −i, e^(−3iπ/4).
  const d4r = l4r - l5r, d4i = l4i - l5i, d6r = l6r - l7r, d6i = l6i - l7i;
  radix4Butterfly(o1, o3, o5, o7,
    l0r - l1r, l0i - l1i, // y0 − y4
    (d4r + d4i) * half_root, (d4i - d4r) * half_root, // e^(−iπ/4)·(y1 − y5)
    l2i - l3i, l3r - l2r, // −i·(y2 − y6)
    (d6i - d6r) * half_root, -(d6r + d6i) * half_root); // e^(−3iπ/4)·(y3 − y7)
}

/** One radix-4 butterfly of twiddled inputs x0…x3 (in a stage, x1 from `c` and x2 from `b`: the
 *  data is bit-reversed), its four outputs stored at a, b, c, d: the 4-point DFT, inlined into
 *  the radix-4 stages and twice into each 8-point DFT (radix8Butterfly). */
// @ts-ignore: decorator
@inline function radix4Butterfly(a: usize, b: usize, c: usize, d: usize, x0r: f32, x0i: f32, x1r: f32, x1i: f32, x2r: f32, x2i: f32, x3r: f32, x3i: f32): void {
  const t0r = x0r + x2r, t0i = x0i + x2i, t1r = x0r - x2r, t1i = x0i - x2i;
  const t2r = x1r + x3r, t2i = x1i + x3i, t3r = x1r - x3r, t3i = x1i - x3i;
  store<f32>(a, t0r + t2r); store<f32>(a, t0i + t2i, 4);
  store<f32>(b, t1r + t3i); store<f32>(b, t1i - t3r, 4);
  store<f32>(c, t0r - t2r); store<f32>(c, t0i - t2i, 4);
  store<f32>(d, t1r - t3i); store<f32>(d, t1i + t3r, 4);
}

/** The stages of complexStages from DFTs of `length` points up to `count`: each merges the
 *  DFTs of the stage before, of length/4 points to begin with, eight at a time (radix 8) where
 *  the doublings left to `count` are a multiple of three, else four at a time (radix 4), so
 *  that the data is read and written once per stage and the stages are as few as they can be:
 *  four where radix 4 alone took five for 1,024 and 2,048 points, three for four at 512. */
function twiddleStages(p: usize, count: i32, length: i32): void {
  // Its loop multiplies the merged length by 4 or 8 up to `count`, at most log4(FFT_SIZE_MAX)
  // turns; each stage's angles j·size_max/merged lie below a quarter turn, within the cosine table.
  if (ASSERTS) assert(length >= 4 && count <= (size_max_init >> 1), "radix stages larger than their tables");
  for (let part = length >> 2; part < count;) {
    // radixStage is inlined at each call, its radix a constant there: a copy per radix.
    if ((<i32>ctz<u32>(<u32>(count / part)) % 3) == 0) {
      radixStage(p, count, part, 8);
      part <<= 3;
    } else {
      radixStage(p, count, part, 4);
      part <<= 2;
    }
  }
}

/** One stage: merges `radix` (4 or 8) DFTs of `part` points into one of radix·part, for every
 *  group up to `count`. The data is bit-reversed, so the sub-DFTs lie in the order r = 0, 2, 1, 3
 *  (radix 4) or 0, 4, 2, 6, 1, 5, 3, 7 (radix 8). Angle by angle, so that a stage reads each
 *  twiddle once and multiplies its powers W² … W^(radix−1) out of W once; every angle has at
 *  least one group. */
// @ts-ignore: decorator
@inline function radixStage(p: usize, count: i32, part: i32, radix: i32): void {
  const end = p + (<usize>count << 3);
  const table = changetype<usize>(cosine);
  const quarter_table = size_max_init >> 2;
  const length = part * radix;
  const sb = <usize>part << 3; // from one sub-DFT to the next, in bytes
  const lb = <usize>length << 3;
  // Angle 0: W = 1, so the multiplications would give the same numbers; it skips them. A radix-4
  // first stage (part 1) has no other angle, and its four points lie side by side.
  let a = p;
  if (radix == 8) {
    do {
      const a1 = a + sb, a2 = a1 + sb, a3 = a2 + sb, a4 = a3 + sb, a5 = a4 + sb, a6 = a5 + sb, a7 = a6 + sb;
      radix8Butterfly(a, a1, a2, a3, a4, a5, a6, a7,
        load<f32>(a), load<f32>(a, 4), load<f32>(a1), load<f32>(a1, 4),
        load<f32>(a2), load<f32>(a2, 4), load<f32>(a3), load<f32>(a3, 4),
        load<f32>(a4), load<f32>(a4, 4), load<f32>(a5), load<f32>(a5, 4),
        load<f32>(a6), load<f32>(a6, 4), load<f32>(a7), load<f32>(a7, 4));
      a += lb;
    } while (a < end);
  } else if (part == 1) {
    do {
      radix4Butterfly(a, a + 8, a + 16, a + 24, load<f32>(a), load<f32>(a, 4), load<f32>(a, 16), load<f32>(a, 20),
        load<f32>(a, 8), load<f32>(a, 12), load<f32>(a, 24), load<f32>(a, 28));
      a += 32;
    } while (a < end);
    return;
  } else {
    do {
      const b = a + sb, c = b + sb, d = c + sb;
      radix4Butterfly(a, b, c, d, load<f32>(a), load<f32>(a, 4), load<f32>(c), load<f32>(c, 4),
        load<f32>(b), load<f32>(b, 4), load<f32>(d), load<f32>(d, 4));
      a += lb;
    } while (a < end);
  }
  // W = e^(−2πi·j/length): cos at table index j·stride, −sin at the mirrored index.
  const stride_bytes = <usize>(size_max_init / length) << 2;
  let cos_at = table + stride_bytes;
  let sin_at = table + (<usize>quarter_table << 2) - stride_bytes;
  const first_end = p + sb;
  for (let first = p + 8; first < first_end; first += 8) {
    // Each power one product of two before it. (W⁴ read from the table instead cut the FFT's
    // largest error at 4,096 points from 9.0e-7 to 5.8e-7 · RMS · √N, for 0.7 % more
    // instructions a window: both far below an accelerometer's floor.)
    const w1r = load<f32>(cos_at), w1i = -load<f32>(sin_at);
    const w2r = w1r * w1r - w1i * w1i, w2i = w1r * w1i * 2;
    const w3r = w1r * w2r - w1i * w2i, w3i = w1r * w2i + w1i * w2r;
    a = first;
    if (radix == 8) {
      const w4r = w2r * w2r - w2i * w2i, w4i = w2r * w2i * 2;
      const w5r = w1r * w4r - w1i * w4i, w5i = w1r * w4i + w1i * w4r;
      const w6r = w3r * w3r - w3i * w3i, w6i = w3r * w3i * 2;
      const w7r = w3r * w4r - w3i * w4i, w7i = w3r * w4i + w3i * w4r;
      do {
        // Slot k holds sub-DFT r(k) = 0, 4, 2, 6, 1, 5, 3, 7, twiddled by W^r(k).
        const a1 = a + sb, a2 = a1 + sb, a3 = a2 + sb, a4 = a3 + sb, a5 = a4 + sb, a6 = a5 + sb, a7 = a6 + sb;
        const y1r = load<f32>(a1), y1i = load<f32>(a1, 4);
        const y2r = load<f32>(a2), y2i = load<f32>(a2, 4);
        const y3r = load<f32>(a3), y3i = load<f32>(a3, 4);
        const y4r = load<f32>(a4), y4i = load<f32>(a4, 4);
        const y5r = load<f32>(a5), y5i = load<f32>(a5, 4);
        const y6r = load<f32>(a6), y6i = load<f32>(a6, 4);
        const y7r = load<f32>(a7), y7i = load<f32>(a7, 4);
        radix8Butterfly(a, a1, a2, a3, a4, a5, a6, a7,
          load<f32>(a), load<f32>(a, 4),
          y1r * w4r - y1i * w4i, y1r * w4i + y1i * w4r,
          y2r * w2r - y2i * w2i, y2r * w2i + y2i * w2r,
          y3r * w6r - y3i * w6i, y3r * w6i + y3i * w6r,
          y4r * w1r - y4i * w1i, y4r * w1i + y4i * w1r,
          y5r * w5r - y5i * w5i, y5r * w5i + y5i * w5r,
          y6r * w3r - y6i * w3i, y6r * w3i + y6i * w3r,
          y7r * w7r - y7i * w7i, y7r * w7i + y7i * w7r);
        a += lb;
      } while (a < end);
    } else {
      do {
        // Slot k holds sub-DFT r(k) = 0, 2, 1, 3, twiddled by W^r(k).
        const b = a + sb, c = b + sb, d = c + sb;
        const y2r = load<f32>(b), y2i = load<f32>(b, 4);
        const y1r = load<f32>(c), y1i = load<f32>(c, 4);
        const y3r = load<f32>(d), y3i = load<f32>(d, 4);
        radix4Butterfly(a, b, c, d, load<f32>(a), load<f32>(a, 4),
          y1r * w1r - y1i * w1i, y1r * w1i + y1i * w1r,
          y2r * w2r - y2i * w2i, y2r * w2i + y2i * w2r,
          y3r * w3r - y3i * w3i, y3r * w3i + y3i * w3r);
        a += lb;
      } while (a < end);
    }
    cos_at += stride_bytes;
    sin_at -= stride_bytes;
  }
}

/** Turns Z = FFT(x[2n] + i·x[2n+1]) of `half` points into bins 0..half of the real FFT, in
 *  place: X[k] = E[k] + W^k·O[k] and X[half−k] = conj(E[k] − W^k·O[k]) with
 *  E = (Z[k] + conj Z[half−k])/2, O = (Z[k] − conj Z[half−k])/2i, W = e^(−2πi/(2·half)). */
function splitReal(p: usize, half: i32, step: i32): void {
  // Its writes: bins 0 … half at p (half + 1 points), which the caller checked lie in memory;
  // its angles k·step ≤ size_max/4, within the cosine table.
  if (ASSERTS) assert(half >= 1 && half <= (size_max_init >> 1) && (half >> 1) * step <= (size_max_init >> 2), "real FFT split past its tables");
  const z0r = load<f32>(p), z0i = load<f32>(p, 4);
  store<f32>(p, z0r + z0i); store<f32>(p, 0, 4);
  store<f32>(p + (<usize>half << 3), z0r - z0i); store<f32>(p + (<usize>half << 3), 0, 4);

  // Bins k and half − k meet in the middle: k runs from 1 while a ≤ b, to k = half/2.
  const table = changetype<usize>(cosine);
  const step_bytes = <usize>step << 2;
  let cos_at = table + step_bytes;
  let sin_at = table + (<usize>(size_max_init >> 2) << 2) - step_bytes;
  let a = p + 8;
  let b = p + (<usize>(half - 1) << 3);
  while (a <= b) {
    const ar = load<f32>(a), ai = load<f32>(a, 4);
    const br = load<f32>(b), bi = load<f32>(b, 4);
    const er = (ar + br) * 0.5, ei = (ai - bi) * 0.5;
    const or = (ai + bi) * 0.5, oi = (br - ar) * 0.5;
    // W = wr − i·ws; the sine's sign goes into the sums (exact: the same numbers as with −ws).
    const wr = load<f32>(cos_at), ws = load<f32>(sin_at);
    const mr = wr * or + ws * oi, mi = wr * oi - ws * or;
    store<f32>(a, er + mr); store<f32>(a, ei + mi, 4);
    store<f32>(b, er - mr); store<f32>(b, mi - ei, 4);
    a += 8;
    b -= 8;
    cos_at += step_bytes;
    sin_at -= step_bytes;
  }
}

