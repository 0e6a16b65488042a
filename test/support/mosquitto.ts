// Runs a real mosquitto broker as a child process on a free loopback port, with a
// configuration the test writes. Tests that need it skip, saying why, when it is not installed.

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { until } from "./wait.js";

const CANDIDATES = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];

export const MOSQUITTO_PATH: string | undefined = CANDIDATES.find((file) => fs.existsSync(file));

export const MOSQUITTO_MISSING_REASON =
  "mosquitto is not installed (apt-get install -y mosquitto); the mosquitto tests are skipped";

export interface Mosquitto {
  url: string;
  port: number;
  directory: string;
  /** Stops the broker; its directory (configuration, persistence) is removed unless kept. */
  stop(keepDirectory?: boolean): Promise<void>;
  /** Stops it and starts it again on the same port with the same persistence file. */
  restart(): Promise<Mosquitto>;
}

export interface MosquittoOptions {
  port?: number;
  directory?: string;
  /** Keep sessions and queued messages in a file across restarts. */
  persistence?: boolean;
}

import { testPort } from "./ports.js";

function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

/** Until mosquitto listens on `port`; an exited mosquitto fails the wait with its code. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, stderr = (): string => ""): Promise<void> {
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}: ${stderr()}`);
    return portOpen(port);
  }, { timeoutMs, intervalMs: 50, what: `mosquitto listening on port ${port}` });
}

/** Starts mosquitto with `extraConfig` lines after a plain loopback listener. */
export async function startMosquitto(extraConfig: string[] = [], options: MosquittoOptions = {}): Promise<Mosquitto> {
  if (MOSQUITTO_PATH === undefined) throw new Error(MOSQUITTO_MISSING_REASON);
  const port = options.port ?? (await testPort());
  const directory = options.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), "impeller-mosquitto-"));
  // Started as root, mosquitto drops to its own user: it must still write its persistence here.
  fs.chmodSync(directory, 0o777);
  const config = [
    `listener ${port} 127.0.0.1`,
    "allow_anonymous true",
    "max_queued_messages 0", // the default of 1000 drops QoS 1 messages to a slow subscriber
    ...(options.persistence
      ? ["persistence true", `persistence_location ${directory}/`, "autosave_interval 1", "autosave_on_changes true"]
      : ["persistence false"]),
    "log_dest stderr",
    "log_type error",
    ...extraConfig,
  ];
  const file = path.join(directory, "mosquitto.conf");
  fs.writeFileSync(file, `${config.join("\n")}\n`);
  const child = spawn(MOSQUITTO_PATH, ["-c", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
  try {
    await waitForPort(port, child, 10_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}; stderr: ${stderr}`);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    directory,
    stop: async (keepDirectory = false) => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      if (!keepDirectory) fs.rmSync(directory, { recursive: true, force: true });
    },
    restart: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM"); // mosquitto saves its persistence file on SIGTERM
        await exited;
      }
      return startMosquitto(extraConfig, { ...options, port, directory });
    },
  };
}

/** mosquitto -c FILE, ready once its TLS port accepts connections. */
export async function runMosquittoConfig(file: string, port: number): Promise<{ stop: () => Promise<void>; stderr: () => string }> {
  const child: ChildProcess = spawn(MOSQUITTO_PATH!, ["-c", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
  await waitForPort(port, child, 10_000, () => stderr);
  return {
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

