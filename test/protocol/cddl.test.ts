// protocol/cddl/: the CDDL (RFC 8610) parser and validator, on each construct it supports, on
// examples from RFC 8610 and RFC 8428, and on protocol/impeller.cddl with hand-written valid and
// invalid instances of every message.

import fs from "node:fs";
import { Tag } from "cbor-x";
import { describe, expect, it } from "vitest";
import { encodeCbor } from "../../protocol/cbor.js";
import { frame } from "../../protocol/framing.js";
import { encodeSenml } from "../../protocol/senml.js";
import { CddlError, DEPTH_MAX } from "../../protocol/cddl/schema.js";
import { parseCddl } from "../../protocol/cddl/compile.js";
import { validate, validateCbor, validateCborSequence, validateSequence } from "../../protocol/cddl/validate.js";

function cddlError(run: () => unknown): CddlError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CddlError);
    return error as CddlError;
  }
  throw new Error("expected a CddlError, nothing was thrown");
}

/** Problems of `value` against rule `rule` of a schema given as text. */
const check = (cddl: string, rule: string, value: unknown): string[] => validate(parseCddl(cddl), rule, value);
const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));
/** An integer-keyed map, as cbor-x decodes one. */
const intMap = (entries: [number, unknown][]): Map<number, unknown> => new Map(entries);

describe("parsing", () => {
  it("reports bad syntax with line and column", () => {
    const error = cddlError(() => parseCddl("a = int\nb = { x: }\n"));
    expect(error.code).toBe("cddl_syntax");
    expect(error.message).toBe("line 2:10: expected a type, found }");
    expect(cddlError(() => parseCddl("a = [int")).message).toBe('line 1:9: expected "]", found end of file');
    expect(cddlError(() => parseCddl("a int")).code).toBe("cddl_syntax");
    expect(cddlError(() => parseCddl("a = int\na = tstr")).message).toContain("defined twice");
    expect(cddlError(() => parseCddl('a = "\\q"')).code).toBe("cddl_syntax");
    expect(cddlError(() => parseCddl("a = h'abc'")).code).toBe("cddl_syntax");
    expect(cddlError(() => parseCddl('a = 1.."x"')).message).toBe("line 1:6: range bounds must be numbers");
  });

  it("reports a reference to a missing rule, wherever it is", () => {
    const error = cddlError(() => parseCddl("a = { x: int }\nc = [a, d]"));
    expect(error.code).toBe("cddl_undefined_rule");
    expect(error.message).toBe("line 2:9: rule d is not defined");
    expect(cddlError(() => parseCddl("a = { ? k => int }")).code).toBe("cddl_undefined_rule");
  });

  it("refuses what it could not check rather than ignoring it", () => {
    expect(cddlError(() => parseCddl('a = { ^ "x" => int }')).code).toBe("cddl_unsupported");
    expect(cddlError(() => parseCddl("a<t> = [t]")).code).toBe("cddl_unsupported");
    expect(cddlError(() => parseCddl("a = uint .bits 3")).message).toBe("line 1:10: .bits is not supported");
    expect(cddlError(() => parseCddl("a = #6.1(number)")).message).toContain("cbor-x decodes tag 1 to a native value");
    expect(cddlError(() => parseCddl('a = tstr .regexp "^a$"')).code).toBe("cddl_unsupported");
    expect(cddlError(() => parseCddl('a = tstr .regexp "[a-z-[aeiou]]"')).code).toBe("cddl_unsupported");
    expect(cddlError(() => parseCddl("g = (a: int, b: int)\nm = { * g }")).code).toBe("cddl_unsupported");
  });

  it("refuses a group where a type is needed, and a map member without a key", () => {
    expect(cddlError(() => parseCddl("g = (a: int)\nt = { x: g }")).message).toBe("line 2:10: g is a group: use it inside { }, [ ] or ( ), not as a type");
    expect(cddlError(() => parseCddl("m = { int }")).message).toContain('a map member needs a key');
  });

  it("defines rules in any order and takes ( type ) as a type rule, ( group ) as a group rule", () => {
    const schema = parseCddl("a = b\nb = (int / tstr)\ng = (x: int, y: int)\n");
    expect(schema.rules.get("b")?.kind).toBe("type");
    expect(schema.rules.get("g")?.kind).toBe("group");
    expect(validate(schema, "a", "x")).toEqual([]);
    expect(cddlError(() => validate(schema, "g", [1, 2])).code).toBe("cddl_usage");
    expect(cddlError(() => validate(schema, "nope", 1)).code).toBe("cddl_undefined_rule");
  });
});

