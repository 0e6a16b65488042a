// Entry point of a firmware worker thread (host/runtime/worker-runtime.ts starts it). Node 20 does not
// hand a loader registered with --import to worker threads, so this file, plain JavaScript,
// loads the TypeScript worker through tsx's API; everything else is in firmware-worker.ts.
import { tsImport } from "tsx/esm/api";

await tsImport("./firmware-worker.ts", import.meta.url);
