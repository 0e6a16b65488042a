// The console of one tenant of a provisioned fleet, in a browser, against mosquitto run with the
// configuration `impeller provision` wrote: it reads as the tenant's collector and commands as
// its operator, each with its certificate; another tenant's pump on the same broker never
// shows; a provisioned pump takes the console's commands (their counter): its waveform comes
// back, the owner's policy changes with the owner's token, and then the pump refuses a waveform.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleBeside } from "../../cli/simulate-console.js";
import { loadIdentity } from "../../host/link/identity.js";
import { OPENSSL, provision } from "../../operator/provision.js";
import { encodeState } from "../../protocol/state.js";
import { buildTopic } from "../../protocol/topics.js";
import { simulate } from "../../simulator/fleet/fleet.js";
import { parseScenario } from "../../simulator/scenario/scenario.js";
import { CHROMIUM_MISSING_REASON, CHROMIUM_PATH, launchBrowser } from "../support/browser.js";
import { MOSQUITTO_MISSING_REASON, MOSQUITTO_PATH, runMosquittoConfig } from "../support/mosquitto.js";
import { testPort } from "../support/ports.js";

const READY = MOSQUITTO_PATH !== undefined && OPENSSL !== undefined && CHROMIUM_PATH !== undefined;

describe.skipIf(!READY)("a tenant's console on a provisioned broker", () => {
  let directory: string;
  let broker: Awaited<ReturnType<typeof runMosquittoConfig>>;
  let browser: Browser;

  beforeAll(async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-console-"));
    fs.chmodSync(directory, 0o755); // mosquitto, run as root, reads its key as the mosquitto user
    const port = await testPort(2); // certificates on the first, passwords on the second
    await provision({ tenant: "acme", devices: 2, out: directory, port, bind: "127.0.0.1", days: 2 });
    await provision({ tenant: "beta", devices: 1, first: 100, out: directory, days: 2 });
    broker = await runMosquittoConfig(path.join(directory, "mosquitto.conf"), port);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await broker?.stop();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it("shows and commands its own pumps only, with the collector's and the operator's certificates", async () => {
    // Beta's pump is on the broker too, its birth retained.
    const beta = loadIdentity(directory, "pump-0101");
    const other = await mqtt.connectAsync(beta.url, { protocolVersion: 4, clientId: "pump-0101", ...beta.client });
    await other.publishAsync(buildTopic("beta", "pump-0101", "state"), Buffer.from(encodeState({ online: true, session: 1, fw: 0x000100 })), { qos: 1, retain: true });
    await other.endAsync();
    const scenario = parseScenario({
      name: "acme, watched", seed: 9, tenant: "acme", start: "2026-03-01T12:00:00Z", days: 40 / 1440, pumps: 2,
      interval_s: 60, sample_rate_hz: 12800, window: 4096,
      pump: {
        rpm: [2950, 2950], vanes: [6, 6], slip: [0.02, 0.02], load: [0.8, 0.8],
        imbalance_g: [0.2, 0.2], misalignment_g: [0.05, 0.05], vane_pass_g: [0.15, 0.15], noise_g: [0.03, 0.03],
      },
    });
    const beside = await consoleBeside(scenario, { port: "0", identities: directory }, 300);
    const page = await browser.newPage();
    let listed: string[] = [];
    let reply = "";
    let replies: string[] = [];
    try {
      let watching: Promise<void> | undefined;
      await simulate(scenario, {
        ...beside.hooks, identities: directory, workers: 1,
        onConnected: async (url) => {
          await beside.hooks.onConnected!(url);
          await page.goto(beside.server.url);
          watching = (async () => {
            await page.click("#pumps tbody tr[data-device=pump-0001]");
            await page.click("#request-waveform");
            await page.waitForSelector("#waveform-section[data-analysed]", { timeout: 20_000 });
            reply = (await page.textContent("#replies li"))!;
            // The owner says no more waveforms, with the owner's token; the pump then refuses one (-13, forbidden).
            const { token } = JSON.parse(fs.readFileSync(path.join(directory, "owner", "acme.json"), "utf8")) as { token: string };
            await page.fill("#policy-token", token);
            await page.selectOption("#policy-waveform", "never");
            await page.click("#policy button[type=submit]");
            await page.waitForSelector("#replies li[data-reply='2']");
            await page.click("#request-waveform");
            await page.waitForSelector("#replies li[data-reply='3']");
            replies = await page.$$eval("#replies li", (lis) => lis.map((li) => li.textContent!));
            listed = await page.$$eval("#pumps tbody tr", (trs) => trs.map((tr) => `${(tr as HTMLElement).dataset.tenant}/${(tr as HTMLElement).dataset.device}`));
          })();
          watching.catch(() => undefined);
        },
      });
      await watching;
    } finally {
      await page.close();
      await beside.close();
    }
    expect(listed).toEqual(["acme/pump-0001", "acme/pump-0002"]);
    expect(reply).toBe("command 1: ok");
    expect(replies).toEqual(["command 1: ok", "command 2: ok", "command 3: refused (-13)"]);
  });
});

it.skipIf(READY)(`skips: ${MOSQUITTO_MISSING_REASON}, or openssl is missing, or ${CHROMIUM_MISSING_REASON}`, () => undefined);
