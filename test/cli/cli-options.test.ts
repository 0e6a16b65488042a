// The command line as a new user meets it: every numeric option refused out of its type or
// range with one line naming it (exit 2), a configuration the firmware would refuse named by
// field, a path that cannot be written or a broker that cannot be reached in one line, --help
// on every command, and --pumps 1 and 2 on every shipped scenario.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { NO_GEOMETRY_NOTE } from "../../cli/analyze.js";
import { BLE_USAGE } from "../../cli/ble.js";
import { main } from "../../cli/main.js";
import { resizeFleet } from "../../simulator/scenario/fleet-size.js";
import { loadScenario, parseScenario } from "../../simulator/scenario/scenario.js";

const SCENARIOS = fs.readdirSync("scenarios").filter((name) => name.endsWith(".json")).sort();

let dir: string;
let stdout = "";
let stderr = "";

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-cli-"));
  fs.writeFileSync(path.join(dir, "afile"), "");
  // Two windows of 4096 samples of a quiet sensor.
  fs.writeFileSync(path.join(dir, "quiet.f32"), new Uint8Array(new Float32Array(8192).fill(0.001).buffer));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function run(...args: string[]): Promise<number> {
  stdout = "";
  stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => { stdout += String(chunk); return true; });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => { stderr += String(chunk); return true; });
  return main(args);
}

