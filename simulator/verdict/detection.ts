// When a fault counts as detected: the first run of DETECTION_PERSISTENCE consecutive windows of
// its pump, after its onset, that the independent collector decoded with the fault's diagnosis.
// One window is not a detection; an operator acts on a diagnosis that holds.

import type { TimeOrdered } from "../../operator/telemetry-log.js";
import type { Degradation } from "../physics/degradation.js";

/** Consecutive windows with the right diagnosis that count as the fault being detected. */
export const DETECTION_PERSISTENCE = 3;

/** Start of the first run of DETECTION_PERSISTENCE packs that diagnose `degradation`'s kind
 *  after its onset; null when there is none. */
export function detection(packs: TimeOrdered, degradation: Degradation): number | null {
  let run = 0;
  for (let i = 0; i < packs.length; i++) {
    const timeMs = packs.time(i) * 1000;
    run = timeMs >= degradation.onsetMs && packs.text(i, "fault") === degradation.kind ? run + 1 : 0;
    if (run === DETECTION_PERSISTENCE) return packs.time(i - DETECTION_PERSISTENCE + 1) * 1000;
  }
  return null;
}
