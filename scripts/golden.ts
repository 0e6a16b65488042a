// Writes test/vectors/messages.json from the producers in scripts/golden/producers.ts: each
// message's hex, its CBOR diagnostic notation and its impeller.cddl rule. Run it once, and
// again only on purpose when the wire format changes: `npm run golden`.

import fs from "node:fs";
import { decodeCbor, decodeCborSequence } from "../protocol/cbor.js";
import { diagnostic } from "../protocol/diagnostic.js";
import { PRODUCERS } from "./golden/producers.js";

export const VECTORS_FILE = new URL("../test/vectors/messages.json", import.meta.url);

const vectors = [];
for (const producer of PRODUCERS) {
  const bytes = await producer.produce();
  // A payload is a CBOR sequence (of one item, for telemetry): each item's meaning, in order.
  const meaning = producer.rule.endsWith("-payload")
    ? decodeCborSequence(bytes).map((item) => diagnostic(item)).join(", ")
    : diagnostic(decodeCbor(bytes));
  vectors.push({ name: producer.name, rule: producer.rule, by: producer.by, hex: Buffer.from(bytes).toString("hex"), diagnostic: meaning });
}
fs.mkdirSync(new URL(".", VECTORS_FILE), { recursive: true });
fs.writeFileSync(VECTORS_FILE, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors to test/vectors/messages.json`);
