// Power loss during an update, in the manner of MCUboot's simulator and beyond it: the whole
// update (offer, download into the inactive slot, header, trial mark, reboot, self-test,
// confirm) runs once to list its K flash operations; then for every operation in turn the power
// is cut before it, and, for every write and erase, in the middle of it (a torn operation:
// half its bytes land). The device is then powered on from the flash alone (bootloader,
// trailer, update agent) and must boot a valid image, old or new, never neither, with a
// consistent trailer; the update is then offered again (or resumes by itself) and must end
// confirmed on the new image. The same matrix with an image that fails its self-test must end
// on the old image every time.
//
// The matrix runs the firmware inline (no worker): a worker per power-on would make it minutes
// long; the worker path (traps, hangs at boot) is covered by test/host/update.test.ts. Small sectors
// (512 bytes, an 8-byte write alignment) make the trailer fill its sector and compact mid-update.

import { describe, expect, it } from "vitest";
import type { Device } from "../../host/device/device.js";
import { ERASED, Flash, FlashError, PowerCut } from "../../host/storage/flash.js";
import { bootloader, RECORD_BYTES, sha256, SlotStore, type BootDecision } from "../../host/update/slots.js";
import { UpdateAgent } from "../../host/update/update-agent.js";
import {
  agentOptions, DirectLink, envelopeFor, NEW_IMAGE, OLD_IMAGE, provisionedFlash, testImage, deviceOptions,
} from "../support/update.js";

// 512-byte sectors hold 16 trailer records: the trailer compacts into its other sector twice
// during one update. Blocks of 1 KiB span two sectors.
// Slots of 49.5 KiB, a metadata sector and 49 KiB of image (the release image is 48.6 KiB).
const GEOMETRY = { size: 200 * 512, sectorBytes: 512, writeAlign: 8 };
const BLOCK_BYTES = 1024;
const CAMPAIGN = "c-power";
const OLD_DIGEST = Buffer.from(sha256(OLD_IMAGE)).toString("hex");

function digestOf(image: Uint8Array): string {
  return Buffer.from(sha256(image)).toString("hex");
}

describe("emulated NOR flash", () => {
  it("erases per sector, writes aligned and only clears bits", () => {
    const flash = new Flash({ size: 4096, sectorBytes: 1024, writeAlign: 8 });
    expect(flash.isErased(0, 4096)).toBe(true);
    flash.write(8, Uint8Array.from([0xf0, 0x0f, 0, 0, 0, 0, 0, 0]));
    flash.write(8, Uint8Array.from([0x70, 0x0f, 0, 0, 0, 0, 0, 0])); // clears one more bit: allowed
    expect(flash.read(8, 2)).toEqual(Uint8Array.from([0x70, 0x0f]));
    expect(() => flash.write(8, Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0]))).toThrow(FlashError); // 0 → 1
    expect(() => flash.write(4, new Uint8Array(8))).toThrow(/aligned/);
    expect(() => flash.write(8, new Uint8Array(5))).toThrow(/aligned/);
    expect(() => flash.erase(100)).toThrow(/sector start/);
    flash.erase(0);
    expect(flash.isErased(0, 1024)).toBe(true);
    expect(flash.operations).toBe(3);
  });

  it("cuts power before an operation, or tears it, and is dead afterwards", () => {
    const flash = new Flash({ size: 4096, sectorBytes: 1024, writeAlign: 8 });
    flash.powerCutAt(1, { torn: 8 });
    flash.write(0, new Uint8Array(16));
    expect(() => flash.write(16, new Uint8Array(16))).toThrow(PowerCut);
    expect(flash.read(16, 16)).toEqual(Uint8Array.from([...new Uint8Array(8), ...new Uint8Array(8).fill(ERASED)]));
    expect(() => flash.read(0, 1)).not.toThrow();
    expect(() => flash.erase(0)).toThrow(PowerCut);
    const again = flash.reopen();
    expect(again.operations).toBe(0);
    again.erase(0);
    expect(again.isErased(0, 1024)).toBe(true);
    // A torn erase leaves the rest of the sector as it was.
    again.write(1024, new Uint8Array(1024));
    again.powerCutAt(again.operations, { torn: 512 });
    expect(() => again.erase(1024)).toThrow(PowerCut);
    expect(again.isErased(1024, 512)).toBe(true);
    expect(again.read(1536, 512).every((b) => b === 0)).toBe(true);
  });
});

