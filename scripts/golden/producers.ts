// The golden vectors' producers: each builds one message the way the system really does —
// the TypeScript codecs for what the operator and host send, the release firmware for what
// the device sends. scripts/golden.ts writes their output to test/vectors/messages.json once;
// test/protocol/golden.test.ts runs them again and holds them to the file.

import { encodeCbor } from "../../protocol/cbor.js";
import { frame } from "../../protocol/framing.js";
import { encodeCommand, encodeFirmwareConfig, encodeHostEvent, type FirmwareConfig } from "../../protocol/messages.js";
import { encodeSenml, type SenmlRecord } from "../../protocol/senml.js";
import { encodeState } from "../../protocol/state.js";
import { FirmwareError } from "../../host/runtime/firmware.js";
import { bootRelease, RecordingHost } from "../../host/runtime/harness-hosts.js";

export interface Producer {
  name: string;
  /** The impeller.cddl rule the message satisfies. */
  rule: string;
  /** Who encodes it: the TypeScript codecs or the firmware. */
  by: "typescript" | "firmware";
  produce(): Promise<Uint8Array>;
}

const T0_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const FULL_CONFIG: FirmwareConfig = {
  device: "pump-0001", rate_hz: 12800, window: 4096, units: "g", max_message: 1024, rpm: 2960,
  rpm_range: [600, 3600], vanes: 6, bearing: [9, 7.94, 39.04, 0], iso_group: 2, foundation: "rigid",
  band_hz: [2000, 4000], cav_m_s2: 2.5,
};
const SMALL_CONFIG: FirmwareConfig = { device: "pump-0001", rate_hz: 1000, window: 16, units: "m/s2" };

/** Runs the release firmware through `steps` and returns the messages it published, in order. */
async function fromFirmware(steps: (send: (bytes: Uint8Array) => void, feed: (samples: Float32Array, t: number) => void) => void, host = new RecordingHost()): Promise<Uint8Array[]> {
  const { firmware } = await bootRelease(host);
  firmware.init(encodeFirmwareConfig(SMALL_CONFIG));
  const feed = (samples: Float32Array, t: number): void => {
    try {
      firmware.process(samples, t, SMALL_CONFIG.rate_hz);
    } catch (error) {
      if (!(error instanceof FirmwareError) || error.code !== "status") throw error; // a refused batch is a step too
    }
  };
  steps((bytes) => firmware.handleMessage(bytes), feed);
  return host.published.map((p) => p.bytes);
}

const PACK: SenmlRecord[] = [
  { bn: "pump-0001:", bt: T0_MS / 1000, n: "acc_rms", u: "m/s2", v: Math.fround(1.25) },
  { n: "kurtosis", u: "/", v: Math.fround(3.5) },
  { n: "fault", vs: "none" },
];

const ramp = Float32Array.from({ length: 16 }, (_, i) => (i - 7.5) / 8);

/** A host whose flash refuses every write of the firmware's running state (record 9). */
function wornFlashHost(): RecordingHost {
  const host = new RecordingHost();
  const storage = host.storage;
  host.storage = Object.assign(Object.create(storage) as typeof storage, {
    write: (key: number, bytes: Uint8Array): void => {
      if (key === 9) throw new Error("flash worn out");
      storage.write(key, bytes);
    },
  });
  return host;
}

