// A campaign's ear for the devices' births: a device being updated that comes back in a new
// session (it lost power, say) is told to the campaign, which offers it the image again.

import { decodeState } from "../protocol/state.js";
import { parseTopic } from "../protocol/topics.js";
import type { Campaign } from "./campaign.js";
import type { Rejections } from "./rejections.js";

/** Reads the devices' retained births for a campaign: a device's new session tells the
 *  campaign it came back. A state that does not decode is counted against its device and
 *  dropped; an empty one is a cleared retained message, not a fault. */
export class BirthWatcher {
  private readonly sessions = new Map<string, number>();

  constructor(private readonly campaign: Pick<Campaign, "deviceConnected">, readonly rejections: Rejections) {}

  take(topic: string, payload: Uint8Array): void {
    let device: string | undefined;
    try {
      device = parseTopic(topic).device;
      if (payload.length === 0) return;
      const state = decodeState(payload);
      if (!state.online) return;
      const before = this.sessions.get(device);
      this.sessions.set(device, state.session);
      if (before !== undefined && state.session > before) this.campaign.deviceConnected(device);
    } catch (error) {
      this.rejections.add(device ?? topic, error);
    }
  }
}
