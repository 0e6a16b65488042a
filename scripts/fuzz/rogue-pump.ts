// Hostile payloads for the operator's side, behind test/operator/hostile.test.ts (a few hundred per
// consumer) and scripts/fuzz.ts (a million): random and mutated payloads on one rogue pump's
// own topics, fed straight into each consumer's message handler. Each consumer is given a
// good pump's messages first; the invariants are that no payload throws, that the rogue's
// rejected count equals the payloads the protocol's codecs refuse (judged apart from the
// consumer), and that the good pump's records are exactly as they were.

import { encodeCbor } from "../../protocol/cbor.js";
import { frame, unframe } from "../../protocol/framing.js";
import { decodeEvent, decodeReply, decodeUpdateMessage, encodeBlockRequest, encodeUpdateStatus } from "../../protocol/messages.js";
import { decodeSenml, encodeSenml, resolveSenml } from "../../protocol/senml.js";
import { decodeState, encodeState } from "../../protocol/state.js";
import { buildTopic, type TopicKind } from "../../protocol/topics.js";
import { Collector } from "../../operator/collector.js";
import { Rejections } from "../../operator/rejections.js";
import { UpdateServer } from "../../operator/update-server.js";
import { BirthWatcher } from "../../operator/campaign-births.js";
import { PumpService } from "../../simulator/fleet/service.js";
import { SERVICE_DEFAULTS } from "../../simulator/scenario/service-spec.js";
import { InputGenerator } from "./fuzzer.js";

export const TENANT = "acme";
export const ROGUE = "pump-rogue";
export const GOOD = "pump-good";
const CAMPAIGN = "c1";
const START_MS = Date.parse("2026-01-05T00:00:00Z");
/** Inputs drawn per payload fed, at most: the generator's inputs are mostly malformed. */
const DRAWS_PER_FED_MAX = 20;

/** How the protocol's codecs judge a payload, apart from the consumer: malformed (must be
 *  rejected), well-formed (may be taken), or a number already taken (a duplicate, dropped). */
export type Verdict = "malformed" | "wellformed" | "duplicate";

export interface Consumer {
  name: string;
  /** Valid payloads of the rogue's, to mutate. */
  seeds: Uint8Array[];
  judge(payload: Uint8Array): Verdict;
  feed(payload: Uint8Array): void | Promise<void>;
  /** The rogue's rejected count as the consumer keeps it. */
  rejected(): number;
  /** Every other device's records, as text, to compare before and after. */
  others(): string;
}

export interface HostileResult {
  consumer: string;
  fed: number;
  rejected: number;
  othersBefore: string;
  othersAfter: string;
  /** Payloads that threw out of the handler (hex and message). */
  thrown: { input: string; message: string }[];
}

function telemetry(device: string, sequence: number, value: number): Uint8Array {
  return frame("telemetry", sequence, encodeSenml([{ bn: `${device}:`, bt: 1_767_225_600 + sequence, n: "acc_rms", u: "m/s2", v: value }, { n: "iso_zone", vs: "B" }]));
}
const map = (entries: [string, unknown][]): Uint8Array => encodeCbor(new Map<string, unknown>(entries));
const event = (sequence: number): Uint8Array => frame("event", sequence, map([["event", "alarm"], ["level", "alert"], ["health", 0.5]]));
const reply = (sequence: number): Uint8Array => frame("reply", sequence, map([["id", sequence], ["ok", true]]));
const advice = (): Uint8Array => map([["event", "advice"], ["action", "replace_bearing"], ["fault", "outer_race"], ["by", 1_767_225_600 + 86_400 * 30]]);

/** Whether `decode` refuses `bytes`. */
function refuses(decode: () => unknown): boolean {
  try {
    decode();
    return false;
  } catch {
    return true;
  }
}

