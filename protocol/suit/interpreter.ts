// The SUIT command interpreter: runs a manifest's sequences, bounded (STEPS_MAX commands,
// NESTING_MAX levels of try-each and run-sequence), against a context the update agent
// implements. It never throws for what the manifest or the device does.

import {
  bytesEqual, COMMAND_NAMES, COMPONENTS_MAX, CONDITION, DIRECTIVE, hex, NESTING_MAX, REPORT, STEPS_MAX, SuitError,
  type SeverableName, type StepName, type SuitDigestAlg, type SuitErrorCode, type SuitManifestInfo, type SuitParameters, type SuitSequence,
} from "./model.js";

type Awaitable<T> = T | Promise<T>;

/** What the device does for the interpreter. Components are indices into the manifest's
 *  component list. Each method may return a promise: runSequence is async so that fetch can
 *  be a block download. Optional methods the manifest needs but the device lacks make the
 *  command fail as suit_unsupported. Any error a method throws fails the command (suit_failed). */
export interface SuitContext {
  readonly vendorId: Uint8Array;
  readonly classId: Uint8Array;
  readonly deviceId?: Uint8Array;
  /** directive-fetch: get the image at `uri` into `component` (the context stores it). If it
   *  returns the bytes, their length is checked against image-size. */
  fetch(uri: string, component: number, parameters: Readonly<SuitParameters>): Awaitable<Uint8Array | void>;
  /** condition-image-match: the digest under `alg` of what `component` holds (its first `size`
   *  bytes when the manifest gives an image-size). */
  imageDigest(component: number, alg: SuitDigestAlg, size: number | undefined): Awaitable<Uint8Array>;
  /** directive-invoke: boot or hand over to `component`. */
  invoke(component: number, args: Uint8Array | undefined): Awaitable<void>;
  /** condition-component-slot: the slot `component` would be written to (e.g. the inactive one). */
  componentSlot?(component: number): Awaitable<number>;
  /** condition-check-content: the first `length` bytes `component` holds. */
  readContent?(component: number, length: number): Awaitable<Uint8Array>;
  write?(component: number, content: Uint8Array): Awaitable<void>;
  copy?(source: number, target: number, parameters: Readonly<SuitParameters>): Awaitable<void>;
  swap?(a: number, b: number): Awaitable<void>;
  /** Each record the reporting policies ask for, as it happens. */
  report?(record: SuitRecord): void;
}

export interface SuitRecord {
  command: string;
  code: number;
  component: number;
  ok: boolean;
  reason?: string;
}

export interface SuitState {
  /** Parameters per component, kept across the sequences of one manifest run. */
  parameters: SuitParameters[];
  /** The components the next command applies to. */
  selected: number[];
}

export type SuitResult =
  | { ok: true; steps: number; records: SuitRecord[] }
  | { ok: false; error: SuitError; steps: number; records: SuitRecord[] };

export function createState(components: number): SuitState {
  if (!Number.isInteger(components) || components < 1 || components > COMPONENTS_MAX) throw new RangeError(`1..${COMPONENTS_MAX} components, not ${components}`);
  return { parameters: Array.from({ length: components }, () => ({})), selected: [0] };
}

/** A failed command inside a sequence, soft when a try-each may move on to its next option. */
class Failure {
  constructor(readonly error: SuitError, readonly soft: boolean) {}
}

interface Run {
  context: SuitContext;
  state: SuitState;
  steps: number;
  records: SuitRecord[];
}

/** Runs one command sequence. Bounded: STEPS_MAX commands, NESTING_MAX levels of try-each and
 *  run-sequence. Never throws for what the manifest or the device does; programming errors do. */
export async function runSequence(sequence: SuitSequence, context: SuitContext, state: SuitState = createState(1)): Promise<SuitResult> {
  return runSequences([sequence], context, state);
}

/** Runs a manifest's step the way SUIT does: the shared sequence, then the step's sequence, on
 *  one parameter state. A step the manifest lacks does nothing; a severed one cannot run. */
export async function runManifest(envelope: { manifest: SuitManifestInfo }, step: StepName, context: SuitContext): Promise<SuitResult> {
  const { manifest } = envelope;
  if (manifest.severed.includes(step as SeverableName)) {
    return { ok: false, error: new SuitError("suit_unsupported", `${step} was severed from this envelope: get the full envelope`), steps: 0, records: [] };
  }
  return runSequences([manifest.sequences.shared, manifest.sequences[step] ?? []], context, createState(manifest.components.length));
}

