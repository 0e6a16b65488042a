// Commands as the device's host reads them before the firmware does: which ones go to the update
// agent instead, a command's id when the host must answer it itself, and the statuses it answers
// with (the firmware's own codes, impeller_abi.h).

import { decodeCbor, MESSAGE_BYTES_MAX } from "../../protocol/cbor.js";

/** handle_message's status for "reboot" (impeller_abi.h IMPELLER_STATUS_REBOOT_REQUESTED). */
export const STATUS_REBOOT_REQUESTED = 1;
/** Statuses the host itself answers a command with (the firmware's own codes, same meaning). */
export const STATUS_NOT_RUNNING = -1;
export const STATUS_BAD_ARGUMENT = -2;
export const STATUS_NO_ROOM = -6;

/** Commands the update agent takes. */
export const UPDATE_COMMANDS: readonly string[] = ["update", "block"];
/** Largest command the device decodes to route it: a 64 KiB block and its envelope. */
const ROUTED_COMMAND_BYTES_MAX = 65536 + 256;


/** The decoded command when it is one for the update agent ("update" or "block"). */
export function updateCommand(bytes: Uint8Array): Map<unknown, unknown> | undefined {
  if (bytes.length > ROUTED_COMMAND_BYTES_MAX) return undefined;
  try {
    const value = decodeCbor(bytes, ROUTED_COMMAND_BYTES_MAX);
    return value instanceof Map && UPDATE_COMMANDS.includes(value.get("cmd") as string) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The id of a command, when it can be read: the whole CBOR map when it is small enough to
 *  decode, otherwise only its first entry if that is "id" (encodeCommand writes it first). */
export function commandId(bytes: Uint8Array): number | undefined {
  const valid = (id: unknown): number | undefined => (typeof id === "number" && Number.isInteger(id) && id >= 0 && id <= 0xffffffff ? id : undefined);
  if (bytes.length <= MESSAGE_BYTES_MAX) {
    try {
      const value = decodeCbor(bytes);
      return value instanceof Map ? valid(value.get("id")) : undefined;
    } catch {
      // Not well-formed as a whole: try the head alone.
    }
  }
  const major = bytes[0] >> 5;
  if (major !== 5 || bytes[1] !== 0x62 || bytes[2] !== 0x69 || bytes[3] !== 0x64) return undefined; // map, then text "id"
  const head = bytes[4];
  if (head === undefined) return undefined;
  if (head < 0x18) return head;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (head === 0x18 && bytes.length >= 6) return view.getUint8(5);
  if (head === 0x19 && bytes.length >= 7) return view.getUint16(5);
  if (head === 0x1a && bytes.length >= 9) return view.getUint32(5);
  return undefined;
}
