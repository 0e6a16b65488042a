// The pump model: its windows are fixed by the seed (the same seed, pump, faults and time give
// the same float32 samples, bit for bit: seeded fleet runs assert exact outcomes), and its
// physics, measured from the windows as an analyst would measure a real pump's: the bearing's
// defects struck at their kinematic rates less the elements' slip, modulated by the load zone,
// ringing the pump's own resonances; the speed drifting within a window; the sensor's noise and
// its converter's steps.

import { createHash } from "node:crypto";
import fs from "node:fs";
import FFT from "fft.js";
import { describe, expect, it } from "vitest";
import { FAULT_KINDS, type Degradation } from "../../simulator/physics/degradation.js";
import { ADC_STEP_G, KERNELS_WASM } from "../../simulator/physics/pump-kernels.js";
import { bearingOrders, drawPump, loadZone, loadZoneHalfAngle, resonanceHz, STANDARD_GRAVITY_M_S2, SUPPLY_MM_S_DEFAULT, type PumpRanges } from "../../simulator/physics/pump-params.js";
import { PumpModel } from "../../simulator/physics/pump.js";
import { Random } from "../../simulator/physics/random.js";
import { loadScenario, parseScenario } from "../../simulator/scenario/scenario.js";

const scenario = loadScenario(new URL("../../scenarios/default.json", import.meta.url).pathname);
const startMs = Date.parse(scenario.start);
const DAY_MS = 86_400_000;
const RATE_HZ = scenario.sample_rate_hz;
const orders = bearingOrders(scenario.bearing!);
/** A long window (5.12 s at 12.8 kHz) for fine frequency resolution: 0.2 Hz. */
const LONG = 65_536;

/** sha256 of pump `index`'s windows on days 0, 5, 12 and 30, with `faults` from day 1 to day 21. */
function windowsHash(index: number, faults: Degradation["kind"][], rateHz: number, samples: number, seed = scenario.seed): string {
  const random = Random.forItem(seed, index);
  const degradations = faults.map((kind) => ({ kind, onsetMs: startMs + DAY_MS, failureMs: startMs + 21 * DAY_MS }));
  const model = new PumpModel(drawPump(scenario.pump, random), random, degradations, orders);
  const hash = createHash("sha256");
  const window = new Float32Array(samples);
  for (const day of [0, 5, 12, 30]) {
    model.sample(window, rateHz, startMs + day * DAY_MS);
    hash.update(new Uint8Array(window.buffer));
  }
  return hash.digest("hex").slice(0, 16);
}

/** Pump `index` of the default scenario with `kind` at functional failure, and one long window. */
function failedPump(index: number, kind: Degradation["kind"]) {
  const random = Random.forItem(scenario.seed, index);
  const parameters = drawPump(scenario.pump, random);
  const model = new PumpModel(parameters, random, [{ kind, onsetMs: 0, failureMs: 1 }], orders);
  const window = new Float32Array(LONG);
  const shaftHz = model.sample(window, RATE_HZ, startMs);
  return { parameters, window, shaftHz };
}

describe("PumpModel.sample is fixed by the seed", () => {
  it("gives the same bytes for the same seed and other bytes for another", () => {
    const all = [...FAULT_KINDS];
    expect(windowsHash(4, all, RATE_HZ, scenario.window)).toBe(windowsHash(4, all, RATE_HZ, scenario.window));
    expect(windowsHash(4, all, RATE_HZ, scenario.window, 2)).not.toBe(windowsHash(4, all, RATE_HZ, scenario.window));
  });

  it("gives these bytes, healthy and with each fault", () => {
    const hashes = [[], ...FAULT_KINDS.map((kind) => [kind]), [...FAULT_KINDS]].map((faults, i) => windowsHash(i, faults, RATE_HZ, scenario.window));
    expect(hashes).toEqual(EXPECTED_DEFAULT);
  });

  it("gives these bytes at an odd window of 1001 samples at 4000 Hz", () => {
    expect(windowsHash(3, ["outer_race", "cavitation"], 4000, 1001)).toBe(EXPECTED_ODD);
  });
});

