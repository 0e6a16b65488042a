// A worker thread of the fleet: runs one PumpGroup (its share of the pumps) step by step as
// the main thread says. Messages: create → created | failed; step → stepped; advance →
// advanced; settle → settled; finish → finished; close → closed.

import fs from "node:fs";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { compileFirmware } from "../../host/runtime/firmware.js";
import { PumpGroup } from "./pump-group.js";
import type { Degradation } from "../physics/degradation.js";
import type { FleetUpdates } from "./fleet-updates.js";
import type { Scenario } from "../scenario/scenario.js";
import type { MaintenancePolicy } from "../../operator/maintenance.js";

export interface FleetWorkerData {
  scenario: Scenario;
  indices: number[];
  faults: Degradation[][];
  brokerUrl: string;
  firmwarePath: string;
  /** Pumps get a flash and an update agent (a scenario with campaigns). */
  updates?: FleetUpdates;
  /** Devices connect with their provisioned certificates from this directory. */
  identities?: string;
  /** The maintenance policy the run follows (a scenario with "service"). */
  policy?: MaintenancePolicy;
  /** The embedded broker's in-process network (net/link-hub.ts), transferred with the data. */
  hubPort?: MessagePort;
}

const data = workerData as FleetWorkerData;
const port = parentPort!;

try {
  const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(data.firmwarePath)));
  const group = await PumpGroup.create({
    ...data, firmware,
    log: (device, level, text) => { if (level >= 2) port.postMessage({ type: "log", device, level, text }); },
  });
  // Messages are handled one after the other: a step can arrive while the one before runs.
  let last: Promise<void> = Promise.resolve();
  port.on("message", (message: { type: string; step?: number; ms?: number }) => {
    const run = async (): Promise<void> => {
      if (message.type === "step") port.postMessage({ type: "stepped", windows: await group.step(message.step!) });
      else if (message.type === "advance") {
        await group.advance(message.ms!);
        port.postMessage({ type: "advanced" });
      } else if (message.type === "settle") port.postMessage({ type: "settled", mark: await group.settled() });
      else if (message.type === "finish") port.postMessage({ type: "finished", pumps: await group.finish() });
      else if (message.type === "close") {
        await group.close();
        port.postMessage({ type: "closed" });
      }
    };
    last = last.then(run).catch((error: unknown) => port.postMessage({ type: "failed", message: (error as Error).message }));
  });
  port.postMessage({ type: "created" });
} catch (error) {
  port.postMessage({ type: "failed", message: (error as Error).message });
}