describe("prelude types and literals", () => {
  const schema = parseCddl(`
    u = uint
    ni = nint
    i = int
    f = float
    h = float16
    s = float32
    t = tstr
    x = text
    b = bstr
    y = bytes
    o = bool
    a = any
    n = nil
    z = undefined
    lit = 42 / -7 / 1.5 / "text" / h'01 02' / 'ab' / true / null
  `);

  it("accepts each type's values", () => {
    const good: [string, unknown][] = [
      ["u", 0], ["u", 2n ** 64n - 1n], ["ni", -1], ["i", -5], ["f", 1.5], ["f", 3], ["h", 65504], ["h", 2 ** -24],
      ["s", 0.5], ["t", ""], ["x", "é"], ["b", bytes("00")], ["y", new Uint8Array()], ["o", false], ["a", new Map()],
      ["n", null], ["z", undefined], ["lit", 42], ["lit", -7n], ["lit", 1.5], ["lit", "text"], ["lit", bytes("0102")],
      ["lit", bytes("6162")], ["lit", true], ["lit", null],
    ];
    for (const [rule, value] of good) expect(validate(schema, rule, value), `${rule} ${String(value)}`).toEqual([]);
  });

  it("rejects values of other types", () => {
    expect(validate(schema, "u", -1)).toEqual(["$: -1 is not uint"]);
    expect(validate(schema, "i", 1.5)).toEqual(["$: 1.5 is not int"]);
    expect(validate(schema, "t", bytes("61"))).toEqual(["$: h'61' is not tstr"]);
    expect(validate(schema, "lit", "other")).toEqual(['$: "other" is not 42 / -7 / 1.5 / "text" / h\'0102\' / h\'6162\' / true / null']);
    const bad: [string, unknown][] = [
      ["ni", 0], ["f", 1n], ["h", 0.1], ["h", 65520], ["s", 0.1], ["b", "00"], ["o", 0], ["n", undefined], ["z", null],
      ["lit", 43], ["lit", bytes("0103")], ["lit", false],
    ];
    for (const [rule, value] of bad) expect(validate(schema, rule, value), `${rule} ${String(value)}`).not.toEqual([]);
  });
});

