// The README's pictures of the console: the default scenario run at a day per second with a
// console beside it, a headless chromium (Debian's, through playwright-core) on the page; the
// twin of the pump in the worst state, its waveform requested near the end of the run and
// analysed in the page, then the fleet view.
//
//   npx tsx scripts/console-screenshots.ts [--out docs] [--chromium /usr/bin/chromium]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import { consoleBeside } from "../cli/simulate-console.js";
import { DEFAULT_SCENARIO } from "../cli/simulate.js";
import { simulate } from "../simulator/fleet/fleet.js";
import { loadScenario } from "../simulator/scenario/scenario.js";

const PACE_DAY_PER_SECOND = 86_400;
const VIEWPORT = { width: 1560, height: 860 };
const WAIT_MS = 120_000;

async function twinShot(page: Page, file: string): Promise<void> {
  // The worst pump first: the highest health index (0 healthy, 1 failed).
  await page.click("#pumps th[data-sort=health]");
  await page.click("#pumps tbody tr:first-child");
  await page.waitForSelector("#twin:not([hidden]) #trends svg");
  await page.click("#request-waveform");
  await page.waitForSelector("#waveform-section[data-analysed]", { timeout: WAIT_MS }).catch(async (error: unknown) => {
    throw new Error(`no waveform analysed: ${await page.textContent("#command-result")}; ${await page.textContent("#waveform-status")}`, { cause: error });
  });
  await page.locator("#twin").screenshot({ path: file });
  await page.click("#twin-close");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string", default: "docs" }, chromium: { type: "string", default: "/usr/bin/chromium" } } });
  fs.mkdirSync(values.out, { recursive: true });
  const scenario = loadScenario(DEFAULT_SCENARIO);
  const beside = await consoleBeside(scenario, { port: "0" }, PACE_DAY_PER_SECOND);
  const browser = await chromium.launch({ executablePath: values.chromium, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
  const page = await browser.newPage({ viewport: VIEWPORT });
  let shots: Promise<void> | undefined;
  try {
    await simulate(scenario, {
      ...beside.hooks,
      onConnected: async (url) => {
        await beside.hooks.onConnected!(url);
        await page.goto(beside.server.url);
        // The pictures are taken late in the run, its broker still up for the waveform.
        shots = (async () => {
          await page.waitForFunction(() => /simulation (8[0-9]|9[0-9]) %/.test(document.querySelector("#run")!.textContent ?? ""), undefined, { timeout: WAIT_MS });
          await twinShot(page, path.join(values.out!, "console-twin.png"));
          await page.evaluate(() => window.scrollTo(0, 0));
          await page.screenshot({ path: path.join(values.out!, "console-fleet.png") });
        })();
        shots.catch(() => undefined);
      },
    });
    await shots;
    process.stdout.write(`Wrote ${path.join(values.out, "console-fleet.png")} and ${path.join(values.out, "console-twin.png")}\n`);
  } finally {
    await browser.close();
    await beside.close();
  }
}

await main();
