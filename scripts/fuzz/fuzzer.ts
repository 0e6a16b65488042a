// The fuzzer behind test/firmware/fuzz.test.ts (a CI-sized run) and scripts/fuzz.ts (a million inputs):
// random bytes and mutations of the Appendix A vectors and of valid messages (truncations,
// bit flips, huge declared lengths, deep nesting, items of the wrong type), each fed to
//  (a) the firmware's CBOR decoder in the debug build, input at the very end of memory;
//  (b) the release firmware's command handler, and now and then its configuration parser on
//      a fresh instance, through the production host runtime;
//  (c) the TypeScript codecs, whose every failure must be a ProtocolError.
// A failure is a trap, a status outside the documented ones, a read past the input, or an
// exception of another type; the seed replays a run input for input.

import fs from "node:fs";
import { FirmwareError, type Firmware } from "../../host/runtime/firmware.js";
import { decodeCbor, decodeCborSequence, encodeCbor } from "../../protocol/cbor.js";
import { ProtocolError } from "../../protocol/errors.js";
import { frame, unframe } from "../../protocol/framing.js";
import {
  decodeCommand, decodeEvent, decodeFirmwareConfig, decodeReply, decodeWaveformPart, encodeCommand, encodeFirmwareConfig,
  type FirmwareConfig,
} from "../../protocol/messages.js";
import { decodeBleReply, decodePumpState } from "../../protocol/ble.js";
import { decodeSenml, encodeSenml, resolveSenml } from "../../protocol/senml.js";
import { decodeState, encodeState } from "../../protocol/state.js";
import { Random } from "../../simulator/physics/random.js";
import { CBOR_ERR, VECTORS_PATH, loadFirmwareCbor, type FirmwareCbor } from "./firmware-cbor.js";
import { bootRelease, RecordingHost } from "../../host/runtime/harness-hosts.js";

export interface FuzzFailure {
  target: string;
  input: string; // hex
  problem: string;
}

export interface FuzzReport {
  inputs: number;
  seconds: number;
  /** Firmware decoder results by status (a positive status counts as "ok"). */
  decoder: Record<string, number>;
  /** Release handle_message results by status. */
  commands: Record<string, number>;
  /** Fresh-instance init results by status. */
  inits: Record<string, number>;
  /** TypeScript codec calls that succeeded and that threw a ProtocolError. */
  codecs: { ok: number; protocolErrors: number };
  failures: FuzzFailure[];
  /** All failures, of which `failures` keeps the first few. */
  failureCount: number;
}

const CONFIG: FirmwareConfig = { device: "fuzz-1", rate_hz: 1000, window: 256, units: "m/s2" };
const INBOX_BYTES = 2048;
const INPUT_BYTES_MAX = 256;
const FAILURES_KEPT = 20;
/** Statuses the ABI documents (firmware/ABI.md): 1 reboot requested, 0 ok, -1 … -12. */
const ABI_STATUSES = new Set([1, 0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12]);
const STATUS_REBOOT_REQUESTED = 1;
const DECODER_ERRORS = new Set<number>(Object.values(CBOR_ERR));
const DECODER_ERROR_NAMES = new Map<number, string>(Object.entries(CBOR_ERR).map(([name, code]) => [code, name]));
/** Fresh-instance inits run on one input in this many. */
const INIT_EVERY = 8;

/** Valid messages of every kind the codecs and the firmware read, to mutate. */
function seedMessages(): Uint8Array[] {
  const seeds: Uint8Array[] = [
    encodeCommand({ id: 1, cmd: "config", args: { device: "x", rate_hz: 1000, window: 256, rpm: 1480 } }),
    encodeCommand({ id: 2, cmd: "self_test" }),
    encodeCommand({ id: 3, cmd: "reboot", args: [1, 2.5, "x", true, null] }),
    encodeCommand({ id: 4294967295, cmd: "config", args: { device: "p-7", rate_hz: 25600, window: 4096, bearing: [9, 7.94, 39.04, 0] } }),
    encodeFirmwareConfig(CONFIG),
    encodeFirmwareConfig({ device: "a", rate_hz: 200000, window: 16, units: "g", max_message: 16384, rpm: 0 }),
    encodeSenml([{ bn: "dev-1:", bt: 1767225600, n: "acc_rms", u: "m/s2", v: 0.5 }, { n: "iso_zone", vs: "B" }]),
    encodeCbor(new Map<string, unknown>([["id", 7], ["ok", false], ["error", -4]])),
    encodeCbor(new Map<string, unknown>([["event", "boot"], ["boot", 3], ["fw", 256]])),
    encodeState({ online: true, session: 12, fw: 256, abi: 1 }),
    frame("reply", 41, encodeCbor(new Map<string, unknown>([["id", 1], ["ok", true]]))),
    frame("telemetry", 42, encodeSenml([{ bn: "dev-1:", bt: 1767225600, n: "acc_rms", u: "m/s2", v: 0.5 }, { n: "iso_zone", vs: "B" }])),
  ];
  if (fs.existsSync(VECTORS_PATH)) {
    const vectors = JSON.parse(fs.readFileSync(VECTORS_PATH, "utf8")) as { hex: string }[];
    for (const vector of vectors) seeds.push(new Uint8Array(Buffer.from(vector.hex, "hex")));
  }
  return seeds;
}

