// A fleet on a clustered broker, really running: three NATS servers (MQTT on JetStream) on
// loopback. Shards on different nodes and their collectors on a third: every message delivered
// once after de-duplication, and the shards' summaries merged to the verdict of the whole run on
// one broker. Retained births and deaths, the Will among them, seen from the other nodes. And
// failover: a node killed mid-run, its devices on the next node of their list with their outboxes,
// nothing lost and nothing twice after de-duplication.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed, vi } from "vitest";
import { main } from "../../cli/main.js";
import { Device } from "../../host/device/device.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { decodeState, type DeviceState } from "../../protocol/state.js";
import { topicFilter } from "../../protocol/topics.js";
import { simulate, type SimulationResult } from "../../simulator/fleet/fleet.js";
import { parseScenario } from "../../simulator/scenario/scenario.js";
import { releaseFirmware } from "../support/firmware.js";
import { NATS_MISSING_REASON, NATS_PATH, startNatsCluster, type NatsCluster } from "../support/nats-cluster.js";
import { tones } from "../support/signals.js";
import { until, untilValue } from "../support/wait.js";

/** Seven pumps for two days, faults in both shards: every fleet-wide expectation kind. */
function fleet(tenant: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `cluster: seven pumps, two days (${tenant})`, seed: 11, tenant, start: "2026-01-05T00:00:00Z", days: 2, pumps: 7,
    interval_s: 1800, sample_rate_hz: 12800, window: 4096, bearing: [9, 7.94, 39.04, 0],
    faults: [
      { kind: "outer_race", pumps: [1], onset_day: [0.2, 0.2], pf_days: [1.5, 1.5] },
      { kind: "inner_race", pumps: [4], onset_day: [0.5, 0.5], pf_days: [3, 3] },
      { kind: "misalignment", pumps: [3], onset_day: [0.3, 0.3], pf_days: [1.2, 1.2] },
    ],
    expectations: [
      { kind: "bearing_alarm_lead_days", min: 0.5 }, { kind: "faults_detected", min_share: 1 }, { kind: "no_false_alarms" },
      { kind: "delivery_min", share: 1 }, { kind: "decode_errors_max", count: 0 },
    ],
    pump: {
      rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1.0], imbalance_g: [0.005, 0.03],
      misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03],
    },
    ...overrides,
  };
}

/** Every retained state under `tenant` as a fresh subscriber on `url` receives it, once `count` have come. */
async function retainedStates(url: string, tenant: string, count: number): Promise<Map<string, DeviceState>> {
  const client = await connectReader(url, `reader-${tenant}-${performance.now().toFixed(0)}`);
  const states = new Map<string, DeviceState>();
  client.on("message", (topic, payload, packet) => {
    if (packet.retain && payload.length > 0) states.set(topic.split("/")[3], decodeState(new Uint8Array(payload)));
  });
  try {
    // QoS 0: no JetStream consumer to set up, which a cluster with a node down may refuse.
    await client.subscribeAsync(topicFilter(tenant, "state"), { qos: 0 });
    return await untilValue(() => states, (s) => s.size >= count, { what: `${count} retained states of ${tenant} on ${url}` });
  } finally {
    await client.endAsync();
  }
}

/** Wall ms a reader keeps trying to connect, and each attempt's own limit: a node whose
 *  JetStream is busy (a leader election, a machine short of CPU) refuses a session for a while
 *  ("JetStream system temporarily unavailable") by closing the connection without a CONNACK. */
const READER_CONNECT_MS_MAX = 60_000;
const READER_ATTEMPT_MS = 5_000;

