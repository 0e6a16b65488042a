// SenML (RFC 8428) in its CBOR representation: integer labels, base fields, resolution of a
// pack into plain records. Decoding checks every label's type; anything else is a ProtocolError.

import { decodeCbor, encodeCbor } from "./cbor.js";
import { ProtocolError } from "./errors.js";

/** SenML CBOR labels (RFC 8428 §6). */
export const SENML_LABELS = {
  bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6,
  n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8,
} as const;

export type SenmlField = keyof typeof SENML_LABELS;

export interface SenmlRecord {
  bver?: number; bn?: string; bt?: number; bu?: string; bv?: number; bs?: number;
  n?: string; u?: string; v?: number; vs?: string; vb?: boolean; s?: number; t?: number;
  ut?: number; vd?: Uint8Array;
}

/** A record after base fields are applied (RFC 8428 §4.6). Time in seconds. */
export interface ResolvedRecord {
  name: string;
  unit?: string;
  value?: number;
  stringValue?: string;
  boolValue?: boolean;
  dataValue?: Uint8Array;
  sum?: number;
  time: number;
}

const LABEL_TO_FIELD = new Map<number, SenmlField>(
  Object.entries(SENML_LABELS).map(([field, label]) => [label, field as SenmlField]),
);

const TEXT_FIELDS = new Set<SenmlField>(["bn", "bu", "n", "u", "vs"]);
const NUMBER_FIELDS = new Set<SenmlField>(["bver", "bt", "bv", "bs", "v", "s", "t", "ut"]);
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:./_-]*$/;

export function encodeSenml(records: readonly SenmlRecord[]): Uint8Array {
  const pack = records.map((record) => {
    const map = new Map<number, unknown>();
    for (const [field, value] of Object.entries(record)) {
      if (value === undefined) continue;
      const label = SENML_LABELS[field as SenmlField];
      if (label === undefined) throw new ProtocolError("bad_senml", `unknown SenML field ${JSON.stringify(field)}`);
      map.set(label, value);
    }
    return map;
  });
  return encodeCbor(pack);
}

function checkField(field: SenmlField, value: unknown, index: number): void {
  const ok = TEXT_FIELDS.has(field) ? typeof value === "string"
    : NUMBER_FIELDS.has(field) ? typeof value === "number" && Number.isFinite(value)
    : field === "vb" ? typeof value === "boolean"
    : value instanceof Uint8Array;
  if (!ok) throw new ProtocolError("bad_senml", `record ${index}: field ${field} has the wrong type`);
}

/** Decodes a SenML CBOR pack into records with named fields, checking every label and type. */
export function decodeSenml(bytes: Uint8Array, maxBytes?: number): SenmlRecord[] {
  const pack = decodeCbor(bytes, maxBytes);
  if (!Array.isArray(pack)) throw new ProtocolError("bad_senml", "a SenML pack is a CBOR array of records");
  return pack.map((item: unknown, index: number) => {
    if (!(item instanceof Map)) throw new ProtocolError("bad_senml", `record ${index} is not a CBOR map`);
    const record: Record<string, unknown> = {};
    for (const [label, value] of item) {
      const field = typeof label === "number" ? LABEL_TO_FIELD.get(label) : undefined;
      if (field === undefined) {
        // RFC 8428 §4.4: labels ending in "_" must be understood; integers we do not know are extensions we refuse.
        throw new ProtocolError("bad_senml", `record ${index} has unknown label ${String(label)}`);
      }
      checkField(field, value, index);
      record[field] = value;
    }
    return record as SenmlRecord;
  });
}

/** Applies base name, time, unit, value and sum, giving each record its full name and time. */
export function resolveSenml(records: readonly SenmlRecord[]): ResolvedRecord[] {
  let baseName = "";
  let baseTime = 0;
  let baseUnit: string | undefined;
  let baseValue = 0;
  let baseSum = 0;
  const resolved: ResolvedRecord[] = [];
  records.forEach((record, index) => {
    if (record.bver !== undefined && record.bver > 10) {
      throw new ProtocolError("bad_senml", `record ${index}: SenML version ${record.bver} is newer than this decoder`);
    }
    if (record.bn !== undefined) baseName = record.bn;
    if (record.bt !== undefined) baseTime = record.bt;
    if (record.bu !== undefined) baseUnit = record.bu;
    if (record.bv !== undefined) baseValue = record.bv;
    if (record.bs !== undefined) baseSum = record.bs;
    const values = [record.v, record.vs, record.vb, record.vd].filter((v) => v !== undefined).length;
    if (values === 0 && record.s === undefined) {
      if (record.n === undefined) return; // a record of base fields only
      throw new ProtocolError("bad_senml", `record ${index} has a name but no value or sum`);
    }
    if (values > 1) throw new ProtocolError("bad_senml", `record ${index} has more than one value field`);
    const name = baseName + (record.n ?? "");
    if (!NAME_PATTERN.test(name)) throw new ProtocolError("bad_senml", `record ${index}: name ${JSON.stringify(name)} is not a valid SenML name`);
    const out: ResolvedRecord = { name, time: baseTime + (record.t ?? 0) };
    const unit = record.u ?? baseUnit;
    if (unit !== undefined) out.unit = unit;
    if (record.v !== undefined) out.value = baseValue + record.v;
    if (record.vs !== undefined) out.stringValue = record.vs;
    if (record.vb !== undefined) out.boolValue = record.vb;
    if (record.vd !== undefined) out.dataValue = record.vd;
    if (record.s !== undefined) out.sum = baseSum + record.s;
    resolved.push(out);
  });
  return resolved;
}
