// Image slots and the boot trailer on an emulated flash (host/storage/flash.ts): mechanism only, in the
// manner of MCUboot's bootutil. It knows sectors, records and digests, nothing of campaigns,
// MQTT or SUIT; the policy (what to download, when to mark a trial, when to confirm) is the
// update agent's (host/update/update-agent.ts).
//
// Layout: slot A, slot B, then two trailer sectors.
//   Slot: its first sector holds the image header (64 bytes at 0, written last, once the image
//   is complete and checked) and a metadata record for the agent (at 64: magic, length, bytes,
//   CRC-32C; written first, e.g. the offer to resume from); the image starts at the second sector.
//   Header: magic "IMPH" u32, format u8 (1), 3 reserved, image size u32, sequence u32,
//   SHA-256 of the image (32 bytes), 12 reserved, CRC-32C of bytes 0..59 at 60.
//   Trailer: append-only 32-byte records across a sector pair; the valid record with the
//   highest counter wins, a torn or erased one is ignored. Record: magic "IMPT" u32, format u8
//   (1), state u8, active slot u8, trial boots u8, counter u32, installed sequence u32,
//   candidate sequence u32, download progress u32, outcome u8, 3 reserved, CRC-32C of 0..27 at 28.
//   A record goes into the first erased place of the newest record's sector; when that sector
//   is full, the other sector is erased and the record written at its start (the erase changes
//   nothing that is read: the newest record stays where it was until the write lands).
// Every state transition is therefore exactly one aligned write of one record: cut before it,
// the old state holds; cut in the middle, the torn record fails its CRC and the old state holds.

import { createHash } from "node:crypto";
import { crc32c } from "../storage/crc32c.js";
import { ERASED, type Flash } from "../storage/flash.js";

export const HEADER_MAGIC = 0x48504d49; // "IMPH" little endian
export const TRAILER_MAGIC = 0x54504d49; // "IMPT"
export const META_MAGIC = 0x4f504d49; // "IMPO"
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 64;
export const RECORD_BYTES = 32;

/** idle: the active slot runs, nothing under way. downloading: the inactive slot is being
 *  filled (progress bytes are in). pending: the inactive slot holds a checked image to try at
 *  the next boot. trial: the inactive slot is being tried (booted `trials` times, not confirmed). */
export const TRAILER_STATES = ["idle", "downloading", "pending", "trial"] as const;
export type TrailerState = (typeof TRAILER_STATES)[number];

/** How the last update attempt ended, kept so it is reported after a reboot. */
export const OUTCOMES = ["none", "confirmed", "reverted", "invalid"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type SlotIndex = 0 | 1;

export interface TrailerRecord {
  state: TrailerState;
  /** The confirmed slot: what runs when no trial is under way. */
  active: SlotIndex;
  /** Boots of the candidate in trial without a confirmation. */
  trials: number;
  /** Sequence number of the confirmed image: the anti-rollback floor. */
  installedSequence: number;
  /** Sequence number of the image being downloaded, pending or in trial. */
  candidateSequence: number;
  /** Image bytes of the candidate in flash (downloading), sector-granular. */
  progress: number;
  outcome: Outcome;
}

export interface StoredRecord extends TrailerRecord {
  counter: number;
}

export interface SlotHeader {
  imageSize: number;
  sequence: number;
  digest: Uint8Array;
}

export class SlotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SlotError";
  }
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export interface SlotLayout {
  /** Bytes of one slot (a multiple of the sector size): metadata sector + image. */
  slotBytes: number;
}

export class SlotStore {
  readonly slotBytes: number;
  readonly sectorBytes: number;
  readonly trailerOffset: number;
  private readonly recordsPerSector: number;

  constructor(readonly flash: Flash, layout: Partial<SlotLayout> = {}) {
    this.sectorBytes = flash.sectorBytes;
    const sectors = flash.size / this.sectorBytes;
    if (sectors < 6) throw new SlotError(`a flash of ${sectors} sectors cannot hold two slots of two sectors and a trailer pair`);
    this.slotBytes = layout.slotBytes ?? Math.floor((sectors - 2) / 2) * this.sectorBytes;
    if (this.slotBytes % this.sectorBytes !== 0 || this.slotBytes < 2 * this.sectorBytes || 2 * this.slotBytes + 2 * this.sectorBytes > flash.size) {
      throw new SlotError(`slots of ${this.slotBytes} bytes do not fit the flash (${flash.size} bytes, sectors of ${this.sectorBytes})`);
    }
    if (RECORD_BYTES % flash.writeAlign !== 0 || HEADER_BYTES % flash.writeAlign !== 0) {
      throw new SlotError(`write alignment ${flash.writeAlign} does not divide the ${RECORD_BYTES}-byte records`);
    }
    this.trailerOffset = 2 * this.slotBytes;
    this.recordsPerSector = this.sectorBytes / RECORD_BYTES;
  }

