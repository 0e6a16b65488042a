// Birth and death on .../state, both retained. The session counter rises with every
// connection, so a death left behind by an older session never hides a newer birth.

import { decodeCbor, encodeCbor } from "./cbor.js";
import { ProtocolError } from "./errors.js";

export interface DeviceState {
  online: boolean;
  session: number;
  /** Firmware version (major << 16 | minor << 8 | patch) and ABI, in a birth only. */
  fw?: number;
  abi?: number;
  /** The owner's data policy, in a birth of a provisioned device. */
  policy?: DataPolicy;
}

export interface DataPolicy {
  waveform: "on_request" | "never";
  detail: "full" | "summary";
}

export function encodeState(state: DeviceState): Uint8Array {
  const map = new Map<string, unknown>([["online", state.online], ["session", state.session]]);
  if (state.fw !== undefined) map.set("fw", state.fw);
  if (state.abi !== undefined) map.set("abi", state.abi);
  if (state.policy !== undefined) map.set("policy", new Map<string, unknown>([["waveform", state.policy.waveform], ["detail", state.policy.detail]]));
  return encodeCbor(map);
}

export function decodeState(bytes: Uint8Array): DeviceState {
  const value = decodeCbor(bytes, 1024);
  const online = value instanceof Map ? value.get("online") : undefined;
  const session = value instanceof Map ? value.get("session") : undefined;
  if (typeof online !== "boolean" || typeof session !== "number" || !Number.isSafeInteger(session) || session < 0) {
    throw new ProtocolError("bad_message", 'a state message is a map with "online" (bool) and "session" (uint)');
  }
  const state: DeviceState = { online, session };
  const fw = (value as Map<string, unknown>).get("fw");
  const abi = (value as Map<string, unknown>).get("abi");
  if (typeof fw === "number") state.fw = fw;
  if (typeof abi === "number") state.abi = abi;
  const policy = (value as Map<string, unknown>).get("policy");
  if (policy instanceof Map) {
    const waveform = policy.get("waveform");
    const detail = policy.get("detail");
    if ((waveform === "on_request" || waveform === "never") && (detail === "full" || detail === "summary")) state.policy = { waveform, detail };
    else throw new ProtocolError("bad_message", 'a state\'s policy is {"waveform": "on_request" | "never", "detail": "full" | "summary"}');
  }
  return state;
}

/** Whether `incoming` should replace `current` as what is known of a device. */
export function supersedes(incoming: DeviceState, current: DeviceState | undefined): boolean {
  if (current === undefined) return true;
  if (incoming.session !== current.session) return incoming.session > current.session;
  return !incoming.online; // the same session's death follows its birth
}

export function formatVersion(version: number): string {
  return `${(version >> 16) & 0xff}.${(version >> 8) & 0xff}.${version & 0xff}`;
}