async function connectReader(url: string, clientId: string): Promise<mqtt.MqttClient> {
  const deadline = performance.now() + READER_CONNECT_MS_MAX;
  for (;;) {
    const attempt = await new Promise<mqtt.MqttClient | Error>((resolve) => {
      const client = mqtt.connect(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: READER_ATTEMPT_MS, clientId });
      const fail = (error: Error): void => { client.removeAllListeners(); client.on("error", () => undefined); client.end(true); resolve(error); };
      client.once("connect", () => { client.removeAllListeners("close"); client.removeAllListeners("error"); client.on("error", () => undefined); resolve(client); });
      client.once("close", () => fail(new Error(`${url} closed the connection before accepting it`)));
      client.once("error", fail);
    });
    if (!(attempt instanceof Error)) return attempt;
    if (performance.now() > deadline) throw new Error(`no connection to ${url} within ${READER_CONNECT_MS_MAX} ms: ${attempt.message}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The summary without what differs between any two runs (the wall-clock time). */
function figures(summary: Record<string, unknown>): Record<string, unknown> {
  const { elapsed_s: _elapsed, ...rest } = summary;
  return rest;
}

describe.skipIf(NATS_PATH === undefined)("a fleet on a three-node NATS cluster", () => {
  let cluster: NatsCluster;
  let dir: string;
  let output = "";
  let errors = "";
  const at = (name: string): string => path.join(dir, name);
  const readJson = (name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(at(name), "utf8"));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-cluster-"));
    cluster = await startNatsCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => vi.restoreAllMocks());

  async function run(args: string[]): Promise<number> {
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => { output += String(chunk); return true; });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => { errors += String(chunk); return true; });
    return main(args);
  }

  it("two shards on nodes 1 and 2, their collectors on node 3: every message once, and the merged verdict is the whole run's on one broker", { timeout: 120_000 }, async () => {
    const file = at("fleet.json");
    fs.writeFileSync(file, JSON.stringify(fleet("sharded")));
    const outputs = (name: string): string[] => ["--summary", at(`${name}.json`), "--junit", at(`${name}.xml`), "--report", at(`${name}.html`)];
    expect(await run(["simulate", file, "--ci", "--quiet", ...outputs("whole")]), errors).toBe(0);
    const [n1, n2, n3] = cluster.nodes.map((node) => node.url);
    const codes = await Promise.all([0, 1].map((k) => run(["simulate", file, "--ci", "--quiet", "--shard", `${k}/2`,
      "--broker", [n1, n2][k], "--collector", n3, ...outputs(`shard-${k}`)])));
    expect(codes, `${errors}\n${cluster.logs()}`).toEqual([0, 0]);
    for (const k of [0, 1]) {
      const { counts } = readJson(`shard-${k}.json`) as { counts: Record<string, number> };
      expect(counts.delivered).toBe(counts.published);
      expect([counts.duplicates, counts.gaps, counts.resent, counts.reconnects, counts.decode_errors]).toEqual([0, 0, 0, 0, 0]);
    }
    expect(await run(["merge", at("shard-1.json"), at("shard-0.json"), "--ci", ...outputs("merged")]), errors).toBe(0);
    const whole = readJson("whole.json");
    expect(whole).toMatchObject({ verdict: "pass", counts: { faults_given: 3, faults_detected: 3, windows: 7 * 96, published: 685 } });
    expect(figures(readJson("merged.json"))).toEqual(figures(whole));
    const cases = (xml: string): string => xml.replace(/ time="[\d.]+"/g, "");
    expect(cases(fs.readFileSync(at("merged.xml"), "utf8"))).toBe(cases(fs.readFileSync(at("whole.xml"), "utf8")));
    expect(output).toContain("Verdict: PASS, 5 of 5 expectations met");
    // Every pump said goodbye on its node (a clean close publishes its death); a reader on node 3 has them all.
    const states = await retainedStates(n3, "sharded", 7);
    expect([...states.values()].map((s) => [s.online, s.session])).toEqual(Array(7).fill([false, 1]));
  });

  it("a retained birth is read on every other node, and the Will of a device that lost power replaces it everywhere", async () => {
    const firmware = await releaseFirmware();
    const device = await Device.boot({
      tenant: "wills", config: { device: "pump-w", rate_hz: 1000, window: 256, units: "g" }, firmware, storage: new MemoryStorage(), clock: () => 0,
    });
    await device.connect(cluster.nodes[0].url);
    await device.feed(tones(256, 1000, [{ hz: 25, amplitude_g: 0.005 }], 0.002, 1), 0);
    await device.link!.drained();
    for (const node of cluster.nodes.slice(1)) {
      const birth = (await retainedStates(node.url, "wills", 1)).get("pump-w")!;
      expect([birth.online, birth.session]).toEqual([true, 1]);
    }
    device.link!.abort(); // the power goes: no DISCONNECT, node 1 publishes the Will
    for (const node of cluster.nodes) {
      let state: DeviceState | undefined;
      await until(async () => {
        state = (await retainedStates(node.url, "wills", 1)).get("pump-w");
        return state?.online === false;
      }, { what: `the death of pump-w retained on ${node.name}` });
      expect([state!.online, state!.session]).toEqual([false, 1]);
    }
  });

  // Last: it leaves the cluster a node short.
  // Leader elections take 8–15 s, longer on a busy machine.
  it("every device on the killed node goes on at the next with its outbox: nothing lost, nothing twice after de-duplication", { timeout: 180_000 }, async () => {
    const scenario = parseScenario(fleet("failover", { name: "failover: six pumps", pumps: 6, days: 2, interval_s: 600, faults: [] }));
    const steps = (2 * 86_400) / 600;
    // The devices' node is one that does not lead the JetStream meta group (see README, "A clustered broker").
    const leader = await cluster.metaLeader();
    const victim = cluster.nodes.findIndex((node) => node !== leader);
    let killed: Promise<void> | undefined;
    let killedAtMs = 0;
    // What the run said, and how far it got, for a failure (a timeout says nothing of itself).
    const started = performance.now();
    const said: string[] = [];
    let reached = "not started";
    onTestFailed(() => console.error(`failover run: ${reached}; its last log lines:\n${said.slice(-40).join("\n")}`));
    const result: SimulationResult = await simulate(scenario, {
      brokerUrl: cluster.urls(victim), // the victim first, then the next nodes in turn
      collectorUrl: cluster.urls(victim + 1),
      log: (device, level, text) => void said.push(`${((performance.now() - started) / 1000).toFixed(1)} s ${device} [${level}] ${text}`),
      onProgress: (progress) => {
        reached = `simulated ${(progress.simulatedMs / 3_600_000).toFixed(1)} h of ${(progress.totalMs / 3_600_000).toFixed(1)} h at ${((performance.now() - started) / 1000).toFixed(1)} s`;
        if (killed !== undefined || progress.simulatedMs < progress.totalMs / 3) return;
        killedAtMs = progress.simulatedMs;
        killed = cluster.nodes[victim].kill();
      },
    });
    await killed;
    expect(killed, "the devices' node was killed").toBeDefined();
    expect(killedAtMs).toBeLessThan((steps / 2) * 600_000); // mid-run: more than half the windows came after it
    expect(cluster.nodes.map((node) => node.alive)).toEqual(cluster.nodes.map((_, i) => i !== victim));
    expect(result.collector.errors).toEqual([]);
    expect(result.windows).toBe(6 * steps);
    expect(result.delivered, `${result.gaps} missing`).toBe(result.published);
    expect(result.gaps).toBe(0);
    expect(result.pumps.map((pump) => pump.delivered)).toEqual(Array(6).fill(steps));
    for (const [device, ledger] of result.collector.devices) {
      expect([device, ledger.releasedThrough, ledger.held.size]).toEqual([device, ledger.received, 0]);
    }
    expect(result.reconnects).toBeGreaterThanOrEqual(6); // every pump was on the killed node
    // Each pump's last session began on another node and ended with its goodbye there.
    const states = await retainedStates(cluster.nodes[(victim + 1) % 3].url, "failover", 6);
    expect([...states.values()].every((s) => !s.online && s.session >= 2), JSON.stringify([...states])).toBe(true);
  });
});

if (NATS_PATH === undefined) {
  it.skip(NATS_MISSING_REASON, () => {});
  console.warn(NATS_MISSING_REASON);
}
