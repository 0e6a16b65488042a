// Fault containment with the real test images (build/test-images, firmware/faults.ts): a
// firmware that traps, loops forever or exhausts its memory is stopped, reported through the
// outbox as a numbered fault event, rebooted, and analyses windows again; one that cannot
// even start is given up on after the retry limit; modules with unbounded memory are refused
// at load; malformed and oversized commands are answered, never a crash.

import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { Device, type DeviceOptions } from "../../host/device/device.js";
import { HOST_STORAGE_FAULTS } from "../../host/device/host-records.js";
import { compileFirmware, FirmwareError } from "../../host/runtime/firmware.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { encodeCbor } from "../../protocol/cbor.js";
import { decodeEvent, decodeReply, encodeCommand, type DeviceEvent } from "../../protocol/messages.js";
import { Random } from "../../simulator/physics/random.js";
import { releaseBytes, testImage } from "../../host/runtime/images.js";
import { releaseFirmware } from "../support/firmware.js";
import { withMemoryLimits } from "../support/wasm-patch.js";

const T0_MS = 1_767_225_600_000;
const CONFIG = { device: "d1", rate_hz: 1000, window: 256 };
/** The hang test's budget, and the factor its stop may take: the budget's timer fires on the
 *  main thread's event loop, which is idle while the worker spins, so it is late by little. */
const HANG_BUDGET_MS = 300;
const HANG_STOP_FACTOR = 1.5;

const devices: Device[] = [];
afterEach(async () => {
  for (const device of devices.splice(0)) await device.close();
});

function image(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(testImage(name)));
}

async function boot(name: string | undefined, options: Partial<DeviceOptions> = {}): Promise<Device> {
  const firmware = name === undefined ? await releaseFirmware() : await compileFirmware(image(name));
  const device = await Device.boot({
    tenant: "t", config: CONFIG, firmware, storage: new MemoryStorage(), clock: () => T0_MS, ...options,
  });
  devices.push(device);
  return device;
}

// A healthy pump's vibration (small enough that no alarm is raised): 0.01 g.
const window = (seed: number): Float32Array => Float32Array.from({ length: 256 }, (_, i) => 0.01 * Math.sin(i / 5 + seed));

/** The outbox as [kind, event] for events and [kind] for the rest. */
function outboxOf(device: Device): ([string] | [string, DeviceEvent])[] {
  return device.outbox.pending().map((e) => (e.kind === "event" ? [e.kind, decodeEvent(e.body)] : [e.kind]));
}

/** Feeds windows 1.. `count`; what each feed returned. */
async function feedWindows(device: Device, count: number): Promise<number[]> {
  const results: number[] = [];
  for (let i = 0; i < count; i++) results.push(await device.feed(window(i), T0_MS + i * 256));
  return results;
}

const BOOT = (boot: number) => ["event", { event: "boot", boot, fw: 0x000100 }] as const;

