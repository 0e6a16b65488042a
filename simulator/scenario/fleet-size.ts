// `--pumps N` on a scenario written for another fleet size: every "pumps" choice that counts
// pumps (faults, power cuts, partitions, pump types, campaigns) is scaled by N / the scenario's
// pumps, so a scenario made for 30 pumps runs on 2. The rule is in scenarios/README.md.

import type { Scenario } from "./scenario.js";

type PumpChoice = number | string | number[];

/** A count scaled to the new fleet: rounded, at least 1 for a count above 0, at most the fleet. */
export function scaledCount(count: number, from: number, to: number): number {
  if (count <= 0) return 0;
  return Math.min(to, Math.max(1, Math.round((count * to) / from)));
}

/** A choice for the new fleet: a count scaled, indices at or beyond it dropped, a share kept. */
function scaledChoice(choice: PumpChoice, from: number, to: number): PumpChoice {
  if (typeof choice === "number") return scaledCount(choice, from, to);
  if (Array.isArray(choice)) return choice.filter((index) => index < to);
  return choice;
}

export const pumpsText = (n: number): string => `${n} pump${n === 1 ? "" : "s"}`;

function describe(choice: PumpChoice): string {
  return Array.isArray(choice) ? `[${choice.join(", ")}]` : String(choice);
}

/**
 * The scenario for a fleet of `pumps`, with what was scaled as one line each ("faults[0]
 * outer_race: 3 → 1"). Faults are given to a pump each while the fleet has pumps without
 * one: when the scaled fault counts add up to more than the fleet, the later ones give way
 * (down to 0), as each pump develops at most one fault in every shipped scenario.
 * Growing the fleet changes no count: a scenario's counts are at least what it meant.
 */
export function resizeFleet(scenario: Scenario, pumps: number): { scenario: Scenario; changes: string[] } {
  const from = scenario.pumps;
  if (pumps >= from) return { scenario: { ...scenario, pumps }, changes: [] };
  const changes: string[] = [];
  const scaleOne = <T extends { pumps?: PumpChoice }>(item: T, where: string): T => {
    if (item.pumps === undefined) return item;
    const next = scaledChoice(item.pumps, from, pumps);
    if (describe(next) !== describe(item.pumps)) changes.push(`${where}: ${describe(item.pumps)} → ${describe(next)}`);
    return { ...item, pumps: next };
  };
  const scale = <T extends { pumps?: PumpChoice }>(items: readonly T[], field: string, label: (item: T) => string = () => ""): T[] =>
    items.map((item, i) => scaleOne(item, `${field}[${i}]${label(item)}`));
  let free = pumps;
  const faults = scenario.faults.map((fault, i) => {
    if (typeof fault.pumps !== "number") return scaleOne(fault, `faults[${i}] ${fault.kind}`);
    const next = Math.min(free, scaledCount(fault.pumps, from, pumps));
    free -= next;
    if (next !== fault.pumps) changes.push(`faults[${i}] ${fault.kind}: ${fault.pumps} → ${next}`);
    return { ...fault, pumps: next };
  });
  const resized: Scenario = {
    ...scenario,
    pumps,
    faults,
    campaigns: scale(scenario.campaigns, "campaigns", (c) => ` ${c.name}`),
    ...(scenario.power_cuts !== undefined ? { power_cuts: scale(scenario.power_cuts, "power_cuts") } : {}),
    ...(scenario.pump_types !== undefined ? { pump_types: scale(scenario.pump_types, "pump_types", (t) => ` ${t.name}`) } : {}),
    ...(scenario.network?.partitions !== undefined
      ? { network: { ...scenario.network, partitions: scale(scenario.network.partitions, "network.partitions") } }
      : {}),
  };
  return { scenario: resized, changes };
}
