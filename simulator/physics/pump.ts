// A centrifugal pump's vibration as its accelerometer reports it, in g, and the faults it
// develops (degradation.ts). The bearing faults come from a physical model of a rolling bearing
// rather than from the formulas the firmware looks for, so that a fleet run tests the firmware
// against effects it does not assume:
//
// - Running speed: below synchronous speed by the motor's slip times the load; it wanders between
//   windows (0.2 %) and drifts within one (a random walk over segments of the window, its peak
//   excursion 0.2–0.5 %). Every shaft-locked line and every defect rate follows the drift.
// - Lines: 1× (imbalance), 2× (misalignment), 3×, vane-pass and its second harmonic.
// - The motor's magnetic line: the pull between stator and rotor pulsates twice a cycle of the
//   supply, at 2 × pole pairs × the synchronous speed, a few tenths of a mm/s on a healthy motor.
//   It keeps the supply's frequency whatever the load, the slip and the drift, so it sits beside
//   a running-speed harmonic, a slip apart (a two-pole motor's beside 2×, the misalignment's
//   line; a four-pole one's beside 4×): lines the firmware's speed and 2× must not mistake.
// - Bearing defects: each defect is struck at its kinematic rate (BPFO, BPFI, 2×BSF: the element
//   hits both races once per spin) times (1 − s): the rolling elements slip, s drawn per pump in
//   1–2 %; and each interval between impacts varies at random by 1–2 % of the period, the
//   variations adding up in time, so that the impacts are not periodic but cyclostationary
//   (Randall & Antoni 2011, "Rolling element bearing diagnostics — a tutorial", MSSP 25(2):
//   485–520). The train starts at a random phase in every window: the jitter's spread grows
//   as the square root of the impacts, to a whole period after some 4,000 of them (half a
//   minute), and windows lie minutes to hours apart.
// - Load zone (Stribeck; McFadden & Smith 1984, "Model for the vibration produced by a single
//   point defect in a rolling element bearing", JSV 96(1): 69–82; Harris & Kotzalas, Rolling
//   Bearing Analysis): the load an element carries at angle θ from the load line is
//   q(θ) = [1 − (1 − cos θ)/(2ε)]^n inside the load zone |θ| < arccos(1 − 2ε) and 0 outside,
//   n = 1.5 for ball bearings, ε drawn per pump in 0.3–0.5 (load zones of ±66° to ±90°). An
//   impact is as strong as the load there. The outer race is stationary: its defect, drawn per
//   pump in the middle half of the load zone (where fatigue spalls start), is struck equally
//   hard every time, by a fixed factor q(θ_defect). The inner race's defect turns with the shaft
//   and is loaded once per revolution: its impacts are modulated at 1× by q, bursts rather than a
//   sinusoid, so its envelope spectrum has 1×, 2×, 3× sidebands. A defective element is carried
//   round by the cage: modulated the same way at the cage frequency FTF × (1 − s).
// - Transmission: every impact excites the 2–3 structural resonances of the pump's casing and
//   mounting, each drawn per pump anywhere from 1 kHz to 0.4 × the sample rate (not in the
//   firmware's band bank), with a damping ratio of 2–8 % and a gain of its own.
// - Cavitation: broadband high-frequency noise; imbalance and misalignment grow their lines.
// - The sensor, a MEMS vibration sensor like ST's IIS3DWB (datasheet: 75 µg/√Hz, 16 bits over
//   ±16 g): white noise at that density, 1/f noise below an assumed 10 Hz corner, and the
//   16-bit ADC, which rounds every sample to its 2^-11 g step and clips at full scale.

import { severity, type Degradation } from "./degradation.js";
import {
  addLines, addPinkNoise, addRing, drift, fastestShaftHz, loadRing, normals, SENSOR_NOISE_G_PER_SQRT_HZ, setLine, setSupplyLine, shaftHzAt, shaftTurns, workFor,
} from "./pump-kernels.js";
import { loadZone, resonanceHz, type BearingOrders, type PumpParameters } from "./pump-params.js";
import type { Random } from "./random.js";

/** Run-to-run wander of running speed between windows, as a fraction. */
const SPEED_WANDER = 0.002;
/** The 3× line and the vane-pass line's second harmonic, as shares of the 2× and the vane-pass. */
const THIRD_ORDER_SHARE = 0.3;
const VANE_PASS_SECOND_SHARE = 0.35;
/** No interval between impacts is shorter than this share of the mean (a bound: with 1–2 %
 *  jitter it is never reached). */
const IMPACT_INTERVAL_MIN = 0.5;

/** What each fault adds at functional failure (severity 1), in g: a bearing impact's ring at
 *  full load, at the peak of the pump's strongest resonance. */
