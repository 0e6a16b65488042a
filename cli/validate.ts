// `impeller validate`: every real recording in the data folder through the release firmware,
// and how its diagnoses compare with the labels (simulator/replay/recordings.ts replays them,
// simulator/verdict/validation.ts judges them). A manifest that cannot be read stops the command
// (ValidateError, exit 2); a recording that cannot be replayed is one error line in the report,
// the other records still run, and the command exits 1.

import path from "node:path";
import { parseArgs } from "node:util";
import type { CompiledFirmware } from "../host/runtime/firmware.js";
import { DATA_DIR_DEFAULT, ValidateError, WINDOW_DEFAULT, WINDOW_MAX, WINDOW_MIN } from "../simulator/replay/recordings.js";
import { validate } from "../simulator/verdict/validation.js";
import { formatReport } from "../simulator/verdict/validation-text.js";

export async function runValidate(args: string[], write: (text: string) => void = (text) => process.stdout.write(text), firmware?: CompiledFirmware): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false }, verbose: { type: "boolean", default: false }, only: { type: "string" }, window: { type: "string" } },
  });
  if (positionals.length > 1) throw new ValidateError("bad_argument", "validate takes at most one data folder");
  const only = values.only;
  if (only === "") throw new ValidateError("bad_argument", "--only names a data set: the name of its folder (cwru, femto, ...)");
  const window = values.window === undefined ? WINDOW_DEFAULT : Number(values.window);
  if (!Number.isInteger(window) || window < WINDOW_MIN || window > WINDOW_MAX) {
    throw new ValidateError("bad_argument", `--window needs a whole number of samples from ${WINDOW_MIN} to ${WINDOW_MAX}, not ${JSON.stringify(values.window)}`);
  }
  const dir = path.resolve(positionals[0] ?? DATA_DIR_DEFAULT);
  const report = await validate({ dir, only, window, firmware });
  write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report, values.verbose));
  return report.errors.length > 0 ? 1 : 0;
}
