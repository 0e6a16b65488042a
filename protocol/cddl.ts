// A parser and validator for the part of CDDL (RFC 8610) that protocol/impeller.cddl uses and
// SUIT manifests would use next. Whatever it cannot check completely is refused when the schema
// is parsed, so a schema that parses is a schema whose every word is enforced.

import { Tag } from "cbor-x";
import { decodeCbor, decodeCborSequence } from "./cbor.js";
import { ProtocolError } from "./errors.js";

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
const MAP_ALTERNATIVES_MAX = 256;
const DESCRIPTION_CHARS_MAX = 120;
/** Tags cbor-x turns into native values (Date, bigint, typed arrays, Set, ...): a #6.N(...)
 *  for these could never match a decoded value, so the schema is refused instead. */
const NATIVE_TAGS = new Set([0, 1, 2, 3, 4, 5, 27, 28, 29, 51, 105, 258, 259, 55799]);
const isNativeTag = (tag: number): boolean => NATIVE_TAGS.has(tag) || (tag >= 64 && tag <= 87) || (tag >= 216 && tag <= 255);

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

const PRIMS = ["any", "uint", "nint", "int", "float", "float16", "float32", "float64", "float16-32", "float32-64",
  "number", "tstr", "text", "bstr", "bytes", "bool"];
const PRELUDE = new Map<string, CddlRule>([
  ...PRIMS.map((name): [string, CddlRule] => [name, { kind: "type", type: { kind: "prim", name } }]),
  ...([["true", true], ["false", false], ["nil", null], ["null", null], ["undefined", undefined]] as const)
    .map(([name, value]): [string, CddlRule] => [name, { kind: "type", type: { kind: "value", value } }]),
]);

// ---------------------------------------------------------------------------------------------
// Tokens

type TokenKind = "name" | "number" | "text" | "bytes" | "punct" | "ctl" | "tag" | "occur" | "eof";
interface Token { kind: TokenKind; text: string; at: At; value?: Literal; float?: boolean; occur?: [number, number] }

const LEXEMES: [TokenKind, RegExp][] = [
  ["bytes", /(h|b64)?'([^'\n]*)'/y],
  ["text", /"((?:[^"\\\n]|\\.)*)"/y],
  ["occur", /(\d*)\*(\d*)/y],
  ["number", /-?(?:0x[0-9a-fA-F]+|0b[01]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/y],
  ["tag", /#6\.(\d+)/y],
  ["punct", /\.\.\.|\.\.|\/\/=|\/\/|\/=|=>|[=/(){}[\],:?+]/y],
  ["ctl", /\.[A-Za-z][A-Za-z0-9_-]*/y],
  ["name", /[A-Za-z@_$][A-Za-z0-9@_$]*(?:[-.]+[A-Za-z0-9@_$]+)*/y],
];

function where(at: At): string {
  return `line ${at.line}:${at.column}`;
}

function refuse(code: CddlErrorCode, at: At, message: string): never {
  throw new CddlError(code, `${where(at)}: ${message}`);
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === "\n") { line++; lineStart = ++i; continue; }
    if (c === " " || c === "\t" || c === "\r") { i++; continue; }
    if (c === ";") { while (i < source.length && source[i] !== "\n") i++; continue; }
    const at = { line, column: i - lineStart + 1 };
    const lexeme = LEXEMES.map(([kind, re]) => { re.lastIndex = i; return [kind, re.exec(source)] as const; })
      .find(([, match]) => match !== null);
    if (lexeme === undefined) {
      const unsupported = "^&~<>#".includes(c);
      throw new CddlError(unsupported ? "cddl_unsupported" : "cddl_syntax",
        `${where(at)}: ${unsupported ? `"${c}" (cuts, generics, unwrap, choice-from-group, other major types) is not supported` : `unexpected character "${c}"`}`);
    }
    const [kind, match] = lexeme as [TokenKind, RegExpExecArray];
    tokens.push({ kind, text: match[0], at, ...literalOf(kind, match, at) });
    i += match[0].length;
  }
  tokens.push({ kind: "eof", text: "end of file", at: { line, column: i - lineStart + 1 } });
  return tokens;
}

