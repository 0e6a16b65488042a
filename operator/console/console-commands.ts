// The commands the console's page may send a pump, checked before anything leaves: a known
// pump of the console's tenant, a known command, and arguments the firmware would take. What
// is wrong is said plainly (a ConsoleError), so the page can show it.

import { MAINTENANCE_ACTIONS } from "../../protocol/messages.js";
import { ConsoleError } from "./campaign-desk.js";
import type { ConsoleLink } from "./console-link.js";

export const CONSOLE_COMMANDS = ["waveform", "maintenance", "policy"] as const;

export interface CheckedCommand {
  tenant: string;
  device: string;
  cmd: (typeof CONSOLE_COMMANDS)[number];
  args?: Record<string, unknown>;
}

/** The largest waveform part asked for (the pump's max_message bounds it further). */
const WAVEFORM_PART_BYTES = 16_384;

/** Reads a command request from the page (JSON) and checks it against what the console knows. */
export function checkCommand(request: unknown, link: ConsoleLink): CheckedCommand {
  if (typeof request !== "object" || request === null) throw new ConsoleError("bad_request", 'a command is a JSON object: {"device", "cmd", ...}');
  const body = request as Record<string, unknown>;
  const { tenant, device } = whichPump(body, link);
  const cmd = body.cmd;
  if (cmd === "waveform") return { tenant, device, cmd, args: { max_bytes: WAVEFORM_PART_BYTES } };
  if (cmd === "maintenance") {
    if (!(MAINTENANCE_ACTIONS as readonly unknown[]).includes(body.action)) {
      throw new ConsoleError("bad_request", `a maintenance record needs an action, one of ${MAINTENANCE_ACTIONS.join(", ")}, not ${JSON.stringify(body.action ?? null)}`);
    }
    return { tenant, device, cmd, args: { action: body.action } };
  }
  if (cmd === "policy") return { tenant, device, cmd, args: policyArgs(body) };
  throw new ConsoleError("bad_request", `the console sends ${CONSOLE_COMMANDS.join(", ")}, not ${JSON.stringify(cmd ?? null)}`);
}

function whichPump(body: Record<string, unknown>, link: ConsoleLink): { tenant: string; device: string } {
  const { device, tenant } = body;
  if (typeof device !== "string" || device === "") throw new ConsoleError("bad_request", "a command names its pump: \"device\"");
  if (tenant !== undefined && typeof tenant !== "string") throw new ConsoleError("bad_request", "\"tenant\" is text");
  if (link.tenant !== undefined && tenant !== undefined && tenant !== link.tenant) {
    throw new ConsoleError("not_found", `this console is tenant ${link.tenant}'s: it knows no pump of tenant ${tenant}`);
  }
  const owners = [...link.collectors].filter(([name, collector]) => (tenant === undefined || name === tenant) && collector.devices.has(device)).map(([name]) => name);
  if (owners.length === 0) throw new ConsoleError("not_found", `no pump ${JSON.stringify(device)}${tenant !== undefined ? ` in tenant ${tenant}` : ""} has been heard from`);
  if (owners.length > 1) throw new ConsoleError("bad_request", `pump ${device} is in tenants ${owners.join(" and ")}: say which ("tenant")`);
  return { tenant: owners[0], device };
}

/** The owner's policy change: the owner's token (hex, 16 to 32 bytes) and what changes. */
function policyArgs(body: Record<string, unknown>): Record<string, unknown> {
  const { token, waveform, detail } = body;
  if (typeof token !== "string" || !/^([0-9a-fA-F]{2}){16,32}$/.test(token)) {
    throw new ConsoleError("bad_request", "a policy change needs the owner's token: 32 to 64 hex digits (DIR/owner/TENANT.json, \"token\")");
  }
  if (waveform !== undefined && waveform !== "on_request" && waveform !== "never") {
    throw new ConsoleError("bad_request", `"waveform" is "on_request" or "never", not ${JSON.stringify(waveform)}`);
  }
  if (detail !== undefined && detail !== "full" && detail !== "summary") {
    throw new ConsoleError("bad_request", `"detail" is "full" or "summary", not ${JSON.stringify(detail)}`);
  }
  if (waveform === undefined && detail === undefined) throw new ConsoleError("bad_request", 'a policy change says "waveform", "detail" or both');
  return {
    token: Uint8Array.from(Buffer.from(token, "hex")),
    ...(waveform !== undefined ? { waveform } : {}),
    ...(detail !== undefined ? { detail } : {}),
  };
}
