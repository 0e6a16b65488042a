// Entry point of the embedded broker's own process (simulator/net/broker-process.ts forks it): a
// plain JavaScript file that loads the TypeScript child through tsx's API.
import { tsImport } from "tsx/esm/api";

await tsImport("./broker-child.ts", import.meta.url);