function literalOf(kind: TokenKind, match: RegExpExecArray, at: At): Partial<Token> {
  if (kind === "occur") {
    return { occur: [match[1] === "" ? 0 : Number(match[1]), match[2] === "" ? Infinity : Number(match[2])] };
  }
  if (kind === "number") {
    const text = match[0];
    if (/^-?\d/.test(text) && /[.eE]/.test(text) && !/0x/i.test(text)) return { value: Number(text), float: true };
    const big = text.startsWith("-") ? -BigInt(text.slice(1)) : BigInt(text);
    return { value: big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big };
  }
  if (kind === "text") {
    try {
      return { value: JSON.parse(`"${match[1]}"`) as string };
    } catch {
      refuse("cddl_syntax", at, `bad escape in text ${match[0]}: use JSON escapes`);
    }
  }
  if (kind === "bytes") {
    const body = match[2];
    if (match[1] === "h") {
      const hex = body.replace(/\s+/g, "");
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) refuse("cddl_syntax", at, `h'' needs pairs of hex digits`);
      return { value: Uint8Array.from(Buffer.from(hex, "hex")) };
    }
    return { value: Uint8Array.from(match[1] === "b64" ? Buffer.from(body, "base64url") : Buffer.from(body, "utf8")) };
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over RFC 8610 Appendix B, minus what is refused above.

class Parser {
  private i = 0;
  readonly rules = new Map<string, CddlRule>();

  constructor(private readonly tokens: Token[]) {}

  private peek(ahead = 0): Token { return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]; }
  private next(): Token { return this.tokens[this.i++]; }
  private is(punct: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === "punct" && token.text === punct;
  }
  private fail(message: string, token = this.peek()): never {
    refuse("cddl_syntax", token.at, `${message}, found ${token.text}`);
  }
  private expect(punct: string): void {
    if (!this.is(punct)) this.fail(`expected "${punct}"`);
    this.next();
  }
  private atRuleStart(): boolean {
    return this.peek().kind === "eof" || (this.peek().kind === "name" && ["=", "/=", "//="].some((op) => this.is(op, 1)));
  }

  parse(): Map<string, CddlRule> {
    while (this.peek().kind !== "eof") {
      const name = this.next();
      if (name.kind !== "name") this.fail("expected a rule name", name);
      const op = this.next();
      if (op.kind !== "punct" || !["=", "/=", "//="].includes(op.text)) this.fail(`expected "=" after ${name.text}`, op);
      const start = this.peek();
      const group = this.group(null);
      if (group.choices.every((choice) => choice.length === 0)) this.fail(`rule ${name.text} has no type`, start);
      this.define(name, op.text, asRule(group));
    }
    return this.rules;
  }

  private define(name: Token, op: string, rule: CddlRule): void {
    const old = this.rules.get(name.text);
    if (op === "=") {
      if (old !== undefined) this.fail(`rule ${name.text} is defined twice: extend it with /= or //=`, name);
      this.rules.set(name.text, rule);
    } else if (op === "/=") {
      if (rule.kind !== "type" || old?.kind === "group") this.fail(`/= extends a type: ${name.text} is a group`, name);
      this.rules.set(name.text, old === undefined ? rule : { kind: "type", type: { kind: "choice", options: [old.type, rule.type] } });
    } else {
      const group = rule.kind === "group" ? rule.group : { choices: [[{ min: 1, max: 1, type: rule.type, at: name.at }]] };
      if (old?.kind === "type") this.fail(`//= extends a group: ${name.text} is a type`, name);
      this.rules.set(name.text, old === undefined ? { kind: "group", group } : { kind: "group", group: { choices: [...old.group.choices, ...group.choices] } });
    }
  }

  /** A group up to `close`, or up to the next rule when `close` is null (a rule's right side). */
  private group(close: string | null): CddlGroup {
    const choices: Entry[][] = [[]];
    while (!(close === null ? this.atRuleStart() : this.is(close) || this.peek().kind === "eof")) {
      if (this.is("//")) { this.next(); choices.push([]); continue; }
      choices[choices.length - 1].push(this.entry());
      if (this.is(",")) this.next();
    }
    return { choices };
  }

  private entry(): Entry {
    const start = this.peek();
    const at = start.at;
    let [min, max] = [1, 1];
    if (this.is("?")) [min, max] = [0, 1];
    else if (this.is("+")) [min, max] = [1, Infinity];
    else if (start.kind === "occur") [min, max] = start.occur!;
    if (this.is("?") || this.is("+") || start.kind === "occur") this.next();
    if (min > max) this.fail(`occurrence ${start.text} allows nothing`, start);
    const first = this.peek();
    if (["name", "text", "number"].includes(first.kind) && this.is(":", 1)) {
      this.next();
      this.next();
      const key: CddlType = { kind: "value", value: first.kind === "name" ? first.text : first.value };
      return { min, max, key, label: first.kind === "name" ? first.text : undefined, type: this.type(), at };
    }
    if (this.is("(") && !this.continuesType(this.closing())) {
      this.next();
      const group = this.group(")");
      this.expect(")");
      return { min, max, group, at };
    }
    const head = this.type1();
    if (this.is("=>")) {
      this.next();
      return { min, max, key: head, type: this.type(), at };
    }
    return { min, max, type: this.choiceFrom(head), at };
  }

  /** Index of the ")" that closes the "(" at the current token. */
  private closing(): number {
    let depth = 0;
    for (let j = this.i; j < this.tokens.length; j++) {
      const t = this.tokens[j];
      if (t.kind === "punct" && t.text === "(") depth++;
      if (t.kind === "punct" && t.text === ")" && --depth === 0) return j;
    }
    return this.fail('"(" is never closed');
  }

  private continuesType(close: number): boolean {
    const after = this.tokens[close + 1];
    return after.kind === "ctl" || (after.kind === "punct" && ["/", "..", "...", "=>"].includes(after.text));
  }

  private type(): CddlType { return this.choiceFrom(this.type1()); }

  private choiceFrom(head: CddlType): CddlType {
    const options = [head];
    while (this.is("/")) { this.next(); options.push(this.type1()); }
    return options.length === 1 ? head : { kind: "choice", options };
  }

  private type1(): CddlType {
    const target = this.type2();
    const at = this.peek().at;
    if (this.is("..") || this.is("...")) {
      const exclusive = this.next().text === "...";
      return { kind: "range", lo: target, hi: this.type2(), exclusive, at };
    }
    if (this.peek().kind === "ctl") {
      const op = this.next().text.slice(1);
      return { kind: "control", op, target, controller: this.type2(), at };
    }
    return target;
  }

  private type2(): CddlType {
    const token = this.peek();
    if (token.kind === "number" || token.kind === "text" || token.kind === "bytes") {
      this.next();
      return { kind: "value", value: token.value, float: token.float };
    }
    if (token.kind === "name") { this.next(); return { kind: "ref", name: token.text, at: token.at }; }
    if (token.kind === "tag") {
      this.next();
      const tag = Number(token.text.slice(3));
      if (isNativeTag(tag)) refuse("cddl_unsupported", token.at, `cbor-x decodes tag ${tag} to a native value, so #6.${tag}(...) cannot be checked`);
      this.expect("(");
      const type = this.type();
      this.expect(")");
      return { kind: "tag", tag, type };
    }
    if (this.is("(")) {
      this.next();
      const type = this.type();
      this.expect(")");
      return type;
    }
    if (this.is("{") || this.is("[")) {
      const close = this.next().text === "{" ? "}" : "]";
      const group = this.group(close);
      this.expect(close);
      return close === "}" ? { kind: "map", group } : { kind: "array", group };
    }
    return this.fail("expected a type");
  }
}

