// CDDL rules to a schema ready to validate: every reference resolved, every range, control and
// map checked once; what cannot be checked completely is refused here.

import { tokenize, Parser } from "./parse.js";
import {
  CddlError, DEPTH_MAX, isNumeric, lookup, MAP_ALTERNATIVES_MAX, refuse, where, type At, type CddlErrorCode, type CddlGroup, type CddlRule, type CddlSchema,
  type CddlType, type Entry, type Member,
} from "./schema.js";

/** The literal a type stands for (through rule names), if it is one. */
export function literal(rules: ReadonlyMap<string, CddlRule>, type: CddlType, depth = 0): CddlType & { kind: "value" } | undefined {
  if (type.kind === "value") return type;
  const rule = type.kind === "ref" && depth < DEPTH_MAX ? lookup(rules, type.name) : undefined;
  return rule?.kind === "type" ? literal(rules, rule.type, depth + 1) : undefined;
}

const CONTROLS = new Set(["size", "le", "lt", "ge", "gt", "eq", "ne", "regexp", "cbor"]);

export class Compiler {
  private readonly grounded = new Set<string>();
  private readonly flattening = new Set<string>();

  constructor(private readonly rules: ReadonlyMap<string, CddlRule>) {}

  run(): void {
    for (const rule of this.rules.values()) {
      if (rule.kind === "type") this.type(rule.type);
      else this.group(rule.group);
    }
    for (const [name, rule] of this.rules) {
      if (rule.kind === "type") this.ground(rule.type, [name]);
      this.grounded.add(name);
    }
  }

  /** A type rule must reach a map, array or tag before it reaches itself again: `a = a / int`
   *  describes nothing more than `a = int` and would only send validation round in circles. */
  private ground(type: CddlType, path: string[]): void {
    if (type.kind === "choice") return type.options.forEach((option) => this.ground(option, path));
    if (type.kind === "control") return this.ground(type.target, path);
    if (type.kind !== "ref" || this.grounded.has(type.name)) return;
    if (path.includes(type.name)) {
      refuse("cddl_syntax", type.at, `${[...path, type.name].join(" -> ")} refers to itself with no map, array or tag in between`);
    }
    const rule = lookup(this.rules, type.name);
    if (rule?.kind === "type") this.ground(rule.type, [...path, type.name]);
    this.grounded.add(type.name);
  }

  private refer(ref: { name: string; at: At }, groupAllowed: boolean): void {
    const rule = lookup(this.rules, ref.name);
    if (rule === undefined && !ref.name.startsWith("$")) {
      refuse("cddl_undefined_rule", ref.at, `rule ${ref.name} is not defined`);
    }
    if (rule?.kind === "group" && !groupAllowed) {
      refuse("cddl_syntax", ref.at, `${ref.name} is a group: use it inside { }, [ ] or ( ), not as a type`);
    }
  }

  private type(type: CddlType): void {
    switch (type.kind) {
      case "ref": return this.refer(type, false);
      case "choice": return type.options.forEach((option) => this.type(option));
      case "tag": return this.type(type.type);
      case "array": return this.group(type.group);
      case "map":
        this.group(type.group);
        type.alternatives = this.flatten(type.group, 0);
        return;
      case "range": {
        this.type(type.lo);
        this.type(type.hi);
        const [lo, hi] = [literal(this.rules, type.lo), literal(this.rules, type.hi)];
        if (!isNumeric(lo?.value) || !isNumeric(hi?.value)) refuse("cddl_syntax", type.at, `range bounds must be numbers`);
        type.bounds = [lo!.value, hi!.value, !lo!.float && !hi!.float];
        return;
      }
      case "control": return this.control(type);
    }
  }

  private control(type: CddlType & { kind: "control" }): void {
    this.type(type.target);
    this.type(type.controller);
    const fail = (message: string, code: CddlErrorCode = "cddl_syntax"): never => {
      throw new CddlError(code, `${where(type.at)}: .${type.op} ${message}`);
    };
    if (!CONTROLS.has(type.op)) fail("is not supported", "cddl_unsupported");
    const value = literal(this.rules, type.controller)?.value;
    if (type.op === "regexp") {
      if (typeof value !== "string") fail("needs a text literal");
      type.regexp = xsdRegexp(value as string, fail);
    } else if (type.op === "size") {
      if (!isNumeric(value) && type.controller.kind !== "range") fail("needs a number or a range");
    } else if (type.op !== "cbor" && !isNumeric(value)) {
      fail("needs a number");
    }
  }

