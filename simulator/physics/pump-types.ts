// Fleet composition: a scenario may mix kinds of pump (say, two-pole end-suction pumps on one
// bearing and four-pole split-case pumps on another), each kind a share of the fleet with
// ranges of its own. Which pump is of which kind follows from the seed alone, drawn from a
// stream of its own, so adding a kind leaves every fault and partition where it was.

import { pickPumps, type FaultAssignment } from "./degradation.js";
import type { PumpRanges } from "./pump-params.js";
import { Random } from "./random.js";

const TYPE_SALT = 0x7e9e_5a17;

/** A kind of pump in the fleet: its name, which pumps, and what differs from the scenario's
 *  own "pump" ranges and "bearing". */
export interface PumpType {
  name: string;
  pumps: FaultAssignment["pumps"];
  pump: PumpRanges;
  bearing?: [number, number, number, number];
}

/** What one pump is: its kind's name ("" for the scenario's own), ranges and bearing. */
export interface PumpKind {
  name: string;
  ranges: PumpRanges;
  bearing?: [number, number, number, number];
}

/** What the kinds of a fleet follow from: a scenario's seed, size, own ranges and bearing, and its
 *  pump_types. */
export interface FleetMix {
  seed: number;
  pumps: number;
  pump: PumpRanges;
  bearing?: [number, number, number, number];
  pump_types?: PumpType[];
}

const assignments = new WeakMap<FleetMix, number[]>();

/** For each pump, the index of its kind in `pump_types` (−1: the scenario's own ranges). Kinds
 *  are given in order, each from the pumps no earlier kind took. */
function kindIndices(scenario: FleetMix): number[] {
  let kinds = assignments.get(scenario);
  if (kinds === undefined) {
    kinds = Array.from({ length: scenario.pumps }, () => -1);
    const taken = new Set<number>();
    (scenario.pump_types ?? []).forEach((type, t) => {
      const random = new Random((scenario.seed ^ TYPE_SALT ^ (t + 1)) >>> 0);
      const free = Array.isArray(type.pumps) ? type.pumps.filter((i) => !taken.has(i)) : undefined;
      const chosen = pickPumps({ pumps: free ?? type.pumps } as FaultAssignment, scenario.pumps, random, taken)
        .filter((i) => !taken.has(i));
      for (const i of chosen) {
        kinds![i] = t;
        taken.add(i);
      }
    });
    assignments.set(scenario, kinds);
  }
  return kinds;
}

export function pumpKind(scenario: FleetMix, index: number): PumpKind {
  const t = kindIndices(scenario)[index] ?? -1;
  if (t < 0) return { name: "", ranges: scenario.pump, ...(scenario.bearing !== undefined ? { bearing: scenario.bearing } : {}) };
  const type = scenario.pump_types![t];
  const bearing = type.bearing ?? scenario.bearing;
  return { name: type.name, ranges: type.pump, ...(bearing !== undefined ? { bearing } : {}) };
}

/** How many pumps of each kind, in the scenario's order ("" first when some pumps are of none). */
export function fleetComposition(scenario: FleetMix): [string, number][] {
  const counts = new Map<string, number>();
  for (let i = 0; i < scenario.pumps; i++) {
    const name = pumpKind(scenario, i).name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => (a[0] === "" ? -1 : b[0] === "" ? 1 : 0));
}
