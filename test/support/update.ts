// Shared pieces of the update tests: a signing key and the device's identity, envelopes for the
// test images, a flash provisioned with the release image, and a direct (broker-less) loop that
// carries a device's "update" messages to an UpdateServer and its answers back as commands.

import crypto from "node:crypto";
import fs from "node:fs";
import type { Device, DeviceOptions } from "../../host/device/device.js";
import { compileFirmware, type CompiledFirmware } from "../../host/runtime/firmware.js";
import { Flash, type FlashGeometry } from "../../host/storage/flash.js";
import { provision, sha256, SlotStore } from "../../host/update/slots.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { UpdateAgent, type UpdateAgentOptions } from "../../host/update/update-agent.js";
import { UpdateServer } from "../../operator/update-server.js";
import { buildEnvelope } from "../../protocol/suit/build.js";
import { releaseBytes, testImage as testImageUrl } from "../../host/runtime/images.js";

export const VENDOR_ID = Uint8Array.from(Buffer.from("fa6b4a53d5ad5fdfbe9de663e4d41ffe", "hex"));
export const CLASS_ID = Uint8Array.from(Buffer.from("1492af1425695e48bf429b2d51f2ab45", "hex"));
export const OTHER_CLASS_ID = Uint8Array.from(Buffer.from("00112233445566778899aabbccddeeff", "hex"));
export const IDENTITY = { vendorId: VENDOR_ID, classId: CLASS_ID };
export const SIGNER = crypto.generateKeyPairSync("ed25519");
export const OTHER_SIGNER = crypto.generateKeyPairSync("ed25519");
export const CONFIG = { device: "p1", rate_hz: 1000, window: 256 };
export const T0_MS = 1_767_225_600_000;

export function testImage(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(testImageUrl(name)));
}

export const OLD_IMAGE = releaseBytes();
export const NEW_IMAGE = testImage("v0.2.0");

export function envelopeFor(image: Uint8Array, sequenceNumber: number, overrides: { key?: crypto.KeyObject; classId?: Uint8Array } = {}): Uint8Array {
  return buildEnvelope({
    image, sequenceNumber, vendorId: VENDOR_ID, classId: overrides.classId ?? CLASS_ID, key: overrides.key ?? SIGNER.privateKey, alg: -8,
  });
}

/** A flash with the release image (v0.1.0, sequence 1) in slot A, as the factory leaves it. */
export function provisionedFlash(geometry: Partial<FlashGeometry>): Flash {
  const flash = new Flash(geometry);
  provision(new SlotStore(flash), OLD_IMAGE, 1);
  return flash;
}

const compiled = new Map<string, Promise<CompiledFirmware>>();
/** Compiles each image once for the whole run. */
export function compileCached(image: Uint8Array): Promise<CompiledFirmware> {
  const key = Buffer.from(sha256(image)).toString("hex");
  let entry = compiled.get(key);
  if (entry === undefined) compiled.set(key, (entry = compileFirmware(image)));
  return entry;
}

export function deviceOptions(extra: Partial<DeviceOptions> = {}): Omit<DeviceOptions, "firmware"> {
  return { tenant: "t", config: CONFIG, storage: new MemoryStorage(), clock: () => Date.now(), ...extra };
}

export function agentOptions(store: SlotStore, extra: Partial<UpdateAgentOptions> = {}): UpdateAgentOptions {
  return { store, keys: [SIGNER.publicKey], identity: IDENTITY, compile: compileCached, ...extra };
}

/** Connects a device to a server without a broker: what the device puts on "update" goes to
 *  the server, the server's commands go to device.handleCommand. */
export class DirectLink {
  device: Device | undefined;
  readonly server: UpdateServer;
  uplinkBytes = 0;
  downlinkBytes = 0;

  constructor() {
    this.server = new UpdateServer(async (_, command) => {
      this.downlinkBytes += command.length;
      if (this.device !== undefined) await this.device.handleCommand(command);
    });
  }

  attach(device: Device): void {
    this.device = device;
  }

  /** Carries messages until the device's outbox is empty (other kinds are dropped here). */
  async pump(): Promise<void> {
    const device = this.device;
    if (device === undefined) return;
    for (let round = 0; round < 100_000; round++) {
      const entries = device.outbox.pending().slice();
      if (entries.length === 0) return;
      for (const entry of entries) {
        device.outbox.acknowledge(entry.sequence);
        if (entry.kind !== "update") continue;
        this.uplinkBytes += entry.body.length;
        await this.server.receive(device.id, entry.body);
      }
    }
    throw new Error("the direct link did not settle");
  }
}

export type { UpdateAgent };
