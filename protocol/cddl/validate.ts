// CDDL validation: a decoded value (or the items of a CBOR sequence) against a rule of a parsed
// schema, every problem with its path; bounded in depth and in steps.

import { Tag } from "cbor-x";
import { decodeCbor, decodeCborSequence } from "../cbor.js";
import { ProtocolError } from "../errors.js";
import { literal } from "./compile.js";
import { describeType, describeValue, entriesOf, segment, shapeOfValue, shorten } from "./describe.js";
import { CddlError, DEPTH_MAX, isInt, isNumeric, lookup, STEPS_MAX, type CddlGroup, type CddlRule, type CddlSchema, type CddlType, type Entry, type Literal, type Member } from "./schema.js";


function isHalf(v: number): boolean {
  const abs = Math.abs(v);
  if (abs === 0 || !Number.isFinite(abs)) return true;
  if (abs > 65504 || abs < 2 ** -24) return false;
  let exponent = Math.max(Math.floor(Math.log2(abs)), -14);
  if (2 ** exponent > abs && exponent > -14) exponent--; // Math.log2 may round across a power of two
  if (2 ** (exponent + 1) <= abs) exponent++;
  return Number.isInteger(abs / 2 ** (exponent - 10));
}

function isPrim(name: string, v: unknown): boolean {
  switch (name) {
    case "any": return true;
    case "uint": return isInt(v) && v >= 0;
    case "nint": return isInt(v) && v < 0;
    case "int": return isInt(v);
    case "number": return isNumeric(v);
    case "float16": return typeof v === "number" && isHalf(v);
    case "float32": case "float16-32": return typeof v === "number" && (Number.isNaN(v) || Math.fround(v) === v);
    case "float": case "float64": case "float32-64": return typeof v === "number";
    case "tstr": case "text": return typeof v === "string";
    case "bstr": case "bytes": return v instanceof Uint8Array;
    case "bool": return typeof v === "boolean";
    default: throw new Error(`unknown prelude type ${name}`);
  }
}

function equal(literal: Literal, v: unknown): boolean {
  if (isNumeric(literal)) return isNumeric(v) && literal == v; // loose, so 1n (a 64-bit decode) equals 1
  if (literal instanceof Uint8Array) return v instanceof Uint8Array && Buffer.from(literal).equals(Buffer.from(v));
  return literal === v;
}


const COMPARISONS: Record<string, [(a: number | bigint, b: number | bigint) => boolean, string]> = {
  le: [(a, b) => a <= b, "is greater than"],
  lt: [(a, b) => a < b, "is not less than"],
  ge: [(a, b) => a >= b, "is less than"],
  gt: [(a, b) => a > b, "is not greater than"],
  eq: [(a, b) => a == b, "is not"], // loose, so 1n equals 1
  ne: [(a, b) => a != b, "is"],
};

interface ArrayFailure { pos: number; problems: string[] }

class Checker {
  private steps = 0;

  constructor(private readonly rules: ReadonlyMap<string, CddlRule>) {}

  type(type: CddlType, v: unknown, path: string, depth: number): string[] {
    if (depth > DEPTH_MAX) return [`${path}: nested deeper than ${DEPTH_MAX} levels`];
    if (++this.steps > STEPS_MAX) return [`${path}: validation stopped after ${STEPS_MAX} steps`];
    const not = (what = describeType(type)): string[] => [`${path}: ${describeValue(v)} is not ${what}`];
    switch (type.kind) {
      case "prim": return isPrim(type.name, v) ? [] : not();
      case "value": return equal(type.value, v) ? [] : not();
      case "ref": {
        const rule = lookup(this.rules, type.name);
        return rule?.kind === "type" ? this.type(rule.type, v, path, depth + 1) : not(`${type.name} (nothing is defined for it)`);
      }
      case "range": {
        const [lo, hi, integer] = type.bounds!;
        const [low, high] = [lo as number | bigint, hi as number | bigint];
        const inside = isNumeric(v) && (!integer || isInt(v)) && v >= low && (type.exclusive ? v < high : v <= high);
        return inside ? [] : not(`in ${describeType(type)}`);
      }
      case "choice": return this.choice(type, v, path, depth);
      case "map": {
        const entries = entriesOf(v);
        return entries === undefined ? not("a map") : this.best(type.alternatives!.map((alt) => () => this.members(alt, entries, path, depth)), path);
      }
      case "array": return Array.isArray(v) ? this.sequence(type.group, v, path, depth) : not("an array");
      case "tag": return v instanceof Tag && v.tag === type.tag ? this.type(type.type, v.value, path, depth + 1) : not();
      case "control": {
        const problems = this.type(type.target, v, path, depth + 1);
        return problems.length > 0 ? problems : this.control(type, v, path, depth);
      }
    }
  }

