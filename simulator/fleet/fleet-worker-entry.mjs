// Entry point of a fleet worker thread (simulator/fleet/fleet.ts starts it). Node 20 does not hand a
// loader registered with --import to worker threads, so this plain JavaScript file loads the
// TypeScript worker through tsx's API.
import { tsImport } from "tsx/esm/api";

await tsImport("./fleet-worker.ts", import.meta.url);
