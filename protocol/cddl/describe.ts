// How CDDL validation problems name values and types: short, and the same in every message.

import { Tag } from "cbor-x";
import { DESCRIPTION_CHARS_MAX, type CddlType } from "./schema.js";

export function entriesOf(v: unknown): [unknown, unknown][] | undefined {
  if (v instanceof Map) return [...v];
  if (typeof v !== "object" || v === null) return undefined;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null ? Object.entries(v) : undefined;
}

export function shorten(text: string): string {
  return text.length > DESCRIPTION_CHARS_MAX ? `${text.slice(0, DESCRIPTION_CHARS_MAX - 1)}…` : text;
}

export function describeValue(v: unknown): string {
  if (typeof v === "string") return shorten(JSON.stringify(v));
  if (v instanceof Uint8Array) return `h'${Buffer.from(v.subarray(0, 16)).toString("hex")}${v.length > 16 ? "…" : ""}'`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Tag) return `tag ${v.tag}`;
  if (entriesOf(v) !== undefined) return "a map";
  return typeof v === "object" && v !== null ? `a ${v.constructor.name}` : String(v);
}

export function describeType(type: CddlType): string {
  switch (type.kind) {
    case "prim": return type.name;
    case "ref": return type.name;
    case "value": {
      const value = type.value;
      if (value instanceof Uint8Array || typeof value === "string") return describeValue(value);
      return type.float && Number.isInteger(value) ? `${value}.0` : String(value);
    }
    case "range": return `${describeType(type.lo)}${type.exclusive ? "..." : ".."}${describeType(type.hi)}`;
    case "choice": return shorten(type.options.map(describeType).join(" / "));
    case "map": return "a map";
    case "array": return "an array";
    case "tag": return `#6.${type.tag}(${describeType(type.type)})`;
    case "control": return `${describeType(type.target)} .${type.op} ${describeType(type.controller)}`;
  }
}

export function segment(key: unknown): string {
  if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `.${key}`;
  return `[${typeof key === "string" ? JSON.stringify(key) : describeValue(key)}]`;
}

/** What a value is, for choosing which alternative of a failed choice to blame. */
export function shapeOfValue(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v instanceof Tag) return `tag ${v.tag}`;
  return entriesOf(v) !== undefined ? "map" : "scalar";
}
