// The console in a real browser (headless chromium): a run's pumps listed with the health the
// independent collector decoded; a bearing fault that develops during a paced run reaching the
// alarm feed while the run still goes, and the pump's waveform analysed by firmware.wasm in the
// page as the pump analysed it, its spectra the firmware's own; a campaign started, paused and aborted from the page, and the
// fleet's firmware as that left it; a tenant's console listing its own pumps only.

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleBeside, type ConsoleBeside } from "../../cli/simulate-console.js";
import { ConsoleLink } from "../../operator/console/console-link.js";
import { startConsole } from "../../cli/console.js";
import { encodeState } from "../../protocol/state.js";
import { buildTopic } from "../../protocol/topics.js";
import { simulate, type SimulationOptions, type SimulationResult } from "../../simulator/fleet/fleet.js";
import { startEmbeddedBroker } from "../../simulator/net/broker.js";
import { loadScenario, parseScenario, type Scenario } from "../../simulator/scenario/scenario.js";
import { CHROMIUM_MISSING_REASON, CHROMIUM_PATH, launchBrowser } from "../support/browser.js";
import mqtt from "mqtt";
import { bootRelease } from "../../host/runtime/harness-hosts.js";
import { encodeFirmwareConfig, type FirmwareConfig } from "../../protocol/messages.js";

const DEFAULT = loadScenario("scenarios/default.json");

/** A small fleet on the default scenario's pumps: `pumps` of them for `days`, with `extra`. */
function scenario(pumps: number, days: number, extra: Record<string, unknown>): Scenario {
  return parseScenario({ ...DEFAULT, name: "console test", pumps, days, faults: [], expectations: [], ...extra }, "console test");
}

let browser: Browser;

beforeAll(async () => {
  if (CHROMIUM_PATH === undefined) return;
  browser = await launchBrowser();
});
afterAll(async () => browser?.close());

/** What the page drew, as it exposes it: each spectrum's bin width and values, the number of
 *  points its chart has, and the configurations and window it ran firmware.wasm on. */
interface DrawnSpectra {
  power: { binHz: number; values: number[]; bins: string };
  envelope: { binHz: number; values: number[]; bins: string };
  configs: { figures: FirmwareConfig; envelope: FirmwareConfig };
  samples: number[];
  t: number;
  title: string;
}

/** The spectrum `kind` the TypeScript host's Firmware gives of `samples` under `config`. */
async function hostSpectrum(config: FirmwareConfig, samples: number[], t: number, kind: "power" | "envelope") {
  const { firmware } = await bootRelease();
  firmware.init(encodeFirmwareConfig(config));
  firmware.process(Float32Array.from(samples), t, config.rate_hz);
  const { binHz, values } = firmware.spectrum(kind);
  return { binHz, values: Array.from(values) };
}

/** Runs `s` with a console beside it and a page open on it before the first window. */
async function runWithPage(s: Scenario, pace: number | undefined, during: (page: Page, beside: ConsoleBeside) => Promise<void>, options: Partial<SimulationOptions> = {}): Promise<SimulationResult> {
  const beside = await consoleBeside(s, { port: "0" }, pace);
  const page = await browser.newPage();
  try {
    let watching: Promise<void> | undefined;
    const result = await simulate(s, {
      ...beside.hooks, ...options,
      onConnected: async (url) => {
        await beside.hooks.onConnected!(url);
        await page.goto(beside.server.url);
        await page.waitForSelector("#connection.up");
        watching = during(page, beside);
        watching.catch(() => undefined);
      },
    });
    await watching;
    return result;
  } finally {
    await page.close();
    await beside.close();
  }
}

