// The firmware's status codes (impeller_abi.h IMPELLER_STATUS_*) with names for people.

export const STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "ok"],
  [-1, "not_initialised"],
  [-2, "bad_argument"],
  [-3, "bad_cbor"],
  [-4, "bad_config"],
  [-5, "bad_samples"],
  [-6, "no_room"],
  [-7, "publish_failed"],
  [-8, "storage"],
  [-9, "unknown_command"],
  [-10, "self_test_failed"],
  [-11, "needs_reboot"],
  [-12, "no_data"],
  [-13, "forbidden"],
  [-14, "replayed"],
  [1, "reboot_requested"],
]);

export function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `status_${status}`;
}