  /** The first alternative that passes, or the problems of the one with fewest. */
  private best(alternatives: (() => string[])[], path: string): string[] {
    let fewest: string[] | undefined;
    for (const alternative of alternatives) {
      const problems = alternative();
      if (problems.length === 0) return problems;
      if (fewest === undefined || problems.length < fewest.length) fewest = problems;
    }
    return fewest ?? [`${path}: nothing can match an empty choice`];
  }

  /** The non-choice types a choice stands for, through rule names; a rule already being
   *  expanded stays a name, so `a = a / int` expands once. */
  private leaves(type: CddlType, expanding: Set<string>): CddlType[] {
    if (type.kind === "choice") return type.options.flatMap((option) => this.leaves(option, expanding));
    if (type.kind !== "ref" || expanding.has(type.name)) return [type];
    const rule = lookup(this.rules, type.name);
    if (rule === undefined) return [];
    return rule.kind === "type" && rule.type.kind === "choice" ? this.leaves(rule.type, new Set(expanding).add(type.name)) : [type];
  }

  /** A type with rule names followed to what they stand for. */
  private resolve(type: CddlType): CddlType {
    for (let depth = 0; type.kind === "ref" && depth < DEPTH_MAX; depth++) {
      const rule = lookup(this.rules, type.name);
      if (rule?.kind !== "type") break;
      type = rule.type;
    }
    return type;
  }

  /** Whether a failed alternative is the one to blame: it is a map, array or tag like the
   *  value, or a control whose base type the value has. */
  private alike(leaf: CddlType, v: unknown, shape: string, path: string, depth: number): boolean {
    const type = this.resolve(leaf);
    if (type.kind === "control") return this.type(type.target, v, path, depth + 1).length === 0;
    const kind = type.kind === "map" || type.kind === "array" ? type.kind : type.kind === "tag" ? `tag ${type.tag}` : "scalar";
    return shape !== "scalar" && kind === shape;
  }

  private choice(type: CddlType, v: unknown, path: string, depth: number): string[] {
    const leaves = this.leaves(type, new Set());
    const shape = shapeOfValue(v);
    const alike = leaves.filter((leaf) => this.alike(leaf, v, shape, path, depth));
    const others = leaves.filter((leaf) => !alike.includes(leaf));
    for (const leaf of others) if (this.type(leaf, v, path, depth + 1).length === 0) return [];
    if (alike.length === 0) return [`${path}: ${describeValue(v)} is not ${shorten(leaves.map(describeType).join(" / "))}`];
    return this.best(alike.map((leaf) => () => this.type(leaf, v, path, depth + 1)), path);
  }

