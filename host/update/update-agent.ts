// The update agent: policy, in the manner of FreeRTOS OTA's agent over MCUboot's mechanism.
// It takes an offer (a SUIT envelope, protocol/suit/), checks it (signature, vendor, class,
// anti-rollback), downloads the image in blocks over the device's outbox and commands into the
// inactive slot (host/update/slots.ts) with its progress in the trailer, so a reboot resumes where
// flash left off; re-requests a block after silence and gives up after `triesMax` requests;
// checks the image's digest and size, makes the slot bootable, marks it for a trial and
// reboots into it through the device's runtime (a worker with time budgets: a trap or a hang
// of the new image is a fault); runs its self-test within a timeout and confirms it, or
// reverts to the previous image. Every state change goes out as an update-status message.
//
// States reported (impeller.cddl update-status): offered → downloading → verifying →
// installing → trial → confirmed | reverted; rejected (the offer fails a check) and failed
// (the download cannot complete or the image does not match) end an attempt early.

import type { KeyObject } from "node:crypto";
import { decodeCbor, encodeCbor } from "../../protocol/cbor.js";
import {
  checkUpdateBlock, checkUpdateOffer, encodeBlockRequest, encodeUpdateStatus, UPDATE_BLOCK_BYTES_DEFAULT,
  type UpdateStateName, type UpdateStatus,
} from "../../protocol/messages.js";
import { checkCandidate, verifyEnvelope } from "../../protocol/suit/envelope.js";
import { DIGEST_ALG_SHA256, SuitError, type SuitVerified } from "../../protocol/suit/model.js";
import { Device, type DeviceOptions, type UpdateHook } from "../device/device.js";
import { compileFirmware, type CompiledFirmware } from "../runtime/firmware.js";
import { bootloader, sha256, type BootDecision, type SlotIndex, type SlotStore, type StoredRecord } from "./slots.js";

export const SILENCE_MS_DEFAULT = 5000;
export const TRIES_MAX_DEFAULT = 5;
export const SELF_TEST_TIMEOUT_MS_DEFAULT = 5000;

/** What the device is, for the manifest's conditions. */
export interface UpdateIdentity {
  vendorId: Uint8Array;
  classId: Uint8Array;
  deviceId?: Uint8Array;
}

export interface UpdateAgentOptions {
  store: SlotStore;
  /** Keys an envelope may be signed with. */
  keys: KeyObject[];
  identity: UpdateIdentity;
  /** Milliseconds of the device's clock without the requested block before asking again. */
  silenceMs?: number;
  /** Requests of one block before the download is given up (reported failed, resumable). */
  triesMax?: number;
  /** Milliseconds the new image's self-test may take. */
  selfTestTimeoutMs?: number;
  /** Boots of an unconfirmed trial image before it is reverted (bootloader). Default 1. */
  trialsMax?: number;
  /** "real" (default): silence is timed with timers. "manual": the caller calls poll(). */
  timers?: "real" | "manual";
  /** Compiles an image (tests pass a cache). */
  compile?: (image: Uint8Array) => Promise<CompiledFirmware>;
  /** Told about every status, as it is published. */
  onStatus?: (status: UpdateStatus) => void;
}

/** What the agent keeps in the slot's metadata record to resume after a reboot. */
interface Offer {
  campaign: string;
  blockBytes: number;
  envelope: Uint8Array;
}

interface Download extends Offer {
  verified: SuitCandidate;
  slot: SlotIndex;
  sequence: number;
  size: number;
  offset: number;
  tries: number;
  deadline: number;
  nextId: number;
}

export type AgentState = "idle" | "downloading" | "failed" | "verifying" | "installing" | "trial" | "confirmed" | "reverted";

/** A verified manifest that names one image (what verify() guarantees). */
type SuitCandidate = SuitVerified & { manifest: { sequenceNumber: number; imageDigest: { alg: number; bytes: Uint8Array }; imageSize: number } };

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function encodeOffer(offer: Offer): Uint8Array {
  return encodeCbor([offer.campaign, offer.blockBytes, offer.envelope]);
}

function decodeOffer(bytes: Uint8Array | undefined): Offer | undefined {
  if (bytes === undefined) return undefined;
  try {
    const value = decodeCbor(bytes);
    if (!Array.isArray(value) || value.length !== 3) return undefined;
    const [campaign, blockBytes, envelope] = value as unknown[];
    if (typeof campaign !== "string" || typeof blockBytes !== "number" || !(envelope instanceof Uint8Array)) return undefined;
    return { campaign, blockBytes, envelope };
  } catch {
    return undefined;
  }
}

