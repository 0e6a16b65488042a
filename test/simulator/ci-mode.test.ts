// CI mode: a scenario's expectations judged against a run (hand-made outcomes with exact
// figures), their validation, the JUnit XML, and `impeller simulate --ci` end to end on a tiny
// fleet: exit 0 and three files when the expectations hold, exit 1 when one cannot.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.js";
import { evaluateExpectations, type RunOutcome } from "../../simulator/verdict/expectations.js";
import { junitXml } from "../../simulator/verdict/junit.js";
import { parseScenario, type Expectation } from "../../simulator/scenario/scenario.js";

const START = "2026-01-01T00:00:00Z";
const START_MS = Date.parse(START);
const DAY_MS = 86_400_000;
const at = (day: number): number => START_MS + day * DAY_MS;

/** Half-day windows from `fromDay`, one diagnosis each. */
function packs(fromDay: number, faults: string[]): { time: number; texts: Map<string, string> }[] {
  return faults.map((fault, i) => ({ time: at(fromDay + i * 0.5) / 1000, texts: new Map([["fault", fault]]) }));
}

/** Five pumps over ten days, end of run at day 10:
 *  a: outer race, onset 1, failure 9, detected 2 (lead 7); an imbalance that starts after the end;
 *  b: inner race, onset 2, failure 6, detected 5 (lead 1); before its onset, imbalance for 3 windows (a false alarm);
 *  c: rolling element, onset 3, failure 30, undetected (still developing, failure 20 days after the end);
 *  d: cavitation, onset 1, failure 8, undetected (missed);
 *  f: misalignment, onset 1, failure 4, detected 5 (late);
 *  e: healthy, outer race for 3 windows (a false alarm) and for 2 (not a detection). */
function outcome(expectations: Expectation[]): RunOutcome {
  // Detected: the first of three windows in a row with the fault diagnosed after its onset (the packs below).
  const d = (kind: string, onset: number, failure: number) => ({ kind: kind as "outer_race", onsetMs: at(onset), failureMs: at(failure) });
  return {
    scenario: { start: START, days: 10, pumps: 6, interval_s: 43_200, expectations },
    published: 1000, delivered: 999, duplicates: 3, decodeErrors: [{ topic: "t", code: "bad_cbor", message: "m" }],
    pumps: [
      { device: "a", degradations: [d("outer_race", 1, 9), d("imbalance", 12, 20)] },
      { device: "b", degradations: [d("inner_race", 2, 6)] },
      { device: "c", degradations: [d("rolling_element", 3, 30)] },
      { device: "d", degradations: [d("cavitation", 1, 8)] },
      { device: "f", degradations: [d("misalignment", 1, 4)] },
      { device: "e", degradations: [] },
    ],
    collector: {
      devices: new Map([
        ["a", { telemetry: packs(0, ["none", "none", "none", "none", "outer_race", "outer_race", "outer_race"]) }],
        ["b", { telemetry: packs(0, ["imbalance", "imbalance", "imbalance", "none", "unknown", "unknown", "unknown", "none", "none", "none", "inner_race", "inner_race", "inner_race"]) }],
        ["f", { telemetry: packs(0, [...Array<string>(10).fill("none"), "misalignment", "misalignment", "misalignment"]) }],
        ["e", { telemetry: packs(0, ["none", "outer_race", "outer_race", "outer_race", "none", "outer_race", "outer_race", "none"]) }],
      ]),
    },
  };
}

