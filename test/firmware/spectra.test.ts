// The firmware's spectra of its last window (ABI.md, "Spectra"): the `spectrum` and
// `spectrum_bin_hz` exports called bare, and the host's Firmware.spectrum over them. A pure tone's
// power spectrum is the Hann line the analysis reads; an impact train's envelope spectrum peaks
// at the impact rate in the band the window's telemetry names; asking changes no later window;
// every bad input answers its status and nothing traps; an image built before the exports runs.

import { statusOf } from "../support/firmware.js";
import { describe, expect, it } from "vitest";
import { encodeCommand, encodeFirmwareConfig, type FirmwareConfig } from "../../protocol/messages.js";
import { decodeSenml, resolveSenml } from "../../protocol/senml.js";
import { compileFirmware, Firmware, FirmwareError } from "../../host/runtime/firmware.js";
import { bootRelease, RecordingHost, silentHostImports } from "../../host/runtime/harness-hosts.js";
import { releaseBytes } from "../../host/runtime/images.js";
import { BEARINGS } from "../../simulator/replay/replay.js";
import { add, G, impacts, tones } from "../support/signals.js";

const T0_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const POWER = 0;
const ENVELOPE = 1;
const STATUS = { notInitialised: -1, badArgument: -2, noRoom: -6, noData: -12 };

interface Abi {
  memory: WebAssembly.Memory;
  inbox_buffer(): number;
  init(len: number): number;
  sample_buffer(): number;
  sample_capacity(): number;
  process(count: number, timestampMs: bigint): number;
  handle_message(len: number): number;
  spectrum(kind: number, ptr: number, capacity: number): number;
  spectrum_bin_hz(): number;
}

/** The release image, bare: its exports on imports that record nothing. */
async function bare(): Promise<Abi & { send(bytes: Uint8Array): number; feed(samples: Float32Array, atMs: number): number }> {
  const instance = await WebAssembly.instantiate(new WebAssembly.Module(releaseBytes() as Uint8Array<ArrayBuffer>), { host: silentHostImports() });
  const abi = instance.exports as unknown as Abi;
  return Object.assign({}, abi, {
    send(bytes: Uint8Array): number {
      new Uint8Array(abi.memory.buffer, abi.inbox_buffer(), bytes.length).set(bytes);
      return bytes.length;
    },
    feed(samples: Float32Array, atMs: number): number {
      new Float32Array(abi.memory.buffer, abi.sample_buffer(), samples.length).set(samples);
      return abi.process(samples.length, BigInt(atMs));
    },
  });
}

async function started(config: FirmwareConfig): Promise<{ firmware: Firmware; host: RecordingHost }> {
  const booted = await bootRelease();
  booted.firmware.init(encodeFirmwareConfig(config));
  booted.host.published.length = 0; // the boot event
  return booted;
}


/** The value of telemetry record `name` in the last pack `host` took. */
function telemetry(host: RecordingHost, name: string): number {
  const pack = host.published.filter((p) => p.kind === 1).at(-1)!;
  return resolveSenml(decodeSenml(pack.bytes)).find((r) => r.name.endsWith(`:${name}`))!.value!;
}

