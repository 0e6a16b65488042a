// The prescriptive step: what to do about the pump, and by when, from the diagnosis the
// windows keep making and the trend's alarm and forecast. The evidence for each fault is an
// exponentially weighted share of recent windows that diagnosed it, so one window's verdict
// never changes the advice; it is kept in storage with the advice, so a reboot changes nothing.

import * as persist from "./persist";
import * as trend from "./trend";
import { FAULT_NONE, FAULT_UNKNOWN, FAULT_SENSOR } from "./analysis";
import { ASSERTS } from "./assert";
import { Text, T } from "./names";

export const ACTION_NONE: i32 = 0;
export const ACTION_INSPECT: i32 = 1;
export const ACTION_REPLACE_BEARING: i32 = 2;
export const ACTION_BALANCE_IMPELLER: i32 = 3;
export const ACTION_ALIGN_SHAFT: i32 = 4;
export const ACTION_CHECK_SUCTION: i32 = 5;
export const ACTION_CHECK_SENSOR: i32 = 6;
export const ACTIONS: i32 = 7;
export const ACTION_NAMES: usize = memory.data<u32>([
  T.none, T.inspect, T.replace_bearing, T.balance_impeller, T.align_shaft, T.check_suction, T.check_sensor,
]);

/** Diagnoses (analysis.ts FAULT_*): none, imbalance, misalignment, outer race, inner race,
 *  rolling element, cavitation, unknown, sensor fault. */
const FAULTS: i32 = 9;
/** What each diagnosis calls for. */
const ACTION_FOR_FAULT: usize = memory.data<i32>([
  ACTION_INSPECT, ACTION_BALANCE_IMPELLER, ACTION_ALIGN_SHAFT, ACTION_REPLACE_BEARING,
  ACTION_REPLACE_BEARING, ACTION_REPLACE_BEARING, ACTION_CHECK_SUCTION, ACTION_INSPECT,
  ACTION_CHECK_SENSOR,
]);
/** Weight of the newest window in each fault's evidence (about the last ten windows). */
const EVIDENCE_SMOOTHING: f32 = 0.1;
/** A fault is the cause when its evidence is at least this share of recent windows. */
const EVIDENCE_MIN: f32 = 0.3;
/** Windows in a row another cause must be the strongest to take over. */
const CHANGE_WINDOWS: i32 = 12;
/** Hours to act within while there is no forecast: at alert, at danger. */
const ALERT_WITHIN_H: f64 = 14.0 * 24.0;
const DANGER_WITHIN_H: f64 = 48.0;

const ADVICE_MAGIC: u32 = 0x56444124; // "$ADV"
const ADVICE_BYTES: i32 = 8 + FAULTS * 4; // magic, action, cause, pad, evidence (f32 each)
/** A record written before the sensor fault was a diagnosis holds the evidence of the first
 *  eight only; the sensor fault's starts at 0. */
const ADVICE_BYTES_EIGHT_FAULTS: i32 = 8 + 8 * 4;
const advice_record: usize = persist.advice_section;
const evidence: usize = memory.data(FAULTS * 4);

// Every diagnosis has its evidence and its action; its section of the state record (persist.ts) is 44 bytes (ABI.md).
if (FAULTS != FAULT_SENSOR + 1) ERROR("advice keeps evidence for another number of diagnoses than analysis.ts has");
if (ADVICE_BYTES != 44 || ADVICE_BYTES != persist.ADVICE_BYTES) ERROR("the advice record is not the 44 bytes ABI.md states");
if (ADVICE_BYTES_EIGHT_FAULTS >= ADVICE_BYTES) ERROR("the older advice record is not the shorter");
if (ASSERTS) assert(load<u32>(ACTION_NAMES + <usize>(ACTIONS - 1) * 4) == T.check_sensor && load<i32>(ACTION_FOR_FAULT + <usize>(FAULTS - 1) * 4) == ACTION_CHECK_SENSOR, "advice's tables do not match its constants");

