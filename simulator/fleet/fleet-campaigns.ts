// A scenario's campaigns on the simulated fleet: a signing key made for the run (its public
// key provisioned into every pump), each campaign's image and SUIT envelope, its targets in
// a seeded order, and a run over the broker with an MqttUpdateServer that can lose blocks.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { testImage } from "../../host/runtime/images.js";
import type { IClientOptions } from "mqtt";
import { connectClient } from "../../operator/mqtt-client.js";
import type { Rejections } from "../../operator/rejections.js";
import { MqttUpdateServer } from "../../operator/update-server.js";
import { buildEnvelope } from "../../protocol/suit/build.js";
import type { Timers } from "../../protocol/timers.js";
import { parseTopic, topicFilter } from "../../protocol/topics.js";
import { BirthWatcher } from "../../operator/campaign-births.js";
import { Campaign, type CampaignReport } from "../../operator/campaign.js";
import { assignFaults } from "../physics/degradation.js";
import { FLEET_CLASS_ID, FLEET_FLASH, FLEET_VENDOR_ID, RELEASE_SEQUENCE, type FleetUpdates } from "./fleet-updates.js";
import { deviceId } from "./pump-group.js";
import { Random } from "../physics/random.js";
import { CAMPAIGN_IMAGES, ScenarioError, type CampaignSpec, type Scenario } from "../scenario/scenario.js";

const ORDER_SALT = 0x0ca3_9a16;
const BLOCK_LOSS_SALT = 0x0b10_c105;

/** How a campaign's time passes in the simulated world: the virtual clock its waits are set on,
 *  and what moves the world and that clock on until it ends. */
export interface CampaignTime {
  clock: Timers;
  /** Resolves with `done`'s report, moving the world on until then; `idle` says whether the
   *  operator's side (the campaign, its update server) has anything under way. */
  drive(done: Promise<CampaignReport>, idle: () => boolean): Promise<CampaignReport>;
}

/** How a campaign is run: told its progress, as whom and how it connects, and on what time. */
export interface CampaignRunOptions {
  onProgress?: (line: string, campaign: Campaign) => void;
  /** The operator's client options (its certificate, on a provisioned broker). */
  operator?: IClientOptions;
  /** Each connection over the stream it opens instead of dialling the broker's URL. */
  stream?: () => Duplex;
  /** The virtual clock and what drives it; wall time when absent. */
  time?: CampaignTime;
}

export interface FleetCampaigns {
  updates: FleetUpdates;
  /** Runs campaign `i` of the scenario on the broker; resolves with its final report. */
  run(i: number, brokerUrl: string, options?: CampaignRunOptions): Promise<CampaignReport>;
}

/** Whether the server stays silent, for each request in turn of each device: a stream per
 *  device, so the order in which devices' requests reach it does not matter. */
function blockLoss(seed: number, share: number): (device: string | undefined) => boolean {
  const streams = new Map<string, Random>();
  return (device) => {
    const name = device ?? "";
    let random = streams.get(name);
    if (random === undefined) {
      let hash = 0x811c_9dc5; // FNV-1a over the device's name
      for (let k = 0; k < name.length; k++) hash = Math.imul(hash ^ name.charCodeAt(k), 0x0100_0193) >>> 0;
      streams.set(name, (random = Random.forItem(seed, hash)));
    }
    return random.next() < share;
  };
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
    async run(i, brokerUrl, { onProgress, operator = {}, stream, time } = {}) {
      const spec = scenario.campaigns[i];
      const image = images[i];
      const envelope = buildEnvelope({
        image, sequenceNumber: RELEASE_SEQUENCE + 1 + i, vendorId: FLEET_VENDOR_ID, classId: FLEET_CLASS_ID, key: signer.privateKey, alg: -8,
      });
      // Offers and blocks go out as the tenant's operator (its certificate, on a provisioned broker).
      const server = await MqttUpdateServer.connect(brokerUrl, scenario.tenant, operator, stream);
      if (spec.block_loss_share > 0) {
        const lost = blockLoss((scenario.seed ^ BLOCK_LOSS_SALT ^ (i + 1)) >>> 0, spec.block_loss_share);
        server.faults.drop = (_request, _n, device) => lost(device);
      }
      const campaign = new Campaign({
        name: spec.name, devices: campaignTargets(scenario, spec, i), image, envelope, waves: spec.waves,
        successThreshold: spec.success_threshold, errorThreshold: spec.error_threshold, onError: spec.on_error,
        retries: spec.retries, waveTimeoutMs: spec.wave_timeout_s * 1000,
      }, server, onProgress, time?.clock);
      // The devices' births (retained): a new session of a device being updated tells the
      // campaign it came back, e.g. after losing power.
      const watcher = await connectClient(brokerUrl, {
        protocolVersion: 4, clean: true, clientId: `campaign.${scenario.tenant}.${spec.name}.${process.pid}.${Date.now()}`, ...operator,
      }, stream);
      const births = new BirthWatcher(campaign, server.rejections);
      watcher.on("message", (topic, payload) => births.take(topic, new Uint8Array(payload)));
      try {
        await watcher.subscribeAsync(topicFilter(scenario.tenant, "state"), { qos: 1 });
        const done = campaign.run();
        return await (time === undefined ? done : time.drive(done, () => campaign.idle && server.idle));
      } finally {
        await watcher.endAsync();
        await server.close();
      }
    },
  };
}