  private control(type: CddlType & { kind: "control" }, v: unknown, path: string, depth: number): string[] {
    const limit = literal(this.rules, type.controller)?.value;
    switch (type.op) {
      case "regexp":
        return typeof v === "string" && type.regexp!.test(v) ? [] : [`${path}: ${describeValue(v)} does not match .regexp ${describeType(type.controller)}`];
      case "cbor": {
        if (!(v instanceof Uint8Array)) return [`${path}: ${describeValue(v)} is not a bstr holding CBOR`];
        try {
          return this.type(type.controller, decodeCbor(v, Math.max(v.length, 1)), `${path}<<>>`, depth + 1);
        } catch (error) {
          if (error instanceof ProtocolError) return [`${path}: ${error.message}`];
          throw error;
        }
      }
      case "size": {
        if (isInt(v)) {
          const fits = isNumeric(limit) && v >= 0 && v < 256n ** BigInt(limit);
          return fits ? [] : [`${path}: ${v} does not fit in ${describeType(type.controller)} bytes`];
        }
        const size = typeof v === "string" ? Buffer.byteLength(v) : v instanceof Uint8Array ? v.length : undefined;
        const fits = size !== undefined && this.type(type.controller, size, path, depth + 1).length === 0;
        return fits ? [] : [`${path}: ${describeValue(v)} has ${size ?? "no"} bytes, .size wants ${describeType(type.controller)}`];
      }
      default: {
        const [holds, says] = COMPARISONS[type.op];
        return isNumeric(v) && holds(v, limit as number | bigint) ? [] : [`${path}: ${describeValue(v)} ${says} ${describeType(type.controller)}`];
      }
    }
  }

  /** RFC 8610 §3.5: members are matched in order, each map entry is consumed at most once, and
   *  every entry must be consumed. A key that matched but whose value did not is blamed on the
   *  value rather than reported as unexpected. */
  private members(members: Member[], entries: [unknown, unknown][], path: string, depth: number): string[] {
    const consumed = entries.map(() => false);
    const valueProblems = new Map<number, string[]>();
    const reported = new Set<number>();
    const problems: string[] = [];
    for (const member of members) {
      const exact = literal(this.rules, member.key);
      const matches = (key: unknown): boolean => exact !== undefined ? equal(exact.value, key) : this.type(member.key, key, path, depth + 1).length === 0;
      let count = 0;
      const keyed: number[] = [];
      for (let i = 0; i < entries.length && count < member.max; i++) {
        const [key, value] = entries[i];
        if (consumed[i] || !matches(key)) continue;
        const found = this.type(member.value, value, path + segment(key), depth + 1);
        if (found.length === 0) { consumed[i] = true; count++; continue; }
        keyed.push(i);
        if (!valueProblems.has(i)) valueProblems.set(i, found);
      }
      if (count >= member.min) continue;
      for (const i of keyed.filter((i) => !reported.has(i))) { problems.push(...valueProblems.get(i)!); reported.add(i); }
      if (keyed.length === 0) problems.push(`${path}: ${count === 0 ? "missing" : `only ${count} of at least ${member.min}`} ${this.describeMember(member)}`);
    }
    entries.forEach(([key], i) => {
      if (!consumed[i] && !reported.has(i)) problems.push(...(valueProblems.get(i) ?? [`${path}: unexpected key ${describeValue(key)}`]));
    });
    return problems;
  }

  private describeMember(member: Member): string {
    const key = literal(this.rules, member.key);
    return key !== undefined ? `key ${describeType(key)}` : `${describeType(member.key)} => ${describeType(member.value)}`;
  }

  /** Array or sequence items against a group: the set of positions each entry can end at is
   *  carried forward, so occurrences and choices need no backtracking. */
  sequence(group: CddlGroup, items: unknown[], path: string, depth: number): string[] {
    const failure: ArrayFailure = { pos: -1, problems: [] };
    const ends = this.group(group, items, [0], path, depth, failure);
    if (ends.includes(items.length)) return [];
    const furthest = Math.max(-1, ...ends);
    if (failure.pos >= furthest && failure.pos >= 0) return failure.problems;
    if (furthest < 0) return [`${path}: nothing matches`];
    return [`${path}[${furthest}]: unexpected item ${describeValue(items[furthest])}`];
  }

  private group(group: CddlGroup, items: unknown[], starts: number[], path: string, depth: number, failure: ArrayFailure): number[] {
    if (depth > DEPTH_MAX || ++this.steps > STEPS_MAX) {
      failure.problems = [`${path}: ${depth > DEPTH_MAX ? `nested deeper than ${DEPTH_MAX} levels` : `validation stopped after ${STEPS_MAX} steps`}`];
      failure.pos = items.length;
      return [];
    }
    const ends = new Set<number>();
    for (const entries of group.choices) {
      let front = starts;
      for (const entry of entries) {
        if (front.length === 0) break;
        front = this.repeat(entry, items, front, path, depth, failure);
      }
      front.forEach((p) => ends.add(p));
    }
    return [...ends];
  }