/** The first 16 hex digits of each hash, from this model: slipping elements, load zones, 2–3
 *  resonances, speed drift within the window, the motor's magnetic line and the sensor's noise
 *  and converter. (The models before it gave other bytes: whose impacts came at the firmware's
 *  own defect rates through one resonance, and the one without the motor's line, whose hashes
 *  began 9823607d93d54e86 and 0efc08ba11ea900f.) */
const EXPECTED_DEFAULT = ["d647bffb696f7232", "7c27ab8f4ce2ae92", "488338b7942a29dd", "0e6398535eacc841", "8f9fd549fad2aa1e", "be72f71207131808", "669795785fc600ee", "153e72ff976ecdfa"];
const EXPECTED_ODD = "843778f6532c35bc";

describe("the pump's bearing", () => {
  it("has 2 or 3 resonances anywhere from 1 kHz to 0.4 × the sample rate, each with its own damping (2–8 %) and gain", () => {
    const found: number[] = [];
    for (let i = 0; i < 200; i++) {
      const { resonances } = drawPump(scenario.pump, Random.forItem(scenario.seed, i));
      expect(resonances.length).toBeGreaterThanOrEqual(2);
      expect(resonances.length).toBeLessThanOrEqual(3);
      expect(Math.max(...resonances.map((r) => r.gain))).toBe(1);
      for (const r of resonances) {
        expect(r.damping).toBeGreaterThanOrEqual(0.02);
        expect(r.damping).toBeLessThan(0.08);
        expect(r.gain).toBeGreaterThan(0);
        found.push(resonanceHz(r.position, RATE_HZ));
      }
    }
    expect(Math.min(...found)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...found)).toBeLessThan(0.4 * RATE_HZ);
    // Spread over the whole range, not gathered where the firmware's bands are: every fifth of
    // it holds at least a tenth of them.
    for (let fifth = 0; fifth < 5; fifth++) {
      const low = 1000 + (fifth * (0.4 * RATE_HZ - 1000)) / 5;
      const high = low + (0.4 * RATE_HZ - 1000) / 5;
      expect(found.filter((hz) => hz >= low && hz < high).length).toBeGreaterThan(found.length / 10);
    }
  });

  it("rings the pump's own resonances: two seeds, two spectra peaking at their own resonances", () => {
    const peaks = [0, 1].map((index) => {
      const { parameters, window } = failedPump(index, "outer_race");
      const psd = welch(window, 1024);
      const binHz = RATE_HZ / 1024;
      let strongest = 0;
      for (let k = Math.ceil(900 / binHz); k * binHz <= 0.45 * RATE_HZ; k++) if (psd[k] > psd[strongest]) strongest = k;
      const peakHz = strongest * binHz;
      const nearest = Math.min(...parameters.resonances.map((r) => Math.abs(peakHz / resonanceHz(r.position, RATE_HZ) - 1)));
      expect(nearest, `pump ${index}: the spectrum peaks at ${peakHz} Hz`).toBeLessThan(0.05);
      return peakHz;
    });
    expect(Math.abs(peaks[0] / peaks[1] - 1)).toBeGreaterThan(0.5);
  });

  const defects: [Degradation["kind"], number][] = [["outer_race", orders.bpfo], ["inner_race", orders.bpfi], ["rolling_element", 2 * orders.bsf]];
  for (const [kind, order] of defects) {
    it(`strikes a defect at its kinematic rate × (1 − the elements' slip), as the envelope shows: ${kind}`, () => {
      for (const index of [0, 1, 2, 3]) {
        const { parameters, window, shaftHz } = failedPump(index, kind);
        const kinematicHz = order * shaftHz;
        const envelope = squaredEnvelope(window);
        // The line's centroid: the mean impact rate, whatever the drift and the jitter spread it.
        const peakHz = strongest(envelope, 0.97 * kinematicHz, 1.005 * kinematicHz);
        const measuredHz = centroid(envelope, 0.992 * peakHz, 1.008 * peakHz);
        // Within 0.3 % of the slipping rate, and clear of the kinematic rate the firmware computes.
        expect(Math.abs(measuredHz / (kinematicHz * (1 - parameters.element_slip)) - 1), `pump ${index}`).toBeLessThan(0.003);
        expect(measuredHz / kinematicHz, `pump ${index}`).toBeLessThan(0.993);
        expect(parameters.element_slip).toBeGreaterThanOrEqual(0.01);
        expect(parameters.element_slip).toBeLessThan(0.02);
      }
    });
  }

  it("loads the inner race's defect once a revolution: its envelope has sidebands at ±1× and ±2×, the stationary outer race's none", () => {
    for (const index of [0, 1, 2, 3]) {
      const sidebands = (kind: Degradation["kind"], order: number): number[] => {
        const { parameters, window, shaftHz } = failedPump(index, kind);
        const envelope = squaredEnvelope(window);
        const lineHz = order * shaftHz * (1 - parameters.element_slip);
        const line = peakPower(envelope, lineHz);
        return [-2, -1, 1, 2].map((k) => Math.sqrt(peakPower(envelope, lineHz + k * shaftHz) / line));
      };
      const [innerMinus2, innerMinus1, innerPlus1, innerPlus2] = sidebands("inner_race", orders.bpfi);
      expect(Math.min(innerMinus1, innerPlus1), `pump ${index}`).toBeGreaterThan(0.5);
      // Bursts in the load zone, not a sinusoidal modulation (which would leave ±2× empty).
      expect(Math.min(innerMinus2, innerPlus2), `pump ${index}`).toBeGreaterThan(0.3);
      expect(Math.max(...sidebands("outer_race", orders.bpfo)), `pump ${index}`).toBeLessThan(0.05);
    }
  });

  it("rings with no running-speed line of its own: an inner-race fault at failure leaves 1× as it was", () => {
    // Its impacts come in bursts once a revolution; a ring that did not sum to nothing would
    // turn them into a 1× line, and the pump would read as unbalanced.
    for (const index of [0, 8]) {
      const lineG = (faults: Degradation[]): number => {
        const random = Random.forItem(scenario.seed, index);
        const model = new PumpModel(drawPump(scenario.pump, random), random, faults, orders);
        const window = new Float32Array(LONG);
        const shaftHz = model.sample(window, RATE_HZ, startMs);
        return (2 * Math.sqrt(peakPower(window, shaftHz))) / LONG;
      };
      const healthy = lineG([]);
      expect(Math.abs(lineG([{ kind: "inner_race", onsetMs: 0, failureMs: 1 }]) / healthy - 1), `pump ${index}`).toBeLessThan(0.05);
    }
  });

  it("carries a defective element round with the cage: its envelope has sidebands at the cage frequency", () => {
    for (const index of [0, 1, 2, 3]) {
      const { parameters, window, shaftHz } = failedPump(index, "rolling_element");
      const envelope = squaredEnvelope(window);
      const rolling = shaftHz * (1 - parameters.element_slip);
      const line = peakPower(envelope, 2 * orders.bsf * rolling);
      for (const k of [-1, 1]) {
        expect(Math.sqrt(peakPower(envelope, 2 * orders.bsf * rolling + k * orders.ftf * rolling) / line), `pump ${index}`).toBeGreaterThan(0.5);
      }
    }
  });

  it("weighs each impact by Stribeck's load zone, q(θ) = [1 − (1 − cos θ)/(2ε)]^1.5, nothing outside it", () => {
    expect(loadZone(0, 0.5)).toBe(1);
    expect(loadZone(Math.PI / 3, 0.5)).toBeCloseTo(0.5 ** 1.5, 12);
    expect(loadZoneHalfAngle(0.5)).toBeCloseTo(Math.PI / 2, 12);
    expect(loadZone(loadZoneHalfAngle(0.3) + 1e-9, 0.3)).toBe(0);
    expect(loadZone(Math.PI, 0.5)).toBe(0);
    // Outer-race defects lie in the middle half of the load zone, so they are struck at 0.6 to 1
    // of the largest load.
    for (let i = 0; i < 200; i++) {
      const p = drawPump(scenario.pump, Random.forItem(scenario.seed, i));
      expect(p.load_zone).toBeGreaterThanOrEqual(0.3);
      expect(p.load_zone).toBeLessThan(0.5);
      expect(Math.abs(p.outer_defect_rad)).toBeLessThanOrEqual(loadZoneHalfAngle(p.load_zone) / 2);
      expect(loadZone(p.outer_defect_rad, p.load_zone)).toBeGreaterThan(0.58);
    }
  });
});

