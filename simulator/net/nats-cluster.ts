// A clustered MQTT broker on this machine, for tests and benchmarks: NATS servers (Debian's
// nats-server, MQTT on JetStream) as child processes on free loopback ports, each with a
// configuration and a store of its own written here, routed to each other as one cluster.
// Ready once every node agrees on a JetStream meta leader and has answered an MQTT connection
// (the first one on a node sets up the MQTT streams). README, "A clustered broker", says why
// the configuration is as it is.

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import net from "node:net";

const CANDIDATES = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

export const NATS_PATH: string | undefined = CANDIDATES.find((file) => fs.existsSync(file));


const CLUSTER_NAME = "impeller";
const READY_TIMEOUT_MS = 30_000;
/** How long one MQTT connection attempt of the readiness check waits for its CONNACK. */
const MQTT_ATTEMPT_TIMEOUT_MS = 3_000;

export interface NatsNode {
  name: string;
  /** The node's MQTT listener. */
  url: string;
  /** Its HTTP monitoring endpoint (/healthz, /jsz). */
  monitor: string;
  /** Whether the process still runs. */
  readonly alive: boolean;
  /** The node crashes: SIGKILL, no goodbye to its clients or its peers. */
  kill(): Promise<void>;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's MQTT URL, comma-separated, in the nodes' order from `first`. */
  urls(first?: number): string;
  /** The node that leads the JetStream meta group now (it places streams and consumers). */
  metaLeader(): Promise<NatsNode>;
  /** Every node's stderr so far, for a failure's message. */
  logs(): string;
  /** Stops every node still running and removes their stores. */
  stop(): Promise<void>;
}

interface Ports {
  client: number;
  cluster: number;
  mqtt: number;
  monitor: number;
}

function nodeConfig(name: string, ports: Ports, routes: number[], store: string, replicas: number): string {
  return [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${ports.client}`,
    `http: 127.0.0.1:${ports.monitor}`,
    // A good neighbour on a shared machine: the defaults take 75 % of memory and disk.
    `jetstream { store_dir: ${JSON.stringify(store)}, max_memory_store: 256MB, max_file_store: 2GB }`,
    `cluster { name: ${CLUSTER_NAME}, listen: 127.0.0.1:${ports.cluster}, routes: [${routes.map((port) => `nats-route://127.0.0.1:${port}`).join(", ")}] }`,
    // Without stream_replicas, the MQTT streams get as many replicas as the node sees JetStream
    // peers at the first MQTT connection: 2 of 3 if one is late, and that pair stalls when one dies.
    // ack_wait: a delivery not acknowledged by its subscriber comes again only after this long;
    // the default, 30 s, is as long as a run waits for the last deliveries.
    `mqtt { listen: 127.0.0.1:${ports.mqtt}, stream_replicas: ${replicas}, ack_wait: "5s" }`,
    "",
  ].join("\n");
}

/** The node's view of the JetStream meta group: its leader ("" while there is none) and size. */
async function metaLeader(monitor: string): Promise<{ leader: string; size: number } | undefined> {
  try {
    const jsz = await (await fetch(`${monitor}/jsz`)).json() as { meta_cluster?: { leader?: string; cluster_size?: number } };
    return { leader: jsz.meta_cluster?.leader ?? "", size: jsz.meta_cluster?.cluster_size ?? 0 };
  } catch {
    return undefined;
  }
}

async function healthy(monitor: string): Promise<boolean> {
  return fetch(`${monitor}/healthz`).then((response) => response.ok, () => false);
}

/** Every node healthy, of a meta group of `count`, all agreeing on one leader. */
async function clusterReady(nodes: NatsNode[], count: number): Promise<boolean> {
  if (!(await Promise.all(nodes.map((node) => healthy(node.monitor)))).every(Boolean)) return false;
  const views = await Promise.all(nodes.map((node) => metaLeader(node.monitor)));
  const leader = views[0]?.leader;
  return leader !== undefined && leader !== "" && views.every((view) => view?.leader === leader && view.size === count);
}

/** One MQTT connection attempt to `url`, closed again: whether it was accepted. */
function mqttAccepts(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: timeoutMs, clientId: `ready-${process.pid}-${url.split(":").at(-1)}` });
    const settle = (accepted: boolean): void => {
      client.removeAllListeners();
      client.on("error", () => undefined);
      client.end(true);
      resolve(accepted);
    };
    client.once("connect", () => settle(true));
    client.once("close", () => settle(false));
    client.once("error", () => settle(false));
  });
}

/** A TCP port on loopback that nothing listens on, just now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `condition` every `intervalMs` until it holds; fails naming `what` after `timeoutMs`. */
async function until(condition: () => Promise<boolean>, options: { timeoutMs: number; intervalMs: number; what: string }): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`${options.what} did not come within ${options.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

/** Nodes still running when this process exits (a test that timed out) go with it. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Times a cluster is started afresh when a node could not bind its port. */
const START_ATTEMPTS = 3;

/** Starts `count` NATS servers as one cluster (three unless told). Ports are picked free and
 *  bound by the servers a moment later: another socket (a node's own route dialling out, from
 *  the same ephemeral range) can take one in between. A node that then cannot bind exits, and
 *  the cluster is started again on new ports. */
export async function startNatsCluster(count = 3): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(count);
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !(error as Error).message.includes("address already in use")) throw error;
    }
  }
}

