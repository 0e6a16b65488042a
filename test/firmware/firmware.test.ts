// The release firmware through the production host runtime: configuration, windows, SenML
// output, commands and every bad input the ABI can carry. No input may make it trap.

import { describe, expect, it } from "vitest";
import { FirmwareError } from "../../host/runtime/firmware.js";
import { encodeCbor, decodeCbor } from "../../protocol/cbor.js";
import { encodeCommand, encodeFirmwareConfig, decodeReply, decodeEvent, decodeWaveformPart, type FirmwareConfig } from "../../protocol/messages.js";
import { decodeSenml, resolveSenml } from "../../protocol/senml.js";
import { Random } from "../../simulator/physics/random.js";
import { timeFeatures } from "../support/features-reference.js";
import { bootRelease, RecordingHost } from "../../host/runtime/harness-hosts.js";
import { TELEMETRY_UNITS, telemetryUnitsWith, statusOf } from "../support/firmware.js";

const CONFIG: FirmwareConfig = { device: "dev-1", rate_hz: 1000, window: 256, units: "m/s2" };
const T0_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

async function started(config: FirmwareConfig = CONFIG) {
  const booted = await bootRelease();
  booted.firmware.init(encodeFirmwareConfig(config));
  booted.host.published.length = 0; // the boot event
  return booted;
}

function signal(count: number, seed = 1): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i / 5) + 0.1 * random.gaussian());
}