const argmax = (values: Float32Array, from = 0): number => {
  let best = from;
  for (let k = from; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
};
const relative = (actual: number, expected: number): number => Math.abs(actual - expected) / expected;

describe("the power spectrum (kind 0)", () => {
  it("a 100 Hz tone of 0.5 g in 1 Hz bins: its bin holds A²/3 (m/s²)², each neighbour A²/12, the rest nothing", async () => {
    const { firmware } = await started({ device: "d", rate_hz: 1024, window: 1024, units: "g" });
    firmware.process(tones(1024, 1024, [{ hz: 100, amplitude_g: 0.5 }], 1e-5), T0_MS, 1024);
    const { binHz, values } = firmware.spectrum("power");
    expect(binHz).toBe(1);
    expect(values.length).toBe(513);
    const a = 0.5 * G; // m/s²: a Hann line's power is A²/2 over 1.5 bins of noise bandwidth
    expect(argmax(values)).toBe(100);
    expect(relative(values[100], (a * a) / 3)).toBeLessThan(1e-4);
    expect(relative(values[99], (a * a) / 12)).toBeLessThan(1e-4);
    expect(relative(values[101], (a * a) / 12)).toBeLessThan(1e-4);
    const rest = values.filter((_, k) => k < 99 || k > 101);
    expect(Math.max(...rest)).toBeLessThan(1e-6 * values[100]);
  });

  it("a window zero-padded to its FFT (1,000 samples in 1,024 points) gives 513 bins of 1000/1024 Hz, its line at its bin", async () => {
    const { firmware } = await started({ device: "d", rate_hz: 1000, window: 1000, units: "m/s2" });
    firmware.process(tones(1000, 1000, [{ hz: 125, amplitude_g: 2 }], 1e-4), T0_MS, 1000);
    const { binHz, values } = firmware.spectrum("power");
    expect(binHz).toBe(1000 / 1024);
    expect(values.length).toBe(513);
    expect(argmax(values)).toBe(128);
  });

  it("is the analysis's own: the same before and after the envelope spectrum is taken again", async () => {
    const { firmware } = await started({ device: "d", rate_hz: 12800, window: 4096, rpm: 1500, bearing: BEARINGS["6205"] });
    firmware.process(bearingSignal(4096), T0_MS, 12800);
    const before = firmware.spectrum("power").values;
    firmware.spectrum("envelope");
    expect(firmware.spectrum("power").values).toEqual(before);
  });
});

const RATE_HZ = 12800;
const IMPACT_HZ = 87.5; // bin 28 of 3.125 Hz, near the 6205's outer race at 1476 rpm

function bearingSignal(count: number): Float32Array {
  return add(
    tones(count, RATE_HZ, [{ hz: 24.6, amplitude_g: 0.05 }, { hz: 49.2, amplitude_g: 0.02 }], 0.02, 3),
    impacts(count, RATE_HZ, { rateHz: IMPACT_HZ, resonanceHz: 3000, damping: 0.05, amplitude_g: 0.5 }),
  );
}

describe("the squared-envelope spectrum (kind 1)", () => {
  it("an impact train's peaks at the impact rate, over the band the window's telemetry names, in the window's bins", async () => {
    const { firmware, host } = await started({ device: "d", rate_hz: RATE_HZ, window: 4096, rpm: 1500, bearing: BEARINGS["6205"] });
    firmware.process(bearingSignal(4096), T0_MS, RATE_HZ);
    const { binHz, values } = firmware.spectrum("envelope");
    expect(binHz).toBe(RATE_HZ / 4096);
    // The band's bins at baseband, over twice as many points as a power of two (256 at least).
    const [low, high] = [telemetry(host, "band_lo"), telemetry(host, "band_hi")];
    expect(low).toBeGreaterThan(0);
    const bandBins = Math.min(2047, Math.floor(high / binHz)) - Math.max(1, Math.ceil(low / binHz)) + 1;
    const points = Math.max(256, 2 ** Math.ceil(Math.log2(2 * bandBins)));
    expect(values.length).toBe(points / 2 + 1);
    expect(argmax(values, 1)).toBe(IMPACT_HZ / binHz);
  });

  it("a fixed band is the configured one; one wider than the envelope's buffers is never enveloped (-12)", async () => {
    const { firmware, host } = await started({ device: "d", rate_hz: RATE_HZ, window: 4096, rpm: 1500, bearing: BEARINGS["6205"], band_hz: [2500, 3500] });
    firmware.process(bearingSignal(4096), T0_MS, RATE_HZ);
    expect([telemetry(host, "band_lo"), telemetry(host, "band_hi")]).toEqual([2500, 3500]);
    const { values } = firmware.spectrum("envelope");
    expect(values.length).toBe(1024 / 2 + 1); // 320 bins of 3.125 Hz, over 1,024 points
    expect(argmax(values, 1)).toBe(28);
    // 2,000 Hz is 640 bins: 2,048 points, above the 1,024 of a band of at most fs/12.
    const wide = await started({ device: "d", rate_hz: RATE_HZ, window: 4096, rpm: 1500, bearing: BEARINGS["6205"], band_hz: [2000, 4000] });
    wide.firmware.process(bearingSignal(4096), T0_MS, RATE_HZ);
    expect(statusOf(() => wide.firmware.spectrum("envelope"))).toBe(STATUS.noData);
  });

  it("a band with nothing in it holds nothing of the strong lines below it: the block's ends are matched before the band is taken", async () => {
    // A 1 g shaft line and its second harmonic, not whole periods in the window, and 1e-4 g of
    // noise; the band at 2.5–3.5 kHz holds only the noise. An unwindowed FFT's band would carry
    // the jump between the window's ends as sinc tails through the whole block: an envelope
    // spectrum 7.5e8 times the noise's alone (1e9 times padded), before the ends were matched.
    // What matching leaves, a jump in slope, is some 50 times the noise's.
    const sums: number[] = [];
    for (const window of [4096, 4000]) { // the FFT's own length, and a window zero-padded to it
      for (const lines of [[], [{ hz: 24.6, amplitude_g: 1 }, { hz: 49.2, amplitude_g: 0.5 }]]) {
        const { firmware } = await started({ device: "d", rate_hz: RATE_HZ, window, rpm: 1500, bearing: BEARINGS["6205"], band_hz: [2500, 3500] });
        firmware.process(tones(window, RATE_HZ, lines, 1e-4, 3), T0_MS, RATE_HZ);
        sums.push(firmware.spectrum("envelope").values.reduce((a, b) => a + b, 0));
      }
    }
    const [quiet4096, lines4096, quiet4000, lines4000] = sums;
    expect(lines4096 / quiet4096).toBeLessThan(100);
    expect(lines4000 / quiet4000).toBeLessThan(100);
    expect(lines4096 / quiet4096).toBeGreaterThan(1); // the slope's jump is still there
  });

  it("taking the spectra between windows changes none of the windows after: their telemetry is byte for byte the same", async () => {
    const config: FirmwareConfig = { device: "d", rate_hz: RATE_HZ, window: 4096, rpm: 1500, bearing: BEARINGS["6205"] };
    const signal = bearingSignal(4096 * 4);
    const asked = await started(config);
    const quiet = await started(config);
    for (let w = 0; w < 4; w++) {
      const at = T0_MS + (w * 4096 * 1000) / RATE_HZ; // consecutive: the envelope streams across them
      asked.firmware.process(signal.subarray(w * 4096, (w + 1) * 4096), at, RATE_HZ);
      quiet.firmware.process(signal.subarray(w * 4096, (w + 1) * 4096), at, RATE_HZ);
      asked.firmware.spectrum("envelope");
      asked.firmware.spectrum("power");
    }
    expect(asked.host.published.map((p) => p.bytes)).toEqual(quiet.host.published.map((p) => p.bytes));
    expect(telemetry(asked.host, "env_s")).toBeGreaterThan(0);
  });
});

describe("what spectrum answers instead", () => {
  const CONFIG: FirmwareConfig = { device: "d", rate_hz: 1000, window: 256, units: "m/s2" };
  const window = (): Float32Array => tones(256, 1000, [{ hz: 50, amplitude_g: 1 }], 0.01);

  it("-1 before init, with a bin spacing of 0", async () => {
    const abi = await bare();
    expect(abi.spectrum(POWER, abi.inbox_buffer(), 512)).toBe(STATUS.notInitialised);
    expect(abi.spectrum_bin_hz()).toBe(0);
  });

  it("-12 until a window is analysed, after a window whose sensor failed, and after a new configuration", async () => {
    const abi = await bare();
    expect(abi.init(abi.send(encodeFirmwareConfig(CONFIG)))).toBe(0);
    const ptr = abi.inbox_buffer();
    expect(abi.spectrum(POWER, ptr, 512)).toBe(STATUS.noData);
    expect(abi.spectrum_bin_hz()).toBe(0);
    expect(abi.feed(window(), T0_MS)).toBe(1);
    expect(abi.spectrum(POWER, ptr, 512)).toBe(129);
    expect(abi.spectrum_bin_hz()).toBe(1000 / 256);
    expect(abi.feed(new Float32Array(256), T0_MS + 60_000)).toBe(1); // a dead sensor
    expect([abi.spectrum(POWER, ptr, 512), abi.spectrum(ENVELOPE, ptr, 512), abi.spectrum_bin_hz()]).toEqual([STATUS.noData, STATUS.noData, 0]);
    expect(abi.feed(window(), T0_MS + 120_000)).toBe(1);
    expect(abi.spectrum(POWER, ptr, 512)).toBe(129);
    expect(abi.handle_message(abi.send(encodeCommand({ id: 1, cmd: "config", args: { ...CONFIG, rate_hz: 2000 } })))).toBe(0);
    expect([abi.spectrum(POWER, ptr, 512), abi.spectrum_bin_hz()]).toEqual([STATUS.noData, 0]);
  });

  it("-12 for the envelope when no band was enveloped (no bearing configured)", async () => {
    const { firmware } = await started(CONFIG);
    firmware.process(window(), T0_MS, 1000);
    expect(statusOf(() => firmware.spectrum("envelope"))).toBe(STATUS.noData);
    expect(firmware.spectrum("power").values.length).toBe(129);
  });

  it("-2 for an unknown kind, and for a buffer that is empty, outside memory or over the last window", async () => {
    const abi = await bare();
    expect(abi.init(abi.send(encodeFirmwareConfig(CONFIG)))).toBe(0);
    const last = abi.sample_buffer(); // the buffer this window fills becomes the last window
    expect(abi.feed(window(), T0_MS)).toBe(1);
    const bytes = abi.memory.buffer.byteLength;
    const free = abi.inbox_buffer();
    const cases: [number, number, number][] = [
      [2, free, 512], [-1, free, 512], [0x7fffffff, free, 512],
      [POWER, 0, 512], [POWER, free, 0], [POWER, free, -1], [POWER, free, -0x80000000],
      [POWER, bytes, 129], [POWER, bytes - 4 * 128, 129], [POWER, -16, 129], [POWER, free, 0x7fffffff],
      [POWER, last, 256], [POWER, last + 4 * 255, 129], [ENVELOPE, last - 4, 2],
    ];
    for (const [kind, ptr, capacity] of cases) expect(abi.spectrum(kind, ptr, capacity), `${kind}, ${ptr}, ${capacity}`).toBe(STATUS.badArgument);
    expect(abi.spectrum(POWER, bytes - 4 * 129, 129)).toBe(129); // the last 129 floats of memory will do
    expect(abi.memory.buffer.byteLength).toBe(bytes);
  });

  it("-6 when the values do not fit; the free part of the sample buffer holds them", async () => {
    const abi = await bare();
    expect(abi.init(abi.send(encodeFirmwareConfig({ ...CONFIG, window: 300 })))).toBe(0);
    expect(abi.feed(tones(300, 1000, [{ hz: 50, amplitude_g: 1 }], 0.01), T0_MS)).toBe(1);
    expect(abi.spectrum(POWER, abi.inbox_buffer(), 256)).toBe(STATUS.noRoom);
    expect(abi.sample_capacity()).toBe(300);
    expect(abi.spectrum(POWER, abi.sample_buffer(), abi.sample_capacity())).toBe(257);
    const values = new Float32Array(abi.memory.buffer, abi.sample_buffer(), 257);
    expect(argmax(values)).toBe(Math.round(50 / (1000 / 512)));
  });
});

/** `bytes` with its export section rewritten: each export renamed by `rename`, or dropped for null. */
function withExports(bytes: Uint8Array, rename: (name: string) => string | null): Uint8Array {
  let at = 8;
  const leb = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
  };
  const encode = (n: number): number[] => {
    const out: number[] = [];
    do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7; } while (n > 0);
    return out;
  };
  while (at < bytes.length) {
    const start = at;
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id !== 7) { at = end; continue; }
    const entries: number[][] = [];
    for (let count = leb(), i = 0; i < count; i++) {
      const length = leb();
      const name = new TextDecoder().decode(bytes.subarray(at, at + length));
      at += length;
      const kind = bytes[at++];
      const index = leb();
      const renamed = rename(name);
      if (renamed !== null) entries.push([...encode(renamed.length), ...new TextEncoder().encode(renamed), kind, ...encode(index)]);
    }
    const payload = [...encode(entries.length), ...entries.flat()];
    return new Uint8Array([...bytes.subarray(0, start), 7, ...encode(payload.length), ...payload, ...bytes.subarray(end)]);
  }
  throw new Error("no export section");
}

