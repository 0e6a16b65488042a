// The embedded broker in a process of its own, for fleets whose connections would not fit in
// the simulator's process: with the broker beside them, every loopback connection costs this
// process two file descriptors (10,000 pumps, 20,000 descriptors: the limit here). In a child
// each side holds one per connection. The child keeps its persistence across an outage, as the
// in-process broker does, and ends when its parent does.

import { fork, type ChildProcess } from "node:child_process";
import type { EmbeddedBroker } from "./aedes-broker.js";

const ENTRY = new URL("./broker-process-entry.mjs", import.meta.url);
const REPLY_TIMEOUT_MS = 30_000;

type Reply = { type: "listening"; port: number } | { type: "closed" } | { type: "failed"; message: string };

/** A broker child: start it (again) on a port, close it while keeping its sessions, end it. */
export class BrokerProcess {
  #replies: ((reply: Reply) => void)[] = [];
  #exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (reply: Reply) => this.#replies.shift()?.(reply));
    child.on("exit", (code, signal) => {
      this.#exited = true;
      for (const waiter of this.#replies.splice(0)) waiter({ type: "failed", message: `broker process exited (${signal ?? code})` });
    });
  }

  /** Forks the child and starts its broker: on `port`, or a free one. */
  static async start(host: string, port = 0): Promise<EmbeddedBroker> {
    const child = fork(ENTRY, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
    const process = new BrokerProcess(child);
    return process.listen(host, port);
  }

  async listen(host: string, port: number): Promise<EmbeddedBroker> {
    const reply = await this.#ask({ type: "start", host, port });
    if (reply.type !== "listening") throw new Error(`embedded broker process: ${reply.type === "failed" ? reply.message : "did not start"}`);
    return {
      url: `mqtt://${host}:${reply.port}`,
      port: reply.port,
      persistence: this,
      close: async () => {
        await this.#ask({ type: "close" });
      },
      end: () => this.end(),
    };
  }

  /** Ends the child (its sessions with it). */
  async end(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    await exited;
  }

  #ask(message: { type: string; [key: string]: unknown }): Promise<Reply> {
    if (this.#exited) return Promise.resolve({ type: "failed", message: "broker process has exited" });
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ type: "failed", message: `no answer to ${message.type} within ${REPLY_TIMEOUT_MS} ms` }), REPLY_TIMEOUT_MS);
      this.#replies.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.send(message);
    });
  }
}
