// Loopback ports for the tests' servers, for a test that stops a broker and starts it again on
// the same port. A port the kernel hands out for `listen(0)` comes from its ephemeral range
// (32768–60999 by default on Linux), the range every outgoing connection's own port comes from
// too: between a broker's exit and its restart, a client of another test file (vitest runs
// files in parallel worker processes) could be given that very port for its end of a
// connection, and the restart could not bind it. These ports come from below that range, from
// a band of its own for each worker, handed out in turn: no outgoing connection and no other
// worker takes one, and a test file (whose tests run one after another, in a worker that runs
// one file at a time) is handed the same port again only after the rest of its band.

import net from "node:net";

const BAND_START = 20_000;
const BAND_PORTS = 500;
/** Workers (forks) that get bands of their own before they share: 24 bands end at 32,000. */
const BANDS = 24;

const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 0);
const band = BAND_START + (Number.isInteger(worker) && worker >= 0 ? worker % BANDS : 0) * BAND_PORTS;
let next = 0;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The next port of this worker's band that nothing listens on. `span` ports in a row when a
 *  server takes more than one (a provisioned broker listens on two). */
export async function testPort(span = 1): Promise<number> {
  for (let tried = 0; tried < BAND_PORTS; tried++) {
    if (next + span > BAND_PORTS) next = 0;
    const port = band + next;
    next += span;
    let free = true;
    for (let i = 0; i < span && free; i++) free = await bindable(port + i);
    if (free) return port;
  }
  throw new Error(`no ${span} free port(s) in a row in ${band}–${band + BAND_PORTS - 1}`);
}