describe("slots and trailer", () => {
  it("keeps the newest valid record across a full sector (compaction) and ignores a torn one", () => {
    const flash = new Flash(GEOMETRY);
    const store = new SlotStore(flash);
    const base = { state: "idle", active: 0, trials: 0, installedSequence: 1, candidateSequence: 0, progress: 0, outcome: "none" } as const;
    const perSector = GEOMETRY.sectorBytes / RECORD_BYTES;
    for (let i = 0; i < perSector * 2 + 3; i++) store.writeTrailer({ ...base, progress: i * 8 });
    expect(store.readTrailer()).toMatchObject({ progress: (perSector * 2 + 2) * 8, counter: perSector * 2 + 3 });
    flash.powerCutAt(flash.operations, { torn: RECORD_BYTES / 2 });
    expect(() => store.writeTrailer({ ...base, progress: 999 })).toThrow(PowerCut);
    const after = new SlotStore(flash.reopen());
    expect(after.readTrailer()).toMatchObject({ progress: (perSector * 2 + 2) * 8 });
    after.writeTrailer({ ...base, progress: 1000 }); // goes past the torn place
    expect(after.readTrailer()).toMatchObject({ progress: 1000 });
  });

  it("never boots a slot whose image does not match its digest", () => {
    const flash = provisionedFlash(GEOMETRY);
    const store = new SlotStore(flash);
    expect(bootloader(store).slot).toBe(0);
    // Flip bits in the image (program a byte to 0): the only slot is now invalid.
    const at = store.imageOffset(0) + 4096;
    flash.write(at, new Uint8Array(8));
    expect(() => bootloader(store)).toThrow(/not valid/);
  });

  it("reverts a trial that reaches another boot unconfirmed", () => {
    const flash = provisionedFlash(GEOMETRY);
    const store = new SlotStore(flash);
    store.eraseMeta(1);
    for (let offset = 0; offset < NEW_IMAGE.length; offset += 1024) store.writeImage(1, offset, NEW_IMAGE.subarray(offset, offset + 1024));
    store.writeHeader(1, { imageSize: NEW_IMAGE.length, sequence: 2, digest: sha256(NEW_IMAGE) });
    store.writeTrailer({ state: "pending", active: 0, trials: 0, installedSequence: 1, candidateSequence: 2, progress: NEW_IMAGE.length, outcome: "none" });
    const first = bootloader(store);
    expect(first).toMatchObject({ slot: 1, trial: true, action: "trial" });
    const second = bootloader(store);
    expect(second).toMatchObject({ slot: 0, trial: false, action: "revert" });
    expect(store.readTrailer()).toMatchObject({ state: "idle", active: 0, outcome: "reverted", installedSequence: 1 });
  });
});

// ---------------------------------------------------------------------------------------------
// The matrix

interface Life {
  device: Device;
  agent: UpdateAgent;
  decision: BootDecision;
}

async function powerOn(flash: Flash, link: DirectLink): Promise<Life> {
  const store = new SlotStore(flash);
  const { device, agent, decision } = await UpdateAgent.start(deviceOptions({ isolation: "inline" }), agentOptions(store, { timers: "manual", selfTestTimeoutMs: 10_000 }));
  link.attach(device);
  return { device, agent, decision };
}

/** Runs until the link settles; a power cut ends the life (and is returned). */
async function run(life: Life, link: DirectLink, body: () => Promise<unknown>): Promise<PowerCut | undefined> {
  try {
    await body();
    await link.pump();
    return undefined;
  } catch (error) {
    if (error instanceof PowerCut) return error;
    throw error;
  } finally {
    if (life.agent.options.store.flash.dead) {
      life.agent.close();
      await life.device.close();
    }
  }
}

/** What must hold after any power-on: a valid image runs, old or new, and the trailer agrees. */
function checkConsistent(flash: Flash, life: Life, images: Uint8Array[]): void {
  const store = new SlotStore(flash);
  const record = store.readTrailer();
  expect(record).toBeDefined();
  if (record === undefined) return;
  const booted = digestOf(life.decision.image);
  expect(images.map(digestOf)).toContain(booted);
  // What runs now: the booted image, or the old one when the agent reverted a trial meanwhile.
  expect(images.map(digestOf)).toContain(digestOf(life.device.firmware.bytes));
  expect(life.device.supervisor.state).toBe("running");
  const active = store.validImage(record.active);
  expect(active, "the active slot holds a valid image").toBeDefined();
  expect(active?.header.sequence).toBe(record.installedSequence);
  if (record.state === "pending" || record.state === "trial") {
    const candidate = store.validImage((1 - record.active) as 0 | 1);
    expect(candidate?.header.sequence).toBe(record.candidateSequence);
    expect(record.candidateSequence).toBeGreaterThan(record.installedSequence);
  }
  if (record.state === "downloading") {
    expect(record.progress % GEOMETRY.sectorBytes === 0 || record.progress === NEW_IMAGE.length).toBe(true);
  }
}

interface MatrixResult {
  operations: { index: number; kind: string; length: number; region: string }[];
  cases: number;
  outcomes: Map<string, number>;
}

