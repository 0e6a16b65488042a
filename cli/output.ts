// Files the command line writes: reports in directories it makes. A path that cannot be written
// is a usage error that names it and says why.

import fs from "node:fs";
import path from "node:path";
import { UsageError } from "./options.js";

export function writeReport(file: string, text: string): void {
  makeDirectoryFor(file);
  try {
    fs.writeFileSync(file, text);
  } catch (error) {
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
  }
}

export function makeDirectoryFor(file: string): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  } catch (error) {
    // mkdir says EEXIST, or ENOTDIR, when a file stands where a directory of the path should be.
    const code = (error as { code?: string }).code;
    const why = code === "EEXIST" || code === "ENOTDIR" ? `a file stands in the way of the directory ${path.dirname(file)}` : (error as Error).message;
    throw new UsageError(`cannot write ${file}: ${why}`);
  }
}