/** Heads that declare far more than any input holds, or that nest. */
const HUGE_HEADS: number[][] = [
  [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x7b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0],
  [0x5a, 0xff, 0xff, 0xff, 0xff], [0x9a, 0x7f, 0xff, 0xff, 0xff], [0xba, 0x80, 0, 0, 0], [0x79, 0xff, 0xff],
  [0x99, 0x10, 0x00], [0xdb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
];
const INTERESTING = [0x00, 0x17, 0x18, 0x1b, 0x1c, 0x1f, 0x3f, 0x5f, 0x7f, 0x9f, 0xbf, 0xc2, 0xdf, 0xf8, 0xf9, 0xfb, 0xff];

export class InputGenerator {
  private readonly random: Random;
  private readonly seeds: Uint8Array[];

  /** `seeds`: the valid messages to mutate (default: every kind the codecs and firmware read). */
  constructor(seed: number, seeds: Uint8Array[] = seedMessages()) {
    this.random = new Random(seed);
    this.seeds = seeds;
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.random.integer(0, items.length - 1)];
  }

  private randomBytes(length: number): number[] {
    return Array.from({ length }, () => this.random.integer(0, 255));
  }

  next(): Uint8Array {
    const r = this.random;
    const kind = r.integer(0, 9);
    if (kind === 0) return new Uint8Array(this.randomBytes(r.integer(0, 64)));
    let bytes = Array.from(this.pick(this.seeds));
    // One to three mutations in a row.
    for (let rounds = r.integer(1, 3); rounds > 0; rounds--) bytes = this.mutate(bytes, kind);
    return new Uint8Array(bytes.slice(0, INPUT_BYTES_MAX));
  }

  private mutate(bytes: number[], kind: number): number[] {
    const r = this.random;
    const at = r.integer(0, bytes.length);
    switch (kind) {
      case 1: // truncation
        return bytes.slice(0, r.integer(0, Math.max(0, bytes.length - 1)));
      case 2: // bit flips
        for (let flips = r.integer(1, 4); flips > 0 && bytes.length > 0; flips--) bytes[r.integer(0, bytes.length - 1)] ^= 1 << r.integer(0, 7);
        return bytes;
      case 3: // a huge declared length, replacing or inserted
        return [...bytes.slice(0, at), ...this.pick(HUGE_HEADS), ...bytes.slice(r.integer(0, 1) === 0 ? at : at + 1)];
      case 4: { // deep nesting, around the input or inside it
        const levels = r.integer(1, 40);
        const opener = this.pick([0x81, 0x9f, 0xa1, 0xc6, 0xd8]);
        const nest = opener === 0xd8 ? Array.from({ length: levels }, () => [0xd8, 0x20]).flat() : new Array<number>(levels).fill(opener);
        const closers = opener === 0x9f && r.integer(0, 1) === 0 ? new Array<number>(levels).fill(0xff) : [];
        return [...bytes.slice(0, at), ...nest, ...bytes.slice(at), ...closers];
      }
      case 5: { // an item of the wrong type: a piece of another message where an item was
        const donor = this.pick(this.seeds);
        const start = r.integer(0, donor.length - 1);
        const piece = Array.from(donor.subarray(start, start + r.integer(1, 12)));
        return [...bytes.slice(0, at), ...piece, ...bytes.slice(Math.min(bytes.length, at + r.integer(0, 3)))];
      }
      case 6: // an interesting byte replaced or inserted
        if (bytes.length > 0 && r.integer(0, 1) === 0) { bytes[Math.min(at, bytes.length - 1)] = this.pick(INTERESTING); return bytes; }
        return [...bytes.slice(0, at), this.pick(INTERESTING), ...bytes.slice(at)];
      case 7: // bytes removed or duplicated
        if (r.integer(0, 1) === 0) return [...bytes.slice(0, at), ...bytes.slice(at + r.integer(1, 4))];
        return [...bytes.slice(0, at), ...bytes.slice(at, at + r.integer(1, 8)), ...bytes.slice(at)];
      case 8: // random bytes appended or inserted
        return [...bytes.slice(0, at), ...this.randomBytes(r.integer(1, 8)), ...bytes.slice(at)];
      default: // the input unchanged but for one random byte
        if (bytes.length > 0) bytes[r.integer(0, bytes.length - 1)] = r.integer(0, 255);
        return bytes;
    }
  }
}

