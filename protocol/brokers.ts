// Where a client finds its broker: one MQTT URL, or several separated by commas (the nodes of a
// clustered broker, in order of preference). A client connects to the first and, each time a
// connection is lost or an attempt fails, tries the next, round and round; device and collector
// read the same list the same way.

/** Nodes in one list: a cluster rarely has more than a handful, a list is typed by a person. */
export const BROKER_URLS_MAX = 16;

const BROKER_URL = /^mqtts?:\/\/[^/,\s]+$/;

/** The URLs of a broker list, in order; null when any is not an MQTT URL like
 *  mqtt://127.0.0.1:1883, the list is empty or longer than BROKER_URLS_MAX. */
export function brokerUrls(text: string): string[] | null {
  const urls = text.split(",").map((url) => url.trim());
  if (urls.length > BROKER_URLS_MAX || !urls.every((url) => BROKER_URL.test(url))) return null;
  return urls;
}

/** The list's URLs as given, or a single URL when `text` is not a list (a test's own address,
 *  an in-process network's name): a client never refuses its configured broker. */
export function brokerUrlsOrSelf(text: string): string[] {
  return text.includes(",") ? (brokerUrls(text) ?? [text]) : [text];
}

/** Which URL of a list to dial: the same one while connections hold, the next after each loss. */
export class BrokerRotation {
  private index = 0;
  readonly urls: readonly string[];

  constructor(text: string) {
    this.urls = brokerUrlsOrSelf(text);
  }

  get current(): string {
    return this.urls[this.index];
  }

  /** The connection to `current` was lost or never came: the next node's turn. */
  advance(): void {
    this.index = (this.index + 1) % this.urls.length;
  }

  /** mqtt.js's `servers` option for the list (its own reconnects go round it in order). */
  servers(): { host: string; port: number; protocol: "mqtt" | "mqtts" }[] {
    return this.urls.map((url) => {
      const parsed = new URL(url);
      const protocol = parsed.protocol === "mqtts:" ? "mqtts" : "mqtt";
      return { host: parsed.hostname, port: Number(parsed.port || (protocol === "mqtts" ? 8883 : 1883)), protocol };
    });
  }
}
