// The firmware's events (ABI.md, "Events"), each one CBOR map written into the outbox and handed
// to the host; and the names the events and the telemetry give to the firmware's numbers.

import * as policy from "./policy";
import * as trend from "./trend";
import * as advice from "./advice";
import * as persist from "./persist";
import { writeBegin, writeEnd, writeMap, writeTextAscii, writeKeyInt, writeBool, writeF32 } from "./cbor";
import { outbox, outPtr } from "./device";
import { host_publish } from "./host";
import { FIRMWARE_VERSION } from "./version";
import { STATUS_OK, STATUS_NO_ROOM, STATUS_PUBLISH_FAILED, STATUS_STORAGE, KIND_EVENT } from "./status";
import { Text, T } from "./names";

/** Tables of names (plain u32 Texts, a number's name at its index): nameOf(FAULT_NAMES, fault).
 *  The numbers they name are the firmware's own, never the host's: always in range. */
export function nameOf(names: usize, index: i32): Text {
  return load<u32>(names + (<usize>index << 2));
}

/** analysis.ts FAULT_*, as the telemetry and the events name them. */
export const FAULT_NAMES: usize = memory.data<u32>([
  T.none, T.imbalance, T.misalignment, T.outer_race, T.inner_race, T.rolling_element, T.cavitation, T.unknown,
  T.sensor_fault,
]);
/** trend.ts ALARM_*. */
export const ALARM_NAMES: usize = memory.data<u32>([T.none, T.alert, T.danger]);

/** Starts a message in the outbox. */
export function messageBegin(): void {
  writeBegin(outPtr(), outbox.length);
}

/** Starts the event {"event": `name`, ...} of `entries` entries, its "event" one among them. */
function eventBegin(entries: i32, name: Text): void {
  messageBegin();
  writeMap(entries);
  writeTextAscii(T.event);
  writeTextAscii(name);
}

/** Hands the message written since writeBegin() to the host as `kind` (status.ts KIND_*). */
export function publish(kind: i32): i32 {
  const len = writeEnd();
  if (len < 0) return STATUS_NO_ROOM;
  return host_publish(kind, outPtr(), len) == 0 ? STATUS_OK : STATUS_PUBLISH_FAILED;
}

/** {"event": "boot", "boot": n, "fw": version}: the firmware started, for the n-th time. */
export function publishBoot(boot_count: u32): i32 {
  eventBegin(3, T.boot);
  writeKeyInt(T.boot, <i64>boot_count);
  writeKeyInt(T.fw, <i64>FIRMWARE_VERSION);
  return publish(KIND_EVENT);
}

/** {"event": "policy", "provisioned": bool, "waveform": text, "detail": text}: what may leave
 *  the device, for the host to report in its birth. */
export function publishPolicy(): i32 {
  eventBegin(4, T.policy);
  writeTextAscii(T.provisioned);
  writeBool(policy.provisioned);
  writeTextAscii(T.waveform);
  writeTextAscii(policy.waveform == policy.WAVEFORM_NEVER ? T.never : T.on_request);
  writeTextAscii(T.detail);
  writeTextAscii(policy.detail == policy.DETAIL_SUMMARY ? T.summary : T.full);
  return publish(KIND_EVENT);
}

/** {"event": "alarm", "level": "none" | "alert" | "danger", "health": smoothed}: the alarm
 *  level changed (after its persistence, with hysteresis). */
export function publishAlarm(): void {
  eventBegin(3, T.alarm);
  writeTextAscii(T.level);
  writeTextAscii(nameOf(ALARM_NAMES, trend.level));
  writeTextAscii(T.health);
  writeF32(<f32>trend.health_trend);
  publish(KIND_EVENT);
}

/** {"event": "error", "code": status, "what": what}: a bad input the firmware refused, or
 *  ("storage") a write of its state the host could not make. */
export function publishError(status: i32, what: Text): void {
  eventBegin(3, T.error);
  writeKeyInt(T.code, <i64>status);
  writeTextAscii(T.what);
  writeTextAscii(what);
  publish(KIND_EVENT);
}

/** After a write of the running state (persist.ts): the first failure of a run is told as
 *  {"event": "error", "code": -8, "what": "storage"}; the write is tried again a minute later. */
export function reportStorage(status: i32): void {
  if (status == STATUS_STORAGE && persist.failures == 1) publishError(STATUS_STORAGE, T.storage);
}

/** {"event": "advice", "action": text, ?"fault": text, ?"by": Unix seconds}: the advice
 *  changed; "none" (without fault and by) once the pump is out of alarm. */
export function publishAdvice(time_ms: i64): void {
  const advised = advice.action != advice.ACTION_NONE;
  eventBegin(advised ? 4 : 2, T.advice);
  writeTextAscii(T.action);
  writeTextAscii(nameOf(advice.ACTION_NAMES, advice.action));
  if (advised) {
    writeTextAscii(T.fault);
    writeTextAscii(nameOf(FAULT_NAMES, advice.cause));
    writeKeyInt(T.by, time_ms / 1000 + <i64>Math.ceil(advice.act_within_h * 3600.0));
  }
  publish(KIND_EVENT);
}

/** {"event": "maintenance", "action": text}: the pump was maintained (advice.ts ACTION_*). */
export function publishMaintenance(action: i32): i32 {
  eventBegin(2, T.maintenance);
  writeTextAscii(T.action);
  writeTextAscii(nameOf(advice.ACTION_NAMES, action));
  return publish(KIND_EVENT);
}
