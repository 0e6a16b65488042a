// `impeller merge`: a small fleet run whole and in three shards (each on its own embedded broker:
// the pumps are independent, so a shard's messages do not depend on the others'), the shards'
// summaries merged: the same summary, JUnit cases and verdict as the whole run. And each
// summary it refuses, by name, in one line.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.js";
import { simulate } from "../../simulator/fleet/fleet.js";
import { loadScenario } from "../../simulator/scenario/scenario.js";
import { findings } from "../../simulator/verdict/findings.js";
import { runSummary } from "../../simulator/verdict/summary.js";

/** Seven pumps for two days: an outer-race fault on pump 1 and an inner-race one on pump 5 (in
 *  shards 1 and 2 of 3), a misalignment on pump 3; every fleet-wide expectation kind. */
const SCENARIO = {
  name: "merge: seven pumps, two days", seed: 11, tenant: "merge", start: "2026-01-05T00:00:00Z", days: 2, pumps: 7,
  interval_s: 1800, sample_rate_hz: 12800, window: 4096, bearing: [9, 7.94, 39.04, 0],
  faults: [
    { kind: "outer_race", pumps: [1], onset_day: [0.2, 0.2], pf_days: [1.5, 1.5] },
    { kind: "inner_race", pumps: [5], onset_day: [0.5, 0.5], pf_days: [3, 3] },
    { kind: "misalignment", pumps: [3], onset_day: [0.3, 0.3], pf_days: [1.2, 1.2] },
  ],
  expectations: [
    { kind: "bearing_alarm_lead_days", min: 0.5 }, { kind: "faults_detected", min_share: 1 }, { kind: "no_false_alarms" },
    { kind: "false_alarms_max", per_100_pump_years: 1 }, { kind: "delivery_min", share: 1 }, { kind: "duplicates_max", count: 0 },
    { kind: "decode_errors_max", count: 0 },
  ],
  pump: {
    rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1.0], imbalance_g: [0.005, 0.03],
    misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03],
  },
};

let dir: string;
let output: string;
let errors: string;
const at = (name: string): string => path.join(dir, name);
const readJson = (name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(at(name), "utf8"));
const writeJson = (name: string, value: unknown): string => {
  fs.writeFileSync(at(name), JSON.stringify(value, null, 2));
  return at(name);
};

async function run(args: string[]): Promise<number> {
  output = "";
  errors = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    output += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    errors += String(chunk);
    return true;
  });
  return main(args);
}

/** A shard run in process on an embedded broker of its own, its summary written as simulate writes it. */
async function runShard(file: string, index: number, count: number, out: string, seed?: number): Promise<string> {
  const base = loadScenario(file);
  const scenario = seed === undefined ? base : { ...base, seed };
  const result = await simulate(scenario, { shard: { index, count } });
  return writeJson(out, runSummary(result, findings(result), { file, shard: { index, count } }));
}

