// Power cuts to the pumps' controllers (a scenario's "power_cuts"): which pumps lose power,
// when and for how long, all drawn from the seed and the pump's index, so a pump's cuts are the
// same in any group, thread or shard. Mechanism only: fleet/pump-group.ts kills the device at a cut
// and boots it again, from what survives, when the power returns.

import { pickPumps, type FaultAssignment } from "./degradation.js";
import { Random } from "./random.js";

/** A scenario's power cuts: which pumps, on which day (drawn per pump from [low, high]), and
 *  for how many minutes the controller stays off (drawn per pump from [low, high]). */
export interface PowerCutSpec {
  pumps: number | string | number[];
  day: [number, number];
  minutes: [number, number];
}

/** One pump's time without power: from `fromMs` until `untilMs` (virtual clock). */
export interface PowerCut {
  fromMs: number;
  untilMs: number;
}

/** A scenario names at most this many power cuts (so a pump has at most as many). */
export const POWER_CUTS_MAX = 64;
const POWER_CUT_SALT = 0x0ff_c0de;

/** The seed of cut `i`'s stream: which pumps it picks, and each pump's times. */
function cutSeed(seed: number, i: number): number {
  return (seed ^ POWER_CUT_SALT ^ (i + 1)) >>> 0;
}

/** Every cut of pump `index`, in time order, overlapping ones merged into one. */
export function powerCutsOf(specs: readonly PowerCutSpec[], pumps: number, seed: number, startMs: number, index: number): PowerCut[] {
  if (specs.length > POWER_CUTS_MAX) throw new RangeError(`${specs.length} power cuts exceed ${POWER_CUTS_MAX}`);
  const cuts: PowerCut[] = [];
  specs.forEach((spec, i) => {
    const chosen = pickPumps({ pumps: spec.pumps } as FaultAssignment, pumps, new Random(cutSeed(seed, i)));
    if (!chosen.includes(index)) return;
    const random = Random.forItem(cutSeed(seed, i), index);
    const fromMs = startMs + Math.round(random.uniform(...spec.day) * 86_400_000);
    cuts.push({ fromMs, untilMs: fromMs + Math.round(random.uniform(...spec.minutes) * 60_000) });
  });
  cuts.sort((a, b) => a.fromMs - b.fromMs);
  const merged: PowerCut[] = [];
  for (const cut of cuts) {
    const last = merged.at(-1);
    if (last !== undefined && cut.fromMs <= last.untilMs) last.untilMs = Math.max(last.untilMs, cut.untilMs);
    else merged.push({ ...cut });
  }
  return merged;
}

export type PowerChange = { change: "off" | "on"; atMs: number };

/** One pump's power over the run: asked before each measurement what changed since. */
export class PowerTimeline {
  private next = 0;
  /** The controller has no power now. */
  off = false;
  /** Cuts that have begun, and measurements that fell while the controller was off. */
  cuts = 0;
  missedWindows = 0;

  constructor(private readonly plan: readonly PowerCut[]) {}

  /** The next change due at or before `timeMs` (the power goes, or comes back), or undefined.
   *  The caller carries it out, then asks again: a cut may begin and end between measurements. */
  due(timeMs: number): PowerChange | undefined {
    const cut = this.plan[this.next];
    if (cut === undefined) return undefined;
    if (!this.off && cut.fromMs <= timeMs) return { change: "off", atMs: cut.fromMs };
    if (this.off && cut.untilMs <= timeMs) return { change: "on", atMs: cut.untilMs };
    return undefined;
  }

  /** Records that `change` was carried out. */
  done(change: PowerChange): void {
    if (change.change === "off") {
      if (this.off) throw new Error("power cut while already off");
      this.off = true;
      this.cuts += 1;
    } else {
      if (!this.off) throw new Error("power back while on");
      this.off = false;
      this.next += 1;
    }
  }

  /** The power returns now whatever the plan says (the run is over: what queued must get out). */
  end(): PowerChange | undefined {
    return this.off ? { change: "on", atMs: this.plan[this.next].untilMs } : undefined;
  }
}
