// The README's two recipes for running a fleet on many machines (a CI matrix, a Kubernetes
// Indexed Job), their commands taken from the README as written and run as local processes
// against one mosquitto: each recipe's shards, then its merge, give the verdict and the
// figures of the same fleet run in one process.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.js";
import { MOSQUITTO_MISSING_REASON, MOSQUITTO_PATH, startMosquitto, type Mosquitto } from "../support/mosquitto.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const IMPELLER = `node ${path.join(ROOT, "bin", "impeller.js")}`;
/** Where the recipes find their scenario, relative to the directory they run in. */
const SCENARIO_PATH = "scenarios/fleet-1000.json";

/** Four pumps for a day, an outer-race fault on pump 2: small enough for four processes at once. */
function scenario(tenant: string): Record<string, unknown> {
  return {
    name: "many machines: four pumps, one day", seed: 5, tenant, start: "2026-02-02T00:00:00Z", days: 1, pumps: 4,
    interval_s: 1800, sample_rate_hz: 12800, window: 4096, bearing: [9, 7.94, 39.04, 0],
    faults: [{ kind: "outer_race", pumps: [2], onset_day: [0.1, 0.1], pf_days: [0.8, 0.8] }],
    expectations: [{ kind: "faults_detected", min_share: 1 }, { kind: "no_false_alarms" }, { kind: "delivery_min", share: 1 }],
    pump: {
      rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1.0], imbalance_g: [0.005, 0.03],
      misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03],
    },
  };
}

interface Recipe {
  /** The shard's shell command, and the environment that tells it its shard. */
  shard: (index: number) => { command: string; env: Record<string, string> };
  merge: string;
}

/** The README's section on running on many machines. */
function section(): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("### Running on many machines");
  return readme.slice(start, readme.indexOf("\n### ", start + 1));
}

/** The CI matrix's two `run:` lines; the matrix's value is what GitHub puts in `${{ matrix.shard }}`. */
function matrixRecipe(text: string): Recipe {
  const runs = [...text.matchAll(/^\s*- run: (.+)$/gm)].map((match) => match[1]);
  expect(runs).toHaveLength(2);
  return { shard: (index) => ({ command: runs[0].replaceAll("${{ matrix.shard }}", String(index)), env: {} }), merge: runs[1] };
}

/** The Indexed Job's container command (sh -c "…"), its shard in JOB_COMPLETION_INDEX, and the merge after it. */
function indexedJobRecipe(text: string): Recipe {
  const command = JSON.parse(/command: (\[.+\])$/m.exec(text)![1]) as string[];
  expect(command.slice(0, 2)).toEqual(["sh", "-c"]);
  return { shard: (index) => ({ command: command[2], env: { JOB_COMPLETION_INDEX: String(index) } }), merge: /^# then: (.+)$/m.exec(text)![1] };
}

interface Run {
  code: number | null;
  output: string;
}

/** `command` in `sh -c`, `npx impeller` being this checkout's command; resolves with its exit code and output. */
function shell(command: string, cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command.replaceAll("npx impeller", IMPELLER)], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.on("exit", (code) => resolve({ code, output }));
  });
}

/** The summary without what differs between runs: the wall-clock time, the scenario file's path. */
function figures(summary: Record<string, unknown>): Record<string, unknown> {
  const { elapsed_s: _elapsed, scenario, ...rest } = summary;
  const { file: _file, ...named } = scenario as Record<string, unknown>;
  return { ...rest, scenario: named };
}

describe.skipIf(MOSQUITTO_PATH === undefined)("the README's recipes for many machines, as local processes", () => {
  let broker: Mosquitto;
  let dir: string;
  let whole: Record<string, unknown>;
  /** Per recipe its directory, its shards' results and its merge's; and a shard whose broker is away. */
  const runs: { cwd: string; shards: Run[]; merge: Run }[] = [];
  let unreachable: Run;

  /** A directory with the recipe's scenario at the path it names, for `tenant` (each recipe has
   *  its own: their shards' collectors share the broker). */
  function place(name: string): string {
    const cwd = path.join(dir, name);
    fs.mkdirSync(path.join(cwd, "scenarios"), { recursive: true });
    fs.mkdirSync(path.join(cwd, "out"));
    fs.writeFileSync(path.join(cwd, SCENARIO_PATH), JSON.stringify(scenario(name)));
    return cwd;
  }

  // Every process at once: the four shards of the two recipes and the shard that cannot reach its broker.
  beforeAll(async () => {
    broker = await startMosquitto();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-machines-"));
    const text = section();
    const recipes = [matrixRecipe(text), indexedJobRecipe(text)];
    const cwds = ["matrix", "indexed-job"].map(place);
    const shards = recipes.map((recipe, r) => Promise.all([0, 1].map((index) => {
      const { command, env } = recipe.shard(index);
      return shell(command, cwds[r], { ...env, BROKER: broker.url });
    })));
    const lost = shell(recipes[0].shard(1).command, place("unreachable"), { BROKER: "mqtt://127.0.0.1:1" });
    const file = path.join(dir, "whole.json");
    fs.writeFileSync(file, JSON.stringify(scenario("whole")));
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    expect(await main(["simulate", file, "--ci", "--quiet", "--summary", path.join(dir, "whole-summary.json"), "--report", path.join(dir, "whole.html")])).toBe(0);
    vi.restoreAllMocks();
    whole = JSON.parse(fs.readFileSync(path.join(dir, "whole-summary.json"), "utf8"));
    const done = await Promise.all(shards);
    const merges = await Promise.all(recipes.map((recipe, r) => shell(recipe.merge, cwds[r], {})));
    runs.push(...recipes.map((_, r) => ({ cwd: cwds[r], shards: done[r], merge: merges[r] })));
    unreachable = await lost;
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => vi.restoreAllMocks());

  it("a CI matrix and an Indexed Job: each recipe's shards and merge give the one-process verdict and figures", () => {
    expect(whole).toMatchObject({ verdict: "pass", counts: { faults_given: 1, faults_detected: 1, windows: 4 * 48 } });
    expect(runs).toHaveLength(2);
    for (const { cwd, shards, merge } of runs) {
      for (const { code, output } of shards) expect(code, output).toBe(0);
      expect(merge.code, merge.output).toBe(0);
      expect(merge.output).toContain("Merged 2 shards of many machines: four pumps, one day: seed 5, 4 pumps, 1 days");
      expect(merge.output).toContain("Verdict: PASS, 3 of 3 expectations met");
      const summary = JSON.parse(fs.readFileSync(path.join(cwd, "reports", "many-machines", "summary.json"), "utf8"));
      expect(figures(summary)).toEqual(figures(whole));
    }
  });

  it("a shard that cannot reach the broker fails its job (exit 1), and the merge without it refuses to judge (exit 2)", async () => {
    expect(unreachable.code).toBe(1);
    expect(unreachable.output).toContain("impeller: cannot connect to 127.0.0.1:1 (ECONNREFUSED): is the broker running and the address right?");
    const cwd = path.join(dir, "unreachable");
    fs.copyFileSync(path.join(dir, "matrix", "shard-0.json"), path.join(cwd, "shard-0.json"));
    const merge = await shell(matrixRecipe(section()).merge, cwd, {});
    expect(merge.code).toBe(2);
    expect(merge.output.trim()).toBe("impeller: shard 1/2: missing (given: shard-0.json)");
  });
});

if (MOSQUITTO_PATH === undefined) {
  it.skip(MOSQUITTO_MISSING_REASON, () => {});
  console.warn(MOSQUITTO_MISSING_REASON);
}
