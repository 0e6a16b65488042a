// CDDL (RFC 8610), the part that protocol/impeller.cddl uses and SUIT manifests would use next:
// the schema model shared by protocol/cddl/ (types, groups, rules, the prelude), its limits, and
// CddlError. Whatever the validator cannot check completely is refused when the schema is
// parsed (parse.ts, compile.ts), so a schema that parses is one whose every word is enforced.

export type CddlErrorCode = "cddl_syntax" | "cddl_undefined_rule" | "cddl_unsupported" | "cddl_usage";

export class CddlError extends Error {
  readonly code: CddlErrorCode;

  constructor(code: CddlErrorCode, message: string) {
    super(message);
    this.name = "CddlError";
    this.code = code;
  }
}

/** Values and rule references nest at most this deep; deeper input is a problem, not a stack overflow. */
export const DEPTH_MAX = 64;
/** Type checks per validation: choices of maps of choices could otherwise take forever. */
export const STEPS_MAX = 1_000_000;
/** Alternatives a map's group may expand to (group choices and optional groups multiply). */
export const MAP_ALTERNATIVES_MAX = 256;
export const DESCRIPTION_CHARS_MAX = 120;
/** Tags cbor-x turns into native values (Date, bigint, typed arrays, Set, ...): a #6.N(...)
 *  for these could never match a decoded value, so the schema is refused instead. */
export const NATIVE_TAGS = new Set([0, 1, 2, 3, 4, 5, 27, 28, 29, 51, 105, 258, 259, 55799]);
export const isNativeTag = (tag: number): boolean => NATIVE_TAGS.has(tag) || (tag >= 64 && tag <= 87) || (tag >= 216 && tag <= 255);

export interface At { readonly line: number; readonly column: number }
export type Literal = number | bigint | string | Uint8Array | boolean | null | undefined;
export type CddlType =
  | { kind: "prim"; name: string }
  | { kind: "value"; value: Literal; float?: boolean }
  | { kind: "ref"; name: string; at: At }
  | { kind: "range"; lo: CddlType; hi: CddlType; exclusive: boolean; at: At; bounds?: [Literal, Literal, boolean] }
  | { kind: "choice"; options: CddlType[] }
  | { kind: "map"; group: CddlGroup; alternatives?: Member[][] }
  | { kind: "array"; group: CddlGroup }
  | { kind: "tag"; tag: number; type: CddlType }
  | { kind: "control"; op: string; target: CddlType; controller: CddlType; at: At; regexp?: RegExp };
export interface CddlGroup { choices: Entry[][] }
/** One group entry: a keyed or labelled type, a keyless type (or group rule name), or an inline group. */
export interface Entry { min: number; max: number; key?: CddlType; label?: string; type?: CddlType; group?: CddlGroup; at: At }
/** A map member after inline groups are expanded. */
export interface Member { key: CddlType; value: CddlType; min: number; max: number }
export type CddlRule = { kind: "type"; type: CddlType } | { kind: "group"; group: CddlGroup };
export interface CddlSchema { readonly rules: ReadonlyMap<string, CddlRule> }

export const PRIMS = ["any", "uint", "nint", "int", "float", "float16", "float32", "float64", "float16-32", "float32-64",
  "number", "tstr", "text", "bstr", "bytes", "bool"];
export const PRELUDE = new Map<string, CddlRule>([
  ...PRIMS.map((name): [string, CddlRule] => [name, { kind: "type", type: { kind: "prim", name } }]),
  ...([["true", true], ["false", false], ["nil", null], ["null", null], ["undefined", undefined]] as const)
    .map(([name, value]): [string, CddlRule] => [name, { kind: "type", type: { kind: "value", value } }]),
]);

export function lookup(rules: ReadonlyMap<string, CddlRule>, name: string): CddlRule | undefined {
  return rules.get(name) ?? PRELUDE.get(name);
}

export function where(at: At): string {
  return `line ${at.line}:${at.column}`;
}

export function refuse(code: CddlErrorCode, at: At, message: string): never {
  throw new CddlError(code, `${where(at)}: ${message}`);
}

export const isNumeric = (v: unknown): v is number | bigint => typeof v === "number" || typeof v === "bigint";
export const isInt = (v: unknown): v is number | bigint => typeof v === "bigint" || Number.isInteger(v);