describe("RFC 8610 examples", () => {
  it("maps with bareword keys, closed against unknown keys (§2.1)", () => {
    const person = "person = { age: int, name: tstr, employer: tstr }";
    expect(check(person, "person", { age: 42, name: "Alice", employer: "ACME" })).toEqual([]);
    expect(check(person, "person", { age: "42", name: "Alice", employer: "ACME" })).toEqual(['$.age: "42" is not int']);
    expect(check(person, "person", { age: 42, name: "Alice" })).toEqual(['$: missing key "employer"']);
    expect(check(person, "person", { age: 42, name: "Alice", employer: "ACME", pet: "dog" })).toEqual(['$: unexpected key "pet"']);
    expect(check(person, "person", [42, "Alice", "ACME"])).toEqual(["$: an array of 3 is not a map"]);
  });

  it("group rules inlined into maps and arrays (§2.1.1 pii, identity)", () => {
    const schema = parseCddl(`
      person = { identity, employer: tstr }
      dog = { identity, leash-length: float }
      identity = ( age: int, name: tstr )
      pii = ( age: int, name: tstr, employer: tstr )
      record = [ pii ]
    `);
    expect(validate(schema, "person", { age: 3, name: "A", employer: "B" })).toEqual([]);
    expect(validate(schema, "dog", { age: 3, name: "Rex", "leash-length": 1.5 })).toEqual([]);
    expect(validate(schema, "dog", { age: 3, name: "Rex", employer: "B" })).toEqual(['$: missing key "leash-length"', '$: unexpected key "employer"']);
    expect(validate(schema, "record", [3, "A", "B"])).toEqual([]);
    expect(validate(schema, "record", [3, "A"])).toEqual(["$[2]: missing employer: tstr"]);
  });

  it("occurrences ? * + n*m (§3.2)", () => {
    const schema = parseCddl(`
      apartment = { kitchen: size, + bedroom: size, ? balcony: size }
      size = float
      two-to-four = [2*4 int]
      some = [+ tstr]
      any-count = [* tstr]
      at-most-two = [*2 uint]
    `);
    expect(validate(schema, "apartment", { kitchen: 10, bedroom: 12.5 })).toEqual([]);
    expect(validate(schema, "apartment", { kitchen: 10 })).toEqual(['$: missing key "bedroom"']);
    expect(validate(schema, "two-to-four", [1, 2])).toEqual([]);
    expect(validate(schema, "two-to-four", [1, 2, 3, 4])).toEqual([]);
    expect(validate(schema, "two-to-four", [1])).toEqual(["$[1]: missing int"]);
    expect(validate(schema, "two-to-four", [1, 2, 3, 4, 5])).toEqual(["$[4]: unexpected item 5"]);
    expect(validate(schema, "some", [])).toEqual(["$[0]: missing tstr"]);
    expect(validate(schema, "some", ["a", "b", 3])).toEqual(["$[2]: 3 is not tstr"]);
    expect(validate(schema, "any-count", [])).toEqual([]);
    expect(validate(schema, "at-most-two", [1, 2, 3])).not.toEqual([]);
  });

  it("type choices and literal values (§2.2.2)", () => {
    const schema = parseCddl(`
      attire = "bow tie" / "necktie" / "Internet attire"
      protocol = 6 / 17
      my_uri = #6.32(tstr) / tstr
    `);
    expect(validate(schema, "attire", "necktie")).toEqual([]);
    expect(validate(schema, "attire", "cravat")).toEqual(['$: "cravat" is not "bow tie" / "necktie" / "Internet attire"']);
    expect(validate(schema, "protocol", 17)).toEqual([]);
    expect(validate(schema, "protocol", 18)).toEqual(["$: 18 is not 6 / 17"]);
    expect(validate(schema, "my_uri", new Tag("http://x", 32))).toEqual([]);
    expect(validate(schema, "my_uri", "http://x")).toEqual([]);
    expect(validate(schema, "my_uri", new Tag(5, 32))).toEqual(["$: 5 is not tstr"]);
    expect(validate(schema, "my_uri", new Tag("http://x", 33))).not.toEqual([]);
  });

  it("group choices (§2.2.2 address/delivery)", () => {
    const schema = parseCddl(`
      address = { delivery }
      delivery = (
        street: tstr, ? number: uint, city //
        po-box: uint, city //
        per-pickup: true )
      city = ( name: tstr, zip-code: uint )
    `);
    expect(validate(schema, "address", { street: "Main", number: 1, name: "Town", "zip-code": 12345 })).toEqual([]);
    expect(validate(schema, "address", { "po-box": 7, name: "Town", "zip-code": 12345 })).toEqual([]);
    expect(validate(schema, "address", { "per-pickup": true })).toEqual([]);
    expect(validate(schema, "address", { "per-pickup": true, "po-box": 7 })).toEqual(['$: unexpected key "po-box"']);
    expect(validate(schema, "address", { street: "Main", "po-box": 7, name: "T", "zip-code": 1 })).not.toEqual([]);
  });

  it("ranges .. and ... with integer and float bounds (§3.1)", () => {
    const schema = parseCddl(`
      byte = 0..max-byte
      max-byte = 255
      byte1 = 0...first-non-byte
      first-non-byte = 256
      fraction = 0.0..1.0
      below-one = 0.0...1.0
      negative = -12..-1
    `);
    expect(validate(schema, "byte", 255)).toEqual([]);
    expect(validate(schema, "byte", 256)).toEqual(["$: 256 is not in 0..max-byte"]);
    expect(validate(schema, "byte", 2.5)).toEqual(["$: 2.5 is not in 0..max-byte"]);
    expect(validate(schema, "byte1", 255)).toEqual([]);
    expect(validate(schema, "byte1", 256)).toEqual(["$: 256 is not in 0...first-non-byte"]);
    expect(validate(schema, "fraction", 0.5)).toEqual([]);
    expect(validate(schema, "fraction", 1)).toEqual([]);
    expect(validate(schema, "below-one", 1)).toEqual(["$: 1 is not in 0.0...1.0"]);
    expect(validate(schema, "negative", -12)).toEqual([]);
    expect(validate(schema, "negative", 0)).toEqual(["$: 0 is not in -12..-1"]);
    expect(validate(schema, "negative", "x")).not.toEqual([]);
  });

  it(".size on bstr, tstr and uint (§3.8.1)", () => {
    const schema = parseCddl(`
      full-address = [[+ label], ip4, ip6]
      ip4 = bstr .size 4
      ip6 = bstr .size 16
      label = bstr
      audio_sample = uint .size 3
      name = tstr .size (1..3)
    `);
    expect(validate(schema, "full-address", [[bytes("61")], bytes("0a000001"), new Uint8Array(16)])).toEqual([]);
    expect(validate(schema, "full-address", [[bytes("61")], bytes("0a0000"), new Uint8Array(16)])).toEqual(["$[1]: h'0a0000' has 3 bytes, .size wants 4"]);
    expect(validate(schema, "audio_sample", 16777215)).toEqual([]);
    expect(validate(schema, "audio_sample", 16777216)).toEqual(["$: 16777216 does not fit in 3 bytes"]);
    expect(validate(schema, "name", "abc")).toEqual([]);
    expect(validate(schema, "name", "é")).toEqual([]);
    expect(validate(schema, "name", "éé")).toEqual(['$: "éé" has 4 bytes, .size wants 1..3']);
    expect(validate(schema, "name", "")).not.toEqual([]);
  });

  it(".regexp is an anchored XSD match (§3.8.3)", () => {
    const nai = parseCddl('nai = tstr .regexp "[A-Za-z0-9]+@[A-Za-z0-9]+(\\\\.[A-Za-z0-9]+)+"');
    expect(validate(nai, "nai", "N1@CH57HF.4Znqe0.dYJRN.igjf")).toEqual([]);
    expect(validate(nai, "nai", "N1@CH57HF")).not.toEqual([]);
    expect(validate(nai, "nai", "x N1@CH57HF.4Z")).toEqual(['$: "x N1@CH57HF.4Z" does not match .regexp "[A-Za-z0-9]+@[A-Za-z0-9]+(\\\\.[A-Za-z0-9]+)+"']);
    expect(validate(nai, "nai", 5)).toEqual(["$: 5 is not tstr"]);
  });

  it(".le .lt .ge .gt .eq .ne (§3.8.6)", () => {
    const schema = parseCddl(`
      speed = number .ge 0
      timer = { time: uint, ? displayed-step: (number .gt 0) }
      small = uint .lt 10
      id = uint .le 4294967295
      one = int .eq 1
      not-one = int .ne 1
    `);
    expect(validate(schema, "speed", 0)).toEqual([]);
    expect(validate(schema, "speed", -0.5)).toEqual(["$: -0.5 is less than 0"]);
    expect(validate(schema, "timer", { time: 3, "displayed-step": 0.5 })).toEqual([]);
    expect(validate(schema, "timer", { time: 3, "displayed-step": 0 })).toEqual(['$["displayed-step"]: 0 is not greater than 0']);
    expect(validate(schema, "small", 9)).toEqual([]);
    expect(validate(schema, "small", 10)).toEqual(["$: 10 is not less than 10"]);
    expect(validate(schema, "id", 4294967296)).toEqual(["$: 4294967296 is greater than 4294967295"]);
    expect(validate(schema, "one", 1)).toEqual([]);
    expect(validate(schema, "one", 2)).not.toEqual([]);
    expect(validate(schema, "not-one", 1)).not.toEqual([]);
  });

  it(".cbor checks the CBOR item inside a bstr (§3.8.4)", () => {
    const schema = parseCddl(`
      protected = bstr .cbor header-map / bstr .size 0
      header-map = { 1 => int, * int => any }
    `);
    expect(validate(schema, "protected", encodeCbor(new Map([[1, -7]])))).toEqual([]);
    expect(validate(schema, "protected", new Uint8Array())).toEqual([]);
    expect(validate(schema, "protected", encodeCbor(new Map([[1, "ES256"]])))).toEqual(['$<<>>[1]: "ES256" is not int']);
    expect(validate(schema, "protected", bytes("a1"))).toEqual(["$: not well-formed CBOR: Unexpected end of CBOR data"]);
  });

  it("arrays with labelled members and repeated inline groups (§3.4)", () => {
    const schema = parseCddl(`
      point = [x: int, y: int, ? label: tstr]
      pairs = [* (name: tstr, value: int)]
    `);
    expect(validate(schema, "point", [1, 2])).toEqual([]);
    expect(validate(schema, "point", [1, 2, "p"])).toEqual([]);
    expect(validate(schema, "point", [1, "2"])).toEqual(['$[1]: "2" is not int']);
    expect(validate(schema, "pairs", ["a", 1, "b", 2])).toEqual([]);
    expect(validate(schema, "pairs", ["a", 1, "b"])).toEqual(["$[3]: missing value: int"]);
    expect(validate(schema, "point", { x: 1, y: 2 })).toEqual(["$: a map is not an array"]);
  });

  it("extends rules with /= and //=, and an undefined socket matches nothing", () => {
    const schema = parseCddl(`
      $color /= "red"
      $color /= "blue"
      thing = { kind: $color, * $$thing-extension }
      $$thing-extension //= ( size: uint )
      plain = { kind: tstr, * $$none }
    `);
    expect(validate(schema, "thing", { kind: "blue", size: 3 })).toEqual([]);
    expect(validate(schema, "thing", { kind: "green" })).toEqual(['$.kind: "green" is not "red" / "blue"']);
    expect(validate(schema, "plain", { kind: "x" })).toEqual([]);
    expect(validate(schema, "plain", { kind: "x", more: 1 })).toEqual(['$: unexpected key "more"']);
  });
});