describe("running speed", () => {
  it("drifts within a window about the window's mean speed: the vane pass of its two halves differs", () => {
    for (const index of [0, 1, 2, 3, 4, 5]) {
      const random = Random.forItem(scenario.seed, index);
      const parameters = drawPump(scenario.pump, random);
      const window = new Float32Array(LONG);
      const vanePassHz = parameters.vanes * new PumpModel(parameters, random).sample(window, RATE_HZ, startMs);
      const [low, high] = [0.99 * vanePassHz, 1.01 * vanePassHz];
      expect(Math.abs(centroid(window, low, high) / vanePassHz - 1), `pump ${index}`).toBeLessThan(0.0005);
      const first = centroid(window.subarray(0, LONG / 2), low, high);
      const second = centroid(window.subarray(LONG / 2), low, high);
      // Steady, the two would agree to within 0.001 %; the drift's peak excursion is at most 0.5 %.
      expect(Math.abs(first / second - 1), `pump ${index}`).toBeGreaterThan(0.0002);
      expect(Math.abs(first / second - 1), `pump ${index}`).toBeLessThan(0.01);
    }
  });
});

describe("the motor", () => {
  it("is two-pole or four-pole, its magnetic line at 2 × pole pairs × the synchronous speed, of 0.05–0.5 mm/s RMS", () => {
    const pairs = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = drawPump(scenario.pump, Random.forItem(scenario.seed, i));
      pairs.add(p.pole_pairs);
      expect(p.supply_hz).toBe((2 * p.pole_pairs * p.rpm) / 60);
      const velocityMmS = (p.supply_g * STANDARD_GRAVITY_M_S2 * 1000) / (Math.SQRT2 * 2 * Math.PI * p.supply_hz);
      expect(velocityMmS).toBeGreaterThanOrEqual(0.05 - 1e-12);
      expect(velocityMmS).toBeLessThan(0.5);
    }
    expect([...pairs].sort()).toEqual([1, 2]);
  });

  it("is drawn from 0.05–0.5 mm/s where a scenario gives no range; a range it gives is checked like the others", () => {
    const raw = JSON.parse(fs.readFileSync(new URL("../../scenarios/default.json", import.meta.url), "utf8")) as { pump: Record<string, unknown> };
    expect(raw.pump.supply_mm_s).toBeUndefined();
    expect(scenario.pump.supply_mm_s).toEqual(SUPPLY_MM_S_DEFAULT);
    expect(parseScenario({ ...raw, pump: { ...raw.pump, supply_mm_s: [0, 0] } }).pump.supply_mm_s).toEqual([0, 0]);
    expect(() => parseScenario({ ...raw, pump: { ...raw.pump, supply_mm_s: "loud" } }, "s.json")).toThrow(`s.json: "pump.supply_mm_s" must be [low, high]`);
  });

  it("draws it apart from the pump's other parameters and the windows' randomness: without it, they are as they were", () => {
    const silent = { ...scenario.pump, supply_mm_s: [0, 0] as [number, number] };
    const [a, b] = [Random.forItem(scenario.seed, 3), Random.forItem(scenario.seed, 3)];
    const [humming, quiet] = [drawPump(scenario.pump, a), drawPump(silent, b)];
    expect(quiet.supply_g).toBe(0);
    expect({ ...humming, supply_g: 0 }).toEqual(quiet);
    expect(a.next()).toBe(b.next());
  });

  it("hums at the supply's frequency whatever the load and the slip: beside the shaft's harmonic, a slip apart, of the drawn peak", () => {
    for (const index of [0, 1, 2, 3]) {
      const random = new Random(40 + index);
      const drawn = drawPump({ ...quietRanges, rpm: [1500, 3000], slip: [0.02, 0.03], load: [0.8, 1], supply_mm_s: [0.3, 0.3] }, random);
      const window = new Float32Array(LONG);
      const shaftHz = new PumpModel(drawn, random).sample(window, RATE_HZ, startMs);
      const harmonicHz = 2 * drawn.pole_pairs * shaftHz;
      // The slip puts the shaft's harmonic 1.6–3 % below the line: many bins apart at 0.2 Hz.
      expect(drawn.supply_hz / harmonicHz - 1).toBeGreaterThan(0.015);
      expect(Math.abs(strongest(window, 0.9 * drawn.supply_hz, 1.1 * drawn.supply_hz) - drawn.supply_hz)).toBeLessThanOrEqual(RATE_HZ / LONG / 8);
      // A line of peak A over N samples under a Hann-less sum: |X| = A N / 2.
      const amplitude = (2 * Math.sqrt(peakPower(window, drawn.supply_hz))) / LONG;
      expect(Math.abs(amplitude / drawn.supply_g - 1), `pump ${index}`).toBeLessThan(0.02);
    }
  });
});