/** `name = ( ... )` is a group rule unless the parentheses only wrap a single type. */
function asRule(group: CddlGroup): CddlRule {
  const only = group.choices.length === 1 && group.choices[0].length === 1 ? group.choices[0][0] : undefined;
  if (only === undefined || only.key !== undefined || only.min !== 1 || only.max !== 1) return { kind: "group", group };
  return only.type !== undefined ? { kind: "type", type: only.type } : asRule(only.group!);
}

// ---------------------------------------------------------------------------------------------
// Compilation: every reference resolved, every range, control and map checked once.

function lookup(rules: ReadonlyMap<string, CddlRule>, name: string): CddlRule | undefined {
  return rules.get(name) ?? PRELUDE.get(name);
}

/** The literal a type stands for (through rule names), if it is one. */
function literal(rules: ReadonlyMap<string, CddlRule>, type: CddlType, depth = 0): CddlType & { kind: "value" } | undefined {
  if (type.kind === "value") return type;
  const rule = type.kind === "ref" && depth < DEPTH_MAX ? lookup(rules, type.name) : undefined;
  return rule?.kind === "type" ? literal(rules, rule.type, depth + 1) : undefined;
}

const CONTROLS = new Set(["size", "le", "lt", "ge", "gt", "eq", "ne", "regexp", "cbor"]);

class Compiler {
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
function xsdRegexp(pattern: string, fail: (message: string, code?: CddlErrorCode) => never): RegExp {
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

// ---------------------------------------------------------------------------------------------
// Validation

const isNumeric = (v: unknown): v is number | bigint => typeof v === "number" || typeof v === "bigint";
const isInt = (v: unknown): v is number | bigint => typeof v === "bigint" || Number.isInteger(v);

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

function entriesOf(v: unknown): [unknown, unknown][] | undefined {
  if (v instanceof Map) return [...v];
  if (typeof v !== "object" || v === null) return undefined;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null ? Object.entries(v) : undefined;
}

function shorten(text: string): string {
  return text.length > DESCRIPTION_CHARS_MAX ? `${text.slice(0, DESCRIPTION_CHARS_MAX - 1)}…` : text;
}

function describeValue(v: unknown): string {
  if (typeof v === "string") return shorten(JSON.stringify(v));
  if (v instanceof Uint8Array) return `h'${Buffer.from(v.subarray(0, 16)).toString("hex")}${v.length > 16 ? "…" : ""}'`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Tag) return `tag ${v.tag}`;
  if (entriesOf(v) !== undefined) return "a map";
  return typeof v === "object" && v !== null ? `a ${v.constructor.name}` : String(v);
}

function describeType(type: CddlType): string {
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

function segment(key: unknown): string {
  if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `.${key}`;
  return `[${typeof key === "string" ? JSON.stringify(key) : describeValue(key)}]`;
}

/** What a value is, for choosing which alternative of a failed choice to blame. */
function shapeOfValue(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v instanceof Tag) return `tag ${v.tag}`;
  return entriesOf(v) !== undefined ? "map" : "scalar";
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
