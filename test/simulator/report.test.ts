// The HTML report: one self-contained file (nothing fetched, no scripts), a plot per pump
// given a fault, names from the scenario and the fleet escaped, every series thinned to a bound.

import { beforeAll, describe, expect, it } from "vitest";
import { simulate, type SimulationResult } from "../../simulator/fleet/fleet.js";
import { decimate } from "../../simulator/verdict/report-plots.js";
import { htmlReport } from "../../simulator/verdict/report-html.js";
import type { ReportInput } from "../../simulator/verdict/findings.js";
import { parseScenario } from "../../simulator/scenario/scenario.js";

const scenario = parseScenario({
  name: "report: four pumps, a day and a half", seed: 5, tenant: "rep", start: "2026-01-05T00:00:00Z", days: 1.5, pumps: 4,
  interval_s: 1800, sample_rate_hz: 12800, window: 4096, bearing: [9, 7.94, 39.04, 0],
  faults: [
    { kind: "outer_race", pumps: [0], onset_day: [0.1, 0.1], pf_days: [1, 1] },
    { kind: "inner_race", pumps: [2], onset_day: [0.2, 0.2], pf_days: [1, 1] },
  ],
  expectations: [{ kind: "faults_detected", min_share: 1 }],
  pump: {
    rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1.0], imbalance_g: [0.005, 0.03],
    misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03],
  },
});

describe("HTML report of a run", () => {
  let result: SimulationResult;
  let html: string;
  beforeAll(async () => {
    result = await simulate(scenario);
    html = htmlReport(result);
  });

  it("is one self-contained file: no URLs, no scripts, no external style sheets or images", () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/https?:/);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).toContain("<style>");
  });

  it("has one plot per pump given a fault, and marks each fault's onset and failure", () => {
    const degraded = result.pumps.filter((p) => p.degradations.length > 0).map((p) => p.device);
    expect(degraded).toEqual(["pump-0001", "pump-0003"]);
    const articles = [...html.matchAll(/<article class="pump degraded" id="pump-([^"]+)">/g)].map((m) => m[1]);
    expect(articles).toEqual(degraded);
    // Each article holds one figure; healthy pumps come as a sample of their own.
    for (const device of degraded) {
      const article = html.slice(html.indexOf(`id="pump-${device}"`), html.indexOf("</article>", html.indexOf(`id="pump-${device}"`)));
      expect(article.match(/<svg class="plot"/g)).toHaveLength(1);
      expect(article.match(/class="m-onset"/g)).toHaveLength(1);
      expect(article.match(/class="m-failure"/g)).toHaveLength(1);
      expect(article).toContain("velocity RMS, mm/s");
      expect(article).toContain("health index");
    }
    expect(html).toContain("faults_detected min_share=1");
  });
});

/** A hand-made run with hostile names. */
function hostile(windows: number): ReportInput {
  const start = Date.parse("2026-01-01T00:00:00Z");
  const device = `<b>pump</b>&"1"`;
  const telemetry = Array.from({ length: windows }, (_, i) => ({
    time: (start + i * 60_000) / 1000,
    values: new Map([["vel_rms", 0.001 + (i % 7) * 1e-4], ["kurtosis", 3], ["bpfo", 1.3], ["bpfi", 1.3], ["bsf", 1.3], ["health", 0.1]]),
    texts: new Map([["fault", i > windows / 2 ? "outer_race" : "none"]]),
  }));
  return {
    scenario: { name: "<script>alert('x')</script>", seed: 1, start: "2026-01-01T00:00:00Z", days: windows / 1440, pumps: 1, interval_s: 60, window: 4096, sample_rate_hz: 12800, expectations: [] },
    published: windows, delivered: windows, duplicates: 0, decodeErrors: [], windows, gaps: 0, resent: 0, reconnects: 0,
    outages: { outages: 0, downMs: 0 }, elapsedMs: 1,
    pumps: [{ device, rpm: 1500, windows, delivered: windows, degradations: [{ kind: "outer_race", onsetMs: start + 60_000, failureMs: start + windows * 60_000 }] }],
    collector: { devices: new Map([[device, { telemetry }]]) },
  };
}

describe("HTML report escaping and bounds", () => {
  it("escapes the scenario's and the pumps' names", () => {
    const html = htmlReport(hostile(100));
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<b>pump</b>");
    expect(html).toContain("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    expect(html).toContain("&lt;b&gt;pump&lt;/b&gt;&amp;&quot;1&quot;");
  });

  it("thins every series to at most 500 points and keeps each stretch's extremes", () => {
    const points: [number, number][] = Array.from({ length: 20_000 }, (_, i) => [i, Math.sin(i / 50)]);
    points[12_345][1] = 9;
    const thinned = decimate(points);
    expect(thinned.length).toBeLessThanOrEqual(500);
    expect(thinned).toContainEqual([12_345, 9]);
    expect(thinned.map((p) => p[0])).toEqual([...thinned.map((p) => p[0])].sort((a, b) => a - b));
    const html = htmlReport(hostile(20_000));
    for (const path of html.matchAll(/<path class="line"[^>]* d="([^"]+)"/g)) {
      expect(path[1].match(/[ML]/g)!.length).toBeLessThanOrEqual(500);
    }
    expect(html.length).toBeLessThan(400_000);
  });
});
