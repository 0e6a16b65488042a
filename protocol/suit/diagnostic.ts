// A SUIT envelope in CBOR diagnostic notation with its labels named, the way the SUIT draft
// prints its examples: bstr-wrapped CBOR opened as << ... >>, `/ sequence-number / 2: 3`.
// It prints whatever it can read, so an envelope too broken to verify can still be looked at.

import { Tag } from "cbor-x";
import { decodeCbor } from "../cbor.js";
import { ALG_NAMES } from "../cose.js";
import { diagnostic } from "../diagnostic.js";
import { COMMAND_NAMES, ENVELOPE_BYTES_MAX, TEXT_COMPONENT, TEXT_MANIFEST } from "./model.js";
import { formatUuid } from "../uuid.js";

type Kind = "envelope" | "auth" | "digest" | "sign1" | "cose-header" | "manifest" | "common" | "components" | "sequence" | "parameters" | "text" | "any";

const LABELS: Partial<Record<Kind, Map<number, [string, Kind]>>> = {
  envelope: new Map([[2, ["authentication-wrapper", "auth"]], [3, ["manifest", "manifest"]], [16, ["payload-fetch", "sequence"]], [20, ["install", "sequence"]], [23, ["text", "text"]]]),
  manifest: new Map([
    [1, ["manifest-version", "any"]], [2, ["sequence-number", "any"]], [3, ["common", "common"]], [4, ["reference-uri", "any"]],
    [5, ["manifest-component-id", "any"]], [7, ["validate", "sequence"]], [8, ["load", "sequence"]], [9, ["invoke", "sequence"]],
    [15, ["dependency-resolution", "sequence"]], [16, ["payload-fetch", "sequence"]], [20, ["install", "sequence"]], [23, ["text", "text"]],
    [24, ["uninstall", "sequence"]],
  ]),
  common: new Map([[2, ["components", "components"]], [4, ["shared-sequence", "sequence"]]]),
  parameters: new Map([
    [1, ["vendor-id", "any"]], [2, ["class-id", "any"]], [3, ["image-digest", "digest"]], [5, ["component-slot", "any"]],
    [12, ["strict-order", "any"]], [13, ["soft-failure", "any"]], [14, ["image-size", "any"]], [18, ["content", "any"]],
    [21, ["uri", "any"]], [22, ["source-component", "any"]], [23, ["invoke-args", "any"]], [24, ["device-id", "any"]],
    [25, ["fetch-arguments", "any"]],
  ]),
  "cose-header": new Map([[1, ["alg", "any"]], [2, ["crit", "any"]], [4, ["kid", "any"]]]),
};
const DIGEST_NAMES = new Map([[-16, "sha-256"], [-43, "sha-384"], [-44, "sha-512"]]);
const UUID_PARAMETERS = new Set([1, 2, 24]);
const INDENT = "  ";
const DEPTH_MAX = 24;

/** The envelope in labelled diagnostic notation; bytes that are not CBOR print as hex. */
export function suitDiagnostic(bytes: Uint8Array): string {
  let value: unknown;
  try {
    value = decodeCbor(bytes, ENVELOPE_BYTES_MAX);
  } catch {
    return `h'${Buffer.from(bytes).toString("hex")}' / not well-formed CBOR /`;
  }
  if (value instanceof Tag && value.tag === 107) return `/ SUIT_Envelope_Tagged / 107(${render(value.value, "envelope", 0)})`;
  return render(value, "envelope", 0);
}

function wrapped(bytes: Uint8Array, kind: Kind, depth: number): string {
  try {
    return `<< ${render(decodeCbor(bytes, ENVELOPE_BYTES_MAX), kind, depth)} >>`;
  } catch {
    return diagnostic(bytes);
  }
}

