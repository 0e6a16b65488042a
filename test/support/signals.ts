// Synthetic accelerometer signals with known content, in g, for checking the analysis.

import { Random } from "../../simulator/physics/random.js";

export const G = 9.80665;

export interface Tone {
  hz: number;
  /** Peak amplitude in g. */
  amplitude_g: number;
  phase?: number;
}

export function tones(count: number, rateHz: number, list: Tone[], noise_g = 0, seed = 1): Float32Array {
  const random = new Random(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let x = 0;
    for (const tone of list) x += tone.amplitude_g * Math.sin((2 * Math.PI * tone.hz * i) / rateHz + (tone.phase ?? 0));
    out[i] = x + noise_g * random.gaussian();
  }
  return out;
}

/** Peak acceleration (g) of a sine whose velocity RMS is `velocityRmsMmS` at `hz`. */
export function accelerationForVelocity(velocityRmsMmS: number, hz: number): number {
  return (velocityRmsMmS / 1000) * Math.SQRT2 * 2 * Math.PI * hz / G;
}

export interface Impacts {
  /** Impacts per second. */
  rateHz: number;
  /** Resonance each impact rings, and its damping ratio. */
  resonanceHz: number;
  damping: number;
  amplitude_g: number;
  /** Amplitude modulation of the impacts (e.g. an inner race passing through the load zone). */
  modulationHz?: number;
  modulationDepth?: number;
  /** Random jitter of each impact's timing, as a share of the period (bearing slip). */
  jitter?: number;
}

/** Periodic impacts, each exciting a decaying resonance: a localised bearing defect. */
export function impacts(count: number, sampleRateHz: number, spec: Impacts, seed = 2): Float32Array {
  const random = new Random(seed);
  const out = new Float32Array(count);
  const period = sampleRateHz / spec.rateHz;
  const decay = 2 * Math.PI * spec.resonanceHz * spec.damping / sampleRateHz;
  const step = 2 * Math.PI * spec.resonanceHz / sampleRateHz;
  const ring = Math.ceil(8 / decay);
  for (let n = 0, start = 0; start < count; n++, start = n * period + (spec.jitter ?? 0) * period * random.gaussian()) {
    const at = Math.max(0, Math.round(start));
    const t = at / sampleRateHz;
    const depth = spec.modulationDepth ?? 0;
    const gain = spec.amplitude_g * (1 - depth + depth * (0.5 + 0.5 * Math.cos(2 * Math.PI * (spec.modulationHz ?? 0) * t)));
    for (let i = 0; i < ring && at + i < count; i++) out[at + i] += gain * Math.exp(-decay * i) * Math.sin(step * i);
  }
  return out;
}

export function add(...signals: Float32Array[]): Float32Array {
  const out = new Float32Array(signals[0].length);
  for (const signal of signals) for (let i = 0; i < out.length; i++) out[i] += signal[i];
  return out;
}