function count(tally: Record<string, number>, key: string): void {
  tally[key] = (tally[key] ?? 0) + 1;
}

export class Fuzzer {
  private decoder!: FirmwareCbor;
  private firmware!: Firmware;
  private host!: RecordingHost;
  private fresh!: Firmware;
  readonly report: FuzzReport = {
    inputs: 0, seconds: 0, decoder: {}, commands: {}, inits: {}, codecs: { ok: 0, protocolErrors: 0 }, failures: [], failureCount: 0,
  };

  static async create(): Promise<Fuzzer> {
    const fuzzer = new Fuzzer();
    fuzzer.decoder = await loadFirmwareCbor();
    await fuzzer.bootCommands();
    fuzzer.fresh = (await bootRelease()).firmware;
    return fuzzer;
  }

  private async bootCommands(): Promise<void> {
    const booted = await bootRelease();
    booted.firmware.init(encodeFirmwareConfig(CONFIG));
    booted.host.published.length = 0;
    this.firmware = booted.firmware;
    this.host = booted.host;
  }

  private fail(target: string, input: Uint8Array, problem: string): void {
    this.report.failureCount += 1;
    if (this.report.failures.length < FAILURES_KEPT) {
      this.report.failures.push({ target, input: Buffer.from(input).toString("hex"), problem });
    }
  }

