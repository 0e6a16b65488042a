// SUIT command sequences and their parameters: parsed from a bstr-wrapped command list, and
// encoded back (the inverse).

import { encodeCbor } from "../cbor.js";
import { parseDigest } from "./cbor-spans.js";
import {
  ACTIONS, COMMAND_NAMES, COMPONENTS_MAX, CONDITIONS, copy, decode, DIRECTIVE, fail, isInt, isUint, NESTING_MAX, PARAMETER,
  SEQUENCE_COMMANDS_MAX, TRY_EACH_OPTIONS_MAX, type SuitCommand, type SuitParameters, type SuitSequence,
} from "./model.js";

function parseParameters(value: unknown, where: string): SuitParameters {
  if (!(value instanceof Map)) return fail("suit_malformed", `${where}: override-parameters takes a map`);
  const out: SuitParameters = {};
  const bstr = (key: number, item: unknown): Uint8Array => (item instanceof Uint8Array ? copy(item) : fail("suit_malformed", `${where}: parameter ${key} must be a bstr`));
  const uint = (key: number, item: unknown): number => (isUint(item) ? item : fail("suit_malformed", `${where}: parameter ${key} must be an unsigned integer`));
  const bool = (key: number, item: unknown): boolean => (typeof item === "boolean" ? item : fail("suit_malformed", `${where}: parameter ${key} must be a boolean`));
  for (const [key, item] of value) {
    if (!isInt(key)) fail("suit_malformed", `${where}: parameter labels are integers`);
    switch (key) {
      case PARAMETER.vendorId: out.vendorId = bstr(key, item); break;
      case PARAMETER.classId: out.classId = bstr(key, item); break;
      case PARAMETER.deviceId: out.deviceId = bstr(key, item); break;
      case PARAMETER.imageDigest: out.imageDigest = parseDigest(decode(bstr(key, item), `${where}: image-digest`), `${where}: image-digest`); break;
      case PARAMETER.componentSlot: out.componentSlot = uint(key, item); break;
      case PARAMETER.strictOrder: out.strictOrder = bool(key, item); break;
      case PARAMETER.softFailure: out.softFailure = bool(key, item); break;
      case PARAMETER.imageSize: out.imageSize = uint(key, item); break;
      case PARAMETER.content: out.content = bstr(key, item); break;
      case PARAMETER.uri: out.uri = typeof item === "string" ? item : fail("suit_malformed", `${where}: uri must be text`); break;
      case PARAMETER.sourceComponent: out.sourceComponent = uint(key, item); break;
      case PARAMETER.invokeArgs: out.invokeArgs = bstr(key, item); break;
      case PARAMETER.fetchArguments: out.fetchArguments = bstr(key, item); break;
      default: (out.other ??= new Map()).set(key, item);
    }
  }
  return out;
}

/** Parses a command sequence from its bstr content (a CBOR array of command, argument pairs). */
export function parseSequence(content: Uint8Array, where = "sequence", depth = 0): SuitSequence {
  if (depth > NESTING_MAX) fail("suit_malformed", `${where}: try-each / run-sequence nested deeper than ${NESTING_MAX}`);
  const items = decode(content, where);
  if (!Array.isArray(items)) return fail("suit_malformed", `${where} must be an array of commands`);
  if (items.length % 2 !== 0) fail("suit_malformed", `${where}: every command needs its argument (odd length ${items.length})`);
  if (items.length / 2 > SEQUENCE_COMMANDS_MAX) fail("suit_unsupported", `${where} has ${items.length / 2} commands; at most ${SEQUENCE_COMMANDS_MAX}`);
  const commands: SuitSequence = [];
  for (let i = 0; i < items.length; i += 2) {
    const code = items[i] as unknown;
    const argument = items[i + 1] as unknown;
    const at = `${where}[${i / 2}]`;
    if (!isInt(code)) fail("suit_malformed", `${at}: a command is an integer, not ${typeof code}`);
    commands.push(parseCommand(code as number, argument, at, depth));
  }
  return commands;
}

