// Seeded randomness for the simulator: the same seed gives the same fleet, signals and faults.
// xoshiro128** (Blackman & Vigna) for the stream, split per pump so pumps stay independent.
// The state lives in a Uint32Array: as plain fields, words above 2^31 would be boxed numbers,
// and every draw would allocate. gaussians() fills a buffer with exactly the values that as
// many gaussian() calls would return, with the state in locals (a window's noise in one call).

const TWO_TO_32 = 4294967296;

export class Random {
  private readonly state = new Uint32Array(4);
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    // splitmix32 spreads one seed over the four words of state.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (let i = 0; i < 4; i++) this.state[i] = next();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const state = this.state;
    const s0 = state[0], s1 = state[1];
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const s2 = state[2] ^ s0;
    const s3 = state[3] ^ s1;
    state[1] = s1 ^ s2;
    state[0] = s0 ^ s3;
    state[2] = s2 ^ t;
    state[3] = rotl(s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  integer(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** Standard normal (Marsaglia's polar method). */
  gaussian(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    for (;;) {
      const u = 2 * this.next() - 1;
      const v = 2 * this.next() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const scale = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = v * scale;
        this.hasSpare = true;
        return u * scale;
      }
    }
  }

  /** Fills out[0..count) with the next `count` standard normals: the same values, in the same
   *  order, as `count` calls of gaussian(). */
  gaussians(out: Float64Array, count = out.length): void {
    let i = 0;
    if (count > 0 && this.hasSpare) {
      out[i++] = this.spare;
      this.hasSpare = false;
    }
    const state = this.state;
    let s0 = state[0] | 0, s1 = state[1] | 0, s2 = state[2] | 0, s3 = state[3] | 0;
    while (i < count) {
      // Two draws of xoshiro128** (nextUint32, inlined on int32 locals).
      const a = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      let t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      const b = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      const u = 2 * (a / TWO_TO_32) - 1;
      const v = 2 * (b / TWO_TO_32) - 1;
      const s = u * u + v * v;
      if (!(s > 0 && s < 1)) continue; // rejected: about one pair in five, so a bounded expected count
      const scale = Math.sqrt((-2 * Math.log(s)) / s);
      out[i++] = u * scale;
      if (i < count) out[i++] = v * scale;
      else {
        this.spare = v * scale;
        this.hasSpare = true;
      }
    }
    state[0] = s0; state[1] = s1; state[2] = s2; state[3] = s3;
  }

  /** The generator of item `index` of a run seeded `seed`: the same whichever process or
   *  thread makes it, and in whatever order (a shard of a fleet makes only its own pumps). */
  static forItem(seed: number, index: number): Random {
    let h = Math.imul((seed >>> 0) ^ 0x85ebca6b, 0x9e3779b1) >>> 0;
    h = Math.imul(h ^ (index + 1), 0xc2b2ae35) >>> 0;
    return new Random((h ^ (h >>> 15)) >>> 0);
  }

  /** An independent generator derived from this one and a label. */
  fork(label: number): Random {
    return new Random((this.nextUint32() ^ Math.imul(label + 1, 0x9e3779b1)) >>> 0);
  }
}

/** Rotates the 32 bits of x left by k (an int32 result; callers take >>> 0 where they need it). */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
