// MQTT topics: impeller/v1/{tenant}/{device}/{kind}. Tenant and device ids are restricted so a
// topic can never smuggle in a wildcard or an extra level.

import { ProtocolError } from "./errors.js";

export const TOPIC_ROOT = "impeller/v1";

/** Appended to, never reordered: host/outbox/file-outbox.ts stores a kind as its index here. */
export const TOPIC_KINDS = ["telemetry", "event", "reply", "waveform", "state", "command", "update"] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

export interface Topic {
  tenant: string;
  device: string;
  kind: TopicKind;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

function checkId(what: string, id: string): void {
  if (!isValidId(id)) {
    throw new ProtocolError(
      "bad_topic",
      `${what} id ${JSON.stringify(id)} is not valid: use 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit`,
    );
  }
}

export function buildTopic(tenant: string, device: string, kind: TopicKind): string {
  checkId("tenant", tenant);
  checkId("device", device);
  if (!TOPIC_KINDS.includes(kind)) throw new ProtocolError("bad_topic", `unknown topic kind ${JSON.stringify(kind)}`);
  return `${TOPIC_ROOT}/${tenant}/${device}/${kind}`;
}

export function parseTopic(topic: string): Topic {
  const parts = topic.split("/");
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) {
    throw new ProtocolError("bad_topic", `topic ${JSON.stringify(topic)} is not ${TOPIC_ROOT}/{tenant}/{device}/{kind}`);
  }
  const [, , tenant, device, kind] = parts;
  checkId("tenant", tenant);
  checkId("device", device);
  if (!(TOPIC_KINDS as readonly string[]).includes(kind)) {
    throw new ProtocolError("bad_topic", `topic ${JSON.stringify(topic)} has unknown kind ${JSON.stringify(kind)}`);
  }
  return { tenant, device, kind: kind as TopicKind };
}

/** Subscription filter for one kind across a tenant (or all tenants with "+"). */
export function topicFilter(tenant: string | "+", kind: TopicKind | "#"): string {
  if (tenant !== "+") checkId("tenant", tenant);
  return kind === "#" ? `${TOPIC_ROOT}/${tenant}/+/#` : `${TOPIC_ROOT}/${tenant}/+/${kind}`;
}