  /** Runs `count` inputs from `seed`'s generator; calls `progress` every `every` inputs. */
  async run(total: number, seed: number, progress?: (report: FuzzReport) => void, every = 100_000): Promise<FuzzReport> {
    const generator = new InputGenerator(seed);
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      const input = generator.next();
      this.decode(input);
      await this.command(input, i % INIT_EVERY === 0);
      this.codecs(input);
      this.report.inputs += 1;
      if (progress !== undefined && (i + 1) % every === 0) {
        this.report.seconds = (performance.now() - started) / 1000;
        progress(this.report);
      }
    }
    this.report.seconds = (performance.now() - started) / 1000;
    return this.report;
  }

  /** (a) The firmware's decoder, input at the end of memory; a decoded item must re-encode
   *  to bytes that decode again and re-encode to themselves. */
  private decode(input: Uint8Array): void {
    let status: number;
    try {
      status = this.decoder.decodeAtEnd(input);
    } catch (error) {
      this.fail("decoder", input, `trapped: ${(error as Error).message}`);
      void loadFirmwareCbor().then((decoder) => { this.decoder = decoder; });
      return;
    }
    const consumed = this.decoder.consumed();
    if (consumed < 0 || consumed > input.length) this.fail("decoder", input, `reports ${consumed} bytes consumed of ${input.length}`);
    if (status > 0) {
      count(this.report.decoder, "ok");
      if (status > input.length) this.fail("decoder", input, `${status} nodes from ${input.length} bytes`);
      const encoded = this.decoder.roundtrip(input);
      if (!(encoded instanceof Uint8Array)) { this.fail("decoder", input, `decodes but does not re-encode (${encoded})`); return; }
      const again = this.decoder.roundtrip(encoded);
      if (!(again instanceof Uint8Array) || Buffer.compare(again, encoded) !== 0) {
        this.fail("decoder", input, `its re-encoding ${Buffer.from(encoded).toString("hex")} is not a fixed point`);
      }
    } else if (DECODER_ERRORS.has(status)) {
      count(this.report.decoder, DECODER_ERROR_NAMES.get(status)!);
    } else {
      this.fail("decoder", input, `undocumented status ${status}`);
    }
  }

  /** (b) The release firmware: handle_message on a running instance; init on a fresh one. */
  private async command(input: Uint8Array, alsoInit: boolean): Promise<void> {
    if (input.length === 0 || input.length > INBOX_BYTES) return; // the host refuses these itself
    try {
      const status = this.firmware.handleMessage(input);
      count(this.report.commands, String(status));
      if (!ABI_STATUSES.has(status)) this.fail("handle_message", input, `undocumented status ${status}`);
      for (const message of this.host.published) {
        try {
          if (message.kind === 3) decodeReply(message.bytes);
          else if (message.kind === 2) decodeEvent(message.bytes);
          else if (message.kind === 4) decodeWaveformPart(message.bytes);
        } catch (error) {
          this.fail("handle_message", input, `published a message that does not decode: ${(error as Error).message}`);
        }
      }
      this.host.published.length = 0;
      if (status === STATUS_REBOOT_REQUESTED) await this.bootCommands(); // as the host does
    } catch (error) {
      this.fail("handle_message", input, `${(error as Error).message}`);
      await this.bootCommands();
    }
    if (this.firmware.crashReason !== undefined) {
      this.fail("handle_message", input, `crashed: ${this.firmware.crashReason}`);
      await this.bootCommands();
    }
    if (!alsoInit) return;
    try {
      this.fresh.init(input);
      count(this.report.inits, "0");
      this.fresh = (await bootRelease()).firmware; // initialised: the next one needs a new instance
    } catch (error) {
      if (error instanceof FirmwareError && error.code === "status" && error.status !== undefined && ABI_STATUSES.has(error.status)) {
        count(this.report.inits, String(error.status));
      } else {
        this.fail("init", input, `${(error as Error).message}`);
        this.fresh = (await bootRelease()).firmware;
      }
    }
  }

  /** (c) The TypeScript codecs: a value or a ProtocolError, nothing else. */
  private codecs(input: Uint8Array): void {
    const calls: [string, () => unknown][] = [
      ["decodeCbor", () => decodeCbor(input)],
      ["decodeCborSequence", () => decodeCborSequence(input)],
      ["decodeSenml", () => resolveSenml(decodeSenml(input))],
      ["unframe", () => unframe("event", input)],
      ["unframe telemetry", () => resolveSenml(decodeSenml(unframe("telemetry", input).body))],
      ["decodeState", () => decodeState(input)],
      ["decodeReply", () => decodeReply(input)],
      ["decodeEvent", () => decodeEvent(input)],
      ["decodeCommand", () => decodeCommand(input)],
      ["decodeFirmwareConfig", () => decodeFirmwareConfig(input)],
      ["decodeWaveformPart", () => decodeWaveformPart(input)],
      ["decodeBleReply", () => decodeBleReply(input)],
      ["decodePumpState", () => decodePumpState(input)],
    ];
    for (const [name, call] of calls) {
      try {
        call();
        this.report.codecs.ok += 1;
      } catch (error) {
        if (error instanceof ProtocolError) this.report.codecs.protocolErrors += 1;
        else this.fail(name, input, `threw ${(error as Error)?.constructor?.name ?? typeof error}: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }
}

/** One line per figure, as scripts/fuzz.ts prints them. */
export function formatReport(report: FuzzReport, seed: number): string {
  const rate = report.seconds > 0 ? Math.round(report.inputs / report.seconds) : 0;
  const lines = [
    `inputs: ${report.inputs} (seed ${seed})`,
    `time: ${report.seconds.toFixed(1)} s, ${rate} inputs/s`,
    `firmware decoder: ${JSON.stringify(report.decoder)}`,
    `release handle_message statuses: ${JSON.stringify(report.commands)}`,
    `release init statuses (fresh instances): ${JSON.stringify(report.inits)}`,
    `TypeScript codec calls: ${report.codecs.ok} ok, ${report.codecs.protocolErrors} ProtocolError`,
    `failures: ${report.failureCount}`,
  ];
  for (const failure of report.failures) lines.push(`  ${failure.target}: ${failure.problem} (input ${failure.input})`);
  return lines.join("\n");
}