/** The summary without what differs between any two runs (the wall-clock time). */
function figures(summary: Record<string, unknown>): Record<string, unknown> {
  const { elapsed_s: _elapsed, ...rest } = summary;
  return rest;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-merge-"));
  const file = writeJson("fleet.json", SCENARIO);
  const code = await run(["simulate", file, "--ci", "--quiet", "--summary", at("whole.json"), "--junit", at("whole.xml"), "--report", at("whole.html")]);
  vi.restoreAllMocks();
  expect(code, errors).toBe(0);
  for (let k = 0; k < 3; k++) await runShard(file, k, 3, `shard-${k}.json`);
  await runShard(file, 0, 2, "half-0.json");
  await runShard(file, 0, 3, "seed-12.json", 12);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe("impeller merge", () => {
  it("gives the whole run's summary, JUnit cases and verdict from three shards' summaries", async () => {
    const whole = readJson("whole.json");
    // The run has something to judge: both bearing faults detected ahead of their failure.
    expect(whole).toMatchObject({ verdict: "pass", counts: { faults_given: 3, faults_detected: 3 } });
    const code = await run(["merge", at("shard-2.json"), at("shard-0.json"), at("shard-1.json"), "--ci",
      "--summary", at("merged.json"), "--junit", at("merged.xml"), "--report", at("merged.html")]);
    expect(code, errors).toBe(0);
    expect(figures(readJson("merged.json"))).toEqual(figures(whole));
    const cases = (xml: string): string => xml.replace(/ time="[\d.]+"/g, "");
    expect(cases(fs.readFileSync(at("merged.xml"), "utf8"))).toBe(cases(fs.readFileSync(at("whole.xml"), "utf8")));
    expect(output).toContain("Verdict: PASS, 7 of 7 expectations met");
    expect(output.split("\n")[0]).toBe("Merged 3 shards of merge: seven pumps, two days: seed 11, 7 pumps, 2 days");
    const html = fs.readFileSync(at("merged.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("bearing_alarm_lead_days min=0.5");
    expect(fs.readFileSync(at("whole.html"), "utf8")).toContain("<h2>Diagnosis per window</h2>");
    expect(html).not.toContain("<h2>Diagnosis per window</h2>");
    expect(html).toContain("each shard's own report has its pumps' diagnosis strips and trend plots");
  });

  it("judges the fleet's figures, not the shards': a failing expectation fails the merged verdict (exit 1 with --ci)", async () => {
    const shards = [0, 1, 2].map((k) => readJson(`shard-${k}.json`));
    const strict = shards.map((s, k) => writeJson(`strict-${k}.json`, {
      ...s, scenario: { ...(s.scenario as object), expectations: [{ kind: "bearing_alarm_lead_days", min: 30 }] },
    }));
    expect(await run(["merge", ...strict, "--ci", "--summary", at("strict.json"), "--junit", at("strict.xml"), "--report", at("strict.html")])).toBe(1);
    expect(output).toMatch(/FAIL {2}bearing_alarm_lead_days min=30: 0 of 2 bearing faults detected at least 30 days before failure; shortest lead [\d.]+ days/);
    expect(output).toContain("Verdict: FAIL, 0 of 1 expectations met");
    expect(readJson("strict.json").verdict).toBe("fail");
  });

  it("merges a whole run's summary alone into itself", async () => {
    expect(await run(["merge", at("whole.json"), "--summary", at("again.json"), "--report", at("again.html")])).toBe(0);
    expect(figures(readJson("again.json"))).toEqual(figures(readJson("whole.json")));
  });

  describe("refuses, naming the file and what is wrong (exit 2, one line)", () => {
    async function refused(args: string[]): Promise<string> {
      expect(await run(["merge", ...args, "--report", at("refused.html")])).toBe(2);
      expect(errors.split("\n")).toHaveLength(2);
      return errors.trimEnd();
    }
    const shard = (k: number): string => at(`shard-${k}.json`);

    it("a summary of another seed", async () => {
      expect(await refused([shard(1), at("seed-12.json"), shard(2)])).toBe(`impeller: ${at("seed-12.json")}: seed 12, not 11 as in ${shard(1)}`);
    });

    it("a summary of another scenario", async () => {
      const other = writeJson("other.json", { ...readJson("shard-2.json"), scenario: { ...(readJson("shard-2.json").scenario as object), name: "another" } });
      expect(await refused([shard(0), shard(1), other])).toBe(`impeller: ${other}: scenario name "another", not "merge: seven pumps, two days" as in ${shard(0)}`);
      const longer = writeJson("longer.json", { ...readJson("shard-2.json"), scenario: { ...(readJson("shard-2.json").scenario as object), days: 3 } });
      expect(await refused([shard(0), shard(1), longer])).toBe(`impeller: ${longer}: scenario days 3, not 2 as in ${shard(0)}`);
    });

    it("a summary of another shard count", async () => {
      expect(await refused([shard(0), at("half-0.json")])).toBe(`impeller: ${at("half-0.json")}: shard 0/2, not one of 3 shards as in ${shard(0)}`);
    });

    it("a missing shard", async () => {
      expect(await refused([shard(0), shard(2)])).toBe(`impeller: shard 1/3: missing (given: ${shard(0)}, ${shard(2)})`);
    });

    it("a shard given twice", async () => {
      expect(await refused([shard(0), shard(1), shard(1), shard(2)])).toBe(`impeller: ${shard(1)}: shard 1/3 again (already in ${shard(1)})`);
      const copy = writeJson("copy-of-2.json", readJson("shard-2.json"));
      expect(await refused([shard(2), shard(0), copy, shard(1)])).toBe(`impeller: ${copy}: shard 2/3 again (already in ${shard(2)})`);
    });

    it("a file that is not a summary", async () => {
      const text = at("notes.txt");
      fs.writeFileSync(text, "not json at all\n");
      expect(await refused([text])).toBe(`impeller: ${text}: not a summary of impeller simulate (not JSON)`);
      const junit = writeJson("array.json", [1, 2, 3]);
      expect(await refused([junit])).toBe(`impeller: ${junit}: not a summary of impeller simulate (not a JSON object)`);
      const scenario = at("fleet.json");
      expect(await refused([scenario])).toBe(`impeller: ${scenario}: not a summary of impeller simulate (no scenario, counts and pumps)`);
      const { shard: _shard, ...old } = readJson("shard-0.json");
      const before = writeJson("old.json", old);
      expect(await refused([before])).toBe(`impeller: ${before}: not a summary of impeller simulate (no shard nor expectations: written before impeller merge was, run simulate again)`);
    });

    it("no summary at all, and an unknown option", async () => {
      expect(await refused([])).toBe("impeller: merge needs the shards' summary files (impeller simulate --shard K/N --summary FILE)");
      expect(await refused([shard(0), "--shards", "3"])).toMatch(/^impeller: Unknown option '--shards'/);
    });
  });

  it("has its --help", async () => {
    expect(await run(["merge", "--help"])).toBe(0);
    expect(output).toMatch(/^Usage: impeller merge \[options\]\n\n {2}merge SUMMARY\.\.\. /);
    expect(output).toContain("--ci");
  });
});
