// The console's server side without a browser: the commands the page may send and how a bad one
// is refused, the operator's campaign actions, the fleet view (alarm feed, availability, a
// pump's row), its HTTP answers to bad requests, the pace of a watched run, and the command
// line's refusals.

import fs from "node:fs";
import mqtt from "mqtt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.js";
import { Campaign } from "../../operator/campaign.js";
import { CampaignDesk, ConsoleError } from "../../operator/console/campaign-desk.js";
import { checkCommand } from "../../operator/console/console-commands.js";
import { ConsoleLink } from "../../operator/console/console-link.js";
import { ConsoleServer } from "../../operator/console/console-server.js";
import { FleetView, pumpRow } from "../../operator/console/fleet-view.js";
import { imageCampaignStarter } from "../../operator/console/image-campaign.js";
import { UpdateServer } from "../../operator/update-server.js";
import { frame } from "../../protocol/framing.js";
import { encodeSenml, type SenmlRecord } from "../../protocol/senml.js";
import { encodeState } from "../../protocol/state.js";
import { buildTopic } from "../../protocol/topics.js";
import { startEmbeddedBroker } from "../../simulator/net/broker.js";
import { Pacer } from "../../simulator/physics/clock.js";
import { until } from "../support/wait.js";

const T0 = 1_767_571_200;

function birth(link: ConsoleLink, tenant: string, device: string): void {
  link.ingest(buildTopic(tenant, device, "state"), encodeState({ online: true, session: 2, fw: 0x000100 }));
}

function pack(link: ConsoleLink, tenant: string, device: string, sequence: number, time: number, values: Record<string, number | string>): void {
  const records: SenmlRecord[] = Object.entries(values).map(([n, v]) => (typeof v === "string" ? { n, vs: v } : { n, v }));
  records[0] = { bn: `${device}:`, bt: time, ...records[0] };
  link.ingest(buildTopic(tenant, device, "telemetry"), frame("telemetry", sequence, encodeSenml(records)));
}

