// Status codes returned across the ABI. Zero or positive is success; negative is an error.
// Kept in step with IMPELLER_STATUS_* in impeller_abi.h and host/runtime/status.ts.

export const STATUS_OK: i32 = 0;
export const STATUS_NOT_INITIALISED: i32 = -1;
export const STATUS_BAD_ARGUMENT: i32 = -2;
export const STATUS_BAD_CBOR: i32 = -3;
export const STATUS_BAD_CONFIG: i32 = -4;
export const STATUS_BAD_SAMPLES: i32 = -5;
export const STATUS_NO_ROOM: i32 = -6;
export const STATUS_PUBLISH_FAILED: i32 = -7;
export const STATUS_STORAGE: i32 = -8;
export const STATUS_UNKNOWN_COMMAND: i32 = -9;
export const STATUS_SELF_TEST_FAILED: i32 = -10;
export const STATUS_NEEDS_REBOOT: i32 = -11;
export const STATUS_NO_DATA: i32 = -12;
export const STATUS_FORBIDDEN: i32 = -13;
export const STATUS_REPLAYED: i32 = -14;

/** handle_message's answer to "reboot": the reply is sent; the host restarts the firmware. */
export const STATUS_REBOOT_REQUESTED: i32 = 1;

/** Message kinds handed to host.publish; the host maps each to a topic suffix. */
export const KIND_TELEMETRY: i32 = 1;
export const KIND_EVENT: i32 = 2;
export const KIND_REPLY: i32 = 3;
export const KIND_WAVEFORM: i32 = 4;
