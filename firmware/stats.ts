// Small statistics shared by the analysis and the sensor check: selection without sorting (a
// radix select on the bits of non-negative f32 values, for medians over whole windows and
// spectra) and the normal distribution's tail. No allocation.

const RADIX_BUCKETS: i32 = 256;
/** Histogram of one byte of the values' bits. */
const radix_counts = new StaticArray<i32>(RADIX_BUCKETS);
// A bucket per value of one byte: the histogram's writes are indexed by a byte.
if (RADIX_BUCKETS != 256) ERROR("the radix select counts one byte at a time");
/** The select's passes: the exponent (bits 30…23), the next eight bits (22…15), then the rest
 *  of the kept few by bytes. */
const EXPONENT_SHIFT: u32 = 23;
const MANTISSA_SHIFT: u32 = 15;

/** Empties the histogram (no memory.fill: the MVP's is a loop over bytes). */
function clearCounts(): void {
  const counts = changetype<usize>(radix_counts);
  const end = counts + (<usize>RADIX_BUCKETS << 2);
  for (let at = counts; at < end; at += 8) store<u64>(at, 0);
}

/** Starts a selection whose first pass is tallied by the caller (selectTally on every value, as
 *  it writes them), so the values are not read once more for it. */
export function selectBegin(): void {
  clearCounts();
}

/** Counts `value` (non-negative) in the first pass: its exponent. */
// @ts-ignore: decorator
@inline export function selectTally(value: f32): void {
  const at = changetype<usize>(radix_counts) + (<usize>((reinterpret<u32>(value) >>> EXPONENT_SHIFT) & 0xff) << 2);
  store<i32>(at, load<i32>(at) + 1);
}

/** The bucket of the histogram that holds rank `rank`, and the rank within it (rankInBucket). */
let rank_in_bucket: i32 = 0;
function bucketOf(rank: i32): u32 {
  const counts = changetype<usize>(radix_counts);
  let bucket: u32 = 0;
  for (; bucket < <u32>RADIX_BUCKETS - 1; bucket++) {
    const in_bucket = load<i32>(counts + (<usize>bucket << 2));
    if (rank < in_bucket) break;
    rank -= in_bucket;
  }
  rank_in_bucket = rank;
  return bucket;
}

/** A lower bound of the value of rank `rank` after selectBegin and selectTally on every value,
 *  without reading them again: the least f32 of the octave the tallies put the rank in (0 for
 *  the octave of zero and the subnormals). selectEnd's value is at least this, and below twice it. */
export function selectOctaveFloor(rank: i32): f64 {
  const exponent = bucketOf(rank);
  return exponent == 0 ? 0.0 : <f64>reinterpret<f32>(exponent << EXPONENT_SHIFT);
}

/** The value of rank `rank` among the `count` non-negative f32 at `base`, after selectBegin and
 *  selectTally on each of them; reorders them. The bits of non-negative floats order as their
 *  values do. The tallies say which octave (exponent) holds the rank; one pass moves that
 *  octave's values to the front, one counts their next eight bits, one keeps those that share
 *  these sixteen bits (a 1/256 of an octave: a few), and byte passes over those few find the
 *  rest. Equal values
 *  cost nothing extra (a silent window is all zeros). */
export function selectEnd(base: usize, count: i32, rank: i32): f64 {
  if (count <= 0 || rank < 0 || rank >= count) return 0.0;
  const end = base + (<usize>count << 2);
  const exponent = bucketOf(rank);
  rank = rank_in_bucket;
  // The values in the rank's octave, to the front.
  let kept = base;
  for (let at = base; at < end; at += 4) {
    const bits = load<u32>(at);
    store<u32>(kept, bits);
    kept += <usize>(((bits >>> EXPONENT_SHIFT) & 0xff) == exponent) << 2;
  }
  clearCounts();
  const counts = changetype<usize>(radix_counts);
  for (let at = base; at < kept; at += 4) {
    const slot = counts + (<usize>((load<u32>(at) >>> MANTISSA_SHIFT) & 0xff) << 2);
    store<i32>(slot, load<i32>(slot) + 1);
  }
  const prefix = (exponent << 8) | bucketOf(rank);
  rank = rank_in_bucket;
  const octave_end = kept;
  kept = base;
  for (let at = base; at < octave_end; at += 4) {
    const bits = load<u32>(at);
    store<u32>(kept, bits);
    kept += <usize>(((bits >>> MANTISSA_SHIFT) & 0xffff) == prefix) << 2;
  }
  // The kept values share bits 30…15: two byte passes (bits 15…8, 7…0) finish.
  return radixSelect(base, <i32>((kept - base) >> 2), rank, 8);
}

