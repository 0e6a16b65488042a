// `impeller ble` against the Bluetooth world of test/support/ble-air.ts: scan, status and send
// print what the pumps answer, usage mistakes exit 2, and commissioning (identity, broker,
// owner's policy) takes effect in the device and survives its restart.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_STORAGE_COMMISSIONING } from "../../host/ble/commissioning.js";
import { decodeState } from "../../protocol/state.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";
import {
  HEADSET, PUMP_1, PUMP_2, PUMP_3, runBleCommand as run, serve, skipReason, stopServing, useAir,
} from "../support/ble-air.js";
import { untilValue as until } from "../support/wait.js";

const OWNER_TOKEN = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

describe.skipIf(skipReason !== undefined)("impeller ble and commissioning over the fake BlueZ", () => {
  const air = useAir();
  const connect = air.connect;

  describe("impeller ble", () => {
    it("scan prints the pumps in range", async () => {
      expect(await run(["scan", "--timeout", "0.1"])).toEqual({
        status: 0,
        stdout: [
          "address            rssi  name",
          `${PUMP_1}   -48  impeller-pump-1`,
          `${PUMP_3}   -66  impeller-pump-3`,
          `${PUMP_2}   -71  impeller-pump-2`,
          "3 pumps found.",
          "",
        ].join("\n"),
        stderr: "",
      });
    });

    it("status prints the pump's state", async () => {
      expect(await run(["status", PUMP_2])).toEqual({
        status: 0,
        stdout: [
          `Pump ${PUMP_2} (ATT MTU 247)`,
          "  device    pump-2",
          "  firmware  0.1.0 (boot 1)",
          "  sampling  2000 Hz, window 512 samples, units g",
          "  outbox    1 waiting, 1 published since boot",
          "  fleet     tenant demo, no broker, no owner",
          "",
        ].join("\n"),
        stderr: "",
      });
    });

    it("send prints the reply and exits 1 when the firmware says no", async () => {
      expect(await run(["send", PUMP_1.toLowerCase(), "--cmd", "self_test", "--id", "7"])).toEqual({ status: 0, stdout: "reply: id 7 ok\n", stderr: "" });
      expect(await run(["send", PUMP_1, "--cmd", "calibrate", "--id", "8"])).toEqual({
        status: 1, stdout: "reply: id 8 failed: error -9 (unknown_command)\n", stderr: "",
      });
      expect(await run(["send", PUMP_1, "--cmd", "config", "--id", "9", "--args", '{"device":"pump-1","rate_hz":1000,"window":256,"units":"m/s2"}'])).toEqual({
        status: 0, stdout: "reply: id 9 ok\n", stderr: "",
      });
    });

    it("usage mistakes exit 2 and say what is wrong", async () => {
      const cases: [string[], string][] = [
        [["send", PUMP_1], "ble send needs --cmd NAME, e.g. --cmd self_test"],
        [["status", "pump-1"], '"pump-1" is not a Bluetooth address like AA:BB:CC:DD:EE:01'],
        [["send", PUMP_1, "--cmd", "self_test", "--seq", "1.5"], '--seq needs a whole number from 0 to 9007199254740991, not "1.5"'],
        [["commission", PUMP_1], "ble commission needs at least one of --tenant, --device, --broker, --owner"],
        [["commission", PUMP_1, "--device=-east"], '--device needs 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit, not "-east"'],
        [["commission", PUMP_1, "--broker", "http://10.0.0.1"], '--broker needs a URL like mqtt://192.168.1.10:1883 (at most 200 characters), not "http://10.0.0.1"'],
        [["commission", PUMP_1, "--owner", "/nonexistent/owner.json"], "--owner /nonexistent/owner.json cannot be read as the owner's JSON file: ENOENT: no such file or directory, open '/nonexistent/owner.json'"],
        [["serve", "--rate", "50"], '--rate needs a number from 100 to 200000, not "50"'],
        [["serve", "--window", "100.5"], '--window needs a whole number from 16 to 8192, not "100.5"'],
        [["serve", "--duration", "0"], '--duration needs a number above 0 up to 31536000, not "0"'],
        [["serve", "--device", "pump 1"], '--device needs 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit, not "pump 1"'],
        [["serve", "--units", "mm/s"], '--units is g or m/s2, not "mm/s"'],
      ];
      for (const [args, message] of cases) {
        const outcome = await run(args);
        expect([outcome.status, outcome.stderr.split("\n")[0]], args.join(" ")).toEqual([2, `impeller ble: ${message}`]);
      }
      const badJson = await run(["send", PUMP_1, "--cmd", "config", "--args", "{window:"]);
      expect(badJson.status).toBe(2);
      expect(badJson.stderr).toMatch(/^impeller ble: --args needs JSON/);
    });

    it("a pump that is not there is an error, not a crash", async () => {
      expect(await run(["status", HEADSET])).toEqual({
        status: 1, stdout: "", stderr: `impeller ble: ${HEADSET} has no impeller service (5e1d0001-7c4a-4b8e-9f21-3a6b8c0d2e4f): it is not a pump\n`,
      });
    });
  });

  describe("commissioning", () => {
    let broker: EmbeddedBroker;
    let otherBroker: EmbeddedBroker | undefined;
    let subscriber: mqtt.MqttClient;
    const births = new Map<string, ReturnType<typeof decodeState>>();
    let directory: string;

    beforeAll(async () => {
      broker = await startEmbeddedBroker();
      subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
      subscriber.on("message", (topic, payload) => { if (payload.length > 0) births.set(topic, decodeState(new Uint8Array(payload))); });
      await subscriber.subscribeAsync("impeller/v1/+/+/state", { qos: 1 });
      directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-ble-"));
      fs.writeFileSync(path.join(directory, "acme.json"), JSON.stringify({ token: Buffer.from(OWNER_TOKEN).toString("hex"), waveform: "never", detail: "summary" }));
      fs.writeFileSync(path.join(directory, "thief.json"), JSON.stringify({ token: "ab".repeat(32) }));
    });

    afterAll(async () => {
      await subscriber?.endAsync();
      await broker?.close();
      await otherBroker?.close();
      fs.rmSync(directory, { recursive: true, force: true });
    });

    it("sets the pump's identity and broker: it reports there under its new topics and advertises its new name", async () => {
      const link = await connect(PUMP_3);
      expect(link.mtu).toBe(185);
      expect(await link.command({ id: 70, cmd: "commission", args: { tenant: "acme", device: "pump-east", broker: broker.url } })).toEqual({ id: 70, ok: true });
      expect(await until(() => births.get("impeller/v1/acme/pump-east/state"), (birth) => birth !== undefined)).toEqual({ online: true, session: 1, fw: 0x000100, abi: 1 });
      expect(await link.readState()).toEqual({
        device: "pump-east", fw: 0x000100, boot: 2, rate_hz: 1000, window: 256, units: "g", outbox: 0, published: 1, tenant: "acme", broker: broker.url, owned: false,
      });
      expect(air.pump3.peripheral.localName).toBe("impeller-pump-east");
      expect((await air.central.scan(50)).find((found) => found.address === PUMP_3)).toEqual({ address: PUMP_3, name: "impeller-pump-east", rssi: -66 });
    });

    it("gives the pump its owner's policy (impeller ble commission --owner): the firmware is provisioned and its commands need a counter", async () => {
      expect(await run(["commission", PUMP_3, "--owner", path.join(directory, "acme.json"), "--id", "71"])).toEqual({ status: 0, stdout: "reply: id 71 ok\n", stderr: "" });
      expect(await until(() => births.get("impeller/v1/acme/pump-east/state"), (birth) => birth?.policy !== undefined)).toEqual({
        online: true, session: 2, fw: 0x000100, abi: 1, policy: { waveform: "never", detail: "summary" },
      });
      const link = await connect(PUMP_3);
      expect((await link.readState()).owned).toBe(true);
      expect(await link.command({ id: 72, cmd: "self_test" })).toEqual({ id: 72, ok: false, error: -14 }); // no counter
      expect(await link.command({ id: 73, seq: 1, cmd: "waveform" })).toEqual({ id: 73, ok: false, error: -13 }); // the owner said never
      expect(await link.command({ id: 74, seq: 2, cmd: "self_test" })).toEqual({ id: 74, ok: true });
    });

    it("an owned pump takes a commission only with its owner's token and a counter above the last", async () => {
      const acme = path.join(directory, "acme.json");
      const cases: [string[], number, string][] = [
        [["--device", "pump-stolen", "--seq", "9"], 1, "reply: id 80 failed: error -13 (forbidden)\n"],
        [["--device", "pump-stolen", "--seq", "9", "--owner", path.join(directory, "thief.json")], 1, "reply: id 81 failed: error -13 (forbidden)\n"],
        [["--device", "pump-west", "--owner", acme], 1, "reply: id 82 failed: error -14 (replayed)\n"],
        [["--device", "pump-west", "--owner", acme, "--seq", "5"], 0, "reply: id 83 ok\n"],
        [["--device", "pump-north", "--owner", acme, "--seq", "5"], 1, "reply: id 84 failed: error -14 (replayed)\n"],
      ];
      for (const [index, [args, status, stdout]] of cases.entries()) {
        expect(await run(["commission", PUMP_3, ...args, "--id", String(80 + index)]), args.join(" ")).toEqual({ status, stdout, stderr: "" });
      }
      const link = await connect(PUMP_3);
      expect(await link.readState()).toMatchObject({ device: "pump-west", tenant: "acme", broker: broker.url, owned: true });
      expect(await until(() => births.get("impeller/v1/acme/pump-west/state"), (birth) => birth?.policy !== undefined)).toMatchObject({
        online: true, policy: { waveform: "never", detail: "summary" },
      });
      expect(births.get("impeller/v1/acme/pump-east/state")?.online).toBe(false); // the old identity said goodbye
    });

    it("refuses a malformed commission with bad_argument and changes nothing", async () => {
      const link = await connect(PUMP_3);
      const token = OWNER_TOKEN;
      const cases: [unknown, number][] = [
        [{ device: "pump-x", colour: "red" }, 90],
        [{ device: "-x" }, 91],
        [{ broker: "http://10.0.0.1:1883" }, 92],
        [{ owner: { token: new Uint8Array(8) } }, 93],
        [{}, 94],
        ["pump-x", 95],
      ];
      for (const [args, id] of cases) {
        expect(await link.command({ id, seq: 100 + id, cmd: "commission", args: args === undefined ? undefined : args }), JSON.stringify(args)).toEqual({ id, ok: false, error: -2 });
      }
      await expect(link.command({ id: -1, cmd: "commission", args: { device: "pump-x", owner: { token } } })).rejects.toMatchObject({
        code: "link_error", peerCode: "bad_message",
      });
      expect(await link.readState()).toMatchObject({ device: "pump-west", tenant: "acme" });
    });

    it("moves an owned pump to another broker with its owner's token: its link changes, its firmware runs on", async () => {
      otherBroker = await startEmbeddedBroker();
      const watcher = await mqtt.connectAsync(otherBroker.url, { protocolVersion: 4 });
      let birth: ReturnType<typeof decodeState> | undefined;
      watcher.on("message", (_topic, payload) => { if (payload.length > 0) birth = decodeState(new Uint8Array(payload)); });
      try {
        await watcher.subscribeAsync("impeller/v1/acme/pump-west/state", { qos: 1 });
        const first = await air.central.connect(PUMP_3);
        const before = await first.readState();
        await first.disconnect(); // the command below opens its own; one BlueZ, one connection to the pump
        const owner = path.join(directory, "acme.json");
        expect(await run(["commission", PUMP_3, "--broker", otherBroker.url, "--owner", owner, "--seq", "6", "--id", "96"])).toEqual({ status: 0, stdout: "reply: id 96 ok\n", stderr: "" });
        expect(await until(() => birth, (state) => state !== undefined)).toMatchObject({ online: true, policy: { waveform: "never", detail: "summary" } });
        const after = await (await connect(PUMP_3)).readState();
        expect([after.broker, after.boot, after.device]).toEqual([otherBroker.url, before.boot, "pump-west"]);
      } finally {
        await watcher.endAsync();
      }
    });

    it("what was commissioned survives a restart of the pump", async () => {
      const { storage } = air.pump3;
      await stopServing(air.pump3);
      air.pump3 = await serve("hci3", { device: "pump-3", rate_hz: 1000, window: 256 }, { storage });
      expect(storage.read(HOST_STORAGE_COMMISSIONING)).toBeDefined();
      expect([air.pump3.pump.id, air.pump3.peripheral.localName]).toEqual(["pump-west", "impeller-pump-west"]);
      const link = await connect(PUMP_3);
      expect(await link.readState()).toEqual({
        device: "pump-west", fw: 0x000100, boot: 5, rate_hz: 1000, window: 256, units: "g", outbox: 0, published: 2, tenant: "acme", broker: otherBroker?.url, owned: true,
      });
    });
  });

});