/** The collector, one consumer per kind a device may write that it reads. */
function collectorOn(kind: "telemetry" | "event" | "reply" | "state"): Consumer {
  const collector = Collector.detached(TENANT);
  const topic = (device: string, k: TopicKind): string => buildTopic(TENANT, device, k);
  for (let s = 1; s <= 3; s++) collector.ingest(topic(GOOD, "telemetry"), telemetry(GOOD, s, s / 10));
  collector.ingest(topic(GOOD, "event"), event(4));
  collector.ingest(topic(GOOD, "reply"), reply(5));
  collector.ingest(topic(GOOD, "state"), encodeState({ online: true, session: 2, fw: 256, abi: 1 }));
  // Sequence numbers the collector has taken from the rogue: a repeat is a duplicate, not an error.
  const taken = new Set<number>();
  const seeds = kind === "telemetry" ? [telemetry(ROGUE, 1, 0.5), telemetry(ROGUE, 900, 1.25)]
    : kind === "event" ? [event(1), frame("event", 2, map([["event", "boot"], ["boot", 3], ["fw", 256]]))]
      : kind === "reply" ? [reply(1), frame("reply", 7, map([["id", 7], ["ok", false], ["error", -4]]))]
        : [encodeState({ online: true, session: 12, fw: 256, abi: 1 }), encodeState({ online: false, session: 3 })];
  const decodeBody = (body: Uint8Array): unknown => {
    if (kind === "event") return decodeEvent(body);
    if (kind === "reply") return decodeReply(body);
    const records = resolveSenml(decodeSenml(body));
    if (records.some((r) => !r.name.startsWith(`${ROGUE}:`))) throw new Error("a record of another device");
    return records;
  };
  return {
    name: `collector ${kind}`,
    seeds,
    judge(payload) {
      if (kind === "state") return payload.length > 0 && refuses(() => decodeState(payload)) ? "malformed" : "wellformed";
      let framed;
      try {
        framed = unframe(kind, payload);
      } catch {
        return "malformed";
      }
      if (taken.has(framed.sequence)) return "duplicate";
      return refuses(() => decodeBody(framed.body)) ? "malformed" : "wellformed";
    },
    feed(payload) {
      if (kind !== "state") {
        try {
          taken.add(unframe(kind, payload).sequence);
        } catch {
          // not framed: nothing taken
        }
      }
      collector.ingest(topic(ROGUE, kind), payload);
    },
    rejected: () => collector.rejections.count(ROGUE),
    others() {
      const ledger = collector.devices.get(GOOD)!;
      const rows = Array.from({ length: ledger.telemetry.length }, (_, row) => [ledger.telemetry.sequence(row), ledger.telemetry.time(row)]);
      return JSON.stringify({
        rows, events: ledger.events, replies: ledger.replies, state: ledger.state, states: ledger.states, received: ledger.received,
        duplicates: ledger.duplicates, releasedThrough: ledger.releasedThrough, held: [...ledger.held], rejected: collector.rejections.count(GOOD),
        devices: [...collector.devices.keys()].filter((d) => d !== ROGUE),
      });
    },
  };
}

/** The update server: block requests and statuses on the rogue's "update" topic. */
function updateServer(): Consumer {
  const sent: string[] = [];
  const server = new UpdateServer((device, command) => void sent.push(`${device}:${command.length}`));
  server.serve({ campaign: CAMPAIGN, image: new Uint8Array(4096).fill(7), envelope: new Uint8Array(64), blockBytes: 512 });
  void server.receivePayload(GOOD, frame("update", 1, encodeUpdateStatus({ campaign: CAMPAIGN, sequence: 2, state: "downloading", progress: 0 })));
  void server.receivePayload(GOOD, frame("update", 2, encodeBlockRequest({ campaign: CAMPAIGN, offset: 0, length: 512 })));
  return {
    name: "update server",
    seeds: [
      frame("update", 1, encodeUpdateStatus({ campaign: CAMPAIGN, sequence: 2, state: "trial", progress: 4096, reason: "self test" })),
      frame("update", 2, encodeBlockRequest({ campaign: CAMPAIGN, offset: 1024, length: 512 })),
    ],
    judge(payload) {
      let body;
      try {
        body = unframe("update", payload).body;
      } catch {
        return "malformed";
      }
      return refuses(() => decodeUpdateMessage(body)) ? "malformed" : "wellformed";
    },
    feed: (payload) => server.receivePayload(ROGUE, payload),
    rejected: () => server.rejections.count(ROGUE),
    others: () => JSON.stringify({ statuses: server.statuses.get(GOOD), sent: sent.filter((s) => s.startsWith(`${GOOD}:`)), rejected: server.rejections.count(GOOD) }),
  };
}

