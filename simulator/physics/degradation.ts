// Faults that develop: a defect becomes detectable at its onset (P on the P–F curve) and
// grows, faster and faster, to functional failure (F) after the P–F interval. Each kind of
// fault shows in the vibration the way it does on a real pump; pump.ts mixes them in.

import type { Random } from "./random.js";

export const FAULT_KINDS = ["outer_race", "inner_race", "rolling_element", "cavitation", "imbalance", "misalignment"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Severity grows as ((t − onset) / pf)^P_F_EXPONENT: slowly at first, fast near failure. */
const P_F_EXPONENT = 2.5;

/** A scenario's assignment: which pumps develop which fault, when, over how long. */
export interface FaultAssignment {
  kind: FaultKind;
  /** How many pumps, as a count, or "N%" of the fleet; or exact pump indices (0-based). */
  pumps: number | string | number[];
  /** Day of onset (P), drawn per pump from [low, high]. */
  onset_day: [number, number];
  /** Days from onset to functional failure (F), drawn per pump from [low, high]. */
  pf_days: [number, number];
}

/** One pump's fault, with its times drawn. */
export interface Degradation {
  kind: FaultKind;
  onsetMs: number;
  failureMs: number;
}

/** 0 before onset, rising to 1 at functional failure, 1 after. */
export function severity(degradation: Degradation, timeMs: number): number {
  if (timeMs <= degradation.onsetMs) return 0;
  if (timeMs >= degradation.failureMs) return 1;
  return ((timeMs - degradation.onsetMs) / (degradation.failureMs - degradation.onsetMs)) ** P_F_EXPONENT;
}

/** Which pumps an assignment picks, deterministically from the seed: exact indices as given,
 *  a count or a share from the pumps without a fault yet (so that one fault is what a pump
 *  shows), then from the others when those run out. */
export function pickPumps(assignment: FaultAssignment, pumps: number, random: Random, taken: ReadonlySet<number> = new Set()): number[] {
  if (Array.isArray(assignment.pumps)) return assignment.pumps.filter((i) => i >= 0 && i < pumps);
  const count = Math.min(pumps, typeof assignment.pumps === "string"
    ? Math.round((Number.parseFloat(assignment.pumps) / 100) * pumps)
    : assignment.pumps);
  const all = Array.from({ length: pumps }, (_, i) => i);
  const order = [...all.filter((i) => !taken.has(i)), ...all.filter((i) => taken.has(i))];
  const free = pumps - taken.size;
  // A partial Fisher–Yates shuffle within the free pumps first, then within the taken ones.
  for (let i = 0; i < count; i++) {
    const [low, high] = i < free ? [i, free] : [i, pumps];
    const j = low + Math.floor(random.next() * (high - low));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, count).sort((a, b) => a - b);
}

/** Assigns every pump its faults (at most one of each kind) with times drawn per pump. */
export function assignFaults(assignments: readonly FaultAssignment[], pumps: number, startMs: number, random: Random): Degradation[][] {
  const perPump: Degradation[][] = Array.from({ length: pumps }, () => []);
  const taken = new Set<number>();
  for (const assignment of assignments) {
    for (const index of pickPumps(assignment, pumps, random, taken)) {
      taken.add(index);
      if (perPump[index].some((d) => d.kind === assignment.kind)) continue;
      const onsetMs = startMs + random.uniform(...assignment.onset_day) * 86_400_000;
      const pfMs = random.uniform(...assignment.pf_days) * 86_400_000;
      perPump[index].push({ kind: assignment.kind, onsetMs, failureMs: onsetMs + pfMs });
    }
  }
  return perPump;
}
