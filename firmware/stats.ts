// Small statistics shared by the analysis and the sensor check: selection without sorting (a
// radix select on the bits of non-negative f32 values, four passes of one byte each, for medians
// over whole windows and spectra) and the normal distribution's tail. No allocation.

const RADIX_BUCKETS: i32 = 256;
/** Histogram of one byte of the values' bits. */
const radix_counts = new StaticArray<i32>(RADIX_BUCKETS);
// A bucket per value of one byte: the histogram's writes are indexed by a byte.
if (RADIX_BUCKETS != 256) ERROR("the radix select counts one byte at a time");

/** The value of rank `rank` among the `count` non-negative f32 at `base`; reorders them. A radix
 *  select: the bits of non-negative floats order
 *  as their values do, so four rounds, one per byte from the top, each count that byte, keep
 *  the bucket that holds the rank (the values in the buckets below move the rank down) and drop
 *  the rest; what is left has the median's bits. No branch depends on the data but the short
 *  bucket scan, and equal values cost nothing extra (a silent window is all zeros). */
export function radixSelect(base: usize, count: i32, rank: i32): f64 {
  if (count <= 0 || rank < 0 || rank >= count) return 0.0;
  const counts = changetype<usize>(radix_counts);
  let remaining = count;
  for (let shift = 24; shift >= 0; shift -= 8) {
    memory.fill(counts, 0, <usize>RADIX_BUCKETS << 2);
    for (let i = 0; i < remaining; i++) {
      const at = counts + (<usize>((load<u32>(base + (<usize>i << 2)) >>> shift) & 0xff) << 2);
      store<i32>(at, load<i32>(at) + 1);
    }
    let bucket = 0;
    for (; bucket < RADIX_BUCKETS - 1; bucket++) {
      const in_bucket = load<i32>(counts + (<usize>bucket << 2));
      if (rank < in_bucket) break;
      rank -= in_bucket;
    }
    let kept = 0;
    for (let i = 0; i < remaining; i++) {
      const bits = load<u32>(base + (<usize>i << 2));
      store<u32>(base + (<usize>kept << 2), bits);
      kept += <i32>(((bits >>> shift) & 0xff) == <u32>bucket);
    }
    remaining = kept;
  }
  return <f64>load<f32>(base);
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

