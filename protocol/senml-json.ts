// SenML's JSON representation (RFC 8428 §5), for comparing sizes with the CBOR form and for
// people who want JSON: the same records with text labels.

import { SENML_LABELS, type SenmlRecord } from "./senml.js";

/** The pack as SenML JSON text, fields in SenML's label order. */
export function senmlToJson(records: readonly SenmlRecord[]): string {
  const order = Object.keys(SENML_LABELS) as (keyof SenmlRecord)[];
  return JSON.stringify(records.map((record) => {
    const out: Record<string, unknown> = {};
    for (const field of order) {
      const value = record[field];
      if (value === undefined) continue;
      out[field] = value instanceof Uint8Array ? Buffer.from(value).toString("base64url") : value;
    }
    return out;
  }));
}