function render(value: unknown, kind: Kind, depth: number): string {
  if (depth > DEPTH_MAX) return "…";
  const pad = INDENT.repeat(depth + 1);
  const close = INDENT.repeat(depth);
  if (kind === "auth" && value instanceof Uint8Array) return wrapped(value, "auth", depth);
  if (kind === "auth" && Array.isArray(value)) {
    const items = value.map((item, i) => (item instanceof Uint8Array ? wrapped(item, i === 0 ? "digest" : "sign1", depth + 1) : diagnostic(item)));
    return `[\n${items.map((item, i) => `${pad}/ ${i === 0 ? "digest" : "signature"} / ${item}`).join(",\n")}\n${close}]`;
  }
  if (kind === "digest" && value instanceof Uint8Array) return wrapped(value, "digest", depth);
  if (kind === "digest" && Array.isArray(value) && value.length === 2) {
    const name = DIGEST_NAMES.get(value[0] as number);
    return `[${diagnostic(value[0])}${name ? ` / ${name} /` : ""}, ${diagnostic(value[1])}]`;
  }
  if (kind === "sign1" && value instanceof Tag && value.tag === 18 && Array.isArray(value.value) && value.value.length === 4) {
    const [protectedBytes, unprotected, payload, signature] = value.value as unknown[];
    const items = [
      `/ protected / ${protectedBytes instanceof Uint8Array ? wrapped(protectedBytes, "cose-header", depth + 1) : diagnostic(protectedBytes)}`,
      `/ unprotected / ${render(unprotected, "cose-header", depth + 1)}`,
      `/ payload / ${diagnostic(payload)}`,
      `/ signature / ${diagnostic(signature)}`,
    ];
    return `/ COSE_Sign1_Tagged / 18([\n${items.map((item) => pad + item).join(",\n")}\n${close}])`;
  }
  if ((kind === "manifest" || kind === "common" || kind === "text") && value instanceof Uint8Array) return wrapped(value, kind, depth);
  if (kind === "sequence" && value instanceof Uint8Array) return wrapped(value, "sequence", depth);
  // A severable member's place in the manifest holds its digest once it is severable.
  if ((kind === "sequence" || kind === "text") && Array.isArray(value) && value.length === 2 && value[1] instanceof Uint8Array) return `/ digest / ${render(value, "digest", depth)}`;
  if (kind === "sequence" && Array.isArray(value)) return renderSequence(value, depth);
  if (kind === "components" && Array.isArray(value)) {
    return `[${value.map((id) => diagnostic(id)).join(", ")}]`;
  }
  if (kind === "text" && value instanceof Map) return renderText(value, depth);
  if (value instanceof Map && LABELS[kind] !== undefined) {
    if (value.size === 0) return "{}";
    const labels = LABELS[kind]!;
    const items = [...value].map(([key, item]) => {
      const label = typeof key === "number" ? labels.get(key) : undefined;
      if (label === undefined) return `${pad}${diagnostic(key)}: ${render(item, kind === "envelope" ? "any" : "any", depth + 1)}`;
      return `${pad}/ ${label[0]} / ${key}: ${annotate(kind, key as number, item, label[1], depth + 1)}`;
    });
    return `{\n${items.join(",\n")}\n${close}}`;
  }
  return diagnostic(value);
}

function annotate(kind: Kind, key: number, item: unknown, itemKind: Kind, depth: number): string {
  const text = render(item, itemKind, depth);
  if (kind === "parameters" && UUID_PARAMETERS.has(key) && item instanceof Uint8Array && item.length === 16) return `${text} / ${formatUuid(item)} /`;
  if (kind === "cose-header" && key === 1 && typeof item === "number" && ALG_NAMES.has(item)) return `${text} / ${ALG_NAMES.get(item)} /`;
  return text;
}

function renderSequence(items: unknown[], depth: number): string {
  const pad = INDENT.repeat(depth + 1);
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const code = items[i];
    const argument = items[i + 1];
    const name = typeof code === "number" ? COMMAND_NAMES.get(code) : undefined;
    let rendered: string;
    if (code === 20) rendered = render(argument, "parameters", depth + 1);
    else if ((code === 15) && Array.isArray(argument)) {
      rendered = `[\n${argument.map((option) => `${INDENT.repeat(depth + 2)}${option instanceof Uint8Array ? wrapped(option, "sequence", depth + 2) : diagnostic(option)}`).join(",\n")}\n${pad}]`;
    } else if (code === 32 && argument instanceof Uint8Array) rendered = wrapped(argument, "sequence", depth + 1);
    else rendered = i + 1 < items.length ? diagnostic(argument) : "";
    lines.push(`${pad}${name ? `/ ${name} / ` : ""}${diagnostic(code)}${rendered === "" ? "" : `, ${rendered}`}`);
  }
  return `[\n${lines.join(",\n")}\n${INDENT.repeat(depth)}]`;
}

function renderText(map: Map<unknown, unknown>, depth: number): string {
  const pad = INDENT.repeat(depth + 1);
  const name = (table: Record<string, number>, key: unknown): string | undefined => Object.entries(table).find(([, label]) => label === key)?.[0];
  const items = [...map].map(([key, item]) => {
    if (typeof key === "string" && item instanceof Map) return `${pad}${diagnostic(key)}: ${renderText(item, depth + 1)}`;
    if (Array.isArray(key) && item instanceof Map) {
      const fields = [...item].map(([label, entry]) => `${INDENT.repeat(depth + 2)}${name(TEXT_COMPONENT, label) ? `/ ${name(TEXT_COMPONENT, label)} / ` : ""}${diagnostic(label)}: ${diagnostic(entry)}`);
      return `${pad}${diagnostic(key)}: {\n${fields.join(",\n")}\n${pad}}`;
    }
    const label = name(TEXT_MANIFEST, key);
    return `${pad}${label ? `/ ${label} / ` : ""}${diagnostic(key)}: ${diagnostic(item)}`;
  });
  return `{\n${items.join(",\n")}\n${INDENT.repeat(depth)}}`;
}