  /** Image bytes a slot can hold. */
  get imageCapacity(): number {
    return this.slotBytes - this.sectorBytes;
  }

  /** Bytes of metadata a slot can hold. */
  get metaCapacity(): number {
    return this.sectorBytes - HEADER_BYTES - 12;
  }

  slotOffset(slot: SlotIndex): number {
    return slot * this.slotBytes;
  }

  imageOffset(slot: SlotIndex): number {
    return this.slotOffset(slot) + this.sectorBytes;
  }

  // --- trailer -------------------------------------------------------------------------

  private decodeRecord(bytes: Uint8Array): StoredRecord | undefined {
    const view = new DataView(bytes.buffer, bytes.byteOffset, RECORD_BYTES);
    if (view.getUint32(0, true) !== TRAILER_MAGIC || bytes[4] !== FORMAT_VERSION) return undefined;
    if (view.getUint32(28, true) !== crc32c(bytes, 0, 28)) return undefined;
    const state = TRAILER_STATES[bytes[5]];
    const outcome = OUTCOMES[bytes[24]];
    if (state === undefined || outcome === undefined || (bytes[6] !== 0 && bytes[6] !== 1)) return undefined;
    return {
      state, active: bytes[6] as SlotIndex, trials: bytes[7], counter: view.getUint32(8, true),
      installedSequence: view.getUint32(12, true), candidateSequence: view.getUint32(16, true),
      progress: view.getUint32(20, true), outcome,
    };
  }