describe("init", () => {
  it("publishes a boot event and counts boots in persistent storage", async () => {
    const host = new RecordingHost();
    const first = await bootRelease(host);
    first.firmware.init(encodeFirmwareConfig(CONFIG));
    const second = await bootRelease(host); // a reboot: same storage, new instance
    second.firmware.init(encodeFirmwareConfig(CONFIG));
    expect(host.published.map((p) => [p.kind, decodeEvent(p.bytes)])).toEqual([
      [2, { event: "boot", boot: 1, fw: 0x000100 }],
      [2, { event: "boot", boot: 2, fw: 0x000100 }],
    ]);
    expect(host.storage.read(1)).toEqual(new Uint8Array([2, 0, 0, 0]));
  });

  it("runs once per instance: a second init asks for a reboot", async () => {
    const { firmware } = await started();
    expect(statusOf(() => firmware.init(encodeFirmwareConfig(CONFIG)))).toBe(-11);
  });

  const bad: [string, Uint8Array, number][] = [
    ["device missing", encodeCbor(new Map<string, unknown>([["rate_hz", 1000], ["window", 256]])), -4],
    ["rate below 100 Hz", encodeFirmwareConfig({ ...CONFIG, rate_hz: 50 }), -4],
    ["rate not finite", encodeCbor(new Map<string, unknown>([["device", "d"], ["rate_hz", Infinity], ["window", 256]])), -4],
    ["window above 8192", encodeFirmwareConfig({ ...CONFIG, window: 16384 }), -4],
    ["window not an integer", encodeFirmwareConfig({ ...CONFIG, window: 256.5 }), -4],
    ["device id with a slash", encodeFirmwareConfig({ ...CONFIG, device: "a/b" }), -4],
    ["device id of 65 bytes", encodeFirmwareConfig({ ...CONFIG, device: "d".repeat(65) }), -4],
    ["unknown units", encodeCbor(new Map<string, unknown>([["device", "d"], ["rate_hz", 1000], ["window", 256], ["units", "ft/s2"]])), -4],
    ["unknown key", encodeCbor(new Map<string, unknown>([["device", "d"], ["rate_hz", 1000], ["window", 256], ["colour", 1]])), -4],
    ["not a map", encodeCbor([1, 2, 3]), -4],
    ["truncated CBOR", encodeFirmwareConfig(CONFIG).subarray(0, 10), -3],
    ["trailing bytes", new Uint8Array([...encodeFirmwareConfig(CONFIG), 0x00]), -3],
    ["reserved additional information", new Uint8Array([0xbc]), -3],
  ];
  for (const [what, bytes, status] of bad) {
    it(`rejects a configuration with ${what} (status ${status}) and publishes nothing`, async () => {
      const { firmware, host } = await bootRelease();
      expect(statusOf(() => firmware.init(bytes))).toBe(status);
      expect(host.published).toEqual([]);
      expect(firmware.crashReason).toBeUndefined();
    });
  }

  it("refuses an empty or oversized configuration before it reaches the firmware", async () => {
    const { firmware } = await bootRelease();
    expect(() => firmware.init(new Uint8Array(0))).toThrow(/does not fit the firmware's 2048-byte inbox/);
    expect(() => firmware.init(new Uint8Array(4096))).toThrow(/does not fit the firmware's 2048-byte inbox/);
  });
});

describe("process", () => {
  it("publishes one SenML pack per window with base name, base time and registered units", async () => {
    const { firmware, host } = await started();
    const samples = signal(256);
    expect(firmware.process(samples.subarray(0, 100), T0_MS, 1000)).toBe(0);
    expect(firmware.process(samples.subarray(100), T0_MS + 100, 1000)).toBe(1);
    expect(host.published).toHaveLength(1);
    expect(host.published[0].kind).toBe(1);
    const records = decodeSenml(host.published[0].bytes);
    expect(records[0].bn).toBe("dev-1:");
    expect(records[0].bt).toBe(T0_MS / 1000);
    const resolved = resolveSenml(records);
    // The test signal is a strong 1x line in zone B and beyond: an imbalance finding.
    expect(resolved.map((r) => [r.name, r.unit ?? ""])).toEqual(telemetryUnitsWith(["imbalance"]).map(([name, unit]) => [`dev-1:${name}`, unit]));
    expect(host.published[0].bytes.length).toBeLessThanOrEqual(1024);
    const expected = timeFeatures(samples);
    const got = Object.fromEntries(resolved.map((r) => [r.name.slice(6), r.value!]));
    expect(got.acc_rms).toBe(Math.fround(expected.rms));
    expect(got.kurtosis).toBeCloseTo(expected.kurtosis, 5);
    expect(resolved.every((r) => r.time === T0_MS / 1000)).toBe(true);
  });

  it("converts g to m/s2 with standard gravity", async () => {
    const { firmware, host } = await started({ ...CONFIG, units: "g" });
    const samples = signal(256);
    firmware.process(samples, T0_MS, 1000);
    const rms = resolveSenml(decodeSenml(host.published[0].bytes))[0].value!;
    expect(rms).toBe(Math.fround(timeFeatures(samples, 9.80665).rms));
  });

  it("splits a batch larger than the window into windows with the right base times", async () => {
    const { firmware, host } = await started();
    expect(firmware.process(signal(256 * 3), T0_MS, 1000)).toBe(3);
    expect(host.published.filter((p) => p.kind === 1).map((p) => decodeSenml(p.bytes)[0].bt)).toEqual([T0_MS / 1000, (T0_MS + 256) / 1000, (T0_MS + 512) / 1000]);
  });

  it("drops a batch with a non-finite sample, says so once, and keeps the window clean", async () => {
    const { firmware, host } = await started();
    const samples = signal(256);
    firmware.process(samples.subarray(0, 128), T0_MS, 1000);
    const poisoned = samples.slice(128);
    poisoned[7] = NaN;
    expect(statusOf(() => firmware.process(poisoned, T0_MS + 128, 1000))).toBe(-5);
    poisoned[7] = Infinity;
    expect(statusOf(() => firmware.process(poisoned, T0_MS + 128, 1000))).toBe(-5);
    expect(host.logs.filter((l) => l.text.includes("non-finite"))).toHaveLength(1);
    expect(host.published.map((p) => [p.kind, decodeEvent(p.bytes)])).toEqual([[2, { event: "error", code: -5, what: "samples" }]]);
    expect(firmware.process(samples.subarray(128), T0_MS + 128, 1000)).toBe(1);
    expect(resolveSenml(decodeSenml(host.published[1].bytes))[0].value).toBe(Math.fround(timeFeatures(samples).rms));
  });

  // WebAssembly 1.0 has only trapping float-to-int conversions: no amplitude a sensor can send,
  // however extreme, may reach one with an infinity or a NaN.
  for (const rpm of [undefined, 1800]) {
    it(`extreme but finite amplitudes are analysed or refused, never a trap (${rpm === undefined ? "no rpm" : `${rpm} rpm`})`, async () => {
      const cases: [string, (i: number) => number][] = [
        ["±3e38 square", (i) => (i % 64 < 32 ? 3e38 : -3e38)], ["1e30 noise", (i) => Math.sin(i * 12.9898) * 1e30],
        ["1e20 tone", (i) => 1e20 * Math.sin(i * 0.05)], ["1e-38 tone", (i) => 1e-38 * Math.sin(i * 0.3)], ["±1e-44", (i) => (i % 2 ? 1e-44 : -1e-44)],
      ];
      for (const [, sample] of cases) {
        const { firmware } = await bootRelease();
        firmware.init(encodeFirmwareConfig({ device: "x", rate_hz: 12000, window: 4096, bearing: [9, 7.94, 39.04, 0], ...(rpm === undefined ? {} : { rpm }) }));
        for (let w = 0; w < 3; w++) {
          expect(firmware.process(Float32Array.from({ length: 4096 }, (_, i) => sample(i + w * 4096)), (w * 4096) / 12, 12000)).toBe(1);
        }
      }
    });
  }

  it("restarts the window when a batch does not follow on in time", async () => {
    const { firmware, host } = await started();
    firmware.process(signal(128), T0_MS, 1000);
    const late = signal(256, 2);
    expect(firmware.process(late.subarray(0, 128), T0_MS + 5000, 1000)).toBe(0);
    expect(firmware.process(late.subarray(128), T0_MS + 5128, 1000)).toBe(1);
    expect(decodeSenml(host.published[0].bytes)[0].bt).toBe((T0_MS + 5000) / 1000);
    expect(resolveSenml(decodeSenml(host.published[0].bytes))[0].value).toBe(Math.fround(timeFeatures(late).rms));
  });

  it("tick drops a partial window whose samples stopped coming", async () => {
    const { firmware, host } = await started();
    firmware.process(signal(128), T0_MS, 1000);
    firmware.tick(T0_MS + 10_000);
    expect(host.logs.some((l) => l.text.includes("stale"))).toBe(true);
    expect(firmware.process(signal(128), T0_MS + 128, 1000)).toBe(0); // a new window, half full
  });

  it("reports publish_failed when the host refuses the message", async () => {
    const { firmware, host } = await started();
    host.refuse = true;
    expect(statusOf(() => firmware.process(signal(256), T0_MS, 1000))).toBe(-7);
  });

  it("answers not_initialised before init", async () => {
    const { firmware } = await bootRelease();
    expect(() => firmware.process(signal(16), T0_MS, 1000)).toThrow(/no room for samples/);
    expect(statusOf(() => firmware.tick(T0_MS))).toBe(-1);
    expect(firmware.handleMessage(encodeCommand({ id: 1, cmd: "self_test" }))).toBe(-1);
  });
});

describe("commands", () => {
  const replies = (published: { kind: number; bytes: Uint8Array }[]) =>
    published.filter((p) => p.kind === 3).map((p) => decodeReply(p.bytes));

  it("applies a valid configuration whole and replies ok", async () => {
    const { firmware, host } = await started();
    const args = { device: "dev-2", rate_hz: 1000, window: 256, units: "g" };
    expect(firmware.handleMessage(encodeCommand({ id: 7, cmd: "config", args }))).toBe(0);
    expect(replies(host.published)).toEqual([{ id: 7, ok: true }]);
    const samples = signal(256);
    expect(firmware.process(samples, T0_MS, 1000)).toBe(1);
    const first = resolveSenml(decodeSenml(host.published[1].bytes))[0];
    expect(first.name).toBe("dev-2:acc_rms");
    expect(first.value).toBe(Math.fround(timeFeatures(samples, 9.80665).rms));
  });

  it("asks for a reboot to change the window length", async () => {
    const { firmware, host } = await started();
    const args = { device: "dev-1", rate_hz: 1000, window: 128 };
    expect(firmware.handleMessage(encodeCommand({ id: 6, cmd: "config", args }))).toBe(-11);
    expect(replies(host.published)).toEqual([{ id: 6, ok: false, error: -11 }]);
  });

  it("rejects an invalid configuration whole: error reply, old configuration kept", async () => {
    const { firmware, host } = await started();
    const args = { device: "dev-1", rate_hz: 1000, window: 256, units: "furlongs" };
    expect(firmware.handleMessage(encodeCommand({ id: 8, cmd: "config", args }))).toBe(-4);
    expect(replies(host.published)).toEqual([{ id: 8, ok: false, error: -4 }]);
    expect(firmware.process(signal(128), T0_MS, 1000)).toBe(0); // still m/s2 and dev-1
    expect(firmware.process(signal(128), T0_MS + 128, 1000)).toBe(1);
    expect(host.published.map((p) => p.kind)).toEqual([2, 3, 1]); // error event, reply, telemetry
    expect(decodeEvent(host.published[0].bytes)).toEqual({ event: "error", code: -4, what: "config" });
    expect(resolveSenml(decodeSenml(host.published[2].bytes))[0].name).toBe("dev-1:acc_rms");
  });

  it("asks for a reboot when a configuration needs larger buffers than this boot allocated", async () => {
    const { firmware, host } = await started();
    const args = { device: "dev-1", rate_hz: 1000, window: 512 };
    expect(firmware.handleMessage(encodeCommand({ id: 9, cmd: "config", args }))).toBe(-11);
    expect(replies(host.published)).toEqual([{ id: 9, ok: false, error: -11 }]);
  });

  it("runs the self-test on command and directly", async () => {
    const { firmware, host } = await started();
    expect(firmware.selfTest()).toBe(0);
    expect(firmware.handleMessage(encodeCommand({ id: 10, cmd: "self_test" }))).toBe(0);
    expect(replies(host.published)).toEqual([{ id: 10, ok: true }]);
  });

  it("answers an unknown command with an error reply", async () => {
    const { firmware, host } = await started();
    expect(firmware.handleMessage(encodeCommand({ id: 11, cmd: "launch_missiles" }))).toBe(-9);
    expect(replies(host.published)).toEqual([{ id: 11, ok: false, error: -9 }]);
  });

  it("drops a command without an id, and malformed or trailing CBOR, without replying", async () => {
    const { firmware, host } = await started();
    expect(firmware.handleMessage(encodeCbor(new Map([["cmd", "self_test"]])))).toBe(-2);
    expect(firmware.handleMessage(new Uint8Array([0xa2, 0x62, 0x69]))).toBe(-3);
    const trailing = new Uint8Array([...encodeCommand({ id: 12, cmd: "self_test" }), 0x00]);
    expect(firmware.handleMessage(trailing)).toBe(-3);
    expect(replies(host.published)).toEqual([{ id: 12, ok: false, error: -3 }]);
  });

  it("a malformed command is also an error event, at most one a second however many come", async () => {
    const { firmware, host } = await started();
    for (let i = 0; i < 50; i++) firmware.handleMessage(new Uint8Array([0xa2, 0x62, 0x69]));
    expect(host.published.filter((p) => p.kind === 2).map((p) => decodeEvent(p.bytes))).toEqual([{ event: "error", code: -3, what: "command" }]);
    host.nowMs += 1000;
    firmware.handleMessage(new Uint8Array([0xa2, 0x62, 0x69]));
    expect(host.published.filter((p) => p.kind === 2)).toHaveLength(2);
  });

  it("refuses a command larger than the inbox before it reaches the firmware", async () => {
    const { firmware } = await started();
    expect(() => firmware.handleMessage(new Uint8Array(2049))).toThrow(/2048-byte inbox/);
  });
});

describe("sampling, waveform and reboot commands", () => {
  const replies = (published: { kind: number; bytes: Uint8Array }[]) =>
    published.filter((p) => p.kind === 3).map((p) => decodeReply(p.bytes));

  it("sampling changes the rate and the interval and tells the host what to sample", async () => {
    const { firmware, host } = await started();
    expect(firmware.handleMessage(encodeCommand({ id: 20, cmd: "sampling", args: { rate_hz: 2000, interval_s: 600 } }))).toBe(0);
    expect(replies(host.published)).toEqual([{ id: 20, ok: true, rate_hz: 2000, window: 256, interval_s: 600, windows: 1 }]);
    // The new rate is the one in force: a batch that follows 128 samples later at 2 kHz is 64 ms on.
    firmware.process(signal(128), T0_MS, 2000);
    expect(firmware.process(signal(128), T0_MS + 64, 2000)).toBe(1);
  });

  it("sampling sets the consecutive windows a measurement takes, 1 to 64, and says them in every sampling reply", async () => {
    const { firmware, host } = await started();
    expect(firmware.handleMessage(encodeCommand({ id: 25, cmd: "sampling", args: { windows: 8 } }))).toBe(0);
    expect(firmware.handleMessage(encodeCommand({ id: 26, cmd: "sampling", args: { windows: 0 } }))).toBe(-2);
    expect(firmware.handleMessage(encodeCommand({ id: 27, cmd: "sampling", args: { windows: 65 } }))).toBe(-2);
    expect(firmware.handleMessage(encodeCommand({ id: 28, cmd: "sampling", args: { windows: 2.5 } }))).toBe(-2);
    expect(firmware.handleMessage(encodeCommand({ id: 29, cmd: "sampling", args: { interval_s: 3600 } }))).toBe(0);
    expect(replies(host.published)).toEqual([
      { id: 25, ok: true, rate_hz: 1000, window: 256, interval_s: 0, windows: 8 },
      { id: 26, ok: false, error: -2 }, { id: 27, ok: false, error: -2 }, { id: 28, ok: false, error: -2 },
      { id: 29, ok: true, rate_hz: 1000, window: 256, interval_s: 3600, windows: 8 },
    ]);
  });

  it("sampling refuses a rate whose Nyquist falls below the configured speed, and changes nothing", async () => {
    const { firmware, host } = await started({ ...CONFIG, rpm: 3000 });
    expect(firmware.handleMessage(encodeCommand({ id: 21, cmd: "sampling", args: { rate_hz: 100 } }))).toBe(-4);
    expect(firmware.handleMessage(encodeCommand({ id: 22, cmd: "sampling", args: { interval_s: 0.5 } }))).toBe(-2);
    expect(firmware.handleMessage(encodeCommand({ id: 23, cmd: "sampling", args: { colour: 1 } }))).toBe(-2);
    expect(firmware.handleMessage(encodeCommand({ id: 24, cmd: "sampling" }))).toBe(-2);
    expect(replies(host.published)).toEqual([
      { id: 21, ok: false, error: -4 }, { id: 22, ok: false, error: -2 }, { id: 23, ok: false, error: -2 }, { id: 24, ok: false, error: -2 },
    ]);
  });

  it("waveform before any complete window answers no_data", async () => {
    const { firmware, host } = await started();
    expect(firmware.handleMessage(encodeCommand({ id: 30, cmd: "waveform" }))).toBe(-12);
    expect(replies(host.published)).toEqual([{ id: 30, ok: false, error: -12 }]);
  });

  it("waveform sends the last window exactly, in parts no larger than max_bytes", async () => {
    const { firmware, host } = await started();
    const samples = signal(256);
    firmware.process(samples, T0_MS, 1000);
    firmware.process(signal(100, 7), T0_MS + 256, 1000); // a partial next window does not disturb it
    host.published.length = 0;
    expect(firmware.handleMessage(encodeCommand({ id: 31, cmd: "waveform", args: { max_bytes: 400 } }))).toBe(0);
    const parts = host.published.filter((p) => p.kind === 4);
    expect(parts.length).toBe(Math.ceil(256 / ((400 - 128) >> 2)));
    for (const part of parts) expect(part.bytes.length).toBeLessThanOrEqual(400);
    const decoded = parts.map((p) => decodeWaveformPart(p.bytes));
    expect(decoded.map((d) => [d.id, d.part, d.parts, d.t, d.rate_hz, d.units])).toEqual(
      decoded.map((_, i) => [31, i, parts.length, T0_MS, 1000, "m/s2"]));
    const joined = new Float32Array(256);
    for (const d of decoded) joined.set(d.samples, d.first);
    expect(joined).toEqual(samples);
    expect(replies(host.published)).toEqual([{ id: 31, ok: true, parts: parts.length }]);
  });

  it("waveform refuses a max_bytes below 256 and answers publish_failed when the host refuses a part", async () => {
    const { firmware, host } = await started();
    firmware.process(signal(256), T0_MS, 1000);
    expect(firmware.handleMessage(encodeCommand({ id: 32, cmd: "waveform", args: { max_bytes: 100 } }))).toBe(-2);
    host.refuse = true;
    expect(firmware.handleMessage(encodeCommand({ id: 33, cmd: "waveform" }))).toBe(-7);
  });

  it("reboot replies ok and returns 1 so the host restarts the firmware", async () => {
    const { firmware, host } = await started();
    expect(firmware.handleMessage(encodeCommand({ id: 40, cmd: "reboot" }))).toBe(1);
    expect(replies(host.published)).toEqual([{ id: 40, ok: true }]);
    expect(firmware.handleMessage(encodeCommand({ id: 41, cmd: "reboot", args: { now: true } }))).toBe(-2);
  });
});

describe("hostile input", () => {
  it("20,000 random and mutated commands and configurations never make it trap", async () => {
    const { firmware } = await started();
    const fresh = await bootRelease();
    const random = new Random(99);
    const seeds = [
      encodeCommand({ id: 1, cmd: "config", args: { device: "x", rate_hz: 1000, window: 64 } }),
      encodeCommand({ id: 2, cmd: "self_test" }),
      encodeFirmwareConfig(CONFIG),
    ];
    for (let round = 0; round < 20_000; round++) {
      let bytes: Uint8Array;
      if (round % 2 === 0) {
        bytes = Uint8Array.from({ length: 1 + random.integer(0, 64) }, () => random.integer(0, 255));
      } else {
        bytes = seeds[round % seeds.length].slice(0, 1 + random.integer(0, 60));
        for (let flips = random.integer(1, 4); flips > 0; flips--) bytes[random.integer(0, bytes.length - 1)] ^= 1 << random.integer(0, 7);
      }
      const status = firmware.handleMessage(bytes);
      expect(status).toBeLessThanOrEqual(0);
      if (round < 2000) {
        try { fresh.firmware.init(bytes); } catch (error) { expect((error as FirmwareError).code).toBe("status"); }
      }
    }
    expect(firmware.crashReason).toBeUndefined();
    expect(firmware.selfTest()).toBe(0);
  });

  it("a declared length far beyond the input is rejected, not followed", async () => {
    const { firmware } = await started();
    const huge = new Uint8Array([0xa1, 0x64, 0x61, 0x72, 0x67, 0x73, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(firmware.handleMessage(huge)).toBe(-3);
    const deep = new Uint8Array(64).fill(0x81); // 64 nested arrays
    expect(firmware.handleMessage(new Uint8Array([0xa1, 0x64, 0x61, 0x72, 0x67, 0x73, ...deep]))).toBe(-3);
    expect(decodeCbor(encodeCbor(1))).toBe(1);
  });
});