export const PRODUCERS: Producer[] = [
  { name: "firmware configuration, every key", rule: "firmware-config", by: "typescript", produce: async () => encodeFirmwareConfig(FULL_CONFIG) },
  { name: "command: config", rule: "config-command", by: "typescript", produce: async () => encodeCommand({ id: 7, cmd: "config", args: SMALL_CONFIG }) },
  { name: "command: self_test", rule: "self-test-command", by: "typescript", produce: async () => encodeCommand({ id: 8, cmd: "self_test" }) },
  { name: "command: sampling", rule: "sampling-command", by: "typescript", produce: async () => encodeCommand({ id: 9, cmd: "sampling", args: { rate_hz: 2000, interval_s: 600, windows: 8 } }) },
  { name: "command: waveform", rule: "waveform-command", by: "typescript", produce: async () => encodeCommand({ id: 10, cmd: "waveform", args: { max_bytes: 256 } }) },
  { name: "command: reboot", rule: "reboot-command", by: "typescript", produce: async () => encodeCommand({ id: 11, cmd: "reboot" }) },
  { name: "command: shutdown", rule: "shutdown-command", by: "typescript", produce: async () => encodeCommand({ id: 13, cmd: "shutdown" }) },
  { name: "state: birth", rule: "device-state", by: "typescript", produce: async () => encodeState({ online: true, session: 3, fw: 0x000100, abi: 1 }) },
  { name: "state: death", rule: "device-state", by: "typescript", produce: async () => encodeState({ online: false, session: 3 }) },
  {
    name: "telemetry: a SenML pack with base name, base time, units and a text value", rule: "senml-pack", by: "typescript",
    produce: async () => encodeSenml(PACK),
  },
  { name: "event: boot (firmware)", rule: "boot-event", by: "firmware", produce: async () => (await fromFirmware(() => {}))[0] },
  {
    name: "event: error, samples (firmware)", rule: "error-event", by: "firmware",
    produce: async () => (await fromFirmware((_, feed) => feed(Float32Array.from([NaN]), T0_MS)))[1],
  },
  {
    name: "event: error, storage (firmware)", rule: "error-event", by: "firmware",
    produce: async () => (await fromFirmware((_, feed) => feed(ramp, T0_MS), wornFlashHost()))[1],
  },
  {
    name: "reply: ok (firmware)", rule: "ok-reply", by: "firmware",
    produce: async () => (await fromFirmware((send) => send(encodeCommand({ id: 8, cmd: "self_test" }))))[1],
  },
  {
    name: "reply: unknown command (firmware)", rule: "error-reply", by: "firmware",
    produce: async () => (await fromFirmware((send) => send(encodeCommand({ id: 12, cmd: "calibrate" }))))[1],
  },
  {
    name: "reply: sampling (firmware)", rule: "ok-reply", by: "firmware",
    produce: async () => (await fromFirmware((send) => send(encodeCommand({ id: 9, cmd: "sampling", args: { rate_hz: 2000, interval_s: 600, windows: 8 } }))))[1],
  },
  {
    name: "waveform part (firmware)", rule: "waveform-part", by: "firmware",
    produce: async () => (await fromFirmware((send, feed) => { feed(ramp, T0_MS); send(encodeCommand({ id: 10, cmd: "waveform" })); }))[2],
  },
  {
    name: "reply: waveform (firmware)", rule: "ok-reply", by: "firmware",
    produce: async () => (await fromFirmware((send, feed) => { feed(ramp, T0_MS); send(encodeCommand({ id: 10, cmd: "waveform" })); }))[3],
  },
  { name: "device payload: sequence 300 and a reply", rule: "reply-payload", by: "typescript", produce: async () => frame("reply", 300, encodeCbor(new Map<string, unknown>([["id", 8], ["ok", true]]))) },
  { name: "telemetry payload: sequence 300 in the pack's first record", rule: "telemetry-payload", by: "typescript", produce: async () => frame("telemetry", 300, encodeSenml(PACK)) },
  {
    name: "event: fault, trap (host)", rule: "fault-event", by: "typescript",
    produce: async () => encodeHostEvent({ event: "fault", fault: "trap", reason: "firmware trapped: trap: unreachable", count: 1 }),
  },
  {
    name: "event: fault, hang (host)", rule: "fault-event", by: "typescript",
    produce: async () => encodeHostEvent({ event: "fault", fault: "hang", reason: "firmware process did not return within its 1000 ms budget; its worker was stopped", count: 2 }),
  },
  {
    name: "event: failed (host)", rule: "failed-event", by: "typescript",
    produce: async () => encodeHostEvent({ event: "failed", faults: 5, window_s: 600, reason: "5 faults within 600 s, the last: firmware trapped: trap: unreachable" }),
  },
  {
    name: "event: outbox_drop, telemetry thinned (host)", rule: "outbox-drop-event", by: "typescript",
    produce: async () => encodeHostEvent({ event: "outbox_drop", reason: "thinned", messages: 4, bytes: 2400, first: 17, last: 23 }),
  },
  {
    name: "event: outbox_drop, refused when full (host)", rule: "outbox-drop-event", by: "typescript",
    produce: async () => encodeHostEvent({ event: "outbox_drop", reason: "full", messages: 1, bytes: 612 }),
  },
];