  private repeat(entry: Entry, items: unknown[], starts: number[], path: string, depth: number, failure: ArrayFailure): number[] {
    const reach = new Set(entry.min === 0 ? starts : []);
    const limit = Math.min(entry.max, items.length + entry.min + 1);
    let front = starts;
    for (let n = 1; n <= limit && front.length > 0; n++) {
      front = this.once(entry, items, front, path, depth, failure);
      if (n >= entry.min) front.forEach((p) => reach.add(p));
    }
    return [...reach];
  }

  private once(entry: Entry, items: unknown[], starts: number[], path: string, depth: number, failure: ArrayFailure): number[] {
    const rule = entry.type?.kind === "ref" && entry.key === undefined ? lookup(this.rules, entry.type.name) : undefined;
    const inner = entry.group ?? (rule?.kind === "group" ? rule.group : undefined);
    if (inner !== undefined) return this.group(inner, items, starts, path, depth + 1, failure);
    const ends = new Set<number>();
    for (const p of starts) {
      const problems = p < items.length
        ? this.type(entry.type!, items[p], `${path}[${p}]`, depth + 1)
        : [`${path}[${p}]: missing ${entry.label !== undefined ? `${entry.label}: ` : ""}${describeType(entry.type!)}`];
      if (problems.length === 0) ends.add(p + 1);
      else if (p > failure.pos) Object.assign(failure, { pos: p, problems });
    }
    return [...ends];
  }
}

function ruleOf(schema: CddlSchema, name: string): CddlRule {
  const rule = lookup(schema.rules, name);
  if (rule === undefined) throw new CddlError("cddl_undefined_rule", `rule ${name} is not defined in the schema`);
  return rule;
}

/** Problems of `value` against the type rule `rule`, each with a path; empty when valid. */
export function validate(schema: CddlSchema, rule: string, value: unknown): string[] {
  const found = ruleOf(schema, rule);
  if (found.kind === "group") throw new CddlError("cddl_usage", `${rule} is a group rule: check a CBOR sequence with validateSequence`);
  return new Checker(schema.rules).type(found.type, value, "$", 0);
}

/** Problems of a CBOR sequence's items (RFC 8742) against a group rule such as `(sequence: uint, message: any)`. */
export function validateSequence(schema: CddlSchema, rule: string, items: unknown[]): string[] {
  const found = ruleOf(schema, rule);
  const group = found.kind === "group" ? found.group : { choices: [[{ min: 1, max: 1, type: found.type, at: { line: 0, column: 0 } }]] };
  return new Checker(schema.rules).sequence(group, items, "$", 0);
}

function decoded(bytes: Uint8Array, decode: (bytes: Uint8Array, maxBytes: number) => unknown): { value: unknown } | { problem: string } {
  try {
    return { value: decode(bytes, Math.max(bytes.length, 1)) };
  } catch (error) {
    if (error instanceof ProtocolError) return { problem: `$: ${error.message}` };
    throw error;
  }
}

/** validate() on one CBOR item, decoded as protocol/cbor.ts decodes every message. */
export function validateCbor(schema: CddlSchema, rule: string, bytes: Uint8Array): string[] {
  ruleOf(schema, rule);
  const item = decoded(bytes, decodeCbor);
  return "problem" in item ? [item.problem] : validate(schema, rule, item.value);
}

/** validateSequence() on the bytes of a CBOR sequence. */
export function validateCborSequence(schema: CddlSchema, rule: string, bytes: Uint8Array): string[] {
  ruleOf(schema, rule);
  const items = decoded(bytes, decodeCborSequence);
  return "problem" in items ? [items.problem] : validateSequence(schema, rule, items.value as unknown[]);
}
