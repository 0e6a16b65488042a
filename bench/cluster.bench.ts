// A fleet on a clustered broker against the same fleet on one broker: `impeller simulate` as one
// process on mosquitto, then as two shard processes on a three-node NATS cluster (MQTT on
// JetStream; shard 0's pumps on node 1, shard 1's on node 2, both collectors on node 3). Per run:
// windows/s (the windows over the simulate run's own time, from the first connection to the last
// delivery; the shards' over the longer of the two), peak resident memory per device of each
// process, delivery (decoded/published); and the message rate the cluster took: the pumps' MQTT
// publishes over the shards' time, and the NATS messages the three nodes took in that time
// (JetStream's own replication and acknowledgements included). Each shard's collector reads the
// whole tenant, so the cluster delivers every message twice. Fleet sizes are tried in the order
// given, each on a fresh cluster, until the cluster does not carry one: its shards not done,
// everything delivered, within --deadline seconds.
// Run: npx tsx bench/cluster.bench.ts [--pumps 100,200,300,400] [--windows 36] [--deadline 180]

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort, NATS_PATH, startNatsCluster, type NatsCluster } from "../simulator/net/nats-cluster.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const INTERVAL_S = 600;
const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((file) => fs.existsSync(file));
const GNU_TIME = "/usr/bin/time";

const { values } = parseArgs({ options: { pumps: { type: "string", default: "100,200,300,400" }, windows: { type: "string", default: "36" }, deadline: { type: "string", default: "180" } } });
const sizes = values.pumps.split(",").map(Number);
const windows = Number(values.windows);
const deadlineMs = Number(values.deadline) * 1000;

interface Run {
  windows: number;
  published: number;
  delivered: number;
  elapsedS: number;
  peakRssKb: number;
  pumps: number;
}

/** `impeller simulate` in a process of its own under GNU time (its peak resident memory); its
 *  summary. Killed, and refused, when not done within the deadline. */
async function simulateProcess(args: string[], dir: string, name: string): Promise<Run> {
  const summary = path.join(dir, `${name}.json`);
  const child = spawn(GNU_TIME, ["-f", "peak-rss-kb %M", process.execPath, path.join(ROOT, "bin", "impeller.js"), "simulate", ...args,
    "--quiet", "--summary", summary, "--report", path.join(dir, `${name}.html`)], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), deadlineMs); // time and the simulate under it
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`simulate ${name} ${code === null ? `not done within ${deadlineMs / 1000} s` : `exited with ${code}`}: ${stderr.slice(-300).trim()}`);
  const s = JSON.parse(fs.readFileSync(summary, "utf8")) as { elapsed_s: number; counts: Record<string, number>; pumps: unknown[] };
  const peak = Number(/peak-rss-kb (\d+)/.exec(stderr)?.[1]);
  return { windows: s.counts.windows, published: s.counts.published, delivered: s.counts.delivered, elapsedS: s.elapsed_s, peakRssKb: peak, pumps: s.pumps.length };
}

/** mosquitto on a free loopback port (max_queued_messages 0: it drops no QoS 1 message); its URL and how to stop it. */
async function startMosquitto(dir: string): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const file = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(file, [`listener ${port} 127.0.0.1`, "allow_anonymous true", "max_queued_messages 0", "persistence false", "log_dest stderr", "log_type error", ""].join("\n"));
  const child = spawn(MOSQUITTO!, ["-c", file], { stdio: "ignore" });
  for (let attempt = 0; ; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => { socket.destroy(); resolve(true); });
      socket.once("error", () => resolve(false));
    });
    if (open) break;
    if (attempt > 100) throw new Error("mosquitto did not listen within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") };
}

/** NATS messages taken in by every node so far (/varz in_msgs). */
async function natsInMessages(cluster: NatsCluster): Promise<number> {
  const counts = await Promise.all(cluster.nodes.map(async (node) => ((await (await fetch(`${node.monitor}/varz`)).json()) as { in_msgs: number }).in_msgs));
  return counts.reduce((a, b) => a + b, 0);
}

