// The device side of OTA in the simulated fleet: each pump gets an emulated flash provisioned
// with the release image and an update agent (host/update/update-agent.ts), so a campaign
// (operator/campaign.ts) can update it over MQTT like a real pump. Some pumps lose power at a random
// flash operation of their update and are powered on again from what their flash holds. The
// agent's silence is checked against the fleet's virtual clock, which the fleet moves on while
// a campaign runs. Mechanism only: nothing here knows about waves or thresholds.

import crypto from "node:crypto";
import type { Device, DeviceOptions } from "../../host/device/device.js";
import type { CompiledFirmware } from "../../host/runtime/firmware.js";
import { compileFirmware } from "../../host/runtime/firmware.js";
import { Flash, type FlashGeometry } from "../../host/storage/flash.js";
import { MemoryOutbox } from "../../host/outbox/outbox.js";
import { provision, sha256, SlotStore } from "../../host/update/slots.js";
import { UpdateAgent, type UpdateAgentOptions } from "../../host/update/update-agent.js";
import { Random } from "../physics/random.js";

/** The simulated pumps' vendor and class (the campaign's manifests name them). */
export const FLEET_VENDOR_ID = Uint8Array.from(Buffer.from("fa6b4a53d5ad5fdfbe9de663e4d41ffe", "hex"));
export const FLEET_CLASS_ID = Uint8Array.from(Buffer.from("1492af1425695e48bf429b2d51f2ab45", "hex"));
/** The release image's sequence number as the factory provisions it; campaigns count on from here. */
export const RELEASE_SEQUENCE = 1;
export const FLEET_FLASH: FlashGeometry = { size: 128 * 1024, sectorBytes: 4096, writeAlign: 8 };
/** Milliseconds of the pump's clock without a block before the agent asks again. */
export const FLEET_SILENCE_MS = 2000;
export const FLEET_TRIES_MAX = 5;
export const FLEET_SELF_TEST_TIMEOUT_MS = 5000;
const POWER_LOSS_SALT = 0x0b5e_55ed;
/** Wall ms a dead pump's link is given to close before it is powered on again regardless. */
const POWER_OFF_WAIT_MS = 1000;

/** What a group needs to give its pumps updates (plain data: it crosses to worker threads). */
export interface FleetUpdates {
  /** The image every pump runs from the factory (sequence RELEASE_SEQUENCE). */
  releaseImage: Uint8Array;
  /** The campaign signer's public key, SPKI DER. */
  publicKeyDer: Uint8Array;
  /** Share of pumps (0 … 1) that lose power once, at a random flash operation of their update. */
  powerLossShare: number;
  /** Flash operations an update takes, about: the cut is drawn among the first this many. */
  powerLossOperations: number;
}

/** Which pumps lose power, and at which operation (counted from after provisioning); torn
 *  cuts land half the operation's bytes. Follows from the seed and the pump's index alone. */
export function powerLossPlan(seed: number, index: number, updates: FleetUpdates): { at: number; torn: number | undefined } | undefined {
  const random = Random.forItem((seed ^ POWER_LOSS_SALT) >>> 0, index);
  if (random.next() >= updates.powerLossShare) return undefined;
  const at = random.integer(0, Math.max(0, updates.powerLossOperations - 1));
  return { at, torn: random.next() < 0.5 ? FLEET_FLASH.writeAlign * random.integer(0, 16) : undefined };
}

/** Compiles each image once per thread (by digest); the release image is given compiled. */
export function compileCache(release: { image: Uint8Array; compiled: CompiledFirmware }): (image: Uint8Array) => Promise<CompiledFirmware> {
  const cache = new Map<string, Promise<CompiledFirmware>>([[Buffer.from(sha256(release.image)).toString("hex"), Promise.resolve(release.compiled)]]);
  return (image) => {
    const key = Buffer.from(sha256(image)).toString("hex");
    let entry = cache.get(key);
    if (entry === undefined) cache.set(key, (entry = compileFirmware(image)));
    return entry;
  };
}

/** One pump's update hardware and agent; `powerOn` boots it from its flash (again after a cut). */
export class UpdatablePump {
  device!: Device;
  agent!: UpdateAgent;
  flash: Flash;
  /** Times the pump lost power and was powered on again. */
  powerCuts = 0;
  private earlierMessages = 0;
  private readonly deviceOptions: Omit<DeviceOptions, "firmware" | "trial">;

  constructor(
    deviceOptions: Omit<DeviceOptions, "firmware" | "trial" | "outbox">,
    private readonly agentOptions: Omit<UpdateAgentOptions, "store">,
    releaseImage: Uint8Array,
    cut: { at: number; torn: number | undefined } | undefined,
  ) {
    // The outbox survives a power cut, as one kept in flash (host/outbox/file-outbox.ts) does: its
    // sequence numbers go on, and what was not acknowledged is sent after the power-on.
    this.deviceOptions = { ...deviceOptions, outbox: new MemoryOutbox() };
    this.flash = new Flash(FLEET_FLASH);
    provision(new SlotStore(this.flash), releaseImage, RELEASE_SEQUENCE);
    if (cut !== undefined) this.flash.powerCutAt(this.flash.operations + cut.at, { torn: cut.torn });
  }

  async powerOn(): Promise<Device> {
    const started = await UpdateAgent.start(this.deviceOptions, { ...this.agentOptions, store: new SlotStore(this.flash) });
    this.device = started.device;
    this.agent = started.agent;
    return this.device;
  }

  /** The power came back after a cut: the same flash bytes on a fresh device. */
  /** Messages this pump put in its outbox over every power-on: the firmware's, and its agent's
   *  statuses and block requests. */
  get published(): number {
    return this.earlierMessages + this.device.counters.published + this.agent.history.length + this.agent.counters.requests;
  }

  async powerCycle(): Promise<Device> {
    this.earlierMessages = this.published;
    this.agent.close();
    // Power gone: no goodbye is owed, so a close that waits on the broker is not waited for.
    await Promise.race([this.device.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, POWER_OFF_WAIT_MS).unref())]);
    this.flash = this.flash.reopen();
    this.powerCuts += 1;
    return this.powerOn();
  }
}

export function agentOptionsFor(updates: FleetUpdates, compile: (image: Uint8Array) => Promise<CompiledFirmware>): Omit<UpdateAgentOptions, "store"> {
  return {
    keys: [crypto.createPublicKey({ key: Buffer.from(updates.publicKeyDer), format: "der", type: "spki" })],
    identity: { vendorId: FLEET_VENDOR_ID, classId: FLEET_CLASS_ID },
    silenceMs: FLEET_SILENCE_MS, triesMax: FLEET_TRIES_MAX, selfTestTimeoutMs: FLEET_SELF_TEST_TIMEOUT_MS,
    timers: "manual", compile,
  };
}