export class UpdateAgent implements UpdateHook {
  state: AgentState = "idle";
  /** Every status published, oldest first (the device's action history). */
  readonly history: UpdateStatus[] = [];
  /** Bytes of block data received, and block requests sent. */
  readonly counters = { blockBytes: 0, blocks: 0, requests: 0, resends: 0 };
  private download: Download | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private closed = false;
  private readonly compiled = new Map<string, CompiledFirmware>();

  constructor(readonly device: Device, readonly options: UpdateAgentOptions) {
    device.update = this;
  }

  private get store(): SlotStore {
    return this.options.store;
  }

  /**
   * Powers a device on from its flash alone: the bootloader picks the image (and makes its one
   * trailer transition), the device boots it, the agent attaches and carries on with what the
   * trailer says: a trial is self-tested and confirmed or reverted, a revert is reported, a
   * download resumes from the progress in flash.
   */
  static async start(deviceOptions: Omit<DeviceOptions, "firmware" | "trial">, options: UpdateAgentOptions): Promise<{ device: Device; agent: UpdateAgent; decision: BootDecision }> {
    const decision = bootloader(options.store, { trialsMax: options.trialsMax });
    const compile = options.compile ?? ((image: Uint8Array) => compileFirmware(image));
    let device: Device;
    try {
      device = await Device.boot({ ...deviceOptions, firmware: await compile(decision.image), trial: decision.trial });
    } catch (error) {
      if (!decision.trial) throw error;
      // The trial image cannot even be loaded: as a reset would, back to the bootloader.
      const reverted = bootloader(options.store, { trialsMax: 0 });
      device = await Device.boot({ ...deviceOptions, firmware: await compile(reverted.image) });
      const agent = new UpdateAgent(device, options);
      agent.reportRevert(decision.record, `the trial image did not load: ${(error as Error).message}`);
      return { device, agent, decision: reverted };
    }
    const agent = new UpdateAgent(device, options);
    await agent.serial(() => agent.resume(decision));
    return { device, agent, decision };
  }

  /** Commands "update" and "block" (the device routes them here). */
  handleCommand(command: Map<unknown, unknown>): Promise<number> {
    return this.serial(async () => {
      const id = command.get("id");
      if (typeof id !== "number") return -2;
      try {
        if (command.get("cmd") === "update") return await this.offer(checkUpdateOffer(id, command.get("args")));
        if (command.get("cmd") === "block") return await this.block(checkUpdateBlock(id, command.get("args")));
      } catch (error) {
        if ((error as Error).name === "ProtocolError") return -2;
        throw error;
      }
      return -9;
    });
  }