async function runSequences(sequences: SuitSequence[], context: SuitContext, state: SuitState): Promise<SuitResult> {
  const run: Run = { context, state, steps: 0, records: [] };
  try {
    for (const sequence of sequences) await execute(run, sequence, 0, false);
    return { ok: true, steps: run.steps, records: run.records };
  } catch (error) {
    if (error instanceof Failure) return { ok: false, error: error.error, steps: run.steps, records: run.records };
    throw error;
  }
}

const HARD: ReadonlySet<SuitErrorCode> = new Set(["suit_limit", "suit_unsupported", "suit_malformed"]);

async function execute(run: Run, sequence: SuitSequence, depth: number, softDefault: boolean): Promise<void> {
  if (depth > NESTING_MAX) throw new Failure(new SuitError("suit_limit", `try-each / run-sequence nested deeper than ${NESTING_MAX}`), false);
  for (const command of sequence) {
    if (++run.steps > STEPS_MAX) throw new Failure(new SuitError("suit_limit", `more than ${STEPS_MAX} commands executed`), false);
    const { state } = run;
    switch (command.kind) {
      case "set-component-index": {
        const index = command.index === true ? state.parameters.map((_, i) => i) : Array.isArray(command.index) ? command.index : [command.index];
        const bad = index.find((i) => i >= state.parameters.length);
        if (bad !== undefined) throw new Failure(new SuitError("suit_malformed", `set-component-index ${bad}: the manifest has ${state.parameters.length} components`), false);
        state.selected = index;
        break;
      }
      case "override-parameters":
        for (const component of state.selected) {
          const target = state.parameters[component];
          const { other, ...known } = command.parameters;
          Object.assign(target, known);
          if (other !== undefined) target.other = new Map([...(target.other ?? []), ...other]);
        }
        break;
      case "try-each":
        await tryEach(run, command.options, depth);
        break;
      case "run-sequence":
        await runNested(run, command.sequence, depth);
        break;
      case "unknown":
        throw new Failure(new SuitError("suit_unsupported", `command ${command.code} is not supported`), false);
      default:
        for (const component of state.selected) await perform(run, command, component, softDefault);
    }
  }
}

async function tryEach(run: Run, options: (SuitSequence | null)[], depth: number): Promise<void> {
  const reasons: string[] = [];
  for (const option of options) {
    if (option === null) return;
    try {
      await execute(run, option, depth + 1, true);
      return;
    } catch (error) {
      if (!(error instanceof Failure) || !error.soft) throw error;
      reasons.push(error.error.message);
    }
  }
  throw new Failure(new SuitError("suit_condition", `no option of try-each succeeded: ${reasons.join("; ")}`), false);
}

async function runNested(run: Run, sequence: SuitSequence, depth: number): Promise<void> {
  try {
    await execute(run, sequence, depth + 1, false);
  } catch (error) {
    // soft-failure set for the nested sequence: its failure ends it without failing this one.
    if (error instanceof Failure && error.soft && !HARD.has(error.error.code)) return;
    throw error;
  }
}

async function perform(run: Run, command: { kind: "condition" | "action"; code: number; policy: number }, component: number, softDefault: boolean): Promise<void> {
  const name = COMMAND_NAMES.get(command.code) ?? String(command.code);
  const parameters = run.state.parameters[component];
  let error: SuitError | undefined;
  try {
    error = command.kind === "condition" ? await condition(run.context, command.code, component, parameters) : await action(run.context, command.code, component, parameters);
  } catch (thrown) {
    error = thrown instanceof SuitError ? thrown : new SuitError("suit_failed", `${name} on component ${component} failed: ${(thrown as Error)?.message ?? String(thrown)}`, { cause: thrown });
  }
  const ok = error === undefined;
  if ((ok && command.policy & REPORT.recordSuccess) || (!ok && command.policy & REPORT.recordFailure)) {
    const record: SuitRecord = { command: name, code: command.code, component, ok };
    if (!ok) record.reason = error!.message;
    run.records.push(record);
    run.context.report?.(record);
  }
  if (error !== undefined) throw new Failure(error, !HARD.has(error.code) && (parameters.softFailure ?? softDefault));
}

