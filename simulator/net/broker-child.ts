// The embedded broker's own process: starts and closes the in-process broker as its parent
// says, over the same persistence each time, and exits when the parent goes away.

import { startInProcessBroker, type EmbeddedBroker } from "./aedes-broker.js";

let broker: EmbeddedBroker | undefined;
let persistence: unknown;

process.on("disconnect", () => process.exit(0));
process.on("message", (message: { type: string; host?: string; port?: number }) => {
  void handle(message).then((reply) => process.send!(reply), (error: Error) => process.send!({ type: "failed", message: error.message }));
});

async function handle(message: { type: string; host?: string; port?: number }): Promise<object> {
  if (message.type === "start") {
    if (broker !== undefined) return { type: "listening", port: broker.port };
    broker = await startInProcessBroker(message.host ?? "127.0.0.1", message.port ?? 0, persistence);
    persistence = broker.persistence;
    return { type: "listening", port: broker.port };
  }
  if (message.type === "close") {
    await broker?.close();
    broker = undefined;
    return { type: "closed" };
  }
  return { type: "failed", message: `unknown request ${message.type}` };
}
