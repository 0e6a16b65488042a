// What the benches that replay CWRU's records share: the records with a stated speed, their
// manifest and folder, the release image compiled, and the verdict each label expects.

import fs from "node:fs";
import path from "node:path";
import { compileFirmware, type CompiledFirmware } from "../host/runtime/firmware.js";
import { parseRecordsManifest, type LabelledRecord, type RecordsManifest } from "../simulator/replay/recordings.js";

/** The verdict (summary.fault) each CWRU label expects. */
export const EXPECTED: Record<string, string> = { normal: "none", inner: "inner_race", outer: "outer_race", ball: "rolling_element" };

export interface CwruSet {
  cwruDir: string;
  manifest: RecordsManifest;
  /** The records with a stated speed. */
  records: LabelledRecord[];
  firmware: CompiledFirmware;
}

/** CWRU's records with a stated speed under `dataDir`, and the image at `image` compiled. */
export async function cwruWithSpeed(dataDir: string, image: string): Promise<CwruSet> {
  const cwruDir = path.join(dataDir, "cwru");
  const manifestFile = path.join(cwruDir, "manifest.json");
  const manifest = parseRecordsManifest(manifestFile, JSON.parse(fs.readFileSync(manifestFile, "utf8")));
  const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(image)));
  return { cwruDir, manifest, records: manifest.records.filter((r) => r.shaft_rpm !== null), firmware };
}