/** What a call refuses with: its ConsoleError's code and message. */
function refusal(call: () => unknown): { code: string; message: string } {
  try {
    call();
  } catch (error) {
    if (error instanceof ConsoleError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("not refused");
}

describe("commands from the page", () => {
  const link = ConsoleLink.detached(undefined);
  birth(link, "acme", "pump-a1");
  birth(link, "acme", "pump-x");
  birth(link, "beta", "pump-x");

  it("are sent to a known pump with the arguments the firmware takes", () => {
    expect(checkCommand({ device: "pump-a1", cmd: "waveform" }, link)).toEqual({ tenant: "acme", device: "pump-a1", cmd: "waveform", args: { max_bytes: 16384 } });
    expect(checkCommand({ device: "pump-a1", cmd: "maintenance", action: "replace_bearing" }, link)).toEqual({ tenant: "acme", device: "pump-a1", cmd: "maintenance", args: { action: "replace_bearing" } });
    expect(checkCommand({ tenant: "beta", device: "pump-x", cmd: "policy", token: "00".repeat(15) + "ff", waveform: "never" }, link))
      .toEqual({ tenant: "beta", device: "pump-x", cmd: "policy", args: { token: Uint8Array.from([...Array(15).fill(0), 255]), waveform: "never" } });
  });

  it("are refused, saying why, when the request is wrong", () => {
    const cases: [unknown, string, string][] = [
      [null, "bad_request", 'a command is a JSON object: {"device", "cmd", ...}'],
      [{ cmd: "waveform" }, "bad_request", 'a command names its pump: "device"'],
      [{ device: "pump-zz", cmd: "waveform" }, "not_found", 'no pump "pump-zz" has been heard from'],
      [{ device: "pump-x", cmd: "waveform" }, "bad_request", 'pump pump-x is in tenants acme and beta: say which ("tenant")'],
      [{ device: "pump-a1", cmd: "reboot" }, "bad_request", 'the console sends waveform, maintenance, policy, not "reboot"'],
      [{ device: "pump-a1", cmd: "maintenance", action: "fix" }, "bad_request", 'a maintenance record needs an action, one of inspect, replace_bearing, balance_impeller, align_shaft, check_suction, check_sensor, not "fix"'],
      [{ device: "pump-a1", cmd: "policy", token: "abcd", detail: "full" }, "bad_request", 'a policy change needs the owner\'s token: 32 to 64 hex digits (DIR/owner/TENANT.json, "token")'],
      [{ device: "pump-a1", cmd: "policy", token: "ab".repeat(16) }, "bad_request", 'a policy change says "waveform", "detail" or both'],
      [{ device: "pump-a1", cmd: "policy", token: "ab".repeat(16), detail: "all" }, "bad_request", '"detail" is "full" or "summary", not "all"'],
    ];
    for (const [request, code, message] of cases) expect(refusal(() => checkCommand(request, link)), JSON.stringify(request)).toEqual({ code, message });
  });

  it("of a tenant's console never reach another tenant's pumps, nor are theirs taken in", () => {
    const acme = ConsoleLink.detached("acme");
    birth(acme, "acme", "pump-a1");
    birth(acme, "beta", "pump-b1");
    expect([...acme.collectors.keys()]).toEqual(["acme"]);
    expect(refusal(() => checkCommand({ tenant: "beta", device: "pump-b1", cmd: "waveform" }, acme)))
      .toEqual({ code: "not_found", message: "this console is tenant acme's: it knows no pump of tenant beta" });
    expect(refusal(() => checkCommand({ device: "pump-b1", cmd: "waveform" }, acme))).toEqual({ code: "not_found", message: 'no pump "pump-b1" has been heard from' });
  });
});

describe("campaign actions", () => {
  it("are refused for an unknown campaign or action, or one its state does not allow", () => {
    const desk = new CampaignDesk();
    desk.plan("fw-2", 10, 3, "on day 1");
    expect(refusal(() => desk.act("fw-9", "start"))).toEqual({ code: "not_found", message: 'no campaign named "fw-9"; the console knows fw-2' });
    expect(refusal(() => desk.act("fw-2", "stop"))).toEqual({ code: "bad_request", message: 'a campaign action is one of start, pause, resume, abort, not "stop"' });
    expect(refusal(() => desk.act("fw-2", "pause"))).toEqual({ code: "conflict", message: "campaign fw-2 is planned: it can start, not pause" });
    expect(desk.act("fw-2", "start")).toMatchObject({ state: "planned", startRequested: true, actions: ["pause"] });
    expect(desk.startRequested("fw-2")).toBe(true);
    expect(refusal(() => desk.act("fw-2", "start"))).toEqual({ code: "conflict", message: "campaign fw-2 is planned: it can pause, not start" });
    expect(desk.act("fw-2", "pause")).toMatchObject({ state: "planned", startRequested: true, actions: [] });
    expect(refusal(() => desk.act("fw-2", "abort"))).toEqual({ code: "conflict", message: "campaign fw-2 is planned: it can take no action, not abort" });
  });

  it("pause (even while it starts), resume and abort the campaign itself", async () => {
    const desk = new CampaignDesk();
    const campaign = new Campaign({
      name: "fw-2", devices: ["pump-1", "pump-2"], image: new Uint8Array(8), envelope: new Uint8Array(8), waves: [0.5, 1],
      successThreshold: 1, errorThreshold: 0.5, onError: "abort", settleTimeoutMs: 0,
    }, new UpdateServer(() => undefined));
    desk.plan("fw-2", 2, 2, "on day 1");
    desk.act("fw-2", "start");
    desk.act("fw-2", "pause");
    const done = campaign.run();
    // Paused while it was starting: paused as soon as it runs.
    desk.attach(campaign);
    expect(desk.views()[0]).toMatchObject({ state: "paused", reason: "paused by the operator from the console", actions: ["resume", "abort"] });
    expect(desk.act("fw-2", "resume")).toMatchObject({ state: "running", reason: null, actions: ["pause", "abort"] });
    expect(desk.act("fw-2", "abort")).toMatchObject({ state: "aborted", reason: "aborted by the operator from the console", actions: [] });
    const report = await done;
    expect([report.state, report.maxWave, report.counts.pending]).toEqual(["aborted", 1, 1]);
  });
});

describe("a campaign the console starts on its own", () => {
  it("offers the image to the tenant's pumps heard from, wave by wave, until aborted; without pumps it says why it cannot start", async () => {
    const broker = await startEmbeddedBroker({});
    const link = await ConsoleLink.connect(broker.url, "acme");
    const listener = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: "commands" });
    const offered: string[] = [];
    listener.on("message", (topic) => offered.push(topic.split("/")[3]));
    await listener.subscribeAsync("impeller/v1/+/+/command", { qos: 1 });
    const desk = new CampaignDesk();
    const spec = { name: "fw-2", image: new Uint8Array(64), envelope: new Uint8Array(16), waves: [0.5, 1], successThreshold: 1, errorThreshold: 0.5, onError: "abort" as const, settleTimeoutMs: 0 };
    desk.plan("fw-2", 0, 2, null, imageCampaignStarter(spec, link, broker.url, "acme"));
    try {
      desk.act("fw-2", "start");
      await until(() => desk.views()[0].reason !== null, { what: "the failed start" });
      expect(desk.views()[0]).toMatchObject({ state: "planned", startRequested: false, reason: "could not start: no pump of tenant acme has been heard from yet", actions: ["start"] });
      for (const [tenant, device] of [["acme", "pump-a2"], ["acme", "pump-a1"], ["beta", "pump-b1"]]) {
        await listener.publishAsync(buildTopic(tenant, device, "state"), Buffer.from(encodeState({ online: true, session: 1 })), { qos: 1, retain: true });
      }
      await until(() => link.collectors.get("acme")?.devices.size === 2, { what: "acme's births" });
      desk.act("fw-2", "start");
      await until(() => offered.length === 1, { what: "the first wave's offer" });
      expect(desk.views()[0]).toMatchObject({ state: "running", targets: 2, actions: ["pause", "abort"] });
      expect(desk.act("fw-2", "abort")).toMatchObject({ state: "aborted", reason: "aborted by the operator from the console" });
      expect(offered).toEqual(["pump-a1"]);
    } finally {
      await listener.endAsync();
      await link.close();
      await broker.end();
    }
  });
});