describe.skipIf(CHROMIUM_PATH === undefined)("the console in a browser", () => {
  it("lists the pumps of a run with the health the collector decoded, sorted and filtered", async () => {
    let rows: { device: string; health: string }[] = [];
    let sorted: string[] = [];
    let filtered: string[] = [];
    const result = await runWithPage(scenario(4, 0.5, {}), undefined, async (page) => {
      await page.waitForSelector("#run[data-done=yes]");
      await page.waitForFunction(() => document.querySelectorAll("#pumps tbody tr").length === 4);
      // The last push after the run: every pump's last window in.
      await page.waitForFunction(() => [...document.querySelectorAll("#pumps td[data-column=windows]")].every((td) => td.textContent === "24"));
      rows = await page.$$eval("#pumps tbody tr", (trs) => trs.map((tr) => ({
        device: (tr as HTMLElement).dataset.device!, health: tr.querySelector("td[data-column=health]")!.textContent!,
      })));
      // Sorted by health index, the worst first, then filtered down to one pump.
      await page.click("#pumps th[data-sort=health]");
      sorted = await page.$$eval("#pumps tbody tr", (trs) => trs.map((tr) => (tr as HTMLElement).dataset.device!));
      await page.fill("#filter", "pump-0003");
      filtered = await page.$$eval("#pumps tbody tr", (trs) => trs.map((tr) => (tr as HTMLElement).dataset.device!));
    });
    expect(rows.map((r) => r.device)).toEqual(["pump-0001", "pump-0002", "pump-0003", "pump-0004"]);
    expect(rows.map((r) => r.health)).toEqual(result.pumps.map((p) => p.last!.get("health")!.toFixed(2)));
    const worstFirst = [...result.pumps].sort((a, b) => b.last!.get("health")! - a.last!.get("health")!).map((p) => p.device);
    expect(sorted).toEqual(worstFirst);
    expect(filtered).toEqual(["pump-0003"]);
  });

  it("shows a fault that develops during the run live, the pump's waveform as the pump analysed it, and the maintenance recorded", async () => {
    const s = scenario(3, 5, { faults: [{ kind: "outer_race", pumps: [0], onset_day: [0.5, 0.5], pf_days: [1.5, 1.5] }] });
    let liveAt = "";
    let analysis: Record<string, { browser: string; pump: string }> = {};
    let maintenance = "";
    let drawn!: DrawnSpectra;
    await runWithPage(s, 43_200, async (page) => {
      await page.click("#pumps tbody tr[data-device=pump-0001]");
      await page.waitForSelector("#twin[data-device=pump-0001] #trends svg");
      // A healthy pump to begin with; then the alarm, while the run still goes.
      expect(await page.textContent("#pumps tr[data-device=pump-0001] td[data-column=alarm]")).toBe("none");
      await page.waitForSelector("#alarms li[data-device=pump-0001][data-kind=alarm][data-level=alert]", { timeout: 20_000 });
      liveAt = (await page.getAttribute("#run", "data-done"))!;
      await page.click("#request-waveform");
      await page.waitForSelector("#waveform-section[data-analysed]", { timeout: 20_000 });
      analysis = await page.$$eval("#browser-analysis tbody tr", (trs) => Object.fromEntries(trs.map((tr) => [(tr as HTMLElement).dataset.name!, {
        browser: tr.querySelector("[data-source=browser]")!.textContent!, pump: tr.querySelector("[data-source=pump]")!.textContent!,
      }])));
      expect(await page.$$eval("#spectra svg", (svgs) => svgs.length)).toBe(2);
      drawn = await page.evaluate(() => {
        const seen = (window as unknown as { consoleSpectra: { power: { binHz: number; values: Float32Array }; envelope: { binHz: number; values: Float32Array }; configs: DrawnSpectra["configs"]; samples: Float32Array; t: number } }).consoleSpectra;
        const [power, envelope] = [...document.querySelectorAll("#spectra svg")] as SVGElement[];
        return {
          power: { binHz: seen.power.binHz, values: Array.from(seen.power.values), bins: power.dataset.bins! },
          envelope: { binHz: seen.envelope.binHz, values: Array.from(seen.envelope.values), bins: envelope.dataset.bins! },
          configs: seen.configs, samples: Array.from(seen.samples), t: seen.t, title: envelope.getAttribute("aria-label")!,
        };
      });
      // The bearing replaced: the pump records it, and the feed says so.
      await page.selectOption("#maintenance-action", "replace_bearing");
      await page.click("#record-maintenance");
      await page.waitForSelector("#alarms li[data-device=pump-0001][data-kind=maintenance]", { timeout: 20_000 });
      maintenance = (await page.textContent("#alarms li[data-kind=maintenance] span"))!;
    });
    expect(maintenance).toBe("maintenance recorded: replace_bearing");
    expect(liveAt).toBe("no");
    // The window's time features as the pump's firmware published them, computed again by the same image in the page.
    for (const name of ["acc_rms", "kurtosis", "crest", "vel_rms"]) {
      expect(analysis[name].pump, name).not.toBe("—");
      expect(analysis[name].browser, name).toBe(analysis[name].pump);
    }
    // The spectra drawn are the firmware's: the TypeScript host's Firmware.spectrum gives the same
    // values, bin for bin, for the same window and configuration; the envelope's band is the pump's.
    const power = await hostSpectrum(drawn.configs.figures, drawn.samples, drawn.t, "power");
    expect(drawn.samples.length).toBe(4096);
    expect(power.values.length).toBe(2049); // bins 0 … 2,048 of the window's FFT
    expect({ binHz: drawn.power.binHz, values: drawn.power.values }).toEqual(power);
    expect(drawn.power.bins).toBe(String(power.values.length));
    const envelope = await hostSpectrum(drawn.configs.envelope, drawn.samples, drawn.t, "envelope");
    expect({ binHz: drawn.envelope.binHz, values: drawn.envelope.values }).toEqual(envelope);
    expect(drawn.envelope.bins).toBe(String(envelope.values.length));
    const [low, high] = drawn.configs.envelope.band_hz!;
    expect(drawn.title).toBe(`squared envelope spectrum, band ${low.toFixed(0)}–${high.toFixed(0)} Hz, bins of ${envelope.binHz.toPrecision(4)} Hz`);
  });

  it("starts, pauses and aborts a campaign from the page, and the fleet keeps the firmware that left it", async () => {
    const s = scenario(10, 1, {
      campaigns: [{ name: "fw-0.2.0", start_day: 0.9, image: "v0.2.0", waves: [0.1, 0.5, 1], success_threshold: 0.9, error_threshold: 0.5, on_error: "abort" }],
    });
    let paused = { waves: 0 };
    // A simulated day in 20 s: the pause (two clicks and a redraw after the start) must come
    // before the third wave starts; at 2 s a day a loaded machine's browser once clicked too
    // late, and at 10 s once more, beside the whole suite on two cores.
    const result = await runWithPage(s, 4_320, async (page) => {
      // Paused as soon as it may be: while starting, or once it runs.
      await page.click("button[data-campaign='fw-0.2.0'][data-action=start]");
      await page.click("button[data-campaign='fw-0.2.0'][data-action=pause]", { timeout: 20_000 });
      await page.waitForSelector(".campaign[data-state=paused]");
      paused = { waves: Number(await page.getAttribute(".campaign", "data-waves")) };
      await page.click("button[data-campaign='fw-0.2.0'][data-action=abort]");
      await page.waitForSelector(".campaign[data-state=aborted]");
      await page.waitForSelector("#run[data-done=yes]", { timeout: 60_000 });
    });
    const [report] = result.campaigns;
    expect(report.state).toBe("aborted");
    expect(report.reason).toBe("aborted by the operator from the console");
    // No wave started after the pause: every device of the waves started was offered, none other.
    expect(report.maxWave).toBe(paused.waves);
    expect(report.maxWave).toBeLessThan(3);
    const offered = report.devices.filter((d) => d.offers > 0).map((d) => d.device);
    expect(offered.length).toBe(report.maxWave === 1 ? 1 : 5);
    expect(report.counts.pending).toBe(10 - offered.length);
    // The pumps never offered still run the release they booted, 0.1.0.
    const never = report.devices.filter((d) => d.outcome === "pending").map((d) => d.device);
    for (const device of never) expect(result.collector.devices.get(device)!.states.filter((state) => state.online).at(-1)?.fw).toBe(0x000100);
  });
});

