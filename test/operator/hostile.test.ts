// Hostile payloads on the operator's side: random and mutated payloads on one pump's own
// topics (what the ACL lets a device write) fed to every consumer's handler, and a rogue MQTT
// client publishing random bytes on a pump's topics while a campaign rolls an update out.
// Nothing a device sends may end the process, stall the campaign or touch another device's
// records; each malformed payload is counted against its device and dropped.

import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unframe } from "../../protocol/framing.js";
import { decodeState } from "../../protocol/state.js";
import { buildTopic, type TopicKind } from "../../protocol/topics.js";
import { simulate } from "../../simulator/fleet/fleet.js";
import { deviceId } from "../../simulator/fleet/pump-group.js";
import { Random } from "../../simulator/physics/random.js";
import { runSummary } from "../../simulator/verdict/summary.js";
import { parseScenario } from "../../simulator/scenario/scenario.js";
import { attack, consumers } from "../../scripts/fuzz/rogue-pump.js";
import { MOSQUITTO_PATH, startMosquitto, type Mosquitto } from "../support/mosquitto.js";

const PAYLOADS = 300;
const SEED = 20_261_206;
/** Rounds of the rogue's publishing, one payload on each of its five topics a round. */
const ROGUE_ROUNDS = 40;
const CAMPAIGN_BASE = {
  name: "hostile", seed: 11, tenant: "ota", start: "2026-03-01T00:00:00Z", days: 600 / 86_400, pumps: 6,
  interval_s: 300, sample_rate_hz: 1000, window: 256,
  pump: { rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03], misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03] },
};

const refusesFrame = (kind: TopicKind, bytes: Uint8Array): boolean => { try { unframe(kind, bytes); return false; } catch { return true; } };
const refusesState = (bytes: Uint8Array): boolean => { try { decodeState(bytes); return false; } catch { return true; } };

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

/** Runs a small campaign (on `brokerUrl`, or the embedded broker) while a rogue client
 *  publishes random bytes on one pump's five device-writable topics, and checks the outcome. */
async function campaignUnderAttack(brokerUrl?: string): Promise<void> {
  const rogue = deviceId(0);
  const random = new Random(SEED);
  // Random bytes that are not a framed message (nor, on "state", a state): each one malformed
  // whatever the pump itself sent, so the counts below are exact.
  const junk = (kind: TopicKind): Buffer => {
    for (;;) {
      const bytes = new Uint8Array(random.integer(1, 64)).map(() => random.integer(0, 255));
      const refused = kind === "state" ? refusesState(bytes) : refusesFrame(kind, bytes);
      if (refused) return Buffer.from(bytes);
    }
  };
  const sent: Record<string, number> = { update: 0, telemetry: 0, event: 0, state: 0, reply: 0 };
  let client: MqttClient | undefined;
  let started = false;
  let attack: Promise<void> | undefined;
  const s = parseScenario({ ...CAMPAIGN_BASE, campaigns: [{ name: "c1", start_day: 0, image: "v0.2.0", waves: [0.5, 1], success_threshold: 0.95, error_threshold: 0.2, on_error: "abort" }] }, "hostile-test");
  const result = await simulate(s, {
    ...(brokerUrl !== undefined ? { brokerUrl } : {}),
    onConnected: (url) => void (attack = mqtt.connectAsync(url, { protocolVersion: 4, clientId: "rogue", clean: true }).then((c) => { client = c; })),
    // Once the campaign's first offers are out (its update server subscribed), the rogue
    // publishes, each at QoS 1: a publish counts as sent once the broker acknowledged it.
    onCampaign: () => {
      if (started || attack === undefined) return;
      started = true;
      attack = attack.then(async () => {
        for (let round = 0; round < ROGUE_ROUNDS; round++) {
          for (const kind of ["update", "telemetry", "event", "state", "reply"] as const) {
            await client!.publishAsync(buildTopic(s.tenant, rogue, kind), junk(kind), { qos: 1 });
            sent[kind] += 1;
          }
        }
      });
    },
  });
  await attack;
  await client?.endAsync();
  const [report] = result.campaigns;
  expect(sent.update).toBe(ROGUE_ROUNDS);
  expect(report.state).toBe("completed");
  expect(report.counts.confirmed).toBe(s.pumps);
  // The update server took the "update" payloads, the campaign's birth watcher the "state" ones.
  expect(report.rejected).toEqual({ [rogue]: { count: sent.update + sent.state, reasons: expect.any(Object) } });
  // The collector subscribes to every kind ("update" too: it unframes all but commands) and
  // was connected throughout, so it had every payload the broker acknowledged.
  expect(result.rejected.count(rogue)).toBe(sent.update + sent.telemetry + sent.event + sent.state + sent.reply);
  expect(result.rejected.total).toBe(result.rejected.count(rogue));
  // The run still gives its verdict: the campaign's expectation passes, the decode errors are told.
  const summary = runSummary(result);
  expect(summary.rejected).toEqual({ [rogue]: { count: result.rejected.count(rogue), reasons: expect.any(Object) } });
  expect((summary.campaigns as { rejected?: unknown }[])[0].rejected).toEqual(report.rejected);
  expect((summary.counts as { decode_errors: number }).decode_errors).toBe(result.rejected.count(rogue));
  expect(summary.verdict).toBe("fail"); // the implicit decode_errors_max 0 holds the run to a clean feed
}

const UNDER_ATTACK = "the campaign completes; every payload the broker acknowledged from the rogue is counted against that pump, in the collector and in the campaign";

describe("a rogue client on one pump's topics while a campaign rolls out", () => {
  it(`on the embedded broker: ${UNDER_ATTACK}`, () => campaignUnderAttack(), 120_000);

  describe.skipIf(MOSQUITTO_PATH === undefined)("on mosquitto", () => {
    let broker: Mosquitto;
    beforeAll(async () => { broker = await startMosquitto(); });
    afterAll(async () => { await broker?.stop(); });
    it(`on a mosquitto child process: ${UNDER_ATTACK}`, () => campaignUnderAttack(broker.url), 120_000);
  });
});