describe("the fleet view", () => {
  it("feeds every change of a pump's alarm at its window's time and measures availability by the windows that came", () => {
    const link = ConsoleLink.detached("demo");
    birth(link, "demo", "pump-1");
    pack(link, "demo", "pump-1", 1, T0, { alarm: "none", fault: "none", health: 0.125 });
    pack(link, "demo", "pump-1", 2, T0 + 1800, { alarm: "alert", fault: "outer_race", health: 0.625, find_outer_race: 3.5, conf_outer_race: 0.75, rul_lo: 86400 * 4, rul_hi: 86400 * 9, action: "replace_bearing", act_in: 86400 * 2 });
    // The window at T0 + 3600 never came.
    pack(link, "demo", "pump-1", 3, T0 + 5400, { alarm: "none", fault: "none", health: 0.25 });
    const view = new FleetView(link, 0.995);
    view.refresh();
    expect(view.feed).toEqual([
      { time: T0 + 5400, tenant: "demo", device: "pump-1", kind: "alarm", level: "none", text: "alarm eased: alert → none, none, health 0.25" },
      { time: T0 + 1800, tenant: "demo", device: "pump-1", kind: "alarm", level: "alert", text: "alarm: none → alert, outer_race, health 0.63" },
    ]);
    expect(view.availability()).toEqual({ share: 0.75, contract: 0.995, met: false });
  });

  it("gives a pump's row its state, findings, remaining life and advice", () => {
    const link = ConsoleLink.detached("demo");
    birth(link, "demo", "pump-1");
    pack(link, "demo", "pump-1", 1, T0, { alarm: "alert", fault: "outer_race", health: 0.625, find_outer_race: 3.5, conf_outer_race: 0.75, find_imbalance: 1.5, conf_imbalance: 0.5, rul_lo: 86400 * 4, rul_hi: 86400 * 9, action: "replace_bearing", act_in: 86400 * 2 });
    expect(pumpRow("demo", "pump-1", link.collectors.get("demo")!.devices.get("pump-1")!)).toEqual({
      tenant: "demo", device: "pump-1", online: true, session: 2, firmware: "0.1.0", time: T0, windows: 1, health: 0.625, alarm: "alert", fault: "outer_race",
      findings: [{ fault: "outer_race", strength: 3.5, confidence: 0.75 }, { fault: "imbalance", strength: 1.5, confidence: 0.5 }],
      velocity_mm_s: null, temperature_c: null, rul_days: [4, 9], advice: "replace_bearing", act_in_days: 2,
    });
  });
});