export let action: i32 = ACTION_NONE;
/** The diagnosis behind the action (FAULT_*), FAULT_UNKNOWN when none stands out. */
export let cause: i32 = 0;
/** Hours from the window until the action is due; negative without an action. */
export let act_within_h: f64 = -1.0;
export let action_changed: bool = false;
let candidate: i32 = 0;
let candidate_run: i32 = 0;

export function restore(): void {
  memory.fill(evidence, 0, FAULTS * 4);
  action = ACTION_NONE;
  cause = 0;
  const read = persist.readSection(persist.SECTION_ADVICE);
  if (ASSERTS) assert(read <= ADVICE_BYTES, "host read the advice record past its buffer");
  if ((read == ADVICE_BYTES || read == ADVICE_BYTES_EIGHT_FAULTS) && load<u32>(advice_record) == ADVICE_MAGIC) {
    action = min(<i32>load<u8>(advice_record, 4), ACTIONS - 1);
    cause = min(<i32>load<u8>(advice_record, 5), FAULTS - 1);
    if (ASSERTS) assert(read - 8 <= FAULTS * 4, "advice evidence past its buffer");
    memory.copy(evidence, advice_record + 8, read - 8);
  }
}

/** Forgets the evidence and the advice (after maintenance). */
export function reset(): void {
  memory.fill(evidence, 0, FAULTS * 4);
  action_changed = action != ACTION_NONE;
  action = ACTION_NONE;
  cause = 0;
  act_within_h = -1.0;
  save();
}

function save(): void {
  // What is written must read back as it is (restore() clamps action and cause).
  if (ASSERTS) assert(action >= 0 && action < ACTIONS && cause >= 0 && cause < FAULTS, "advice record with a bad action or cause");
  store<u32>(advice_record, ADVICE_MAGIC);
  store<u8>(advice_record, <u8>action, 4);
  store<u8>(advice_record, <u8>cause, 5);
  store<u16>(advice_record, 0, 6);
  memory.copy(advice_record + 8, evidence, FAULTS * 4);
  persist.changed(persist.SECTION_ADVICE, ADVICE_BYTES);
}

/** Takes one window's diagnosis, after trend.update(): while the pump is in alarm, the action
 *  its most evident fault calls for (inspect when none stands out), due before the forecast's
 *  pessimistic end, or within a fixed time for the level when there is no forecast. */
export function update(fault: i32): void {
  if (ASSERTS) assert(fault >= 0 && fault < FAULTS, "advice given a diagnosis it does not know");
  for (let k = 0; k < FAULTS; k++) {
    const at = evidence + (<usize>k << 2);
    const seen: f32 = k == fault ? 1.0 : 0.0;
    store<f32>(at, load<f32>(at) + EVIDENCE_SMOOTHING * (seen - load<f32>(at)));
  }
  const previous = action;
  if (trend.level == trend.ALARM_NONE) {
    action = ACTION_NONE;
    act_within_h = -1.0;
    candidate_run = 0;
  } else {
    // The strongest evidence among the faults proper (not "none", not "unknown").
    let best = FAULT_UNKNOWN;
    let best_evidence: f32 = EVIDENCE_MIN;
    for (let k = 0; k < FAULTS; k++) {
      if (k == FAULT_NONE || k == FAULT_UNKNOWN) continue;
      const e = load<f32>(evidence + (<usize>k << 2));
      if (e >= best_evidence) {
        best = k;
        best_evidence = e;
      }
    }
    // The first advice comes with the alarm; another cause takes over only after it has been
    // the strongest for CHANGE_WINDOWS windows in a row.
    if (action == ACTION_NONE || best == cause) {
      cause = best;
      candidate_run = 0;
    } else {
      candidate_run = best == candidate ? candidate_run + 1 : 1;
      candidate = best;
      if (candidate_run >= CHANGE_WINDOWS) {
        cause = best;
        candidate_run = 0;
      }
    }
    action = load<i32>(ACTION_FOR_FAULT + (<usize>cause << 2));
    const fixed = trend.level == trend.ALARM_DANGER ? DANGER_WITHIN_H : ALERT_WITHIN_H;
    act_within_h = trend.rul_low_h >= 0.0 ? Math.min(trend.rul_low_h, fixed) : fixed;
  }
  action_changed = action != previous;
  save();
}