describe("expectations", () => {
  const judged = (expectation: Expectation) => {
    const [result] = evaluateExpectations(outcome([expectation]));
    return { passed: result.passed, measured: result.measured, name: result.name };
  };

  it("bearing lead: judges faults detected or past deciding, leaves one that can still be caught in time", () => {
    // a: 7 days, b: 1 day; c undetected but fails 20 days after the end, so not yet judged.
    expect(judged({ kind: "bearing_alarm_lead_days", min: 7 })).toEqual({ passed: false, measured: 1, name: "bearing_alarm_lead_days min=7" });
    expect(judged({ kind: "bearing_alarm_lead_days", min: 1 })).toEqual({ passed: true, measured: 1, name: "bearing_alarm_lead_days min=1" });
    // With a minimum beyond c's 20 days c can no longer make it: an undetected fault counts as lead 0.
    expect(judged({ kind: "bearing_alarm_lead_days", min: 21 })).toEqual({ passed: false, measured: 0, name: "bearing_alarm_lead_days min=21" });
  });

  it("faults detected: a and b caught before failure, d missed and f late; c still developing and the imbalance not started are left out", () => {
    expect(judged({ kind: "faults_detected", min_share: 0.5 })).toEqual({ passed: true, measured: 0.5, name: "faults_detected min_share=0.5" });
    expect(judged({ kind: "faults_detected", min_share: 0.51 }).passed).toBe(false);
  });

  it("false alarms: the healthy pump's run of three and the run before a fault's onset; a run of two is none", () => {
    expect(judged({ kind: "no_false_alarms" })).toEqual({ passed: false, measured: 2, name: "no_false_alarms" });
    // Two in 6 pumps × 10 days = 0.164 pump-years: 1217.5 per 100 pump-years.
    const limited = judged({ kind: "false_alarms_max", per_100_pump_years: 1217 });
    expect(limited.passed).toBe(false);
    expect(limited.measured).toBeCloseTo((2 / ((6 * 10) / 365.25)) * 100, 9);
    expect(judged({ kind: "false_alarms_max", per_100_pump_years: 1218 }).passed).toBe(true);
  });

  it("delivery, duplicates and decode errors compare the run's counts with the limits", () => {
    expect(judged({ kind: "delivery_min", share: 0.999 })).toEqual({ passed: true, measured: 0.999, name: "delivery_min share=0.999" });
    expect(judged({ kind: "delivery_min", share: 0.9995 }).passed).toBe(false);
    expect(judged({ kind: "duplicates_max", count: 3 })).toEqual({ passed: true, measured: 3, name: "duplicates_max count=3" });
    expect(judged({ kind: "duplicates_max", count: 2 }).passed).toBe(false);
    expect(judged({ kind: "decode_errors_max", count: 0 })).toEqual({ passed: false, measured: 1, name: "decode_errors_max count=0" });
  });

  it("a scenario without expectations is held to full delivery and no decode errors", () => {
    const results = evaluateExpectations(outcome([]));
    expect(results.map((r) => [r.name, r.passed, r.implicit])).toEqual([["delivery_min share=1", false, true], ["decode_errors_max count=0", false, true]]);
  });

  it("the details name the pumps that failed an expectation", () => {
    const [lead, share, alarms] = evaluateExpectations(outcome([
      { kind: "bearing_alarm_lead_days", min: 7 }, { kind: "faults_detected", min_share: 1 }, { kind: "no_false_alarms" },
    ]));
    expect(lead.detail).toBe("1 of 2 bearing faults detected at least 7 days before failure; shortest lead 1.0 days; too late: b inner_race (lead 1.0 days); " +
      "not judged (undetected, failure still more than 7 days after the end): c rolling_element (not detected)");
    expect(share.detail).toBe("2 of 4 faults detected before failure (50.0 %; at least 100.0 %); missed: d cavitation (not detected), f misalignment (lead -1.0 days); " +
      "not judged (still developing undetected at the end): c rolling_element (not detected)");
    expect(alarms.detail).toBe("2 false alarms: b imbalance at 2026-01-01T00:00:00.000Z, e outer_race at 2026-01-01T12:00:00.000Z");
  });
});