function parseCommand(code: number, argument: unknown, at: string, depth: number): SuitCommand {
  if (CONDITIONS.has(code) || ACTIONS.has(code)) {
    if (!isUint(argument)) fail("suit_malformed", `${at}: ${COMMAND_NAMES.get(code)} takes a reporting policy (uint)`);
    return { kind: CONDITIONS.has(code) ? "condition" : "action", code, policy: argument as number };
  }
  switch (code) {
    case DIRECTIVE.setComponentIndex:
      if (isUint(argument) || argument === true) return { kind: "set-component-index", index: argument };
      if (Array.isArray(argument) && argument.length > 0 && argument.length <= COMPONENTS_MAX && argument.every(isUint)) {
        return { kind: "set-component-index", index: [...argument] as number[] };
      }
      return fail("suit_malformed", `${at}: set-component-index takes an index, true or a list of indices`);
    case DIRECTIVE.overrideParameters:
      return { kind: "override-parameters", parameters: parseParameters(argument, at) };
    case DIRECTIVE.tryEach: {
      if (!Array.isArray(argument) || argument.length === 0) return fail("suit_malformed", `${at}: try-each takes a list of sequences`);
      if (argument.length > TRY_EACH_OPTIONS_MAX) fail("suit_unsupported", `${at}: try-each with ${argument.length} options; at most ${TRY_EACH_OPTIONS_MAX}`);
      const options = (argument as unknown[]).map((option, n): SuitCommand[] | null => {
        if (option === null && n === argument.length - 1) return null;
        if (!(option instanceof Uint8Array)) return fail("suit_malformed", `${at}: try-each options are bstr-wrapped sequences (nil only last)`);
        return parseSequence(option, `${at}.option[${n}]`, depth + 1);
      });
      return { kind: "try-each", options };
    }
    case DIRECTIVE.runSequence:
      if (!(argument instanceof Uint8Array)) return fail("suit_malformed", `${at}: run-sequence takes a bstr-wrapped sequence`);
      return { kind: "run-sequence", sequence: parseSequence(argument, `${at}.sequence`, depth + 1) };
    default:
      return { kind: "unknown", code, argument };
  }
}

/** Encodes a sequence back to its bstr content (the inverse of parseSequence). */
export function encodeSequence(sequence: SuitSequence): Uint8Array {
  return encodeCbor(sequence.flatMap((command) => commandItems(command)));
}

function commandItems(command: SuitCommand): unknown[] {
  switch (command.kind) {
    case "condition":
    case "action": return [command.code, command.policy];
    case "set-component-index": return [DIRECTIVE.setComponentIndex, command.index];
    case "override-parameters": return [DIRECTIVE.overrideParameters, encodeParameters(command.parameters)];
    case "try-each": return [DIRECTIVE.tryEach, command.options.map((option) => (option === null ? null : encodeSequence(option)))];
    case "run-sequence": return [DIRECTIVE.runSequence, encodeSequence(command.sequence)];
    case "unknown": return [command.code, command.argument];
  }
}

export function encodeParameters(parameters: SuitParameters): Map<number, unknown> {
  const map = new Map<number, unknown>();
  const p = parameters;
  if (p.vendorId !== undefined) map.set(PARAMETER.vendorId, p.vendorId);
  if (p.classId !== undefined) map.set(PARAMETER.classId, p.classId);
  if (p.imageDigest !== undefined) map.set(PARAMETER.imageDigest, encodeCbor([p.imageDigest.alg, p.imageDigest.bytes]));
  if (p.componentSlot !== undefined) map.set(PARAMETER.componentSlot, p.componentSlot);
  if (p.strictOrder !== undefined) map.set(PARAMETER.strictOrder, p.strictOrder);
  if (p.softFailure !== undefined) map.set(PARAMETER.softFailure, p.softFailure);
  if (p.imageSize !== undefined) map.set(PARAMETER.imageSize, p.imageSize);
  if (p.content !== undefined) map.set(PARAMETER.content, p.content);
  if (p.uri !== undefined) map.set(PARAMETER.uri, p.uri);
  if (p.sourceComponent !== undefined) map.set(PARAMETER.sourceComponent, p.sourceComponent);
  if (p.invokeArgs !== undefined) map.set(PARAMETER.invokeArgs, p.invokeArgs);
  if (p.deviceId !== undefined) map.set(PARAMETER.deviceId, p.deviceId);
  if (p.fetchArguments !== undefined) map.set(PARAMETER.fetchArguments, p.fetchArguments);
  for (const [key, value] of p.other ?? []) map.set(key, value);
  return map;
}