describe("numeric options", () => {
  const cases: [string[], string][] = [
    [["simulate", "--workers", "1.5"], `--workers needs a whole number from 1 to 256, not "1.5"`],
    [["simulate", "--workers", "0"], `--workers needs a whole number from 1 to 256, not "0"`],
    [["simulate", "--workers=-3"], `--workers needs a whole number from 1 to 256, not "-3"`],
    [["simulate", "--pumps", "2.5"], `--pumps needs a whole number from 1 to 100000, not "2.5"`],
    [["simulate", "--pumps", "0"], `--pumps needs a whole number from 1 to 100000, not "0"`],
    [["simulate", "--days", "-1"], `--days needs a number from 0 to 3650, not "-1"`],
    [["simulate", "--days", "soon"], `--days needs a number from 0 to 3650, not "soon"`],
    [["simulate", "--seed", "-1"], `--seed needs a whole number from 0 to 4294967295, not "-1"`],
    [["simulate", "--multiplex", "0"], `--multiplex needs a whole number from 1 to 10000, not "0"`],
    [["analyze", "REC", "--rate", "1000", "--interval=-10"], `--interval needs a number above 0 up to 31536000, not "-10"`],
    [["analyze", "REC", "--rate", "0"], `--rate needs a number from 100 to 200000, not "0"`],
    [["analyze", "REC", "--rate", "1000", "--window", "3"], `--window needs a whole number from 16 to 8192, not "3"`],
    [["analyze", "REC", "--rate", "1000", "--window", "100.5"], `--window needs a whole number from 16 to 8192, not "100.5"`],
    [["analyze", "REC", "--rate", "1000", "--rpm=-5"], `--rpm needs a number above 0 up to 60000, not "-5"`],
    [["analyze", "REC", "--rate", "1000", "--rpm-range", "3600,600"], `--rpm-range needs MIN,MAX rpm, 0 < MIN < MAX <= 60000, not "3600,600"`],
    [["analyze", "REC", "--rate", "1000", "--rpm-range", "300"], `--rpm-range needs MIN,MAX rpm, 0 < MIN < MAX <= 60000, not "300"`],
    [["analyze", "REC", "--rate", "1000", "--vanes", "17"], `--vanes needs a whole number from 0 to 16, not "17"`],
    [["analyze", "REC", "--rate", "1000", "--iso-group", "3"], `--iso-group needs a whole number from 1 to 2, not "3"`],
    [["analyze", "REC", "--rate", "1000", "--snapshot", "4096"], "--snapshot needs --interval, the seconds from one snapshot's start to the next"],
    [["analyze", "REC", "--rate", "1000", "--interval", "60", "--snapshot", "2048"], `--snapshot needs a whole number from 4096 to 6000000, not "2048"`],
    [["analyze", "REC", "--rate", "1000", "--interval", "60", "--snapshot", "5000"], "the recording holds 8192 samples, not a whole number of snapshots of 5000"],
    [["analyze", "REC", "--rate", "1000", "--interval", "5", "--snapshot", "8192"], "a snapshot's windows last longer than --interval 5 s"],
    [["analyze", "REC", "--rate", "1000", "--units", "mm/s"], "--units is g or m/s2"],
    [["validate", "--window", "3"], `--window needs a whole number of samples from 16 to 8192, not "3"`],
    [["provision", "--tenant", "a", "--devices", "1.5", "--out", "X"], `--devices needs a whole number from 0 to 100000, not "1.5"`],
    [["provision", "--tenant", "a", "--devices", "1", "--port", "70000", "--out", "X"], `--port needs a whole number from 1 to 65535, not "70000"`],
    [["provision", "--tenant", "a", "--devices", "1", "--days", "0", "--out", "X"], `--days needs a whole number from 1 to 36500, not "0"`],
    [["sign", "IMG", "--seq", "-1", "--key", "K", "--vendor", "V", "--class", "C", "--out", "E"], `--seq needs an unsigned integer, not "-1"`],
  ];
  for (const [args, message] of cases) {
    it(`impeller ${args.join(" ")}: exit 2, "${message}"`, async () => {
      const resolved = args.map((arg) => (arg === "REC" ? path.join(dir, "quiet.f32") : arg === "X" ? path.join(dir, "out") : arg));
      expect(await run(...resolved)).toBe(2);
      expect(stderr).toBe(`impeller: ${message}\n`);
    });
  }

  it("analyze --snapshot: each snapshot's consecutive windows at its start, plus the windows before them in it", async () => {
    const quiet = path.join(dir, "quiet.f32");
    expect(await run("analyze", quiet, "--rate", "1000", "--interval", "60", "--snapshot", "4096", "--window", "2048", "--json")).toBe(0);
    const result = JSON.parse(stdout) as { windows: { time_s: number }[] };
    expect(result.windows.map((w) => w.time_s)).toEqual([0, 2.048, 60, 62.048]);
  });

  it("analyze --snapshot: a snapshot is one measurement, so the trend takes one value of each, its last window's", async () => {
    // CWRU 132's excerpt (test/fixtures) as three snapshots of four windows, ten minutes apart.
    const excerpt = new URL("../fixtures/cwru-132-outer-12k-excerpt.f32", import.meta.url).pathname;
    expect(await run("analyze", excerpt, "--rate", "12000", "--rpm", "1750", "--bearing", "6205", "--interval", "600", "--snapshot", "16384", "--json")).toBe(0);
    const trend = (JSON.parse(stdout) as { windows: { features: { health_trend: number } }[] }).windows.map((w) => w.features.health_trend);
    expect(trend).toHaveLength(12);
    for (const [k, value] of trend.entries()) {
      if (k % 4 === 3) expect(value, `window ${k}, a snapshot's last`).not.toBe(trend[k - 1]);
      else expect(value, `window ${k}`).toBe(k < 4 ? 0 : trend[k - 1]);
    }
  });

  it("analyze without a bearing geometry says why a bearing's impacts read unknown; with one it names the defect and says nothing", async () => {
    const excerpt = new URL("../fixtures/cwru-132-outer-12k-excerpt.f32", import.meta.url).pathname;
    expect(await run("analyze", excerpt, "--rate", "12000", "--rpm", "1750")).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe(NO_GEOMETRY_NOTE);
    expect(lines.find((line) => line.startsWith("Summary: "))).toMatch(/^Summary: unknown /);
    expect(await run("analyze", excerpt, "--rate", "12000", "--rpm", "1750", "--bearing", "6205")).toBe(0);
    expect(stdout).not.toContain(NO_GEOMETRY_NOTE);
    expect(stdout.split("\n").find((line) => line.startsWith("Summary: "))).toMatch(/^Summary: outer_race /);
  });

  it("analyze with an rpm the signal doubts says so and gives the speed the signal shows; with the right one it says nothing", async () => {
    // CWRU 130 turns at 1796 rpm; configured with 1200, the range about 20 Hz shows no shaft.
    const excerpt = new URL("../fixtures/cwru-130-outer-12k-excerpt.f32", import.meta.url).pathname;
    expect(await run("analyze", excerpt, "--rate", "12000", "--rpm", "1200", "--bearing", "6205")).toBe(0);
    const line = stdout.split("\n").find((text) => text.startsWith("Speed: "));
    expect(line).toMatch(/^Speed: the configured speed is in doubt in 4 of 5 windows .* the signal shows 29\.\d\d Hz, 17\d\d rpm \(median, confidence 1\.00\): give that --rpm/);
    const rpm = Number(/, (\d+) rpm/.exec(line!)![1]);
    expect(Math.abs(rpm / 1796 - 1)).toBeLessThan(0.012);
    expect(await run("analyze", excerpt, "--rate", "12000", "--rpm", "1796", "--bearing", "6205")).toBe(0);
    expect(stdout).not.toContain("Speed: ");
  });

  it("a missing option value is one line too", async () => {
    expect(await run("simulate", "--pumps")).toBe(2);
    expect(stderr).toBe("impeller: Option '--pumps <value>' argument missing\n");
  });

  it("ble's own: --timeout and --id out of range, exit 2", async () => {
    expect(await run("ble", "scan", "--timeout", "0")).toBe(2);
    expect(stderr.split("\n")[0]).toBe(`impeller ble: --timeout needs seconds between 0 and 600, not "0"`);
    expect(await run("ble", "send", "AA:BB:CC:DD:EE:01", "--cmd", "self_test", "--id", "1.5")).toBe(2);
    expect(stderr.split("\n")[0]).toBe(`impeller ble: --id needs an integer in 0..4294967295, not "1.5"`);
  });

  it("ble serve's and commission's, checked before anything starts (exit 2)", async () => {
    const cases: [string[], string][] = [
      [["ble", "serve", "--window", "-3"], `--window needs a whole number from 16 to 8192, not "-3"`],
      [["ble", "serve", "--rate", "fast"], `--rate needs a number from 100 to 200000, not "fast"`],
      [["ble", "serve", "--duration", "-1"], `--duration needs a number above 0 up to 31536000, not "-1"`],
      [["ble", "commission", "AA:BB:CC:DD:EE:01", "--device", "p", "--seq", "-2"], `--seq needs a whole number from 0 to 9007199254740991, not "-2"`],
    ];
    for (const [args, message] of cases) {
      expect(await run(...args), args.join(" ")).toBe(2);
      expect(stderr.split("\n")[0]).toBe(`impeller ble: ${message}`);
    }
  });
});