describe("expectations in a scenario file", () => {
  const base = {
    seed: 1, tenant: "t", start: START, days: 1, pumps: 1, interval_s: 60, sample_rate_hz: 12800, window: 4096,
    pump: { rpm: [1500, 1500], vanes: [5, 5], slip: [0, 0], load: [1, 1], imbalance_g: [0, 0], misalignment_g: [0, 0], vane_pass_g: [0, 0], noise_g: [0, 0] },
  };
  const parse = (expectations: unknown) => () => parseScenario({ ...base, expectations }, "s.json");

  it("are read with their limits", () => {
    expect(parse([{ kind: "bearing_alarm_lead_days", min: 7 }, { kind: "no_false_alarms" }])()).toMatchObject({
      expectations: [{ kind: "bearing_alarm_lead_days", min: 7 }, { kind: "no_false_alarms" }],
    });
    expect(parseScenario(base).expectations).toEqual([]);
  });

  it("are refused with a message naming the field", () => {
    expect(parse({})).toThrow(`s.json: "expectations" must be a list`);
    expect(parse([{ kind: "lead" }])).toThrow(`s.json: "expectations[0].kind" must be one of bearing_alarm_lead_days, faults_detected, no_false_alarms, false_alarms_max, delivery_min, duplicates_max, decode_errors_max, campaign_outcome, availability, median_lead_days, alarm_false_rate_max, not "lead"`);
    expect(parse([{ kind: "faults_detected" }])).toThrow(`s.json: "expectations[0]" (faults_detected) needs "min_share"`);
    expect(parse([{ kind: "faults_detected", min_share: 90 }])).toThrow(`s.json: "expectations[0].min_share" must be a number from 0 to 1, not 90`);
    expect(parse([{ kind: "duplicates_max", count: 1.5 }])).toThrow(`"expectations[0].count" must be an integer`);
    expect(parse([{ kind: "no_false_alarms", max: 1 }])).toThrow(`s.json: unknown field "expectations[0].max" (no_false_alarms takes "kind")`);
    expect(parse(["no_false_alarms"])).toThrow(`"expectations[0]" must be an object`);
  });
});