const BEARING_IMPACT_G_MAX = 3.0;
const ROLLING_ELEMENT_SHARE = 0.7;
const CAVITATION_G_MAX = 2.0;
const IMBALANCE_G_MAX = 0.25;
const MISALIGNMENT_2X_G_MAX = 0.2;
const MISALIGNMENT_1X_G_MAX = 0.05;
const MISALIGNMENT_3X_G_MAX = 0.08;
/** Late damage raises the noise floor too: noise × (1 + this × severity). */
const DAMAGE_NOISE_GAIN = 2.0;

/** An impact rings until its slowest resonance has decayed by e^-RING_DECAYS. */
const RING_DECAYS = 8;

export class PumpModel {
  private ring = new Float64Array(0);
  private ringRateHz = 0;
  private previousNoise = 0;

  private faults: Degradation[];

  constructor(
    readonly parameters: PumpParameters,
    private readonly random: Random,
    degradations: readonly Degradation[] = [],
    private readonly orders?: BearingOrders,
  ) {
    this.faults = [...degradations];
  }

  /** The faults the pump has now (a repair takes away those it fixed). */
  get degradations(): readonly Degradation[] {
    return this.faults;
  }

  /** A repair at `timeMs`: every fault that has begun by then is fixed (the bearing replaced,
   *  the impeller balanced, the shaft aligned, the suction put right); later ones still come.
   *  Returns the faults it fixed. */
  repair(timeMs: number): Degradation[] {
    const fixed = this.faults.filter((d) => d.onsetMs <= timeMs);
    this.faults = this.faults.filter((d) => d.onsetMs > timeMs);
    return fixed;
  }

  /** Severity of each of this pump's faults at `timeMs`, by kind. */
  severities(timeMs: number): Map<string, number> {
    return new Map(this.degradations.map((d) => [d.kind, severity(d, timeMs)]));
  }

  /** Shaft speed under the pump's load, before the window's wander. */
  get shaftHz(): number {
    const p = this.parameters;
    return (p.rpm / 60) * (1 - p.slip * p.load);
  }

  /** Severity at `timeMs` of the pump's (first) fault of `kind`; 0 without one. */
  private level(kind: string, timeMs: number): number {
    for (const d of this.faults) if (d.kind === kind) return severity(d, timeMs);
    return 0;
  }

  /** Fills `out` with the window that starts at `timeMs` (Unix ms), sampled at
   *  `sampleRateHz`; returns the window's mean shaft speed. The window is summed in float64
   *  (machine and sensor noise, the sensor's 1/f noise, bearing impacts and cavitation, then
   *  the lines on the way out) and converted as the sensor's ADC does, to float32, once. */
  sample(out: Float32Array, sampleRateHz: number, timeMs = 0): number {
    const p = this.parameters;
    const count = out.length;
    // Sized first: growing the kernels' memory would detach a view in use.
    const window = workFor(count, this.orders !== undefined ? this.ringFor(sampleRateHz).length : 0);
    const shaftHz = this.shaftHz * (1 + SPEED_WANDER * this.random.gaussian());
    drift(this.random, count, sampleRateHz, shaftHz);
    const imbalance = this.level("imbalance", timeMs);
    const misalignment = this.level("misalignment", timeMs);
    const bearingDamage = Math.max(this.level("outer_race", timeMs), this.level("inner_race", timeMs), this.level("rolling_element", timeMs));
    // The machine's noise and the sensor's white noise are independent normals: one draw of
    // their combined deviation.
    const machineNoise = p.noise_g * (1 + DAMAGE_NOISE_GAIN * bearingDamage);
    const sensorNoise = SENSOR_NOISE_G_PER_SQRT_HZ * Math.sqrt(sampleRateHz / 2);
    this.random.normals(window, count, Math.hypot(machineNoise, sensorNoise));
    addPinkNoise(this.random, window, count, sampleRateHz);
    if (this.orders !== undefined) this.addBearingDefects(count, sampleRateHz, timeMs);
    const cavitation = this.level("cavitation", timeMs);
    if (cavitation > 0) this.addCavitation(window, count, CAVITATION_G_MAX * cavitation);
    // The motor's magnetic line keeps the supply's time, not the shaft's.
    const supplyTurns = (p.supply_hz * timeMs) / 1000;
    setSupplyLine(p.supply_hz, p.supply_g, p.supply_phase + 2 * Math.PI * (supplyTurns - Math.floor(supplyTurns)));
    setLine(0, 1, p.imbalance_g + IMBALANCE_G_MAX * imbalance + MISALIGNMENT_1X_G_MAX * misalignment, p.phases[0]);
    setLine(1, 2, p.misalignment_g + MISALIGNMENT_2X_G_MAX * misalignment, p.phases[1]);
    setLine(2, 3, THIRD_ORDER_SHARE * p.misalignment_g + MISALIGNMENT_3X_G_MAX * misalignment, p.phases[2]);
    setLine(3, p.vanes, p.vane_pass_g, p.phases[3]);
    setLine(4, 2 * p.vanes, VANE_PASS_SECOND_SHARE * p.vane_pass_g, p.phases[4]);
    addLines(out, count, sampleRateHz);
    return shaftHz;
  }