describe("RFC 8428 SenML records (CBOR labels, §6 and §11)", () => {
  // RFC 8428's CDDL with CBOR's integer labels; numeric is number (decfrac, tag 4, is not checkable here).
  const senml = parseCddl(`
    SenML-Pack = [1* record]
    record = {
      ? bn => tstr, ? bt => numeric, ? bu => tstr, ? bv => numeric, ? bs => numeric, ? bver => uint,
      ? n => tstr, ? u => tstr, ? s => numeric, ? t => numeric, ? ut => numeric,
      ? ( v => numeric // vs => tstr // vb => bool // vd => binary-value ),
      * key-value-pair
    }
    key-value-pair = ( label => value )
    label = non-b-label / b-label
    non-b-label = tstr .regexp "[A-Zac-z0-9][-_:.A-Za-z0-9]*" / uint
    b-label = tstr .regexp "b[-_:.A-Za-z0-9]+" / nint
    value = tstr / binary-value / numeric / bool
    numeric = number
    binary-value = bstr
    bver = -1  bn = -2  bt = -3  bu = -4  bv = -5  bs = -6
    n = 0  u = 1  v = 2  vs = 3  vb = 4  s = 5  t = 6  ut = 7  vd = 8
  `);

  it("accepts the RFC's example pack and extension labels", () => {
    const pack = [
      intMap([[-2, "urn:dev:ow:10e2073a01080063"], [-3, 1.320067464e9], [-4, "%RH"], [2, 20]]),
      intMap([[1, "lon"], [2, 24.30621]]),
      intMap([[0, "active"], [4, true]]),
      intMap([[0, "blob"], [8, bytes("0102")], [23, "extension"]]),
    ];
    expect(validate(senml, "SenML-Pack", pack)).toEqual([]);
  });

  it("lets extension labels absorb a base label whose value is wrong, as CDDL without cuts does", () => {
    expect(validate(senml, "SenML-Pack", [intMap([[-2, 5]])])).toEqual([]);
  });

  it("rejects an empty pack, a wrong value type and a bad base label", () => {
    expect(validate(senml, "SenML-Pack", [])).toEqual(["$[0]: missing record"]);
    expect(validate(senml, "SenML-Pack", [intMap([[-2, [1]]])])).toEqual(["$[0][-2]: an array of 1 is not tstr"]);
    expect(validate(senml, "SenML-Pack", [new Map([["bad label", 1]])])).not.toEqual([]);
  });
});