/** A pump that makes no sound: what remains is the sensor's. */
const zero: [number, number] = [0, 0];
const quietRanges: PumpRanges = { rpm: [1500, 1500], vanes: [5, 5], slip: zero, load: zero, imbalance_g: zero, misalignment_g: zero, vane_pass_g: zero, noise_g: zero, supply_mm_s: zero };

describe("the sensor", () => {
  const quiet = quietRanges;

  it("reports whole steps of a 16-bit converter over ±16 g, clipped at full scale", () => {
    expect(ADC_STEP_G).toBe(2 ** -11);
    const random = Random.forItem(scenario.seed, 9);
    const model = new PumpModel(drawPump(scenario.pump, random), random, [...FAULT_KINDS].map((kind) => ({ kind, onsetMs: 0, failureMs: 1 })), orders);
    const window = new Float32Array(scenario.window);
    model.sample(window, RATE_HZ, startMs);
    expect(window.every((g) => Number.isInteger(g / ADC_STEP_G))).toBe(true);
    // A pump far louder than the sensor's range: its readings stop at the converter's ends.
    const loud = new Random(3);
    new PumpModel(drawPump({ ...quiet, noise_g: [20, 20] }, loud), loud).sample(window, RATE_HZ, startMs);
    expect(Math.min(...window)).toBe(-16);
    expect(Math.max(...window)).toBe(16 - 2 ** -11);
    expect(window.filter((g) => g === -16).length).toBeGreaterThan(100);
  });

  it("adds white noise of 75 µg/√Hz and 1/f noise below 10 Hz", () => {
    // A pump that makes no sound: what remains is the sensor's.
    const random = new Random(5);
    const model = new PumpModel(drawPump(quiet, random), random);
    const size = 16_384;
    const psd = new Float64Array(size / 2 + 1);
    const window = new Float32Array(LONG);
    for (let w = 0; w < 20; w++) {
      model.sample(window, RATE_HZ, startMs + w * 1000);
      const part = welch(window, size);
      for (let k = 0; k < psd.length; k++) psd[k] += part[k] / 20;
    }
    const binHz = RATE_HZ / size;
    const band = (low: number, high: number): number => {
      let sum = 0, bins = 0;
      for (let k = Math.ceil(low / binHz); k * binHz <= high; k++, bins++) sum += psd[k];
      return sum / bins / (75e-6) ** 2; // in units of the white noise's density
    };
    expect(band(500, 5000)).toBeGreaterThan(0.97);
    expect(band(500, 5000)).toBeLessThan(1.03);
    // 1/f: the excess over the white noise halves from one octave to the next, and equals the
    // white noise's density near 10 Hz.
    expect((band(1.5, 3) - 1) / (band(3, 6) - 1)).toBeGreaterThan(1.8);
    expect((band(1.5, 3) - 1) / (band(3, 6) - 1)).toBeLessThan(2.2);
    expect(band(3, 6) - 1).toBeGreaterThan(0.8 * (10 / Math.sqrt(18)));
    expect(band(3, 6) - 1).toBeLessThan(1.2 * (10 / Math.sqrt(18)));
  });
});

