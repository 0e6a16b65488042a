// The envelope evidence's noise model for averaged spectra (firmware/ANALYSIS.md §5, "Averaged
// spectra"), through the debug build: the tail it computes is the F distribution's its
// derivation names, and under noise it is as rare as it says.

import fs from "node:fs";
import * as loader from "@assemblyscript/loader";
import { beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../simulator/physics/random.js";
import { DEBUG_IMAGE } from "../../host/runtime/images.js";
import { silentHostImports } from "../../host/runtime/harness-hosts.js";

interface DebugExports extends Record<string, unknown> {
  debug_averaged_ln_tail(peak: number, median: number, count: number, shape: number): number;
  debug_ln_kurtosis_tail(kurtosis: number, count: number): number;
}

let exports: loader.ASUtil & DebugExports;

beforeAll(async () => {
  const instance = await loader.instantiate<DebugExports>(fs.readFileSync(DEBUG_IMAGE), { host: silentHostImports() });
  exports = instance.exports as loader.ASUtil & DebugExports;
});

/** A gamma of whole shape k and mean 1: the mean of k exponentials. */
function gammaMeanOne(random: Random, k: number): number {
  let sum = 0;
  for (let i = 0; i < k; i++) sum -= Math.log(1 - random.next());
  return sum / k;
}

describe("the averaged spectrum's tail (evidence.ts averagedLnTail)", () => {
  // ln P(F(2k, 2n) > y), y = peak / (median k / median of gamma(k)), n = count k e(k) / 1.5,
  // from scipy.stats (f.logsf, gamma.median, gamma.pdf for e(k)).
  const REFERENCE: Array<[peak: number, median: number, count: number, shape: number, lnTail: number]> = [
    [3.0, 1.0, 30, 2, -2.9068810580980795],
    [2.0, 0.9, 30, 5, -3.459203199291796],
    [1.6, 1.0, 30, 14, -3.2952726408872106],
    [1.4, 0.95, 30, 31, -4.232551908595677],
    [2.5, 1.2, 20, 8, -4.040291736836127],
  ];
  for (const [peak, median, count, shape, lnTail] of REFERENCE) {
    it(`shape ${shape}, ${count} floor bins, peak ${peak} over median ${median}: ln p ${lnTail.toFixed(4)}`, () => {
      // Choi's series for the gamma's median is within 5e-5 of it at shape 2, closer above.
      expect(exports.debug_averaged_ln_tail(peak, median, count, shape)).toBeCloseTo(lnTail, 3);
    });
  }

  it("a larger peak is less probable, a larger floor more", () => {
    const p = exports.debug_averaged_ln_tail(2.0, 1.0, 30, 8);
    expect(exports.debug_averaged_ln_tail(2.5, 1.0, 30, 8)).toBeLessThan(p);
    expect(exports.debug_averaged_ln_tail(2.0, 1.2, 30, 8)).toBeGreaterThan(p);
  });

  // Under noise an averaged bin and its floor's are gamma of the average's shape; 30 independent
  // floor bins are what the model counts as 45 Hann-windowed ones. Over 20,000 draws a tail of
  // 1 % is reached 0.85 % of the time (a median is a little steadier than its asymptotic
  // variance says): within 0.6–1.1 % (± 3.5 standard deviations of a binomial at 0.85 %).
  for (const shape of [2, 4, 16]) {
    it(`shape ${shape}: a probability of 1 % under noise is reached about 1 % of the time, never far more`, () => {
      const random = new Random(0x5eed + shape);
      const trials = 20_000;
      const floor = new Float64Array(30);
      let reached = 0;
      for (let t = 0; t < trials; t++) {
        const peak = gammaMeanOne(random, shape);
        for (let i = 0; i < floor.length; i++) floor[i] = gammaMeanOne(random, shape);
        floor.sort();
        if (exports.debug_averaged_ln_tail(peak, floor[15], 45, shape) <= Math.log(0.01)) reached++;
      }
      expect(reached / trials).toBeGreaterThan(0.006);
      expect(reached / trials).toBeLessThan(0.011);
    });
  }
});

describe("a window's kurtosis under noise (stats.ts lnKurtosisTail)", () => {
  // ln Q(Z), Z Anscombe & Glynn's deviate for the sample kurtosis b2 of n samples, as
  // scipy.stats.kurtosistest computes it (norm.logsf of its statistic).
  const REFERENCE: Array<[kurtosis: number, count: number, lnTail: number]> = [
    [3.1, 4096, -2.344539], [3.2, 4096, -4.922452], [3.3, 4096, -8.315327], [4.0, 4096, -43.524762],
    [3.5, 2560, -11.477787], [6.0, 1024, -41.749192],
  ];
  for (const [kurtosis, count, lnTail] of REFERENCE) {
    it(`kurtosis ${kurtosis} over ${count} samples: ln p ${lnTail.toFixed(4)}`, () => {
      expect(exports.debug_ln_kurtosis_tail(kurtosis, count)).toBeCloseTo(lnTail, 4);
    });
  }

  it("is certain (ln p 0) at or below noise's kurtosis and for fewer than 20 samples", () => {
    expect(exports.debug_ln_kurtosis_tail(2.9, 4096)).toBe(0);
    expect(exports.debug_ln_kurtosis_tail(1.5, 4096)).toBe(0); // a sine's
    expect(exports.debug_ln_kurtosis_tail(10, 19)).toBe(0);
  });

  // 4,000 windows of 4096 Gaussian samples: a tail of 1 % is reached 1 % of the time (within
  // 0.55–1.45 %: ± 3 standard deviations of a binomial at 1 %).
  it("a probability of 1 % under noise is reached about 1 % of the time", () => {
    const random = new Random(0x6a55);
    const windows = 4000;
    const x = new Float64Array(4096);
    let reached = 0;
    for (let w = 0; w < windows; w++) {
      let mean = 0;
      for (let i = 0; i < x.length; i++) {
        x[i] = random.gaussian();
        mean += x[i];
      }
      mean /= x.length;
      let m2 = 0;
      let m4 = 0;
      for (const v of x) {
        const d = (v - mean) ** 2;
        m2 += d;
        m4 += d * d;
      }
      const kurtosis = (m4 / x.length) / (m2 / x.length) ** 2;
      if (exports.debug_ln_kurtosis_tail(kurtosis, x.length) < Math.log(0.01)) reached++;
    }
    expect(reached / windows).toBeGreaterThan(0.0055);
    expect(reached / windows).toBeLessThan(0.0145);
  });
});