describe("an image without the spectra (built before them)", () => {
  it("runs, and the host's spectrum() says it has none; an export named spectrum of another signature is refused", async () => {
    const older = withExports(releaseBytes(), (name) => (name.startsWith("spectrum") ? null : name));
    const firmware = await Firmware.instantiate(await compileFirmware(older), new RecordingHost());
    firmware.init(encodeFirmwareConfig({ device: "d", rate_hz: 1000, window: 256 }));
    expect(firmware.process(tones(256, 1000, [{ hz: 50, amplitude_g: 1 }], 0.01), T0_MS, 1000)).toBe(1);
    const error = (() => { try { firmware.spectrum("power"); } catch (e) { return e; } })();
    expect(error).toBeInstanceOf(FirmwareError);
    expect((error as FirmwareError).code).toBe("abi_mismatch");
    const wrong = withExports(releaseBytes(), (name) => (name === "spectrum" ? null : name === "spectrum_bin_hz" ? "spectrum" : name));
    const refused = await compileFirmware(wrong).catch((e: unknown) => e);
    expect((refused as FirmwareError).code).toBe("abi_mismatch");
    expect((refused as FirmwareError).message).toContain("exports spectrum as () -> (f64), ABI v1 has (i32, i32, i32) -> (i32)");
  });
});