describe.skipIf(CHROMIUM_PATH === undefined)("a tenant's console", () => {
  it("never lists or commands another tenant's pumps", async () => {
    const broker = await startEmbeddedBroker({});
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: "two-tenants" });
    const server = await startConsole({ port: 0, title: "tenant acme", contract: 0.995 });
    const link = await ConsoleLink.connect(broker.url, "acme");
    const page = await browser.newPage();
    try {
      for (const [tenant, device] of [["acme", "pump-a1"], ["acme", "pump-a2"], ["beta", "pump-b1"]]) {
        await client.publishAsync(buildTopic(tenant, device, "state"), Buffer.from(encodeState({ online: true, session: 1, fw: 0x000100 })), { retain: true, qos: 1 });
      }
      server.attach(link);
      await page.goto(server.url);
      await page.waitForFunction(() => document.querySelectorAll("#pumps tbody tr").length === 2);
      expect(await page.$$eval("#pumps tbody tr", (trs) => trs.map((tr) => (tr as HTMLElement).dataset.device))).toEqual(["pump-a1", "pump-a2"]);
      const refused = await page.evaluate(async () => {
        const response = await fetch("/api/command", { method: "POST", body: JSON.stringify({ tenant: "beta", device: "pump-b1", cmd: "waveform" }) });
        return { status: response.status, body: await response.json() };
      });
      expect(refused).toEqual({ status: 404, body: { code: "not_found", error: "this console is tenant acme's: it knows no pump of tenant beta" } });
      expect([...link.collectors.keys()]).toEqual(["acme"]);
    } finally {
      await page.close();
      await server.close();
      await link.close();
      await client.endAsync();
      await broker.end();
    }
  });
});

it.skipIf(CHROMIUM_PATH !== undefined)(`skips: ${CHROMIUM_MISSING_REASON}`, () => undefined);