  /** Checks for silence against the device's clock (timers "manual"; "real" calls it itself). */
  poll(): Promise<void> {
    return this.serial(async () => this.checkSilence());
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.device.update === this) this.device.update = undefined;
  }

  private serial<T>(body: () => Promise<T>): Promise<T> {
    this.queued += 1;
    const result = this.queue.then(body);
    const done = (): void => {
      this.queued -= 1;
    };
    this.queue = result.then(done, done);
    return result;
  }

  /** No command, poll or boot under way or waiting its turn. */
  get idle(): boolean {
    return this.queued === 0;
  }

  // --- reporting ------------------------------------------------------------------------

  private report(campaign: string, sequence: number, state: UpdateStateName, extra: { progress?: number; reason?: string } = {}): void {
    const status: UpdateStatus = { update: "status", campaign, sequence, state, ...extra };
    this.history.push(status);
    const { update: _, ...fields } = status;
    if (this.device.outbox.append("update", encodeUpdateStatus(fields)) === undefined) {
      this.device.options.log?.(this.device.id, 3, `update status ${state} refused by the outbox`);
    }
    this.device.link?.pump();
    this.options.onStatus?.(status);
  }

  private reportRevert(record: StoredRecord, reason: string): void {
    const offer = decodeOffer(this.store.readMeta((1 - record.active) as SlotIndex));
    this.state = "reverted";
    this.report(offer?.campaign ?? "unknown", record.candidateSequence, "reverted", { reason });
  }

  // --- the offer -------------------------------------------------------------------------

  private verify(envelope: Uint8Array, installed: number): SuitCandidate {
    const verified = verifyEnvelope(envelope, this.options.keys);
    checkCandidate(verified, { ...this.options.identity, currentSequence: installed });
    const { imageDigest, imageSize } = verified.manifest;
    if (imageDigest === undefined || imageSize === undefined) throw new SuitError("suit_unsupported", "the manifest does not name one image");
    if (imageDigest.alg !== DIGEST_ALG_SHA256) {
      throw new SuitError("suit_unsupported", `image digest algorithm ${imageDigest.alg} is not SHA-256 (-16), the one the slots keep`);
    }
    return verified as SuitCandidate;
  }

  private trailer(): StoredRecord {
    const record = this.store.readTrailer();
    if (record === undefined) throw new Error("the trailer has no record: the device was not provisioned");
    return record;
  }

  private async offer(offer: { campaign: string; envelope: Uint8Array; block_bytes?: number }): Promise<number> {
    const record = this.trailer();
    const align = this.store.flash.writeAlign;
    const blockBytes = Math.floor((offer.block_bytes ?? UPDATE_BLOCK_BYTES_DEFAULT) / align) * align;
    let verified: SuitCandidate;
    try {
      verified = this.verify(offer.envelope, record.installedSequence);
    } catch (error) {
      if (!(error instanceof SuitError)) throw error;
      this.report(offer.campaign, 0, "rejected", { reason: `${error.code}: ${error.message}` });
      this.device.reportRefusedOffer();
      return -2;
    }
    const { sequenceNumber: sequence, imageSize: size } = verified.manifest;
    const current = this.download;
    if (current !== undefined && this.state === "downloading") {
      if (current.sequence === sequence && equalBytes(current.envelope, offer.envelope)) return 0; // already at it
    } else if (this.state === "verifying" || this.state === "installing" || this.state === "trial" || record.state === "pending" || record.state === "trial") {
      this.report(offer.campaign, sequence, "rejected", { reason: "busy: an image is being installed" });
      return -11;
    }
    if (size > this.store.imageCapacity) {
      this.report(offer.campaign, sequence, "rejected", { reason: `image of ${size} bytes exceeds the slot's ${this.store.imageCapacity}` });
      return -6;
    }
    this.stopDownload();
    this.report(offer.campaign, sequence, "offered");
    const slot = (1 - record.active) as SlotIndex;
    const stored: Offer = { campaign: offer.campaign, blockBytes, envelope: offer.envelope };
    const previous = decodeOffer(this.store.readMeta(slot));
    // Already in flash: a download under way for this very envelope resumes from its progress.
    if (record.state === "downloading" && record.candidateSequence === sequence && previous !== undefined && equalBytes(previous.envelope, offer.envelope)) {
      await this.startDownload({ ...previous, campaign: offer.campaign, blockBytes }, verified, slot, record.progress);
      return 0;
    }
    // The slot already holds this image, complete (an earlier attempt that was not confirmed).
    const header = this.store.readHeader(slot);
    if (record.state === "idle" && header !== undefined && header.sequence === sequence && equalBytes(header.digest, verified.manifest.imageDigest.bytes) && previous !== undefined && equalBytes(previous.envelope, offer.envelope)) {
      this.download = this.newDownload(previous, verified, slot, size);
      this.store.writeTrailer({ ...record, state: "downloading", candidateSequence: sequence, progress: size, outcome: "none", trials: 0 });
      await this.finish();
      return 0;
    }
    // A new download: the slot's first sector (header and metadata) goes first, so the slot
    // stops being bootable before any of its image is overwritten.
    this.store.eraseMeta(slot);
    this.store.writeMeta(slot, encodeOffer(stored));
    this.store.writeTrailer({ ...record, state: "downloading", candidateSequence: sequence, progress: 0, outcome: "none", trials: 0 });
    await this.startDownload(stored, verified, slot, 0);
    return 0;
  }

  private newDownload(offer: Offer, verified: SuitCandidate, slot: SlotIndex, offset: number): Download {
    return {
      ...offer, verified, slot, sequence: verified.manifest.sequenceNumber, size: verified.manifest.imageSize, offset, tries: 0, deadline: 0, nextId: 1,
    };
  }

  private async startDownload(offer: Offer, verified: SuitCandidate, slot: SlotIndex, progress: number): Promise<void> {
    this.download = this.newDownload(offer, verified, slot, progress);
    this.state = "downloading";
    this.report(offer.campaign, verified.manifest.sequenceNumber, "downloading", { progress });
    if (progress >= verified.manifest.imageSize) {
      await this.finish();
      return;
    }
    this.request();
  }

  private stopDownload(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.download = undefined;
  }

  // --- the download ----------------------------------------------------------------------

  private request(): void {
    const download = this.download;
    if (download === undefined || this.closed) return;
    const length = Math.min(download.blockBytes, download.size - download.offset);
    if (download.tries > 0) this.counters.resends += 1;
    download.tries += 1;
    this.counters.requests += 1;
    download.deadline = this.device.options.clock() + (this.options.silenceMs ?? SILENCE_MS_DEFAULT);
    const body = encodeBlockRequest({ campaign: download.campaign, offset: download.offset, length });
    if (this.device.outbox.append("update", body) === undefined) this.device.options.log?.(this.device.id, 2, "block request refused by the outbox");
    this.device.link?.pump();
    this.arm();
  }

  private arm(): void {
    if ((this.options.timers ?? "real") !== "real" || this.closed) return;
    clearTimeout(this.timer);
    const download = this.download;
    if (download === undefined) return;
    const wait = Math.max(1, download.deadline - this.device.options.clock());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.poll().catch((error: unknown) => this.device.options.log?.(this.device.id, 3, `update agent: ${(error as Error).message}`));
    }, wait);
  }

  private async checkSilence(): Promise<void> {
    const download = this.download;
    if (download === undefined || this.state !== "downloading") return;
    if (this.device.options.clock() < download.deadline) {
      this.arm();
      return;
    }
    if (download.tries >= (this.options.triesMax ?? TRIES_MAX_DEFAULT)) {
      this.fail(`no answer for the block at ${download.offset} after ${download.tries} requests`, true);
      return;
    }
    this.request();
  }

  /** Ends an attempt as failed. `resumable`: the progress stays in the trailer, so the same
   *  offer again (or a reboot) resumes; otherwise the trailer is idle again. */
  private fail(reason: string, resumable: boolean): void {
    const download = this.download;
    this.stopDownload();
    this.state = "failed";
    if (download === undefined) return;
    if (!resumable) {
      const record = this.trailer();
      this.store.writeTrailer({ ...record, state: "idle", progress: 0, trials: 0, outcome: "none" });
    }
    this.report(download.campaign, download.sequence, "failed", { progress: download.offset, reason });
  }

  private async block(block: { campaign: string; offset: number; data: Uint8Array }): Promise<number> {
    const download = this.download;
    if (download === undefined || this.state !== "downloading" || block.campaign !== download.campaign || block.offset !== download.offset) {
      return 0; // a late or duplicated answer: the one we wait for is still asked for
    }
    const expected = Math.min(download.blockBytes, download.size - download.offset);
    if (block.data.length !== expected) {
      this.fail(`truncated: the block at ${block.offset} has ${block.data.length} bytes, ${expected} expected (image of ${download.size})`, true);
      return -2;
    }
    this.store.writeImage(download.slot, download.offset, block.data);
    this.counters.blocks += 1;
    this.counters.blockBytes += block.data.length;
    download.offset += block.data.length;
    download.tries = 0;
    // Progress is recorded at sector boundaries (and at the end): a resumed download starts at
    // a sector's start and erases it, whatever a cut left in it.
    const sector = this.store.sectorBytes;
    const recorded = download.offset === download.size ? download.size : Math.floor(download.offset / sector) * sector;
    const record = this.trailer();
    if (recorded > record.progress) this.store.writeTrailer({ ...record, progress: recorded });
    if (download.offset >= download.size) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.finish();
    } else {
      this.request();
    }
    return 0;
  }

  // --- install, trial, confirm -----------------------------------------------------------

  private async finish(): Promise<void> {
    const download = this.download;
    if (download === undefined) return;
    const { campaign, sequence, slot, size, verified } = download;
    this.state = "verifying";
    this.report(campaign, sequence, "verifying", { progress: size });
    const image = this.store.readImage(slot, size);
    const digest = sha256(image);
    if (!equalBytes(digest, verified.manifest.imageDigest.bytes)) {
      this.fail(`image digest mismatch: ${hex(digest).slice(0, 16)}… is not the manifest's ${hex(verified.manifest.imageDigest.bytes).slice(0, 16)}…`, false);
      return;
    }
    this.state = "installing";
    this.report(campaign, sequence, "installing");
    this.store.writeHeader(slot, { imageSize: size, sequence, digest });
    const record = this.trailer();
    this.store.writeTrailer({ ...record, state: "pending", progress: size, trials: 0 });
    this.download = undefined;
    await this.reboot();
  }

  private async compile(image: Uint8Array): Promise<CompiledFirmware> {
    const key = hex(sha256(image));
    let compiled = this.compiled.get(key);
    if (compiled === undefined) {
      compiled = await (this.options.compile ?? ((bytes: Uint8Array) => compileFirmware(bytes)))(image);
      this.compiled.set(key, compiled);
    }
    return compiled;
  }

  /** The reboot after an install or a revert: the bootloader decides, the device runs it. */
  private async reboot(): Promise<void> {
    const decision = bootloader(this.store, { trialsMax: this.options.trialsMax });
    let running: boolean;
    let why = "";
    try {
      running = await this.device.swapFirmware(await this.compile(decision.image), { trial: decision.trial });
      if (!running) why = this.device.lastFault?.reason ?? "it did not start";
    } catch (error) {
      running = false;
      why = `it did not load: ${(error as Error).message}`;
    }
    if (decision.trial && !running) {
      await this.revert(decision.record, `the new image faulted at boot: ${why}`);
      return;
    }
    await this.resume(decision);
  }

  /** Carries on after a boot, from the bootloader's decision and the trailer. */
  private async resume(decision: BootDecision): Promise<void> {
    const record = decision.record;
    if (decision.action === "revert" || decision.action === "invalid") {
      this.reportRevert(record, decision.action === "revert" ? "the trial image was not confirmed before a reboot" : "the pending image failed its check at boot");
      return;
    }
    if (decision.trial) {
      if (this.device.failed || this.device.supervisor.state !== "running") {
        await this.revert(record, `the new image faulted at boot: ${this.device.lastFault?.reason ?? "it did not start"}`);
        return;
      }
      await this.trial(decision);
      return;
    }
    if (record.state === "downloading") {
      const slot = (1 - record.active) as SlotIndex;
      const offer = decodeOffer(this.store.readMeta(slot));
      let verified: SuitCandidate | undefined;
      try {
        verified = offer === undefined ? undefined : this.verify(offer.envelope, record.installedSequence);
      } catch (error: unknown) {
        if (!(error instanceof SuitError)) throw error;
      }
      if (offer === undefined || verified === undefined || verified.manifest.sequenceNumber !== record.candidateSequence) {
        // A download whose offer did not make it to flash (or no longer passes): nothing to resume.
        this.store.writeTrailer({ ...record, state: "idle", progress: 0, trials: 0, outcome: "none" });
        return;
      }
      await this.startDownload(offer, verified, slot, record.progress);
    }
  }

  private async trial(decision: BootDecision): Promise<void> {
    const record = decision.record;
    const offer = decodeOffer(this.store.readMeta(decision.slot));
    const campaign = offer?.campaign ?? "unknown";
    this.state = "trial";
    this.report(campaign, record.candidateSequence, "trial");
    const timeoutMs = this.options.selfTestTimeoutMs ?? SELF_TEST_TIMEOUT_MS_DEFAULT;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const result = await Promise.race([this.device.selfTest().catch((error: unknown) => error as Error), timeout]);
    clearTimeout(timer);
    if (result !== 0) {
      const why = result === "timeout" ? `no self-test result within ${timeoutMs} ms`
        : result === undefined ? `the self-test faulted: ${this.device.lastFault?.reason ?? "no result"}`
        : result instanceof Error ? `the self-test failed: ${result.message}`
        : `the self-test failed with status ${result}`;
      await this.revert(record, why);
      return;
    }
    // Confirm: one record makes the new slot the active one and raises the rollback floor.
    this.store.writeTrailer({ ...record, state: "idle", active: decision.slot, installedSequence: record.candidateSequence, trials: 0, progress: 0, outcome: "confirmed" });
    this.device.endTrial();
    this.device.link?.announce();
    this.state = "confirmed";
    this.report(campaign, record.candidateSequence, "confirmed");
  }

  private async revert(record: StoredRecord, reason: string): Promise<void> {
    // One record: the old slot stays active, the trial is over; then a reboot into it.
    this.store.writeTrailer({ ...record, state: "idle", trials: 0, progress: 0, outcome: "reverted" });
    const decision = bootloader(this.store, { trialsMax: this.options.trialsMax });
    await this.device.swapFirmware(await this.compile(decision.image));
    this.reportRevert(record, reason);
  }
}
