// A scenario's campaigns on the simulated fleet: a signing key made for the run (its public
// key provisioned into every pump), each campaign's image and SUIT envelope, its targets in
// a seeded order, and a run over the broker with an MqttUpdateServer that can lose blocks.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { testImage } from "../../host/runtime/images.js";
import mqtt, { type IClientOptions } from "mqtt";
import { MqttUpdateServer } from "../../operator/update-server.js";
import { buildEnvelope } from "../../protocol/suit/build.js";
import { topicFilter } from "../../protocol/topics.js";
import { BirthWatcher } from "../../operator/campaign-births.js";
import { Campaign, type CampaignReport } from "../../operator/campaign.js";
import { assignFaults } from "../physics/degradation.js";
import { FLEET_CLASS_ID, FLEET_FLASH, FLEET_VENDOR_ID, RELEASE_SEQUENCE, type FleetUpdates } from "./fleet-updates.js";
import { deviceId } from "./pump-group.js";
import { Random } from "../physics/random.js";
import { CAMPAIGN_IMAGES, ScenarioError, type CampaignSpec, type Scenario } from "../scenario/scenario.js";

const ORDER_SALT = 0x0ca3_9a16;
const BLOCK_LOSS_SALT = 0x0b10_c105;

export interface FleetCampaigns {
  updates: FleetUpdates;
  /** Runs campaign `i` of the scenario on the broker; resolves with its final report. */
  run(i: number, brokerUrl: string, onProgress?: (line: string, campaign: Campaign) => void, operator?: IClientOptions): Promise<CampaignReport>;
}

/** A campaign's image: a test image's name or a path (relative to the working directory). */
export function campaignImagePath(image: string): string {
  return CAMPAIGN_IMAGES.includes(image) ? fileURLToPath(testImage(image)) : path.resolve(image);
}

function readImage(spec: CampaignSpec): Uint8Array {
  const file = campaignImagePath(spec.image);
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (error) {
    throw new ScenarioError("campaigns", `${spec.name}: image ${spec.image} (${file}) cannot be read: ${(error as Error).message}; build the test images with npm run build`);
  }
}

/** Flash operations of an update of `bytes`, about (an erase, a write and a progress record per
 *  4 KiB block, and the offer, header, trial and confirmation records). */
export function updateOperations(bytes: number): number {
  return 3 * Math.ceil(bytes / FLEET_FLASH.sectorBytes) + 7;
}

/** The devices a campaign targets, in the order its waves take them (seeded shuffle). */
export function campaignTargets(scenario: Scenario, spec: CampaignSpec, i: number): string[] {
  let indices = Array.from({ length: scenario.pumps }, (_, k) => k);
  if (spec.pumps !== undefined) {
    // The same chooser as faults' "pumps" (a count, "N%", or indices), on a stream of its own.
    const chosen = assignFaults([{ kind: "imbalance", pumps: spec.pumps, onset_day: [0, 0], pf_days: [1, 1] }], scenario.pumps, 0, new Random((scenario.seed ^ ORDER_SALT ^ (i + 1)) >>> 0));
    indices = indices.filter((k) => chosen[k].length > 0);
  }
  const random = new Random((scenario.seed ^ ORDER_SALT ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  for (let k = indices.length - 1; k > 0; k--) {
    const j = random.integer(0, k);
    [indices[k], indices[j]] = [indices[j], indices[k]];
  }
  return indices.map(deviceId);
}

export function prepareCampaigns(scenario: Scenario, releaseImage: Uint8Array): FleetCampaigns | undefined {
  if (scenario.campaigns.length === 0) return undefined;
  const signer = crypto.generateKeyPairSync("ed25519");
  const images = scenario.campaigns.map(readImage);
  const largest = Math.max(...images.map((image) => image.length));
  const updates: FleetUpdates = {
    releaseImage,
    publicKeyDer: new Uint8Array(signer.publicKey.export({ format: "der", type: "spki" })),
    powerLossShare: Math.max(...scenario.campaigns.map((c) => c.power_loss_share)),
    powerLossOperations: updateOperations(largest),
  };
  return {
    updates,
    async run(i, brokerUrl, onProgress, operator = {}) {
      const spec = scenario.campaigns[i];
      const image = images[i];
      const envelope = buildEnvelope({
        image, sequenceNumber: RELEASE_SEQUENCE + 1 + i, vendorId: FLEET_VENDOR_ID, classId: FLEET_CLASS_ID, key: signer.privateKey, alg: -8,
      });
      // Offers and blocks go out as the tenant's operator (its certificate, on a provisioned broker).
      const server = await MqttUpdateServer.connect(brokerUrl, scenario.tenant, operator);
      if (spec.block_loss_share > 0) {
        const random = new Random((scenario.seed ^ BLOCK_LOSS_SALT ^ (i + 1)) >>> 0);
        server.faults.drop = () => random.next() < spec.block_loss_share;
      }
      const campaign = new Campaign({
        name: spec.name, devices: campaignTargets(scenario, spec, i), image, envelope, waves: spec.waves,
        successThreshold: spec.success_threshold, errorThreshold: spec.error_threshold, onError: spec.on_error,
        retries: spec.retries, waveTimeoutMs: spec.wave_timeout_s * 1000,
      }, server, onProgress);
      // The devices' births (retained): a new session of a device being updated tells the
      // campaign it came back, e.g. after losing power.
      const watcher = await mqtt.connectAsync(brokerUrl, {
        protocolVersion: 4, clean: true, clientId: `campaign.${scenario.tenant}.${spec.name}.${process.pid}.${Date.now()}`, ...operator,
      });
      const births = new BirthWatcher(campaign, server.rejections);
      watcher.on("message", (topic, payload) => births.take(topic, new Uint8Array(payload)));
      try {
        await watcher.subscribeAsync(topicFilter(scenario.tenant, "state"), { qos: 1 });
        return await campaign.run();
      } finally {
        await watcher.endAsync();
        await server.close();
      }
    },
  };
}