  private group(group: CddlGroup): void {
    for (const entry of group.choices.flat()) {
      if (entry.key !== undefined) this.type(entry.key);
      if (entry.group !== undefined) this.group(entry.group);
      if (entry.type?.kind === "ref" && entry.key === undefined) this.refer(entry.type, true);
      else if (entry.type !== undefined) this.type(entry.type);
    }
  }

  /** A map's group as alternative lists of keyed members: RFC 8610 matches a map's entries in
   *  any order, so only which members may appear, and how often, matters. */
  private flatten(group: CddlGroup, depth: number): Member[][] {
    if (depth > DEPTH_MAX) throw new CddlError("cddl_unsupported", "a map's group refers to itself");
    const alternatives = group.choices.flatMap((entries) => {
      let product: Member[][] = [[]];
      for (const entry of entries) {
        const options = this.entryAlternatives(entry, depth);
        product = product.flatMap((members) => options.map((option) => [...members, ...option]));
        if (product.length > MAP_ALTERNATIVES_MAX) refuse("cddl_unsupported", entry.at, `this map has more than ${MAP_ALTERNATIVES_MAX} alternatives`);
      }
      return product;
    });
    return alternatives;
  }

  private entryAlternatives(entry: Entry, depth: number): Member[][] {
    const { min, max } = entry;
    if (entry.key !== undefined) return [[{ key: entry.key, value: entry.type!, min, max }]];
    const rule = entry.type?.kind === "ref" ? lookup(this.rules, entry.type.name) : undefined;
    const name = entry.type?.kind === "ref" ? entry.type.name : "";
    const inner = entry.group ?? (rule?.kind === "group" ? rule.group : name.startsWith("$$") ? { choices: [] } : undefined);
    if (inner === undefined) refuse("cddl_syntax", entry.at, `a map member needs a key ("name: type" or "key => type")`);
    if (this.flattening.has(name)) refuse("cddl_unsupported", entry.at, `group ${name} contains itself inside a map`);
    if (name !== "") this.flattening.add(name);
    const alternatives = this.flatten(inner, depth + 1);
    this.flattening.delete(name);
    if (max === 1) return min === 0 ? [...alternatives, []] : alternatives;
    if (alternatives.length === 0) return min === 0 ? [[]] : [];
    if (alternatives.every((members) => members.length === 1)) {
      const scale = (m: Member, low: number): Member => ({ ...m, min: m.min * low, max: m.max * max });
      if (alternatives.length === 1) return [[scale(alternatives[0][0], min)]];
      if (min === 0) return [alternatives.map((members) => scale(members[0], 0))];
    }
    refuse("cddl_unsupported", entry.at, `a repeated group of several members cannot be checked inside a map`);
  }
}

/** RFC 8610 §3.8.3: XSD regular expressions, implicitly anchored. Constructs whose meaning
 *  differs between XSD and JavaScript are refused rather than silently misread. */
export function xsdRegexp(pattern: string, fail: (message: string, code?: CddlErrorCode) => never): RegExp {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      if (/[iIcCbB0-9]/.test(pattern[i + 1] ?? "")) fail(`: \\${pattern[i + 1]} means different things in XSD and JavaScript`, "cddl_unsupported");
      i++;
    } else if (inClass) {
      if (c === "-" && pattern[i + 1] === "[") fail(": character class subtraction is not supported", "cddl_unsupported");
      if (c === "]") inClass = false;
    } else if (c === "[") {
      inClass = true;
      if (pattern[i + 1] === "^") i++;
      if (pattern[i + 1] === "]") i++;
    } else if (c === "^" || c === "$" || (c === "(" && pattern[i + 1] === "?")) {
      fail(`: "${c}${c === "(" ? "?" : ""}" means different things in XSD and JavaScript`, "cddl_unsupported");
    }
  }
  try {
    return new RegExp(`^(?:${pattern})$`, "u");
  } catch (error) {
    return fail(`: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Parses a CDDL schema; throws a CddlError for bad syntax, missing rules or unsupported parts. */
export function parseCddl(text: string): CddlSchema {
  const rules = new Parser(tokenize(text)).parse();
  new Compiler(rules).run();
  return { rules };
}