/** The value of rank `rank` among the `count` non-negative f32 at `base`; reorders them. */
export function select(base: usize, count: i32, rank: i32): f64 {
  selectBegin();
  const end = base + (<usize>count << 2);
  for (let at = base; at < end; at += 4) selectTally(load<f32>(at));
  return selectEnd(base, count, rank);
}

/** The value of rank `rank` among the `count` non-negative f32 at `base`, whose bits above
 *  `top_shift` + 7 are all the same; reorders them. A radix select: rounds of one byte each from
 *  bit `top_shift` down, each count that byte, keep the bucket that holds the rank (the values in
 *  the buckets below move the rank down) and drop the rest; what is left has the rank's bits. */
function radixSelect(base: usize, count: i32, rank: i32, top_shift: i32): f64 {
  const counts = changetype<usize>(radix_counts);
  let remaining = count;
  for (let shift = top_shift; shift >= 0; shift -= 8) {
    clearCounts();
    for (let i = 0; i < remaining; i++) {
      const at = counts + (<usize>((load<u32>(base + (<usize>i << 2)) >>> shift) & 0xff) << 2);
      store<i32>(at, load<i32>(at) + 1);
    }
    const bucket = bucketOf(rank);
    rank = rank_in_bucket;
    let kept = 0;
    for (let i = 0; i < remaining; i++) {
      const bits = load<u32>(base + (<usize>i << 2));
      store<u32>(base + (<usize>kept << 2), bits);
      kept += <i32>(((bits >>> shift) & 0xff) == bucket);
    }
    remaining = kept;
  }
  return <f64>load<f32>(base);
}


/** ln of the probability that `count` samples of Gaussian noise have a kurtosis (m4 / m2²) of
 *  `kurtosis` or more: Anscombe & Glynn's transformation of the sample kurtosis to a standard
 *  normal deviate (Biometrika 70: 227–234, 1983; D'Agostino, Belanger & D'Agostino, Am. Stat.
 *  44: 316–321, 1990), from its exact mean, variance and skewness under normality. 0 (certain)
 *  where the transformation does not apply (fewer than 20 samples, or the value below). */
export function lnKurtosisTail(kurtosis: f64, count: i32): f64 {
  if (count < 20 || !(kurtosis > 0.0)) return 0.0;
  const n = <f64>count;
  const expected = 3.0 * (n - 1.0) / (n + 1.0);
  const variance = 24.0 * n * (n - 2.0) * (n - 3.0) / ((n + 1.0) * (n + 1.0) * (n + 3.0) * (n + 5.0));
  const x = (kurtosis - expected) / Math.sqrt(variance);
  const root_beta = 6.0 * (n * n - 5.0 * n + 2.0) / ((n + 7.0) * (n + 9.0)) * Math.sqrt(6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0)));
  const a = 6.0 + 8.0 / root_beta * (2.0 / root_beta + Math.sqrt(1.0 + 4.0 / (root_beta * root_beta)));
  const denominator = 1.0 + x * Math.sqrt(2.0 / (a - 4.0));
  if (denominator <= 0.0) return 0.0;
  const term = (1.0 - 2.0 / a) / denominator;
  // term > 0 (a > 4): its cube root by exp and log, which the image has anyway.
  const z = (1.0 - 2.0 / (9.0 * a) - Math.exp(Math.log(term) / 3.0)) / Math.sqrt(2.0 / (9.0 * a));
  return z > 0.0 ? lnNormalTail(z) : 0.0;
}

/** ln Q(z) for z ≥ 0, Q the standard normal upper tail: erfc by Numerical Recipes' Chebyshev
 *  fit (§6.2, fractional error below 1.2e-7 everywhere), taken as its logarithm. */
export function lnNormalTail(z: f64): f64 {
  const x = z * Math.SQRT1_2;
  const t = 1.0 / (1.0 + 0.5 * x);
  const poly = -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) + poly - Math.LN2;
}

