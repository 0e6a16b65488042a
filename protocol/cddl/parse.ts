// CDDL text to rules: a tokenizer and a recursive-descent parser over RFC 8610 Appendix B,
// minus what protocol/cddl/ refuses.

import { CddlError, isNativeTag, refuse, where, type At, type CddlGroup, type CddlRule, type CddlType, type Entry, type Literal } from "./schema.js";

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

export function tokenize(source: string): Token[] {
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

export class Parser {
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