describe("depth and step limits", () => {
  it("reports values nested deeper than the limit instead of overflowing the stack", () => {
    const schema = parseCddl("tree = [* tree]");
    let value: unknown[] = [];
    for (let i = 0; i < 10_000; i++) value = [value];
    const problems = validate(schema, "tree", value);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`nested deeper than ${DEPTH_MAX} levels$`));
  });

  it("refuses rules that refer to themselves with no map, array or tag in between", () => {
    expect(cddlError(() => parseCddl("a = b\nb = a")).message).toBe("line 2:5: a -> b -> a refers to itself with no map, array or tag in between");
    expect(cddlError(() => parseCddl("a = a / int")).code).toBe("cddl_syntax");
    expect(cddlError(() => parseCddl("g = (x: int, ? g)\nm = { g }")).code).toBe("cddl_unsupported");
    expect(check("a = b\nb = [a] / int", "a", [[1]])).toEqual([]);
  });

  it("stops a group that contains itself once the step budget is spent", () => {
    const problems = check("g = (g // g)\nl = [g]", "l", [1]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/nested deeper|validation stopped/);
  });
});

describe("protocol/impeller.cddl", () => {
  const schema = parseCddl(fs.readFileSync(new URL("../../protocol/impeller.cddl", import.meta.url), "utf8"));
  const valid = (rule: string, value: unknown): void => expect(validate(schema, rule, value), rule).toEqual([]);
  const invalid = (rule: string, value: unknown): string[] => {
    const problems = validate(schema, rule, value);
    expect(problems, rule).not.toEqual([]);
    return problems;
  };
  const firmwareConfig = {
    device: "pump-0001", rate_hz: 25600, window: 4096, units: "m/s2", max_message: 4096, rpm: 2950,
    rpm_range: [2800, 3100], vanes: 6, bearing: [9, 7.94, 39.04, 0], iso_group: 2, foundation: "rigid",
    band_hz: [2000, 8000], cav_m_s2: 4.5,
  };

  it("parses, and defines every rule it refers to", () => {
    for (const rule of ["device-payload", "telemetry-payload", "sequenced-pack", "senml-pack", "device-state", "event", "command", "reply", "waveform-part",
      "update-offer", "block-request", "block", "update-status"]) {
      expect(schema.rules.has(rule), rule).toBe(true);
    }
    expect(schema.rules.get("device-payload")?.kind).toBe("group");
  });

  it("device-state: birth and death", () => {
    valid("device-state", { online: true, session: 3, fw: 0x010203, abi: 1 });
    valid("device-state", { online: false, session: 3 });
    expect(invalid("device-state", { online: "yes", session: 3 })).toEqual(['$.online: "yes" is not bool']);
    expect(invalid("device-state", { online: true })).toEqual(['$: missing key "session"']);
    invalid("device-state", { online: true, session: -1 });
  });

  it("events: boot and error", () => {
    valid("boot-event", { event: "boot", boot: 12, fw: 0x010000 });
    valid("event", { event: "error", code: -7, what: "samples" });
    valid("error-event", { event: "error", code: -8, what: "storage" });
    invalid("boot-event", { event: "boot", boot: 12 });
    expect(invalid("event", { event: "error", code: 99, what: "config" })).toEqual(["$.code: 99 is not in -14..-1"]);
    expect(invalid("error-event", { event: "error", code: -3, what: "telemetry" })).toEqual(['$.what: "telemetry" is not "samples" / "config" / "command" / "policy" / "update" / "storage"']);
  });

  it("commands: config with a full firmware-config, self_test, sampling, waveform, reboot, shutdown", () => {
    valid("command", { id: 1, cmd: "config", args: firmwareConfig });
    valid("command", { id: 1, cmd: "config", args: { device: "p", rate_hz: 100.5, window: 16 } });
    valid("command", { id: 4294967295, cmd: "self_test" });
    valid("command", { id: 3, cmd: "sampling", args: { rate_hz: 51200, interval_s: 60 } });
    valid("command", { id: 3, cmd: "sampling", args: {} });
    valid("command", { id: 3, cmd: "sampling", args: { windows: 8 } });
    expect(invalid("sampling-command", { id: 3, cmd: "sampling", args: { windows: 65 } })).toEqual(["$.args.windows: 65 is not in 1..64"]);
    valid("command", { id: 4, cmd: "waveform" });
    valid("command", { id: 4, cmd: "waveform", args: { max_bytes: 256 } });
    valid("command", { id: 5, cmd: "reboot" });
    valid("command", { id: 6, cmd: "shutdown" });
    valid("shutdown-command", { id: 6, seq: 9, cmd: "shutdown" });
    expect(invalid("command", { id: 1, cmd: "config", args: { ...firmwareConfig, window: 9000 } })).toEqual(["$.args.window: 9000 is not in 16..8192"]);
    expect(invalid("config-command", { id: 1, cmd: "config", args: { ...firmwareConfig, device: "-pump" } }))
      .toEqual(['$.args.device: "-pump" does not match .regexp "[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"']);
    invalid("config-command", { id: 1, cmd: "config", args: { ...firmwareConfig, device: "p".repeat(65) } });
    expect(invalid("firmware-config", { ...firmwareConfig, bearing: [9, 7.94, 39.04] })).toEqual(["$.bearing[3]: missing angle_deg: number"]);
    invalid("firmware-config", { ...firmwareConfig, units: "kg" });
    invalid("firmware-config", { ...firmwareConfig, extra: 1 });
    expect(invalid("command", { id: 4294967296, cmd: "self_test" })).toEqual(["$.id: 4294967296 is greater than 4294967295"]);
    invalid("command", { id: 1, cmd: "launch" });
    invalid("command", { id: 4, cmd: "waveform", args: { max_bytes: 100 } });
    invalid("command", { id: 5, cmd: "reboot", args: {} });
    invalid("command", { id: 6, cmd: "shutdown", args: {} });
  });

  it("commands for the update agent: update-offer and block", () => {
    valid("command", { id: 7, cmd: "update", args: { campaign: "c1", envelope: bytes("d86ba0"), block_bytes: 4096 } });
    valid("command", { id: 8, cmd: "block", args: { campaign: "c1", offset: 0, data: bytes("0001") } });
    invalid("update-offer", { id: 7, cmd: "update", args: { campaign: "c1", envelope: "not bytes" } });
    invalid("update-offer", { id: 7, cmd: "update", args: { campaign: "c1", envelope: bytes("00"), block_bytes: 128 } });
    invalid("block", { id: 8, cmd: "block", args: { campaign: "c1", offset: -1, data: bytes("00") } });
  });

  it("the host's commission command: identity, broker and owner, each optional", () => {
    const owner = { token: new Uint8Array(16), waveform: "never", detail: "summary" };
    valid("command", { id: 9, cmd: "commission", args: { tenant: "acme", device: "pump-east", broker: "mqtt://10.0.0.5:1883", owner } });
    valid("command", { id: 9, seq: 4, cmd: "commission", args: { broker: "mqtts://broker.example:8883" } });
    expect(invalid("commission-command", { id: 9, cmd: "commission", args: { broker: "http://10.0.0.5" } }))
      .toEqual(['$.args.broker: "http://10.0.0.5" does not match .regexp "mqtts?://[^/ ]{1,192}"']);
    invalid("commission-command", { id: 9, cmd: "commission", args: { device: "-east" } });
    invalid("commission-command", { id: 9, cmd: "commission", args: { owner: { token: new Uint8Array(8) } } });
    invalid("commission-command", { id: 9, cmd: "commission", args: { colour: "red" } });
  });

  it("replies: ok and error", () => {
    valid("reply", { id: 1, ok: true });
    valid("reply", { id: 3, ok: true, rate_hz: 51200, window: 4096, interval_s: 60 });
    valid("reply", { id: 4, ok: true, parts: 3 });
    valid("reply", { id: 1, ok: false, error: -4 });
    expect(invalid("reply", { id: 1, ok: false, error: 1 })).toEqual(["$.error: 1 is not in -14..-1"]);
    invalid("reply", { id: 1, ok: false });
    invalid("reply", { id: 1, ok: true, error: -4 });
  });

  it("waveform-part, block-request, update-status", () => {
    const part = { id: 4, part: 0, parts: 2, t: 1_700_000_000_000, rate_hz: 25600, units: "g", first: 0, samples: new Uint8Array(8) };
    valid("waveform-part", part);
    invalid("waveform-part", { ...part, samples: [0, 1] });
    invalid("waveform-part", { ...part, units: undefined });
    valid("block-request", { update: "block_request", campaign: "c1", offset: 4096, length: 4096 });
    invalid("block-request", { update: "block_request", campaign: "c1", offset: 4096 });
    valid("update-status", { update: "status", campaign: "c1", sequence: 2, state: "downloading", progress: 8192 });
    valid("update-status", { update: "status", campaign: "c1", sequence: 2, state: "rejected", reason: "bad signature" });
    invalid("update-status", { update: "status", campaign: "c1", sequence: 2, state: "done" });
  });

  it("senml-pack with integer labels: one value at most, no unknown labels, no text keys", () => {
    valid("senml-pack", [
      intMap([[-2, "pump-0001/"], [-3, 1.7e9], [0, "vel_rms"], [1, "mm/s"], [2, 2.8]]),
      intMap([[0, "fault"], [3, "none"]]),
      intMap([[0, "ok"], [4, true], [6, -1]]),
      intMap([[0, "raw"], [8, bytes("00")], [-1, 10]]),
    ]);
    expect(invalid("senml-pack", [intMap([[0, "x"], [2, 1], [3, "one"]])])).toEqual(["$[0]: unexpected key 3"]);
    expect(invalid("senml-pack", [intMap([[0, "x"], [2, 1], [9, 1]])])).toEqual(["$[0]: unexpected key 9"]);
    expect(invalid("senml-pack", [new Map<unknown, unknown>([[0, "x"], ["v", 1]])])).toEqual(['$[0]: unexpected key "v"']);
    expect(invalid("senml-pack", [intMap([[-2, 7]])])).toEqual(["$[0][-2]: 7 is not tstr"]);
    invalid("senml-pack", []);
  });

  it("device-payload: a CBOR sequence of the sequence number and one message, or one pack with the number inside", () => {
    const sequenced = new Map<unknown, unknown>([["seq", 1], [0, "acc_rms"], [2, 0.1]]);
    expect(validateSequence(schema, "device-payload", [300, { id: 1, ok: true }])).toEqual([]);
    expect(validateSequence(schema, "device-payload", [[sequenced]])).toEqual([]);
    expect(validateSequence(schema, "telemetry-payload", [[sequenced, intMap([[0, "fault"], [3, "none"]])]])).toEqual([]);
    expect(validateSequence(schema, "device-payload", [1, [intMap([[0, "acc_rms"], [2, 0.1]])]])).not.toEqual([]); // the number in front of a pack
    expect(validateSequence(schema, "telemetry-payload", [[intMap([[0, "acc_rms"], [2, 0.1]])]])).toEqual(['$[0][0]: missing key "seq"']);
    expect(validateSequence(schema, "telemetry-payload", [[new Map<unknown, unknown>([["seq", -1], [0, "a"], [2, 1]])]])).toEqual(["$[0][0].seq: -1 is not uint"]);
    expect(validateSequence(schema, "telemetry-payload", [[sequenced, sequenced]])).toEqual(['$[0][1]: unexpected key "seq"']);
    expect(validate(schema, "sequenced-pack", [sequenced])).toEqual([]);
    expect(validateSequence(schema, "device-payload", [1, { event: "boot", boot: 1, fw: 1 }])).toEqual([]);
    expect(validateSequence(schema, "reply-payload", [-1, { id: 1, ok: true }])).toEqual(["$[0]: -1 is not uint"]);
    expect(validateSequence(schema, "device-payload", [-1, { id: 1, ok: true }])).not.toEqual([]);
    expect(validateSequence(schema, "device-payload", [1])).not.toEqual([]);
    expect(validateSequence(schema, "reply-payload", [1, [intMap([[0, "acc_rms"], [2, 0.1]])]])).not.toEqual([]); // a pack is no reply
    expect(validateSequence(schema, "device-payload", [1, { id: 1, ok: true }, 2])).toEqual(["$[2]: unexpected item 2"]);
    expect(validateSequence(schema, "device-payload", [1, { id: 1, cmd: "reboot" }])).not.toEqual([]);
  });

  it("validates CBOR bytes as protocol/cbor.ts decodes them", () => {
    expect(validateCbor(schema, "command", encodeCbor(new Map<string, unknown>([["id", 1], ["cmd", "reboot"]])))).toEqual([]);
    expect(validateCbor(schema, "command", bytes("a2"))).toEqual(["$: not well-formed CBOR: Unexpected end of CBOR data"]);
    expect(validateCbor(schema, "command", new Uint8Array())).toEqual(["$: empty message: a CBOR item was expected"]);
    const sequence = Buffer.concat([encodeCbor(7), encodeCbor(new Map<string, unknown>([["id", 1], ["ok", true]]))]);
    expect(validateCborSequence(schema, "device-payload", sequence)).toEqual([]);
    const telemetry = frame("telemetry", 9, encodeSenml([{ bn: "pump-0001:", bt: 1.7e9, n: "acc_rms", u: "m/s2", v: 0.5 }, { n: "fault", vs: "none" }]));
    expect(validateCborSequence(schema, "device-payload", telemetry)).toEqual([]);
    expect(validateCbor(schema, "sequenced-pack", telemetry)).toEqual([]);
  });
});