function line(label: string, processes: Run[], elapsedS: number): string {
  const total = processes.reduce((sum, run) => ({ windows: sum.windows + run.windows, published: sum.published + run.published, delivered: sum.delivered + run.delivered }), { windows: 0, published: 0, delivered: 0 });
  const memory = processes.map((run) => (run.peakRssKb / 1024 / run.pumps).toFixed(2)).join(" / ");
  return `${label.padEnd(34)} ${String(total.windows).padStart(8)} ${elapsedS.toFixed(1).padStart(9)} ${(total.windows / elapsedS).toFixed(0).padStart(10)}   ${memory.padStart(16)}   ${`${total.delivered}/${total.published}`.padStart(13)}`;
}

if (NATS_PATH === undefined || MOSQUITTO === undefined || !fs.existsSync(GNU_TIME)) {
  console.log("cluster bench needs nats-server, mosquitto and GNU time (apt-get install -y nats-server mosquitto time)");
  process.exit(1);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-cluster-bench-"));
const base = JSON.parse(fs.readFileSync(path.join(ROOT, "scenarios", "default.json"), "utf8")) as Record<string, unknown>;
console.log(`cluster bench: ${windows} windows of ${base.window} samples per pump, node ${process.version}, ${os.cpus().length} cores`);
console.log(`${"run".padEnd(34)} ${"windows".padStart(8)} ${"seconds".padStart(9)} ${"windows/s".padStart(10)}   ${"rss MB/device".padStart(16)}   ${"delivered".padStart(13)}`);
try {
  for (const pumps of sizes) {
    const scenarioFile = path.join(dir, `fleet-${pumps}.json`);
    fs.writeFileSync(scenarioFile, JSON.stringify({ ...base, name: `cluster bench: ${pumps} pumps`, pumps, faults: [], days: (windows * INTERVAL_S) / 86_400, interval_s: INTERVAL_S }));
    await oneBroker(scenarioFile, pumps);
    if (!(await onCluster(scenarioFile, pumps))) break;
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

async function oneBroker(scenarioFile: string, pumps: number): Promise<void> {
  const mosquitto = await startMosquitto(dir);
  try {
    const one = await simulateProcess([scenarioFile, "--broker", mosquitto.url], dir, "one");
    console.log(line(`${pumps} pumps: 1 process, mosquitto`, [one], one.elapsedS));
  } finally {
    mosquitto.stop();
  }
}

/** The fleet's two shards on a fresh cluster; whether it carried them (done in time, everything delivered). */
async function onCluster(scenarioFile: string, pumps: number): Promise<boolean> {
  const cluster = await startNatsCluster();
  const label = `${pumps} pumps: 2 shards, NATS cluster x3`;
  try {
    const [n1, n2, n3] = cluster.nodes.map((node) => node.url);
    const before = await natsInMessages(cluster);
    const shards = await Promise.all([0, 1].map((k) => simulateProcess([scenarioFile, "--shard", `${k}/2`,
      "--broker", k === 0 ? `${n1},${n2}` : `${n2},${n1}`, "--collector", n3], dir, `shard-${k}`)));
    const seconds = Math.max(...shards.map((run) => run.elapsedS));
    const taken = (await natsInMessages(cluster)) - before;
    console.log(line(label, shards, seconds));
    const published = shards.reduce((sum, run) => sum + run.published, 0);
    console.log(`  the cluster took ${(published / seconds).toFixed(0)} MQTT publishes/s from the pumps (${published} in ${seconds.toFixed(1)} s), each delivered twice (a collector per shard); ` +
      `its nodes ${(taken / seconds).toFixed(0)} NATS messages/s in all (${taken}: JetStream's replication and acknowledgements included)`);
    return shards.every((run) => run.delivered === run.published);
  } catch (error) {
    console.log(`${label.padEnd(34)} not carried: ${(error as Error).message}`);
    return false;
  } finally {
    await cluster.stop();
  }
}