/** The campaign's watcher of births (retained states): a new session re-offers an update. */
function birthWatcher(): Consumer {
  const connected: string[] = [];
  const watcher = new BirthWatcher({ deviceConnected: (device) => void connected.push(device) }, new Rejections());
  const topic = (device: string): string => buildTopic(TENANT, device, "state");
  watcher.take(topic(GOOD), encodeState({ online: true, session: 1 }));
  watcher.take(topic(GOOD), encodeState({ online: true, session: 2 }));
  return {
    name: "campaign birth watcher",
    seeds: [encodeState({ online: true, session: 5, fw: 256, abi: 1 }), encodeState({ online: false, session: 5 })],
    judge: (payload) => (payload.length > 0 && refuses(() => decodeState(payload)) ? "malformed" : "wellformed"),
    feed: (payload) => watcher.take(topic(ROGUE), payload),
    rejected: () => watcher.rejections.count(ROGUE),
    others: () => JSON.stringify({ connected: connected.filter((d) => d !== ROGUE), rejected: watcher.rejections.count(GOOD) }),
  };
}

/** The maintenance planner of the rogue pump itself (one per pump: there are no others, so
 *  its own plan is what must not move). Telemetry is read while advised, so it is advised. */
function planner(kind: "event" | "telemetry"): Consumer {
  const service = new PumpService({ ...SERVICE_DEFAULTS, sla: 0.995, policies: ["predictive"] }, "predictive", () => [], () => [], START_MS, 0.5, START_MS + 365 * 86_400_000);
  service.observe("event", advice(), START_MS);
  const plan = (): string => {
    const { rejected: _, ...rest } = service.summary();
    // The advice in force is private; what a malformed message must not move, so read it here.
    const { adviceMs, dueMs, alarmed } = service as unknown as { adviceMs: number | null; dueMs: number; alarmed: boolean };
    return JSON.stringify({ rest, adviceMs, dueMs, alarmed });
  };
  return {
    name: `maintenance planner ${kind}`,
    seeds: kind === "event" ? [advice(), map([["event", "alarm"], ["level", "none"], ["health", 1]])]
      : [encodeSenml([{ bn: `${ROGUE}:`, bt: 1_767_225_600, n: "act_in", u: "s", v: 86_400 }])],
    judge: (payload) => (refuses(() => (kind === "event" ? decodeEvent(payload) : decodeSenml(payload))) ? "malformed" : "wellformed"),
    feed: (payload) => service.observe(kind, payload, START_MS + 1000),
    rejected: () => service.summary().rejected.count,
    others: plan,
  };
}

export function consumers(): Consumer[] {
  return [
    collectorOn("telemetry"), collectorOn("event"), collectorOn("reply"), collectorOn("state"),
    updateServer(), birthWatcher(), planner("event"), planner("telemetry"),
  ];
}

/** Feeds `count` malformed payloads (random and mutated, from `seed`) to a consumer. */
export async function attack(consumer: Consumer, count: number, seed: number): Promise<HostileResult> {
  const generator = new InputGenerator(seed, consumer.seeds);
  const othersBefore = consumer.others();
  const thrown: HostileResult["thrown"] = [];
  let fed = 0;
  for (let draws = 0; fed < count && draws < count * DRAWS_PER_FED_MAX; draws++) {
    const payload = generator.next();
    if (consumer.judge(payload) !== "malformed") continue;
    fed += 1;
    try {
      await consumer.feed(payload);
    } catch (error) {
      if (thrown.length < 20) thrown.push({ input: Buffer.from(payload).toString("hex"), message: String((error as Error)?.message ?? error) });
    }
  }
  return { consumer: consumer.name, fed, rejected: consumer.rejected(), othersBefore, othersAfter: consumer.others(), thrown };
}