describe("a configuration the firmware would refuse", () => {
  it("is named by field and range before the firmware sees it (exit 2)", async () => {
    expect(await run("analyze", path.join(dir, "quiet.f32"), "--rate", "1000", "--rpm", "40000")).toBe(2);
    expect(stderr).toBe("impeller: the configuration was refused: rpm must be below 30000 (Nyquist at rate_hz 1000), not 40000\n");
    expect(await run("analyze", path.join(dir, "quiet.f32"), "--rate", "1000", "--geometry", "2,7,39,0")).toBe(2);
    expect(stderr).toBe("impeller: the configuration was refused: bearing n must be an integer in 3..64, not 2\n");
  });

  it("a bearing by its defect orders: the geometry that gives them back, or one line naming what is wrong (exit 2)", async () => {
    const quiet = path.join(dir, "quiet.f32");
    const cases: [string, string][] = [
      ["bpfo=3.5,bpfi=5", "--orders are no rolling-element bearing's: they give 8.500 elements and (d/D) cos φ = 0.1765"],
      ["bpfo=3.5848", "--orders gives neither rolling_elements, element_diameter_mm and pitch_diameter_mm nor two of bpfo, bpfi and ftf"],
      ["bpfo=3.5848,bpfi=x", "--orders bpfi is not a positive number: NaN"],
      ["bpfo=3.5848,bpfo=3.5848", `--orders takes name=value pairs of bpfo, bpfi, ftf and bsf, each once, not "bpfo=3.5848"`],
      ["bpfo=3.5848,bpfi=5.4152,bsf=5", "--orders bsf 5 does not fit the others: it gives d/D = 0.0959 and cos φ = 2.1215"],
    ];
    for (const [orders, message] of cases) {
      expect(await run("analyze", quiet, "--rate", "12000", "--orders", orders), orders).toBe(2);
      expect(stderr).toBe(`impeller: ${message}\n`);
    }
    expect(await run("analyze", quiet, "--rate", "12000", "--orders", "bpfo=3.5848,bpfi=5.4152", "--bearing", "6205")).toBe(2);
    expect(stderr).toBe("impeller: give one of --bearing, --geometry and --orders\n");
    // CWRU's SKF 6205 by its orders: the same windows as by its name.
    expect(await run("analyze", quiet, "--rate", "12000", "--rpm", "1797", "--bearing", "6205", "--json")).toBe(0);
    const byName = JSON.parse(stdout).windows;
    expect(await run("analyze", quiet, "--rate", "12000", "--rpm", "1797", "--orders", "BPFI=5.4152,bpfo=3.5848,bsf=2.3567", "--json")).toBe(0);
    expect(JSON.parse(stdout).windows).toEqual(byName);
  });

  it("a sound one runs (exit 0)", async () => {
    expect(await run("analyze", path.join(dir, "quiet.f32"), "--rate", "12000", "--json")).toBe(0);
    expect(JSON.parse(stdout).windows).toHaveLength(2);
  });
});