  static encodeRecord(record: StoredRecord): Uint8Array {
    const bytes = new Uint8Array(RECORD_BYTES);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, TRAILER_MAGIC, true);
    bytes[4] = FORMAT_VERSION;
    bytes[5] = TRAILER_STATES.indexOf(record.state);
    bytes[6] = record.active;
    bytes[7] = Math.min(record.trials, 255);
    view.setUint32(8, record.counter >>> 0, true);
    view.setUint32(12, record.installedSequence >>> 0, true);
    view.setUint32(16, record.candidateSequence >>> 0, true);
    view.setUint32(20, record.progress >>> 0, true);
    bytes[24] = OUTCOMES.indexOf(record.outcome);
    view.setUint32(28, crc32c(bytes, 0, 28), true);
    return bytes;
  }

  /** Every place of both trailer sectors: its record when valid, and whether it is erased. */
  private scan(): { sector: number; place: number; record: StoredRecord | undefined; erased: boolean }[] {
    const all = this.flash.read(this.trailerOffset, 2 * this.sectorBytes);
    const places = [];
    for (let sector = 0; sector < 2; sector++) {
      for (let place = 0; place < this.recordsPerSector; place++) {
        const at = sector * this.sectorBytes + place * RECORD_BYTES;
        const bytes = all.subarray(at, at + RECORD_BYTES);
        places.push({ sector, place, record: this.decodeRecord(bytes), erased: bytes.every((b) => b === ERASED) });
      }
    }
    return places;
  }

  /** The newest valid trailer record, or undefined on a fresh (or wiped) trailer. */
  readTrailer(): StoredRecord | undefined {
    let newest: StoredRecord | undefined;
    for (const { record } of this.scan()) if (record !== undefined && (newest === undefined || record.counter > newest.counter)) newest = record;
    return newest;
  }

  /** Records a state: one write of one record (after an erase of the other sector when the
   *  newest record's sector is full). Returns what was written. */
  writeTrailer(record: TrailerRecord): StoredRecord {
    const places = this.scan();
    let newest: (typeof places)[number] | undefined;
    for (const p of places) if (p.record !== undefined && (newest?.record === undefined || p.record.counter > newest.record.counter)) newest = p;
    const stored: StoredRecord = { ...record, counter: (newest?.record?.counter ?? 0) + 1 };
    const bytes = SlotStore.encodeRecord(stored);
    const sector = newest?.sector ?? 0;
    // The first erased place after the last place that is not erased in that sector.
    let next = 0;
    for (const p of places) if (p.sector === sector && !p.erased) next = p.place + 1;
    if (next < this.recordsPerSector) {
      this.flash.write(this.trailerOffset + sector * this.sectorBytes + next * RECORD_BYTES, bytes);
    } else {
      const other = this.trailerOffset + (1 - sector) * this.sectorBytes;
      this.flash.erase(other);
      this.flash.write(other, bytes);
    }
    return stored;
  }

  // --- slots ---------------------------------------------------------------------------

  /** The slot's header when it is well formed (its image not checked: see validImage). */
  readHeader(slot: SlotIndex): SlotHeader | undefined {
    const bytes = this.flash.read(this.slotOffset(slot), HEADER_BYTES);
    const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
    if (view.getUint32(0, true) !== HEADER_MAGIC || bytes[4] !== FORMAT_VERSION) return undefined;
    if (view.getUint32(60, true) !== crc32c(bytes, 0, 60)) return undefined;
    const imageSize = view.getUint32(8, true);
    if (imageSize === 0 || imageSize > this.imageCapacity) return undefined;
    return { imageSize, sequence: view.getUint32(12, true), digest: bytes.slice(16, 48) };
  }

  /** The slot's image when its header is valid and the image matches its digest. */
  validImage(slot: SlotIndex): { header: SlotHeader; image: Uint8Array } | undefined {
    const header = this.readHeader(slot);
    if (header === undefined) return undefined;
    const image = this.readImage(slot, header.imageSize);
    return equalBytes(sha256(image), header.digest) ? { header, image } : undefined;
  }

  readImage(slot: SlotIndex, size: number): Uint8Array {
    if (size > this.imageCapacity) throw new SlotError(`image of ${size} bytes exceeds the slot's ${this.imageCapacity}`);
    return this.flash.read(this.imageOffset(slot), size);
  }

  /** Erases the slot's first sector: its header (the slot no longer boots) and metadata. */
  eraseMeta(slot: SlotIndex): void {
    this.flash.erase(this.slotOffset(slot));
  }

  /** Writes the metadata record (into an erased metadata area): one write. */
  writeMeta(slot: SlotIndex, data: Uint8Array): void {
    if (data.length > this.metaCapacity) throw new SlotError(`metadata of ${data.length} bytes exceeds ${this.metaCapacity}`);
    const bytes = new Uint8Array(alignUp(12 + data.length, this.flash.writeAlign)).fill(ERASED);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, META_MAGIC, true);
    view.setUint32(4, data.length, true);
    bytes.set(data, 8);
    view.setUint32(8 + data.length, crc32c(bytes, 0, 8 + data.length), true);
    this.flash.write(this.slotOffset(slot) + HEADER_BYTES, bytes);
  }

  readMeta(slot: SlotIndex): Uint8Array | undefined {
    const at = this.slotOffset(slot) + HEADER_BYTES;
    const head = this.flash.read(at, 8);
    const view = new DataView(head.buffer);
    const length = view.getUint32(4, true);
    if (view.getUint32(0, true) !== META_MAGIC || length > this.metaCapacity) return undefined;
    const bytes = this.flash.read(at, 12 + length);
    if (new DataView(bytes.buffer).getUint32(8 + length, true) !== crc32c(bytes, 0, 8 + length)) return undefined;
    return bytes.slice(8, 8 + length);
  }

  /** Writes image bytes at `offset` of the slot's image, erasing every sector that starts in
   *  the range first (a download enters each sector at its start, so a resumed one re-erases
   *  the sector it stopped in). The tail is padded with the erased value to the alignment. */
  writeImage(slot: SlotIndex, offset: number, data: Uint8Array): void {
    if (offset + data.length > this.imageCapacity) throw new SlotError(`image bytes ${offset}+${data.length} exceed the slot's ${this.imageCapacity}`);
    const base = this.imageOffset(slot);
    const start = base + offset;
    for (let sector = alignUp(start, this.sectorBytes); sector < start + data.length; sector += this.sectorBytes) this.flash.erase(sector);
    const padded = data.length % this.flash.writeAlign === 0 ? data : new Uint8Array(alignUp(data.length, this.flash.writeAlign)).fill(ERASED);
    if (padded !== data) padded.set(data);
    this.flash.write(start, padded);
  }

  /** Writes the header that makes the slot bootable: one write, into the erased header area. */
  writeHeader(slot: SlotIndex, header: SlotHeader): void {
    if (header.digest.length !== 32) throw new SlotError("a header digest is 32 bytes (SHA-256)");
    const bytes = new Uint8Array(HEADER_BYTES);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, HEADER_MAGIC, true);
    bytes[4] = FORMAT_VERSION;
    view.setUint32(8, header.imageSize, true);
    view.setUint32(12, header.sequence >>> 0, true);
    bytes.set(header.digest, 16);
    bytes.fill(0, 48, 60);
    view.setUint32(60, crc32c(bytes, 0, 60), true);
    const current = this.flash.read(this.slotOffset(slot), HEADER_BYTES);
    if (equalBytes(current, bytes)) return; // already there (a resumed install)
    this.flash.write(this.slotOffset(slot), bytes);
  }
}