describe("the pump model's SIMD kernels", () => {
  it("are the bytes simulator/physics/pump-kernels.wat assembles to", async () => {
    const { default: binaryen } = await import("binaryen");
    const text = fs.readFileSync(new URL("../../simulator/physics/pump-kernels.wat", import.meta.url), "utf8");
    const module = binaryen.parseText(text);
    module.setFeatures(binaryen.Features.MVP | binaryen.Features.SIMD128);
    expect(module.validate()).toBeTruthy();
    const assembled = module.emitBinary();
    module.dispose();
    expect(Buffer.from(assembled).toString("base64")).toBe(KERNELS_WASM);
  });
});

/** The squared signal, its mean taken out: the impacts' envelope (at failure they stand far
 *  above the lines and the noise). */
function squaredEnvelope(window: Float32Array): Float64Array {
  const envelope = Float64Array.from(window, (g) => g * g);
  const mean = envelope.reduce((a, b) => a + b, 0) / envelope.length;
  return envelope.map((e) => e - mean);
}

/** |Σ x[n] e^(−2πi·f·n/fs)|², by a rotating phasor re-seeded every 1024 samples. */
function power(x: ArrayLike<number>, hz: number): number {
  const step = (2 * Math.PI * hz) / RATE_HZ;
  const k = Math.cos(step), q = Math.sin(step);
  let re = 0, im = 0, c = 1, s = 0;
  for (let n = 0; n < x.length; n++) {
    if (n % 1024 === 0) {
      c = Math.cos(step * n);
      s = Math.sin(step * n);
    }
    re += x[n] * c;
    im -= x[n] * s;
    const t = c * k - s * q;
    s = s * k + c * q;
    c = t;
  }
  return re * re + im * im;
}

