// A campaign the console starts on its own, on any broker: a signed image (impeller sign) offered
// as the tenant's operator to every pump of the tenant heard from when the page says start, in
// the waves and with the thresholds given; the devices' births tell it a device came back.

import mqtt, { type IClientOptions } from "mqtt";
import { topicFilter } from "../../protocol/topics.js";
import { Campaign, checkPlan, type CampaignPlan } from "../campaign.js";
import { MqttUpdateServer } from "../update-server.js";
import { BirthWatcher } from "../campaign-births.js";
import type { ConsoleLink } from "./console-link.js";

export type ImageCampaign = Omit<CampaignPlan, "devices">;

/** Checks the plan's waves and thresholds now, before anyone asks to start it. */
export function checkImageCampaign(spec: ImageCampaign): void {
  checkPlan({ ...spec, devices: ["a device"] });
}

/** What starts `spec` on the broker at `url` for `tenant`'s pumps that `link` has heard from. */
export function imageCampaignStarter(spec: ImageCampaign, link: ConsoleLink, url: string, tenant: string, operator: IClientOptions = {}): () => Promise<Campaign> {
  return async () => {
    const devices = [...(link.collectors.get(tenant)?.devices.keys() ?? [])].sort();
    if (devices.length === 0) throw new Error(`no pump of tenant ${tenant} has been heard from yet`);
    const server = await MqttUpdateServer.connect(url, tenant, operator);
    const campaign = new Campaign({ ...spec, devices }, server);
    const watcher = await mqtt.connectAsync(url, { protocolVersion: 4, clean: true, clientId: `campaign.${tenant}.${spec.name}.${process.pid}.${Date.now()}`, ...operator });
    const births = new BirthWatcher(campaign, server.rejections);
    watcher.on("message", (topic, payload) => births.take(topic, new Uint8Array(payload)));
    await watcher.subscribeAsync(topicFilter(tenant, "state"), { qos: 1 });
    void campaign.run().finally(() => Promise.all([watcher.endAsync(), server.close()]));
    return campaign;
  };
}