async function startNatsClusterOnce(count: number): Promise<NatsCluster> {
  if (NATS_PATH === undefined) throw new Error("nats-server is not installed (apt-get install -y nats-server)");
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-nats-"));
  const ports: Ports[] = [];
  for (let i = 0; i < count; i++) ports.push({ client: await freePort(), cluster: await freePort(), mqtt: await freePort(), monitor: await freePort() });
  const children: ChildProcess[] = [];
  const stderr: string[] = [];
  const nodes: NatsNode[] = ports.map((own, i) => {
    const name = `n${i + 1}`;
    const file = path.join(directory, `${name}.conf`);
    fs.writeFileSync(file, nodeConfig(name, own, ports.filter((p) => p !== own).map((p) => p.cluster), path.join(directory, name), Math.min(count, 3)));
    const child = spawn(NATS_PATH, ["-c", file], { stdio: ["ignore", "ignore", "pipe"] });
    stderr.push("");
    child.stderr?.on("data", (chunk: Buffer) => { stderr[i] = (stderr[i] + chunk.toString()).slice(-20_000); });
    children.push(child);
    running.add(child);
    child.once("exit", () => running.delete(child));
    return {
      name, url: `mqtt://127.0.0.1:${own.mqtt}`, monitor: `http://127.0.0.1:${own.monitor}`,
      get alive() { return child.exitCode === null && child.signalCode === null; },
      kill: () => stopChild(child, "SIGKILL"),
    };
  });
  const cluster: NatsCluster = {
    nodes,
    urls: (first = 0) => nodes.map((_, i) => nodes[(first + i) % nodes.length].url).join(","),
    metaLeader: async () => {
      const views = await Promise.all(nodes.filter((node) => node.alive).map((node) => metaLeader(node.monitor)));
      const leader = nodes.find((node) => views.some((view) => view?.leader === node.name));
      if (leader === undefined) throw new Error(`no JetStream meta leader among ${nodes.map((node) => node.name).join(", ")}: ${JSON.stringify(views)}`);
      return leader;
    },
    logs: () => stderr.map((text, i) => `--- ${nodes[i].name}\n${text}`).join("\n"),
    stop: async () => {
      await Promise.all(children.map((child) => stopChild(child, "SIGTERM")));
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
  try {
    await until(async () => {
      const exited = nodes.find((node) => !node.alive);
      if (exited !== undefined) throw new Error(`nats-server ${exited.name} exited`);
      return clusterReady(nodes, count);
    }, { timeoutMs: READY_TIMEOUT_MS, intervalMs: 100, what: `a ${count}-node NATS cluster with JetStream current` });
    // The first MQTT connection on a node sets up its MQTT streams; until they stand it may go unanswered.
    await Promise.all(nodes.map((node) => until(() => mqttAccepts(node.url, MQTT_ATTEMPT_TIMEOUT_MS),
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 100, what: `an MQTT connection accepted by ${node.name}` })));
  } catch (error) {
    await cluster.stop();
    throw new Error(`${(error as Error).message}\n${cluster.logs()}`);
  }
  return cluster;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}