/** The frequencies from `low` to `high` in steps of an eighth of the resolution, and their powers. */
function zoom(x: ArrayLike<number>, low: number, high: number): { hz: number[]; powers: number[] } {
  const step = RATE_HZ / x.length / 8;
  const hz = Array.from({ length: Math.floor((high - low) / step) + 1 }, (_, i) => low + i * step);
  return { hz, powers: hz.map((f) => power(x, f)) };
}

/** Where the power between `low` and `high` peaks. */
function strongest(x: ArrayLike<number>, low: number, high: number): number {
  const { hz, powers } = zoom(x, low, high);
  return hz[powers.indexOf(Math.max(...powers))];
}

/** The strongest power within ±0.5 % of `hz`. */
function peakPower(x: ArrayLike<number>, hz: number): number {
  return Math.max(...zoom(x, 0.995 * hz, 1.005 * hz).powers);
}

/** The power-weighted mean frequency between `low` and `high`, the median power (the
 *  background) taken out. */
function centroid(x: ArrayLike<number>, low: number, high: number): number {
  const { hz, powers } = zoom(x, low, high);
  const background = [...powers].sort((a, b) => a - b)[powers.length >> 1];
  let weighted = 0, total = 0;
  for (let i = 0; i < hz.length; i++) {
    const above = Math.max(0, powers[i] - background);
    weighted += above * hz[i];
    total += above;
  }
  return weighted / total;
}

/** One-sided power spectral density, g²/Hz, by Welch's method: Hann segments of `size`, half
 *  overlapping. */
function welch(x: Float32Array, size: number): Float64Array {
  const fft = new FFT(size);
  const spectrum = fft.createComplexArray();
  const hann = Array.from({ length: size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
  const energy = hann.reduce((a, w) => a + w * w, 0);
  const segment = new Array<number>(size).fill(0);
  const psd = new Float64Array(size / 2 + 1);
  let segments = 0;
  for (let start = 0; start + size <= x.length; start += size / 2, segments++) {
    for (let i = 0; i < size; i++) segment[i] = x[start + i] * hann[i];
    fft.realTransform(spectrum, segment);
    for (let k = 0; k <= size / 2; k++) psd[k] += (2 * (spectrum[2 * k] ** 2 + spectrum[2 * k + 1] ** 2)) / (energy * RATE_HZ);
  }
  return psd.map((p) => p / segments);
}
