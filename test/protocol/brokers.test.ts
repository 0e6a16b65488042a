// A broker list (protocol/brokers.ts): the URLs it accepts and refuses, the order a client dials
// them in, and the list as mqtt.js's `servers` option.

import { describe, expect, it } from "vitest";
import { BROKER_URLS_MAX, BrokerRotation, brokerUrls, brokerUrlsOrSelf } from "../../protocol/brokers.js";

describe("brokerUrls", () => {
  it("takes one MQTT URL or several separated by commas, spaces around them dropped", () => {
    expect(brokerUrls("mqtt://127.0.0.1:1883")).toEqual(["mqtt://127.0.0.1:1883"]);
    expect(brokerUrls("mqtt://n1:1883, mqtts://n2:8883 ,mqtt://[::1]:1884")).toEqual(["mqtt://n1:1883", "mqtts://n2:8883", "mqtt://[::1]:1884"]);
  });

  it("refuses an empty list or entry, another scheme, a path, and more than the limit", () => {
    for (const text of ["", "mqtt://n1:1883,", ",mqtt://n1:1883", "http://n1:80", "mqtt://n1:1883/x", "mqtt://n1 :1883", "n1:1883"]) expect(brokerUrls(text), text).toBeNull();
    const many = Array.from({ length: BROKER_URLS_MAX + 1 }, (_, i) => `mqtt://n${i}:1883`);
    expect(brokerUrls(many.slice(0, BROKER_URLS_MAX).join(","))).toHaveLength(BROKER_URLS_MAX);
    expect(brokerUrls(many.join(","))).toBeNull();
  });

  it("a client keeps an address that is not a list as it is (an in-process network's name)", () => {
    expect(brokerUrlsOrSelf("hub://fleet")).toEqual(["hub://fleet"]);
    expect(brokerUrlsOrSelf("mqtt://n1:1,mqtt://n2:2")).toEqual(["mqtt://n1:1", "mqtt://n2:2"]);
  });
});

describe("BrokerRotation", () => {
  it("dials the first, and the next after each loss, round the list", () => {
    const rotation = new BrokerRotation("mqtt://n1:1,mqtt://n2:2,mqtt://n3:3");
    const seen = [rotation.current];
    for (let i = 0; i < 4; i++) {
      rotation.advance();
      seen.push(rotation.current);
    }
    expect(seen).toEqual(["mqtt://n1:1", "mqtt://n2:2", "mqtt://n3:3", "mqtt://n1:1", "mqtt://n2:2"]);
  });

  it("stays on a single broker", () => {
    const rotation = new BrokerRotation("mqtt://127.0.0.1:1883");
    rotation.advance();
    expect(rotation.current).toBe("mqtt://127.0.0.1:1883");
  });

  it("gives mqtt.js's servers, with the scheme's default port where none is given", () => {
    expect(new BrokerRotation("mqtt://n1:1884,mqtts://n2,mqtt://n3").servers()).toEqual([
      { host: "n1", port: 1884, protocol: "mqtt" }, { host: "n2", port: 8883, protocol: "mqtts" }, { host: "n3", port: 1883, protocol: "mqtt" },
    ]);
  });
});