/** Factory programming: `image` into slot A with its header, and the first trailer record. */
export function provision(store: SlotStore, image: Uint8Array, sequence = 0): void {
  store.eraseMeta(0);
  for (let offset = 0; offset < image.length; offset += store.sectorBytes) {
    store.writeImage(0, offset, image.subarray(offset, offset + store.sectorBytes));
  }
  store.writeHeader(0, { imageSize: image.length, sequence, digest: sha256(image) });
  store.writeTrailer({ state: "idle", active: 0, trials: 0, installedSequence: sequence, candidateSequence: 0, progress: 0, outcome: "none" });
}

export class NoBootableImage extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoBootableImage";
  }
}

export interface BootDecision {
  slot: SlotIndex;
  image: Uint8Array;
  header: SlotHeader;
  /** The image runs on trial: it must be confirmed before the next boot or it is reverted. */
  trial: boolean;
  /** The trailer after the boot's own transition, if it made one. */
  record: StoredRecord;
  /** What the bootloader did: "boot", "trial" (pending → trial), "retry" (another trial boot),
   *  "revert" (a trial not confirmed), "invalid" (a pending image failed its check), "fallback"
   *  (the active slot failed its check and the other one runs), "adopt" (no trailer yet). */
  action: "boot" | "trial" | "retry" | "revert" | "invalid" | "fallback" | "adopt";
}

export interface BootOptions {
  /** Boots of a trial image allowed without a confirmation: 1, MCUboot's test swap. */
  trialsMax?: number;
}

/**
 * The bootloader: picks the image to run from the trailer and the slots' checks, making at
 * most one trailer transition. A trial that reaches another boot unconfirmed is reverted; a
 * slot whose image does not match its digest, or whose sequence is below the installed one,
 * never runs. Throws NoBootableImage when neither slot can run (it never happens on a flash
 * the update agent wrote, whatever the power cuts: test/host/power-loss.test.ts).
 */
export function bootloader(store: SlotStore, options: BootOptions = {}): BootDecision {
  const trialsMax = options.trialsMax ?? 1;
  const record = store.readTrailer();
  const usable = (slot: SlotIndex, floor: number): { header: SlotHeader; image: Uint8Array } | undefined => {
    const valid = store.validImage(slot);
    return valid !== undefined && valid.header.sequence >= floor ? valid : undefined;
  };
  if (record === undefined) {
    for (const slot of [0, 1] as const) {
      const valid = usable(slot, 0);
      if (valid === undefined) continue;
      const written = store.writeTrailer({ state: "idle", active: slot, trials: 0, installedSequence: valid.header.sequence, candidateSequence: 0, progress: 0, outcome: "none" });
      return { slot, ...valid, trial: false, record: written, action: "adopt" };
    }
    throw new NoBootableImage("no trailer and no valid image in either slot");
  }
  const candidate = (1 - record.active) as SlotIndex;
  if (record.state === "pending" || record.state === "trial") {
    const valid = usable(candidate, record.installedSequence + 1);
    const matches = valid !== undefined && valid.header.sequence === record.candidateSequence;
    if (matches && (record.state === "pending" || record.trials < trialsMax)) {
      const written = store.writeTrailer({ ...record, state: "trial", trials: record.state === "pending" ? 1 : record.trials + 1 });
      return { slot: candidate, ...valid, trial: true, record: written, action: record.state === "pending" ? "trial" : "retry" };
    }
    const outcome: Outcome = matches ? "reverted" : "invalid";
    const written = store.writeTrailer({ ...record, state: "idle", trials: 0, progress: 0, outcome });
    const active = usable(record.active, record.installedSequence);
    if (active === undefined) throw new NoBootableImage(`the trial image was ${outcome} and the active slot ${record.active} is not valid`);
    return { slot: record.active, ...active, trial: false, record: written, action: matches ? "revert" : "invalid" };
  }
  const active = usable(record.active, record.installedSequence);
  if (active !== undefined) return { slot: record.active, ...active, trial: false, record, action: "boot" };
  // The active image is damaged (never by the update path): run the other one if it may run.
  const other = record.state === "idle" ? usable(candidate, record.installedSequence) : undefined;
  if (other === undefined) throw new NoBootableImage(`the active slot ${record.active} is not valid and slot ${candidate} cannot run`);
  const written = store.writeTrailer({ ...record, state: "idle", active: candidate, trials: 0, progress: 0, installedSequence: other.header.sequence });
  return { slot: candidate, ...other, trial: false, record: written, action: "fallback" };
}