describe("the console's web server", () => {
  it("serves the page and the release image, and answers a bad request with what is wrong", async () => {
    const server = await ConsoleServer.start({ port: 0, firmwarePath: "build/firmware.wasm", title: "test" });
    const link = ConsoleLink.detached("demo");
    birth(link, "demo", "pump-1");
    server.attach(link);
    try {
      const get = async (path: string) => fetch(new URL(path, server.url));
      const post = async (path: string, body: string) => {
        const response = await fetch(new URL(path, server.url), { method: "POST", body });
        return [response.status, await response.json()];
      };
      const page = await get("/");
      expect([page.status, page.headers.get("content-type"), (await page.text()).includes('<table id="pumps">')]).toEqual([200, "text/html; charset=utf-8", true]);
      const image = await get("/firmware.wasm");
      expect([image.headers.get("content-type"), (await image.arrayBuffer()).byteLength]).toEqual(["application/wasm", fs.statSync("build/firmware.wasm").size]);
      expect(await post("/api/command", "{not json")).toEqual([400, { code: "bad_request", error: "the request body is not JSON" }]);
      expect(await post("/api/command", JSON.stringify({ device: "pump-1", cmd: "waveform" }))).toEqual([503, { code: "unavailable", error: "the console is on no broker" }]);
      expect(await post("/api/campaign", JSON.stringify({ name: "fw-9", action: "abort" }))).toEqual([404, { code: "not_found", error: 'no campaign named "fw-9"; the console knows none' }]);
      expect(await post("/api/reboot", "{}")).toEqual([404, { code: "not_found", error: "no POST /api/reboot here" }]);
      const missing = await get("/api/pump?tenant=demo&device=pump-9");
      expect([missing.status, await missing.json()]).toEqual([404, { code: "not_found", error: 'no pump "pump-9" of tenant "demo" has been heard from' }]);
      expect((await (await get("/api/fleet")).json()).pumps.map((row: { device: string }) => row.device)).toEqual(["pump-1"]);
    } finally {
      await server.close();
    }
  });
});

describe("the pace of a watched run", () => {
  it("holds each step to its time at the pace, and leaves an unpaced run alone", async () => {
    await new Pacer(1800, undefined).wait(1_000_000); // at once
    const pacer = new Pacer(1800, 1800 * 50); // a step every 20 ms
    const started = performance.now();
    await pacer.wait(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    expect(() => new Pacer(1800, 0)).toThrow("a pace is above 0 simulated seconds per second, not 0");
  });
});

describe("the command line", () => {
  afterEach(() => vi.restoreAllMocks());

  it("refuses a console or a pace it cannot run, in one line (exit 2)", async () => {
    const cases: [string[], string][] = [
      [["console"], "console needs --broker URL, or --identities DIR --tenant T"],
      [["console", "--identities", "fleet"], "--identities needs --tenant: the console is one tenant's collector and operator"],
      [["console", "--broker", "http://127.0.0.1:1883"], '--broker needs a URL like mqtt://127.0.0.1:1883, not "http://127.0.0.1:1883"'],
      [["console", "--broker", "mqtt://127.0.0.1:1", "--tenant", "a/b"], '--tenant needs an id of 1 to 64 of A-Z a-z 0-9 . _ : -, not "a/b"'],
      [["simulate", "--pace", "3600"], "--pace is an option of the console: with --console"],
      [["simulate", "--console", "--pace", "0"], '--pace needs a number above 0 up to 31536000, not "0"'],
      [["simulate", "--console", "--port", "70000"], '--port needs a whole number from 0 to 65535, not "70000"'],
      [["console", "--broker", "mqtt://127.0.0.1:1", "--image", "fw.wasm"], "a campaign needs both --image IMAGE and --envelope ENVELOPE (impeller sign)"],
      [["console", "--broker", "mqtt://127.0.0.1:1", "--image", "fw.wasm", "--envelope", "fw.suit"], "a campaign needs --tenant: it offers the image to one tenant's pumps"],
      [["console", "--broker", "mqtt://127.0.0.1:1", "--tenant", "acme", "--image", "build/firmware.wasm", "--envelope", "build/firmware.wasm", "--waves", "0.5,0.2,1"], "--waves 0.5,0.2,1: waves must increase within (0, 1]: 0.5, 0.2, 1"],
      [["console", "--broker", "mqtt://127.0.0.1:1", "--waves", "0.5,1"], "--campaign and --waves go with --image and --envelope"],
    ];
    for (const [args, message] of cases) {
      let stderr = "";
      vi.spyOn(process.stderr, "write").mockImplementation((chunk) => { stderr += String(chunk); return true; });
      expect(await main(args), args.join(" ")).toBe(2);
      expect(stderr, args.join(" ")).toBe(`impeller: ${message}\n`);
      vi.restoreAllMocks();
    }
  });
});