  /** What one impact rings, built once per sample rate: the sum of the pump's resonances until
   *  the slowest has decayed by e^-RING_DECAYS. Each is the acceleration of a mode whose
   *  velocity rings as a decaying sine, from rest back to rest: a decaying sine's first
   *  difference, of peak about its gain. It sums to nothing (the structure is left as it was),
   *  so impacts modulated at 1× add no 1× line of their own; a bare decaying sine would, by its
   *  area (about 1/ω of its peak), and a pump with an inner-race fault would read as
   *  unbalanced. */
  private ringFor(sampleRateHz: number): Float64Array {
    if (this.ringRateHz !== sampleRateHz) {
      const modes = this.parameters.resonances.map((r) => {
        const hz = resonanceHz(r.position, sampleRateHz);
        const step = (2 * Math.PI * hz * Math.sqrt(1 - r.damping * r.damping)) / sampleRateHz;
        return { decay: (2 * Math.PI * hz * r.damping) / sampleRateHz, step, gain: r.gain / (2 * Math.sin(step / 2)) };
      });
      const length = Math.ceil(RING_DECAYS / Math.min(...modes.map((m) => m.decay)));
      this.ring = new Float64Array(length);
      for (const m of modes) {
        let previous = 0;
        for (let i = 0; i < length; i++) {
          const velocity = Math.exp(-m.decay * i) * Math.sin(m.step * i);
          this.ring[i] += m.gain * (velocity - previous);
          previous = velocity;
        }
      }
      this.ringRateHz = sampleRateHz;
    }
    return this.ring;
  }

  private addBearingDefects(count: number, sampleRateHz: number, timeMs: number): void {
    const o = this.orders!;
    const p = this.parameters;
    const rolling = 1 - p.element_slip;
    const outer = this.level("outer_race", timeMs);
    const inner = this.level("inner_race", timeMs);
    const element = this.level("rolling_element", timeMs);
    // The stationary outer-race defect: at its place in the load zone every time.
    if (outer > 0) this.addImpacts(count, sampleRateHz, o.bpfo * rolling, BEARING_IMPACT_G_MAX * outer, 0, p.outer_defect_rad);
    // The inner race's defect turns with the shaft through the load zone.
    if (inner > 0) this.addImpacts(count, sampleRateHz, o.bpfi * rolling, BEARING_IMPACT_G_MAX * inner, 1, p.inner_defect_rad);
    // The defective element goes round with the cage, from wherever the cage is.
    if (element > 0) {
      const cageRad = this.random.uniform(0, 2 * Math.PI);
      this.addImpacts(count, sampleRateHz, 2 * o.bsf * rolling, BEARING_IMPACT_G_MAX * ROLLING_ELEMENT_SHARE * element, o.ftf * rolling, cageRad);
    }
  }

  /** One defect's impacts at `order` × the shaft speed (drifting with it), each interval
   *  jittered and the jitter accumulating, from a random phase; each impact rings the
   *  resonances at `amplitude` × the load zone at the defect's angle from the load line,
   *  `angleRad` + `modulationOrder` turns a turn of the shaft. Impacts up to a ring's length
   *  before the window ring into it. */
  private addImpacts(count: number, sampleRateHz: number, order: number, amplitude: number, modulationOrder: number, angleRad: number): void {
    const p = this.parameters;
    const ring = this.ring;
    const length = ring.length;
    loadRing(ring);
    const fastestHz = fastestShaftHz();
    const impactsMax = Math.ceil((count + length) / ((IMPACT_INTERVAL_MIN * sampleRateHz) / (order * fastestHz))) + 1;
    let x = -length + this.random.next() * (sampleRateHz / (order * shaftHzAt(-length)));
    for (let impact = 0; impact < impactsMax && x < count; impact++) {
      const at = Math.round(x);
      const load = loadZone(angleRad + 2 * Math.PI * modulationOrder * shaftTurns(x, sampleRateHz), p.load_zone);
      if (load > 0 && at > -length) {
        const gain = amplitude * load;
        addRing(at, length, count, gain);
      }
      const interval = (sampleRateHz / (order * shaftHzAt(x))) * Math.max(IMPACT_INTERVAL_MIN, 1 + p.impact_jitter * this.random.gaussian());
      x += interval;
    }
  }

  /** Broadband noise tilted to high frequencies (a first difference of white noise), the
   *  collapse of vapour bubbles. `rmsG` is its RMS. */
  private addCavitation(window: Float64Array, count: number, rmsG: number): void {
    const scale = rmsG / Math.SQRT2; // the difference of two unit normals has variance 2
    this.random.normals(normals, count);
    let previous = this.previousNoise;
    for (let i = 0; i < count; i++) {
      const w = normals[i];
      window[i] += scale * (w - previous);
      previous = w;
    }
    this.previousNoise = previous;
  }
}
