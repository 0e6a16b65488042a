// Seeded randomness for the simulator: the same seed gives the same fleet, signals and faults.
// xoshiro128** (Blackman & Vigna) for the stream, split per pump so pumps stay independent.
// The state lives in an Int32Array: as plain fields, words above 2^31 would be boxed numbers,
// and every draw would allocate; read from a Uint32Array they would be doubles, and the
// generator's shifts and xors would convert them back and forth. normals() fills a buffer with
// a window's worth of normals by the ziggurat method, with the generator inlined and its state
// in locals: several times faster than gaussian()'s polar method (and its own values).

const TWO_TO_32 = 4294967296;

/** Ziggurat for the standard normal (Marsaglia & Tsang 2000, 128 layers). One 32-bit draw gives
 *  the layer (its low 7 bits) and a signed 25-bit abscissa (the other 25, so the two are
 *  independent, unlike the original's shared bits); about 98.8 % of draws are accepted at once
 *  with a comparison and a multiplication. */
const ZIGGURAT_LAYERS = 128;
const ZIGGURAT_LAYER_BITS = 7;
const ZIGGURAT_SCALE = 2 ** 24; // |abscissa| < 2^24
const ZIGGURAT_R = 3.442619855899; // where the base layer's tail begins
const ZIGGURAT_V = 9.91256303526217e-3; // the area of each layer
const ZIGGURAT_K = new Int32Array(ZIGGURAT_LAYERS); // accept |abscissa| below this at once (an integer)
const ZIGGURAT_W = new Float64Array(ZIGGURAT_LAYERS); // abscissa to x
const ZIGGURAT_F = new Float64Array(ZIGGURAT_LAYERS); // the density at each layer's edge
{
  const density = (x: number): number => Math.exp(-0.5 * x * x);
  let x = ZIGGURAT_R;
  let previous = x;
  const q = ZIGGURAT_V / density(x);
  ZIGGURAT_K[0] = Math.floor((x / q) * ZIGGURAT_SCALE);
  ZIGGURAT_K[1] = 0;
  ZIGGURAT_W[0] = q / ZIGGURAT_SCALE;
  ZIGGURAT_W[ZIGGURAT_LAYERS - 1] = x / ZIGGURAT_SCALE;
  ZIGGURAT_F[0] = 1;
  ZIGGURAT_F[ZIGGURAT_LAYERS - 1] = density(x);
  for (let i = ZIGGURAT_LAYERS - 2; i >= 1; i--) {
    x = Math.sqrt(-2 * Math.log(ZIGGURAT_V / x + density(x)));
    ZIGGURAT_K[i + 1] = Math.floor((x / previous) * ZIGGURAT_SCALE);
    previous = x;
    ZIGGURAT_F[i] = density(x);
    ZIGGURAT_W[i] = x / ZIGGURAT_SCALE;
  }
}

export class Random {
  private readonly state = new Int32Array(4);
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

  /** Fills out[0..count) with normals of standard deviation `scale` by the ziggurat: about
   *  five times as fast as as many gaussian() calls, with values of its own (not gaussian()'s). */
  normals(out: Float64Array, count = out.length, scale = 1): void {
    if (count > out.length) throw new RangeError(`normals: count ${count} exceeds the buffer's ${out.length}`);
    const state = this.state;
    let i = 0;
    while (i < count) {
      // nextUint32() | 0, inlined: the state stays in int32 registers between draws, and the
      // inner loop stops at the first draw outside its layer's rectangle (about one in 80).
      let s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
      let abscissa = 0;
      let layer = 0;
      for (; i < count; i++) {
        const m = Math.imul(s1, 5);
        const draw = Math.imul((m << 7) | (m >>> 25), 9);
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        layer = draw & (ZIGGURAT_LAYERS - 1);
        abscissa = draw >> ZIGGURAT_LAYER_BITS;
        if (Math.abs(abscissa) >= ZIGGURAT_K[layer]) break;
        out[i] = scale * (abscissa * ZIGGURAT_W[layer]);
      }
      state[0] = s0; state[1] = s1; state[2] = s2; state[3] = s3;
      if (i < count) out[i++] = scale * this.normalOutside(abscissa, layer);
    }
  }

  /** The ziggurat's slow path: a point outside the layer's inner rectangle, accepted under the
   *  density or drawn again; the base layer's tail by Marsaglia's exponential method. Each
   *  round accepts with probability above 1/2, so few rounds are ever needed. */
  private normalOutside(abscissa: number, layer: number): number {
    for (;;) {
      const x = abscissa * ZIGGURAT_W[layer];
      if (layer === 0) {
        let tail: number;
        let y: number;
        do {
          tail = -Math.log(this.openUnit()) / ZIGGURAT_R;
          y = -Math.log(this.openUnit());
        } while (y + y < tail * tail);
        return abscissa > 0 ? ZIGGURAT_R + tail : -ZIGGURAT_R - tail;
      }
      const height = ZIGGURAT_F[layer] + this.next() * (ZIGGURAT_F[layer - 1] - ZIGGURAT_F[layer]);
      if (height < Math.exp(-0.5 * x * x)) return x;
      const draw = this.nextUint32() | 0;
      layer = draw & (ZIGGURAT_LAYERS - 1);
      abscissa = draw >> ZIGGURAT_LAYER_BITS;
      if (Math.abs(abscissa) < ZIGGURAT_K[layer]) return abscissa * ZIGGURAT_W[layer];
    }
  }

  /** Uniform in (0, 1): never 0, for a logarithm. */
  private openUnit(): number {
    return (this.nextUint32() + 0.5) / TWO_TO_32;
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
