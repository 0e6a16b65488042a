// SenML packs as RFC 8428 reads them, written from the RFC alone and not from protocol/senml*.ts,
// for tests that hold what devices send to what any SenML reader takes: a pack decoded by a
// CBOR library of its own (the values here are what such a library gives: Maps, numbers, text,
// booleans, byte strings) is checked label by label and resolved record by record.

/** The CBOR labels of RFC 8428 Table 4 (§6); the table is conclusive: extensions use text. */
const LABELS = new Map<number, string>([
  [-1, "bver"], [-2, "bn"], [-3, "bt"], [-4, "bu"], [-5, "bv"], [-6, "bs"],
  [0, "n"], [1, "u"], [2, "v"], [3, "vs"], [4, "vb"], [5, "s"], [6, "t"], [7, "ut"], [8, "vd"],
]);
const TEXT = new Set(["bn", "bu", "n", "u", "vs"]);
const NUMBER = new Set(["bt", "bv", "bs", "v", "s", "t", "ut"]);
const VALUES = ["v", "vs", "vb", "vd"] as const;
/** The highest SenML version this reader knows (§4.4: 10 is the RFC's own). */
const VERSION = 10;
/** §4.5.1: a name's characters, and its first one. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9\-:./_]*$/;

export interface ResolvedRecord {
  name: string;
  time: number;
  unit?: string;
  /** The record's one value, by its kind; absent only when it has a sum. */
  value?: { kind: (typeof VALUES)[number]; value: number | string | boolean | Uint8Array };
  sum?: number;
  updateTime?: number;
}

export interface SenmlPack {
  records: ResolvedRecord[];
  /** Per record, the extension labels it carried (text keys) and their values. */
  extensions: Map<string, unknown>[];
}

/** The records of a decoded pack, resolved (§4.6); throws an Error saying which rule it breaks. */
export function readSenmlPack(pack: unknown): SenmlPack {
  if (!Array.isArray(pack) || pack.length === 0) throw new Error("a pack is a non-empty array of records (§4.1, §11)");
  const base = { name: "", time: 0, unit: undefined as string | undefined, value: 0, sum: 0 };
  const records: ResolvedRecord[] = [];
  const extensions: Map<string, unknown>[] = [];
  pack.forEach((record: unknown, index) => {
    const where = `record ${index}`;
    if (!(record instanceof Map)) throw new Error(`${where} is not a map`);
    const fields = new Map<string, unknown>();
    const extra = new Map<string, unknown>();
    for (const [key, value] of record as Map<unknown, unknown>) {
      if (typeof key === "number") {
        const field = LABELS.get(key);
        if (field === undefined) throw new Error(`${where}: integer label ${key} is not in Table 4`);
        checkType(field, value, where);
        fields.set(field, value);
      } else if (typeof key === "string") {
        // §4.4: a label ending in "_" must be understood, and this reader understands none.
        if (key.endsWith("_")) throw new Error(`${where}: must-understand extension ${key}`);
        // §6: Table 4's labels are integers in CBOR; their JSON names as text are no labels of SenML's.
        if ([...LABELS.values()].includes(key)) throw new Error(`${where}: label ${key} as text, not its integer`);
        extra.set(key, value);
      } else {
        throw new Error(`${where}: a label that is neither an integer nor text`);
      }
    }
    const version = fields.get("bver");
    if (version !== undefined && (version as number) > VERSION) throw new Error(`${where}: SenML version ${version} is newer than ${VERSION}`);
    if (fields.has("bn")) base.name = fields.get("bn") as string;
    if (fields.has("bt")) base.time = fields.get("bt") as number;
    if (fields.has("bu")) base.unit = fields.get("bu") as string;
    if (fields.has("bv")) base.value = fields.get("bv") as number;
    if (fields.has("bs")) base.sum = fields.get("bs") as number;
    const present = VALUES.filter((kind) => fields.has(kind));
    // §4.2: exactly one value field, unless there is a sum; then at most one.
    if (present.length > 1) throw new Error(`${where} has ${present.length} value fields`);
    if (present.length === 0 && !fields.has("s")) throw new Error(`${where} has no value and no sum`);
    const name = base.name + ((fields.get("n") as string | undefined) ?? "");
    if (!NAME.test(name)) throw new Error(`${where}: name ${JSON.stringify(name)} breaks §4.5.1`);
    const resolved: ResolvedRecord = { name, time: base.time + ((fields.get("t") as number | undefined) ?? 0) };
    const unit = (fields.get("u") as string | undefined) ?? base.unit;
    if (unit !== undefined) resolved.unit = unit;
    if (present.length === 1) {
      const kind = present[0];
      const value = fields.get(kind) as number | string | boolean | Uint8Array;
      resolved.value = { kind, value: kind === "v" ? base.value + (value as number) : value };
    }
    if (fields.has("s")) resolved.sum = base.sum + (fields.get("s") as number);
    if (fields.has("ut")) resolved.updateTime = fields.get("ut") as number;
    records.push(resolved);
    extensions.push(extra);
  });
  return { records, extensions };
}

function checkType(field: string, value: unknown, where: string): void {
  const ok = TEXT.has(field) ? typeof value === "string"
    : NUMBER.has(field) ? typeof value === "number" && Number.isFinite(value)
    : field === "vb" ? typeof value === "boolean"
    : field === "vd" ? value instanceof Uint8Array
    : Number.isInteger(value) && (value as number) > 0; // bver
  if (!ok) throw new Error(`${where}: ${field} has the wrong type (${typeof value})`);
}
