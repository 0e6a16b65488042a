// The simulator's seeded randomness: the same seed gives the same values, and the ziggurat's
// normals (what every simulated window's noise is made of) have the normal distribution's
// moments and tails.

import { describe, expect, it } from "vitest";
import { Random } from "../../simulator/physics/random.js";

const COUNT = 400_000;

/** P(|x| > t) for a standard normal at t = 1, 2, 3. */
const TWO_SIDED_TAILS: [number, number][] = [[1, 0.3173105], [2, 0.0455003], [3, 0.0026998]];

describe("Random.normals (ziggurat)", () => {
  it("gives the same values for the same seed, and other values for another seed", () => {
    const a = new Float64Array(1000);
    const b = new Float64Array(1000);
    const c = new Float64Array(1000);
    new Random(42).normals(a);
    new Random(42).normals(b);
    new Random(43).normals(c);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("has mean 0, variance 1, skewness 0 and kurtosis 3 within five standard errors over 400,000 draws", () => {
    const x = new Float64Array(COUNT);
    new Random(2026).normals(x);
    let m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (const v of x) {
      m1 += v; m2 += v * v; m3 += v * v * v; m4 += v * v * v * v;
    }
    // Standard errors of the raw moments of a standard normal: √(Var xᵏ / n).
    const se = (variance: number): number => 5 * Math.sqrt(variance / COUNT);
    expect(Math.abs(m1 / COUNT)).toBeLessThan(se(1));
    expect(Math.abs(m2 / COUNT - 1)).toBeLessThan(se(2));
    expect(Math.abs(m3 / COUNT)).toBeLessThan(se(15));
    expect(Math.abs(m4 / COUNT - 3)).toBeLessThan(se(96));
  });

  it("puts the normal share of draws beyond 1, 2 and 3, and reaches past the base layer's edge at 3.44", () => {
    const x = new Float64Array(COUNT);
    new Random(7).normals(x);
    for (const [t, share] of TWO_SIDED_TAILS) {
      const observed = x.filter((v) => Math.abs(v) > t).length / COUNT;
      expect(Math.abs(observed - share), `beyond ${t}`).toBeLessThan(5 * Math.sqrt((share * (1 - share)) / COUNT));
    }
    expect(x.some((v) => v > 3.5)).toBe(true);
    expect(x.some((v) => v < -3.5)).toBe(true);
    expect(x.every((v) => Number.isFinite(v))).toBe(true);
  });
});