async function matrix(candidate: Uint8Array, expectEnd: "new" | "old"): Promise<MatrixResult> {
  const envelope = envelopeFor(candidate, 2);
  const pristine = provisionedFlash(GEOMETRY).snapshot();
  const serve = (link: DirectLink): void => link.server.serve({ campaign: CAMPAIGN, image: candidate, envelope, blockBytes: BLOCK_BYTES });

  // The reference run: every operation of the update, none cut.
  const reference = new Flash(GEOMETRY, pristine);
  reference.trace = true;
  const referenceLink = new DirectLink();
  serve(referenceLink);
  const referenceLife = await powerOn(reference, referenceLink);
  const start = reference.operations;
  expect(await run(referenceLife, referenceLink, () => referenceLink.server.offer("p1", CAMPAIGN))).toBeUndefined();
  expect(referenceLife.agent.state).toBe(expectEnd === "new" ? "confirmed" : "reverted");
  await referenceLife.device.close();
  const layout = new SlotStore(reference);
  const region = (offset: number, length: number): string => (offset >= layout.trailerOffset ? "trailer" : offset % layout.slotBytes >= layout.sectorBytes ? "image" : length === 64 ? "header" : "slot metadata");
  const operations = reference.log.slice(start).map(({ index, kind, offset, length }) => ({ index: index - start, kind, length, region: region(offset, length) }));

  const outcomes = new Map<string, number>();
  const count = (key: string): void => {
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  };
  let cases = 0;
  for (const operation of operations) {
    for (const torn of [undefined, operation.length / 2]) {
      cases += 1;
      const flash = new Flash(GEOMETRY, pristine);
      const link = new DirectLink();
      serve(link);
      const life = await powerOn(flash, link);
      flash.powerCutAt(flash.operations + operation.index, { torn });
      const cut = await run(life, link, () => link.server.offer("p1", CAMPAIGN));
      expect(cut, `operation ${operation.index} was reached`).toBeInstanceOf(PowerCut);

      // Power back on from the flash alone.
      const after = flash.reopen();
      const second = await powerOn(after, link);
      checkConsistent(after, second, [OLD_IMAGE, candidate]);
      const bootedNew = digestOf(second.decision.image) === digestOf(candidate);
      // The agent resumes a download or a trial by itself; otherwise the operator offers again.
      await run(second, link, async () => undefined);
      const first = second.agent.history[0]?.state ?? "nothing to do";
      const offeredAgain = second.agent.state !== "confirmed" && !(expectEnd === "old" && second.agent.state === "reverted");
      if (offeredAgain) expect(await run(second, link, () => link.server.offer("p1", CAMPAIGN))).toBeUndefined();
      const record = new SlotStore(after).readTrailer();
      const endDigest = digestOf(second.device.firmware.bytes);
      if (expectEnd === "new") {
        expect(second.agent.state === "confirmed" || (second.agent.history.length === 0 && record?.outcome === "confirmed")).toBe(true);
        expect(endDigest).toBe(digestOf(candidate));
        expect(record).toMatchObject({ state: "idle", installedSequence: 2, outcome: "confirmed" });
        expect(second.device.firmwareVersion).toBe(0x000200);
      } else {
        expect(endDigest).toBe(OLD_DIGEST);
        expect(record).toMatchObject({ state: "idle", installedSequence: 1 });
        expect(second.device.firmwareVersion).toBe(0x000100);
      }
      const how = offeredAgain ? "offered again" : "finished by itself";
      count(`cut ${torn === undefined ? "before" : "torn in"} ${operation.kind} of ${operation.region}; booted ${bootedNew ? "new" : "old"}; at power-on: ${first}; ${how}`);
      second.agent.close();
      await second.device.close();
    }
  }
  return { operations, cases, outcomes };
}

function print(title: string, result: MatrixResult): void {
  const erases = result.operations.filter((o) => o.kind === "erase").length;
  const lines = [`${title}: K = ${result.operations.length} flash operations (${erases} erases, ${result.operations.length - erases} writes); ${result.cases} cases (cut before each, torn in each)`];
  for (const [key, n] of [...result.outcomes].sort()) lines.push(`  ${String(n).padStart(4)}  ${key}`);
  console.log(lines.join("\n"));
}

describe("power-loss matrix", () => {
  it("ends confirmed on the new image whatever operation the power is cut at, before or during it", async () => {
    const result = await matrix(NEW_IMAGE, "new");
    print("power-loss matrix, v0.1.0 → v0.2.0", result);
    expect(result.cases).toBe(2 * result.operations.length);
    expect(result.operations.filter((o) => o.region === "trailer" && o.kind === "erase").length).toBeGreaterThan(0); // compaction
  }, 300_000);

  it("ends on the old image whatever the cut when the new image fails its self-test", async () => {
    const result = await matrix(testImage("self-test-fails"), "old");
    print("power-loss matrix, v0.1.0 → self-test-fails", result);
    expect(result.cases).toBe(2 * result.operations.length);
  }, 300_000);
});


