// Hostile payloads on the operator's side: random and mutated payloads on one pump's own
// topics (what the ACL lets a device write) fed to every consumer's handler, and a rogue MQTT
// client publishing random bytes on a pump's topics while a campaign rolls an update out.
// Nothing a device sends may end the process, stall the campaign or touch another device's
// records; each malformed payload is counted against its device and dropped.

import { describe, expect, it } from "vitest";
import { attack, consumers } from "./helpers/hostile.js";

const PAYLOADS = 300;
const SEED = 20_261_206;

describe("malformed payloads fed to each consumer's handler", () => {
  for (const [i, consumer] of consumers().entries()) {
    it(`${consumer.name}: ${PAYLOADS} malformed payloads, none thrown, each counted against the rogue, the good pump's records untouched`, async () => {
      const result = await attack(consumer, PAYLOADS, SEED + i);
      expect(result.thrown).toEqual([]);
      expect(result.fed).toBe(PAYLOADS);
      expect(result.rejected).toBe(PAYLOADS);
      expect(result.othersAfter).toBe(result.othersBefore);
    });
  }
});