const missing = (name: string, parameter: string): SuitError => new SuitError("suit_condition", `${name}: parameter ${parameter} is not set`);
const unsupported = (name: string, method: string): SuitError => new SuitError("suit_unsupported", `${name}: this device has no ${method}`);

async function condition(context: SuitContext, code: number, component: number, p: SuitParameters): Promise<SuitError | undefined> {
  const compare = (name: string, want: Uint8Array | undefined, have: Uint8Array | undefined, what: string): SuitError | undefined => {
    if (want === undefined) return missing(name, what);
    if (have === undefined || !bytesEqual(want, have)) return new SuitError("suit_condition", `${name}: the manifest wants ${what} ${hex(want)}, this device is ${have === undefined ? "(none)" : hex(have)}`);
    return undefined;
  };
  switch (code) {
    case CONDITION.vendorIdentifier: return compare("vendor-identifier", p.vendorId, context.vendorId, "vendor-id");
    case CONDITION.classIdentifier: return compare("class-identifier", p.classId, context.classId, "class-id");
    case CONDITION.deviceIdentifier: return compare("device-identifier", p.deviceId, context.deviceId, "device-id");
    case CONDITION.imageMatch: {
      if (p.imageDigest === undefined) return missing("image-match", "image-digest");
      const actual = await context.imageDigest(component, p.imageDigest.alg, p.imageSize);
      return bytesEqual(actual, p.imageDigest.bytes) ? undefined : new SuitError("suit_digest", `image-match: component ${component} holds ${hex(actual).slice(0, 16)}…, the manifest wants ${hex(p.imageDigest.bytes).slice(0, 16)}…`);
    }
    case CONDITION.componentSlot: {
      if (p.componentSlot === undefined) return missing("component-slot", "component-slot");
      if (context.componentSlot === undefined) return unsupported("component-slot", "componentSlot");
      const slot = await context.componentSlot(component);
      return slot === p.componentSlot ? undefined : new SuitError("suit_condition", `component-slot: component ${component} is in slot ${slot}, not ${p.componentSlot}`);
    }
    case CONDITION.checkContent: {
      if (p.content === undefined) return missing("check-content", "content");
      if (context.readContent === undefined) return unsupported("check-content", "readContent");
      const held = await context.readContent(component, p.content.length);
      return bytesEqual(held, p.content) ? undefined : new SuitError("suit_condition", `check-content: component ${component} holds other content`);
    }
    case CONDITION.abort: return new SuitError("suit_abort", "the manifest aborted (condition-abort)");
    default: return new SuitError("suit_unsupported", `condition ${code} is not supported`);
  }
}

async function action(context: SuitContext, code: number, component: number, p: SuitParameters): Promise<SuitError | undefined> {
  switch (code) {
    case DIRECTIVE.fetch: {
      if (p.uri === undefined) return missing("fetch", "uri");
      const fetched = await context.fetch(p.uri, component, p);
      if (fetched instanceof Uint8Array && p.imageSize !== undefined && fetched.length !== p.imageSize) {
        return new SuitError("suit_digest", `fetch: got ${fetched.length} bytes from ${p.uri}, the manifest says ${p.imageSize}`);
      }
      return undefined;
    }
    case DIRECTIVE.write:
      if (p.content === undefined) return missing("write", "content");
      if (context.write === undefined) return unsupported("write", "write");
      await context.write(component, p.content);
      return undefined;
    case DIRECTIVE.copy:
      if (p.sourceComponent === undefined) return missing("copy", "source-component");
      if (context.copy === undefined) return unsupported("copy", "copy");
      await context.copy(p.sourceComponent, component, p);
      return undefined;
    case DIRECTIVE.swap:
      if (p.sourceComponent === undefined) return missing("swap", "source-component");
      if (context.swap === undefined) return unsupported("swap", "swap");
      await context.swap(component, p.sourceComponent);
      return undefined;
    case DIRECTIVE.invoke:
      await context.invoke(component, p.invokeArgs);
      return undefined;
    default: return new SuitError("suit_unsupported", `directive ${code} is not supported`);
  }
}
