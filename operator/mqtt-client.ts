// An operator's MQTT client, connected: by dialling a URL, or over a byte stream it is given for
// each connection (the simulator's in-process network, where every byte to and from the broker
// is counted so the fleet knows when nothing is on its way).

import mqtt, { MqttClient, type IClientOptions } from "mqtt";
import type { Duplex } from "node:stream";

/** Resolves once connected; rejects with the first error before that, as mqtt.connectAsync does. */
export async function connectClient(url: string, options: IClientOptions, stream?: () => Duplex): Promise<MqttClient> {
  if (stream === undefined) return mqtt.connectAsync(url, options);
  const client = new MqttClient(stream, options);
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void => {
      client.off("connect", connected);
      client.end(true);
      reject(error);
    };
    const connected = (): void => {
      client.off("error", failed);
      resolve();
    };
    client.once("connect", connected);
    client.once("error", failed);
  });
  return client;
}