describe("a firmware that traps", () => {
  for (const isolation of ["worker", "inline"] as const) {
    it(`on window 3 is rebooted, reported with count 1, its boot counted in storage, and analyses again (${isolation})`, async () => {
      const device = await boot("trap-on-window", { isolation });
      expect(await feedWindows(device, 5)).toEqual([1, 1, 0, 1, 1]);
      expect(outboxOf(device)).toEqual([
        BOOT(1), ["telemetry"], ["telemetry"],
        BOOT(2), ["event", { event: "fault", fault: "trap", reason: "firmware trapped: trap: unreachable", count: 1 }],
        ["telemetry"], ["telemetry"],
      ]);
      expect(device.outbox.pending().map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(device.options.storage.read(1)).toEqual(new Uint8Array([2, 0, 0, 0])); // the firmware's boot counter
      expect(device.options.storage.read(HOST_STORAGE_FAULTS)).toEqual(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
      expect(device.counters.faults).toEqual({ trap: 1, memory: 0, hang: 0 });
      expect(device.failed).toBe(false);
    });
  }

  it("at init is retried up to the limit, each fault reported, then the device is failed and says so", async () => {
    const device = await boot("trap-at-init", { faultsMax: 3 });
    expect(device.failed).toBe(true);
    const fault = (count: number) => ["event", { event: "fault", fault: "trap", reason: "firmware trapped: trap: unreachable", count }];
    expect(outboxOf(device)).toEqual([
      fault(1), fault(2), fault(3),
      ["event", { event: "failed", faults: 3, window_s: 600, reason: "3 faults within 600 s, the last: firmware trapped: trap: unreachable" }],
    ]);
    // Failed: nothing runs; a command gets the host's own error reply.
    expect(await device.feed(window(0), T0_MS)).toBe(0);
    expect(device.counters.skipped).toBe(1);
    expect(await device.handleCommand(encodeCommand({ id: 9, cmd: "self_test" }))).toBe(-1);
    expect(decodeReply(device.outbox.pending().filter((e) => e.kind === "reply").at(-1)!.body)).toEqual({ id: 9, ok: false, error: -1 });
    expect(decodeEvent(device.outbox.pending().at(-1)!.body)).toEqual({ event: "error", code: -1, what: "command" });
  });

  it("faults older than the window do not count towards the limit", async () => {
    let nowMs = T0_MS;
    const device = await boot("trap-on-window", { isolation: "inline", faultsMax: 2, faultWindowMs: 60_000, clock: () => nowMs });
    await feedWindows(device, 3); // fault 1
    nowMs += 61_000;
    await feedWindows(device, 3); // fault 2, but the first has left the window
    expect(device.failed).toBe(false);
    await feedWindows(device, 3); // fault 3, within 60 s of fault 2
    expect(device.failed).toBe(true);
    expect(device.counters.faults.trap).toBe(3);
  });
});

describe("a firmware that loops forever", () => {
  it(`on window 3 is stopped within ${HANG_STOP_FACTOR} × its budget, reported as a hang, and recovers in a fresh worker`, async () => {
    const device = await boot("hang-on-window", { budgetMs: HANG_BUDGET_MS });
    expect(await feedWindows(device, 2)).toEqual([1, 1]);
    const started = performance.now();
    expect(await device.feed(window(2), T0_MS + 512)).toBe(0);
    const feedMs = performance.now() - started;
    expect(device.lastFault?.kind).toBe("hang");
    expect(device.lastFault!.elapsedMs).toBeGreaterThanOrEqual(HANG_BUDGET_MS - 1);
    expect(device.lastFault!.elapsedMs).toBeLessThan(HANG_BUDGET_MS * HANG_STOP_FACTOR);
    expect(feedMs).toBeLessThan(HANG_BUDGET_MS * HANG_STOP_FACTOR + 10_000); // + starting a worker and rebooting
    expect(await device.feed(window(3), T0_MS + 768)).toBe(1);
    expect(outboxOf(device)).toEqual([
      BOOT(1), ["telemetry"], ["telemetry"],
      BOOT(2), ["event", { event: "fault", fault: "hang", reason: `firmware process did not return within its ${HANG_BUDGET_MS} ms budget; its worker was stopped`, count: 1 }],
      ["telemetry"],
    ]);
  });

  it("at init is stopped by the boot budget and, after the retry limit, the device is failed", async () => {
    const device = await boot("hang-at-init", { budgetsMs: { boot: 200 }, faultsMax: 2 });
    expect(device.failed).toBe(true);
    const reason = "firmware boot did not return within its 200 ms budget; its worker was stopped";
    expect(outboxOf(device)).toEqual([
      ["event", { event: "fault", fault: "hang", reason, count: 1 }],
      ["event", { event: "fault", fault: "hang", reason, count: 2 }],
      ["event", { event: "failed", faults: 2, window_s: 600, reason: `2 faults within 600 s, the last: ${reason}` }],
    ]);
  });
});

describe("a firmware that exhausts its memory", () => {
  for (const isolation of ["worker", "inline"] as const) {
    it(`on window 3 is reported as "memory" and recovers (${isolation})`, async () => {
      const device = await boot("memory-on-window", { isolation });
      expect(await feedWindows(device, 4)).toEqual([1, 1, 0, 1]);
      expect(outboxOf(device)).toEqual([
        BOOT(1), ["telemetry"], ["telemetry"],
        BOOT(2), ["event", { event: "fault", fault: "memory", reason: "firmware ran out of memory: memory exhausted at its 4-page maximum (trap: unreachable)", count: 1 }],
        ["telemetry"],
      ]);
    });
  }
});

describe("the host refuses at load a module whose memory it cannot bound", () => {
  const refusal = async (bytes: Uint8Array, pagesMax?: number): Promise<FirmwareError> =>
    (await compileFirmware(bytes, pagesMax === undefined ? {} : { memoryPagesMax: pagesMax }).catch((error: unknown) => error)) as FirmwareError;

  it("no declared maximum", async () => {
    const error = await refusal(withMemoryLimits(releaseBytes(), 2, undefined));
    expect(error).toBeInstanceOf(FirmwareError);
    expect(error.code).toBe("memory_limit");
    expect(error.message).toBe("the module declares no maximum memory; the host needs one of at most 16 pages: build it with --maximumMemory 16 or less");
  });

  it("a maximum above the cap", async () => {
    const error = await refusal(withMemoryLimits(releaseBytes(), 2, 17));
    expect(error.code).toBe("memory_limit");
    expect(error.message).toBe("the module declares a maximum memory of 17 pages, above this host's cap of 16: build it with --maximumMemory 16 or less");
    expect((await refusal(releaseBytes(), 3)).code).toBe("memory_limit"); // the release declares 4
  });

  it("accepts the release firmware's 4 pages, and a maximum exactly at the cap", async () => {
    expect((await compileFirmware(releaseBytes())).memoryPagesMax).toBe(4);
    expect((await compileFirmware(withMemoryLimits(releaseBytes(), 2, 16))).memoryPagesMax).toBe(16);
  });
});

describe("malformed and oversized commands get error replies, never a crash", () => {
  for (const isolation of ["worker", "inline"] as const) {
    it(`each is answered as the contract says, and the firmware keeps running (${isolation})`, async () => {
      const device = await boot(undefined, { isolation });
      const replies = (): unknown[] => device.outbox.pending().filter((e) => e.kind === "reply").map((e) => decodeReply(e.body));
      const padded = encodeCommand({ id: 77, cmd: "config", args: { device: "d1", rate_hz: 1000, window: 256, units: "x".repeat(3000) } });
      const random = new Random(5);
      const megabyte = Uint8Array.from({ length: 1 << 20 }, () => random.integer(0, 255));
      megabyte[0] = 0xff; // not a map: no id to read

      expect(await device.handleCommand(new Uint8Array([0xff, 0x00]))).toBe(-3); // not CBOR: no id, no reply
      expect(await device.handleCommand(new Uint8Array([...encodeCommand({ id: 12, cmd: "self_test" }), 0x00]))).toBe(-3);
      expect(await device.handleCommand(encodeCommand({ id: 13, cmd: "launch_missiles" }))).toBe(-9);
      expect(await device.handleCommand(encodeCbor(new Map<string, unknown>([["id", 14], ["cmd", "config"], ["args", 5]])))).toBe(-4);
      expect(padded.length).toBeGreaterThan(2048);
      expect(await device.handleCommand(padded)).toBe(-6); // larger than the inbox: the host replies
      expect(await device.handleCommand(megabyte)).toBe(-6); // no readable id: refused without a reply
      expect(await device.handleCommand(new Uint8Array(0))).toBe(-2);
      expect(await device.handleCommand(encodeCommand({ id: 15, cmd: "self_test" }))).toBe(0);

      expect(replies()).toEqual([
        { id: 12, ok: false, error: -3 },
        { id: 13, ok: false, error: -9 },
        { id: 14, ok: false, error: -4 },
        { id: 77, ok: false, error: -6 },
        { id: 15, ok: true },
      ]);
      expect(device.counters.commandsRefused).toBe(3);
      expect(device.counters.faults).toEqual({ trap: 0, memory: 0, hang: 0 });
      expect(await device.feed(window(0), T0_MS)).toBe(1);
    });
  }
});