describe("paths and brokers", () => {
  it("a recording that cannot be read: one line, exit 2", async () => {
    const file = path.join(dir, "afile", "rec.f32");
    expect(await run("analyze", file, "--rate", "1000")).toBe(2);
    expect(stderr).toBe(`impeller: cannot read ${file}: ENOTDIR: not a directory, open '${file}'\n`);
  });

  it("a recording in another format (MATLAB, WAV, text): named, one line, exit 2; raw float32 of any values is read", async () => {
    const cases: [string, Uint8Array, string][] = [
      ["rec.mat", Buffer.from("MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Dec  7 12:00:00 2026".padEnd(128, " ")), "a MATLAB .mat file"],
      ["rec.wav", Buffer.concat([Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ", "latin1"), Buffer.alloc(116)]), "a WAV file"],
      ["rec.csv", Buffer.from(Array.from({ length: 40 }, (_, i) => (0.01 * i).toFixed(4)).join("\n")), "text (CSV or a list of numbers?)"],
    ];
    for (const [name, bytes, what] of cases) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      expect(await run("analyze", file, "--rate", "12000"), name).toBe(2);
      expect(stderr).toBe(`impeller: ${file} is ${what}, not raw float32 samples: export its one channel as raw little-endian float32\n`);
    }
    // Two windows whose first two samples' bytes happen to be printable: read as samples.
    const samples = new Float32Array(8192).fill(0.001);
    samples.set(new Float32Array(new Uint8Array(Buffer.from("ab12cd34")).buffer), 0);
    fs.writeFileSync(path.join(dir, "textlike.f32"), new Uint8Array(samples.buffer));
    expect(await run("analyze", path.join(dir, "textlike.f32"), "--rate", "12000", "--json")).toBe(0);
    expect(JSON.parse(stdout).windows).toHaveLength(2);
  });

  it("simulate --report under a file: one line before the run, exit 2", async () => {
    const report = path.join(dir, "afile", "report.html");
    expect(await run("simulate", "--days", "0.01", "--quiet", "--report", report)).toBe(2);
    expect(stderr).toBe(`impeller: cannot write ${report}: a file stands in the way of the directory ${path.join(dir, "afile")}\n`);
  });

  it("provision --out under a file: one line, exit 2", async () => {
    const out = path.join(dir, "afile", "fleet");
    expect(await run("provision", "--tenant", "acme", "--devices", "1", "--out", out)).toBe(2);
    expect(stderr).toBe(`impeller: --out ${out} cannot be made a directory: ENOTDIR: not a directory, mkdir '${out}'\n`);
  });

  it("an unreachable broker: one line, exit 1", async () => {
    expect(await run("simulate", "--days", "0.01", "--quiet", "--broker", "mqtt://127.0.0.1:1", "--report", path.join(dir, "r.html"))).toBe(1);
    expect(stderr).toBe("impeller: cannot connect to 127.0.0.1:1 (ECONNREFUSED): is the broker running and the address right?\n");
  });

  it("a broker list with a bad address, --collector without --broker, a list with campaigns: refused before connecting, exit 2", async () => {
    expect(await run("simulate", "--broker", "mqtt://127.0.0.1:1,http://127.0.0.1:2")).toBe(2);
    expect(stderr).toBe('impeller: --broker needs a URL like mqtt://127.0.0.1:1883, or up to 16 separated by commas, not "mqtt://127.0.0.1:1,http://127.0.0.1:2"\n');
    expect(await run("simulate", "--broker", "mqtt://127.0.0.1:1", "--collector", "mqtt://127.0.0.1:2/")).toBe(2);
    expect(stderr).toBe('impeller: --collector needs a URL like mqtt://127.0.0.1:1883, or up to 16 separated by commas, not "mqtt://127.0.0.1:2/"\n');
    expect(await run("simulate", "--collector", "mqtt://127.0.0.1:1")).toBe(2);
    expect(stderr).toBe("impeller: --collector needs --broker: the embedded broker has no other node to read from\n");
    expect(await run("simulate", "scenarios/campaign.json", "--broker", "mqtt://127.0.0.1:1,mqtt://127.0.0.1:2")).toBe(2);
    expect(stderr).toBe("impeller: scenarios/campaign.json has campaigns, which need a single broker: not with a list of nodes in --broker\n");
  });

  it("every node of a broker list unreachable: one line naming the first, exit 1", async () => {
    expect(await run("simulate", "--days", "0.01", "--quiet", "--broker", "mqtt://127.0.0.1:1,mqtt://127.0.0.1:2", "--report", path.join(dir, "r.html"))).toBe(1);
    expect(stderr).toBe("impeller: cannot connect to 127.0.0.1:1 (ECONNREFUSED): is the broker running and the address right?\n");
  });

  it("broker outages with --broker: refused before connecting, exit 2", async () => {
    expect(await run("simulate", "scenarios/outage.json", "--broker", "mqtt://127.0.0.1:1")).toBe(2);
    expect(stderr).toBe("impeller: scenarios/outage.json has broker_outages, which need the embedded broker: not with --broker\n");
  });
});

describe("--help", () => {
  for (const command of ["simulate", "analyze", "validate", "keygen", "sign", "inspect", "provision"]) {
    it(`impeller ${command} --help prints its usage and exits 0`, async () => {
      expect(await run(command, "--help")).toBe(0);
      expect(stdout.split("\n").slice(0, 3)).toEqual([`Usage: impeller ${command} [options]`, "", expect.stringMatching(new RegExp(`^  ${command} `))]);
      expect(stderr).toBe("");
    });
  }

  it("impeller ble --help and ble scan -h print ble's usage and exit 0", async () => {
    expect(await run("ble", "--help")).toBe(0);
    expect(stdout).toBe(BLE_USAGE);
    expect(await run("ble", "scan", "-h")).toBe(0);
    expect(stdout).toBe(BLE_USAGE);
    expect(await run("ble", "serve", "--help")).toBe(0);
    expect(stdout).toBe(BLE_USAGE);
    expect(await run("ble", "commission", "-h")).toBe(0);
    expect(stdout).toBe(BLE_USAGE);
    expect(BLE_USAGE.split("\n").filter((line) => line.startsWith("  impeller ble ")).map((line) => line.split(" ")[4])).toEqual(["scan", "status", "send", "commission", "serve"]);
  });

  it("simulate's usage is its own: it stops before analyze", async () => {
    await run("simulate", "-h");
    expect(stdout).toContain("--workers N");
    expect(stdout).not.toContain("analyze FILE");
  });
});

describe("--pumps on a smaller fleet", () => {
  it("default.json on 2 pumps: one outer race, one inner race, the later faults 0", () => {
    const { scenario, changes } = resizeFleet(loadScenario("scenarios/default.json"), 2);
    expect(scenario.faults.map((f) => [f.kind, f.pumps])).toEqual([
      ["outer_race", 1], ["inner_race", 1], ["rolling_element", 0], ["cavitation", 0], ["imbalance", 0],
    ]);
    expect(changes).toEqual([
      "faults[0] outer_race: 3 → 1", "faults[1] inner_race: 2 → 1", "faults[2] rolling_element: 1 → 0",
      "faults[3] cavitation: 1 → 0", "faults[4] imbalance: 1 → 0",
    ]);
  });

  it("counts scale by N / pumps, rounded, at least 1, indices beyond the fleet dropped, shares kept", () => {
    const base = loadScenario("scenarios/default.json");
    const { scenario } = resizeFleet({
      ...base, pumps: 100,
      faults: [{ ...base.faults[0], pumps: 30 }, { ...base.faults[1], pumps: [1, 9, 12] }, { ...base.faults[2], pumps: "10%" }, { ...base.faults[3], pumps: 1 }],
    }, 10);
    expect(scenario.faults.map((f) => f.pumps)).toEqual([3, [1, 9], "10%", 1]);
  });

  it("a larger fleet keeps the file's counts", () => {
    const base = loadScenario("scenarios/default.json");
    expect(resizeFleet(base, 60)).toEqual({ scenario: { ...base, pumps: 60 }, changes: [] });
  });

  for (const name of SCENARIOS) {
    for (const pumps of [1, 2]) {
      it(`${name} --pumps ${pumps} parses`, () => {
        const file = path.join("scenarios", name);
        expect(parseScenario(resizeFleet(loadScenario(file), pumps).scenario, file).pumps).toBe(pumps);
      });
    }
  }

  // Short runs: a hundredth of a day, except campaign.json, whose campaigns start after that.
  for (const name of SCENARIOS) {
    it(`impeller simulate scenarios/${name} --pumps 2 runs and prints what it scaled`, async () => {
      const days = name === "campaign.json" ? [] : ["--days", "0.01"];
      const code = await run("simulate", path.join("scenarios", name), "--pumps", "2", ...days, "--quiet", "--report", path.join(dir, name, "report.html"));
      expect(code, stderr).toBe(0);
      expect(stdout).toContain("pump-0002");
      // Two targets in three waves: the last wave is empty, and an empty wave does not fail the campaign.
      if (name === "campaign.json") expect(stdout).toMatch(/^Campaign fw-0\.2\.0: completed in wave 3 of 2 devices \(2 confirmed\)/m);
      const base = loadScenario(path.join("scenarios", name));
      if (base.faults.some((f) => typeof f.pumps === "number" && f.pumps > 1)) expect(stderr).toContain(`Scaled from ${base.pumps} pumps to 2 pumps, pumps per entry: faults[0]`);
    }, 60_000);
  }

  it("impeller simulate --pumps 1 runs the default scenario", async () => {
    expect(await run("simulate", "--pumps", "1", "--days", "0.01", "--quiet", "--report", path.join(dir, "one", "report.html")), stderr).toBe(0);
    expect(stderr).toBe("Scaled from 30 pumps to 1 pump, pumps per entry: faults[0] outer_race: 3 → 1; faults[1] inner_race: 2 → 0; faults[2] rolling_element: 1 → 0; faults[3] cavitation: 1 → 0; faults[4] imbalance: 1 → 0\n");
  }, 60_000);
});
