/*
 * impeller firmware ABI, version 1: the contract between build/firmware.wasm and the native
 * side of a pump controller (WAMR: wasm_runtime_register_natives; wasm3: m3_LinkRawFunction).
 *
 * Only numbers and offsets cross the boundary. A wasm_ptr_t is a byte offset into the
 * module's exported linear memory "memory"; lengths are in bytes unless named otherwise.
 * The prototypes below give the WebAssembly signature of each function: int32_t/uint32_t
 * are i32, int64_t is i64. A test checks this file against the built module, line by line.
 *
 * Imports, module "host": prototype host_NAME is the import host.NAME.
 * Exports: prototype impeller_NAME is the export NAME.
 */
#ifndef IMPELLER_ABI_H
#define IMPELLER_ABI_H

#include <stdint.h>

#define IMPELLER_ABI_VERSION 1

typedef uint32_t wasm_ptr_t;

/* Status codes: zero or positive is success, negative is an error. */
#define IMPELLER_STATUS_OK               0
#define IMPELLER_STATUS_NOT_INITIALISED  (-1)
#define IMPELLER_STATUS_BAD_ARGUMENT     (-2)
#define IMPELLER_STATUS_BAD_CBOR         (-3)
#define IMPELLER_STATUS_BAD_CONFIG       (-4)
#define IMPELLER_STATUS_BAD_SAMPLES      (-5)
#define IMPELLER_STATUS_NO_ROOM          (-6)
#define IMPELLER_STATUS_PUBLISH_FAILED   (-7)
#define IMPELLER_STATUS_STORAGE          (-8)
#define IMPELLER_STATUS_UNKNOWN_COMMAND  (-9)
#define IMPELLER_STATUS_SELF_TEST_FAILED (-10)
#define IMPELLER_STATUS_NEEDS_REBOOT     (-11)
#define IMPELLER_STATUS_NO_DATA          (-12)
#define IMPELLER_STATUS_FORBIDDEN        (-13)
#define IMPELLER_STATUS_REPLAYED         (-14)
/* handle_message only: the command was "reboot"; its reply is out, restart the firmware. */
#define IMPELLER_STATUS_REBOOT_REQUESTED 1

/* Message kinds passed to host_publish; the host maps each to a topic suffix. */
#define IMPELLER_KIND_TELEMETRY 1 /* SenML CBOR pack      -> .../telemetry */
#define IMPELLER_KIND_EVENT     2 /* CBOR map             -> .../event     */
#define IMPELLER_KIND_REPLY     3 /* CBOR reply to a command -> .../reply  */
#define IMPELLER_KIND_WAVEFORM  4 /* CBOR raw waveform part -> .../waveform */

/* Log levels passed to host_log. */
#define IMPELLER_LOG_DEBUG 0
#define IMPELLER_LOG_INFO  1
#define IMPELLER_LOG_WARN  2
#define IMPELLER_LOG_ERROR 3

/* Persistent storage record keys used by the firmware. */
#define IMPELLER_STORAGE_COUNTERS 1 /* 4 bytes: boot count, little endian */

/* ---- Imports: the native host implements these (module "host"). ---- */

/* Monotonic milliseconds; used to rate-limit warnings. */
int64_t host_clock_ms(void);
/* One log line of `len` UTF-8 bytes at `ptr`. */
void host_log(int32_t level, wasm_ptr_t ptr, int32_t len);
/* One message of `len` bytes; return 0 once it is durable in the outbox, non-zero to refuse. */
int32_t host_publish(int32_t kind, wasm_ptr_t ptr, int32_t len);
/* The firmware cannot continue: UTF-8 reason at `ptr`; the module traps right after. */
void host_panic(wasm_ptr_t ptr, int32_t len);
/* Copies record `key` into [ptr, ptr+capacity): its length, or -1 when absent, -2 when larger
 * than `capacity`. */
int32_t host_storage_read(int32_t key, wasm_ptr_t ptr, int32_t capacity);
/* Replaces record `key` with `len` bytes at `ptr` atomically: 0, or negative on failure. */
int32_t host_storage_write(int32_t key, wasm_ptr_t ptr, int32_t len);

/* ---- Exports: the native host calls these. ---- */

/* IMPELLER_ABI_VERSION; a host refuses a module whose version it does not implement. */
int32_t impeller_abi_version(void);
/* Firmware version: major << 16 | minor << 8 | patch. */
int32_t impeller_fw_version(void);
/* The inbound buffer for the configuration and for commands, and its size in bytes. */
wasm_ptr_t impeller_inbox_buffer(void);
int32_t impeller_inbox_capacity(void);
/* Starts the firmware with the CBOR configuration of `len` bytes written at inbox_buffer().
 * Once per instance; publishes a boot event. */
int32_t impeller_init(int32_t len);
/* Where to write the next float32 samples, and how many fit there (0 before init). */
wasm_ptr_t impeller_sample_buffer(void);
int32_t impeller_sample_capacity(void);
/* Takes `count` samples written at sample_buffer(); the first was taken at `timestamp_ms`
 * (Unix milliseconds). Returns the number of messages published, or a negative status. */
int32_t impeller_process(int32_t count, int64_t timestamp_ms);
/* Handles the CBOR command of `len` bytes written at inbox_buffer(); replies by publishing. */
int32_t impeller_handle_message(int32_t len);
/* Periodic housekeeping with the current Unix time in milliseconds. */
int32_t impeller_tick(int64_t now_ms);
/* Runs the built-in self-test: IMPELLER_STATUS_OK or IMPELLER_STATUS_SELF_TEST_FAILED. */
int32_t impeller_self_test(void);

#endif /* IMPELLER_ABI_H */