describe("JUnit XML", () => {
  it("has one testcase per expectation, a failure for each one failed, and escapes XML's special characters", () => {
    const xml = junitXml({
      name: `tiny <"fleet"> & 'co'`, classname: "impeller.simulate.tiny", timeS: 1.5, properties: [["seed", 3], ["file", "a&b.json"]],
      results: [
        { expectation: { kind: "duplicates_max", count: 0 }, name: "duplicates_max count=0", passed: true, measured: 0, detail: "0 duplicates", implicit: false },
        { expectation: { kind: "no_false_alarms" }, name: "no_false_alarms", passed: false, measured: 2, detail: "pump <1> & \"2\"\u0001", implicit: false },
      ],
    });
    expect(xml).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="impeller simulate" tests="2" failures="1" errors="0" time="1.500">
  <testsuite name="tiny &lt;&quot;fleet&quot;&gt; &amp; &apos;co&apos;" tests="2" failures="1" errors="0" skipped="0" time="1.500">
    <properties>
      <property name="seed" value="3"/>
      <property name="file" value="a&amp;b.json"/>
    </properties>
    <testcase classname="impeller.simulate.tiny" name="duplicates_max count=0" time="0">
      <system-out>0 duplicates</system-out>
    </testcase>
    <testcase classname="impeller.simulate.tiny" name="no_false_alarms" time="0">
      <failure message="no_false_alarms: measured 2" type="expectation">pump &lt;1&gt; &amp; &quot;2&quot;\uFFFD</failure>
    </testcase>
  </testsuite>
</testsuites>
`);
  });
});

/** Three pumps for two days, one with an outer-race fault whose P–F interval is a day and a half. */
function tinyScenario(expectations: Expectation[]): Record<string, unknown> {
  return {
    name: "tiny ci: three pumps, two days", seed: 3, tenant: "ci", start: "2026-01-05T00:00:00Z", days: 2, pumps: 3,
    interval_s: 1800, sample_rate_hz: 12800, window: 4096, bearing: [9, 7.94, 39.04, 0],
    faults: [{ kind: "outer_race", pumps: [1], onset_day: [0.2, 0.2], pf_days: [1.5, 1.5] }],
    expectations,
    pump: {
      rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1.0], imbalance_g: [0.005, 0.03],
      misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03],
    },
  };
}

describe("impeller simulate --ci", () => {
  let dir: string;
  let output: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-ci-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());

  async function run(args: string[]): Promise<number> {
    output = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      output += String(chunk);
      return true;
    });
    return main(args);
  }

  it("exits 0 and writes the JUnit XML, the summary and the report when every expectation holds", async () => {
    const file = path.join(dir, "pass.json");
    fs.writeFileSync(file, JSON.stringify(tinyScenario([
      { kind: "bearing_alarm_lead_days", min: 0.5 }, { kind: "faults_detected", min_share: 1 },
      { kind: "delivery_min", share: 1 }, { kind: "duplicates_max", count: 0 }, { kind: "decode_errors_max", count: 0 },
    ])));
    const [junit, summary, report] = ["junit.xml", "summary.json", "report.html"].map((name) => path.join(dir, "pass", name));
    const code = await run(["simulate", file, "--ci", "--quiet", "--junit", junit, "--summary", summary, "--report", report]);
    expect(code, output).toBe(0);
    expect(output).toContain("Verdict: PASS, 5 of 5 expectations met");
    expect(output.trimEnd().split("\n").at(-1)).toBe(`Report: ${report}`);
    const xml = fs.readFileSync(junit, "utf8");
    expect(xml.match(/<testcase /g)).toHaveLength(5);
    expect(xml).not.toContain("<failure");
    const json = JSON.parse(fs.readFileSync(summary, "utf8"));
    expect(json).toMatchObject({ verdict: "pass", scenario: { name: "tiny ci: three pumps, two days", seed: 3 }, counts: { windows: 288, faults_given: 1, faults_detected: 1 } });
    expect(json.pumps[1].faults).toEqual([expect.objectContaining({ kind: "outer_race", status: "detected", onset: "2026-01-05T04:48:00.000Z" })]);
    expect(json.expectations.map((e: { passed: boolean }) => e.passed)).toEqual([true, true, true, true, true]);
    expect(fs.readFileSync(report, "utf8")).toMatch(/^<!doctype html>/);
  });

  it("exits 1 and reports the failure when an expectation cannot hold, writing to reports/<name>/ by default", async () => {
    const file = path.join(dir, "impossible.json");
    fs.writeFileSync(file, JSON.stringify(tinyScenario([{ kind: "bearing_alarm_lead_days", min: 30 }, { kind: "decode_errors_max", count: 0 }])));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await run(["simulate", file, "--ci", "--quiet"]), output).toBe(1);
    } finally {
      process.chdir(cwd);
    }
    expect(output).toContain("FAIL  bearing_alarm_lead_days min=30: 0 of 1 bearing faults detected at least 30 days before failure");
    expect(output).toContain("Verdict: FAIL, 1 of 2 expectations met");
    const reports = path.join(dir, "reports", "tiny-ci");
    expect(fs.readdirSync(reports).sort()).toEqual(["junit.xml", "report.html", "summary.json"]);
    const xml = fs.readFileSync(path.join(reports, "junit.xml"), "utf8");
    expect(xml).toContain(`<testsuite name="tiny ci: three pumps, two days" tests="2" failures="1"`);
    expect(xml).toMatch(/<failure message="bearing_alarm_lead_days min=30: measured 1\.\d+" type="expectation">/);
    expect(JSON.parse(fs.readFileSync(path.join(reports, "summary.json"), "utf8")).verdict).toBe("fail");
  });

  it("refuses a scenario whose expectation is malformed as a usage error (exit 2)", async () => {
    const file = path.join(dir, "bad.json");
    fs.writeFileSync(file, JSON.stringify(tinyScenario([{ kind: "delivery_min", share: 2 } as unknown as Expectation])));
    const errors: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      errors.push(String(chunk));
      return true;
    });
    expect(await run(["simulate", file, "--ci", "--quiet"])).toBe(2);
    expect(errors.join("")).toContain(`"expectations[0].share" must be a number from 0 to 1, not 2`);
  });
});
