/*
 * impeller firmware ABI, version 1: the contract between build/firmware.wasm and the native
 * side of a pump controller. firmware/ABI.md explains each part; firmware/PORTING.md runs the
 * image under WAMR and wasm3. A test checks this file against the built module and ABI.md:
 * every prototype, signature string, storage key and size.
 *
 * The module. WebAssembly 1.0 (the MVP) and nothing later: no bulk memory, no saturating
 * float-to-int, no sign extension, no SIMD, no multi-value, no reference types, no import or
 * export of a mutable global; it uses i64 and f32/f64 arithmetic, memory.grow, and a start
 * function (run at instantiation; it calls no import). Every import is in module "host"; it
 * exports its memory as "memory" and the functions below.
 *
 * Memory. One linear memory of IMPELLER_MEMORY_PAGES_INITIAL pages, declared maximum
 * IMPELLER_MEMORY_PAGES_MAX. impeller_init() sizes every buffer from the configuration and may
 * grow the memory, up to its maximum (memory.grow); nothing grows it after init returns. A
 * runtime may move the memory when it grows (wasm3 reallocates it, and so may WAMR): fetch the
 * native base address again after impeller_init() returns, and never keep a native pointer
 * into the memory across a call.
 *
 * Pointers. A wasm_ptr_t is a byte offset into "memory"; lengths are in bytes unless named
 * otherwise. The prototypes give each function's WebAssembly signature: int32_t/uint32_t and
 * wasm_ptr_t are i32, int64_t is i64. Imports: host_NAME is the import host.NAME. Exports:
 * impeller_NAME is the export NAME.
 *
 * Time. Two clocks: host_clock_ms() is monotonic milliseconds from any origin, used only to
 * rate-limit warnings; impeller_process() and impeller_tick() take Unix milliseconds (UTC wall
 * clock), by which the firmware dates windows and writes its state hourly.
 */
#ifndef IMPELLER_ABI_H
#define IMPELLER_ABI_H

#include <stdint.h>

#define IMPELLER_ABI_VERSION 1

typedef uint32_t wasm_ptr_t;

#define IMPELLER_WASM_PAGE_BYTES      65536
#define IMPELLER_MEMORY_PAGES_INITIAL 2
#define IMPELLER_MEMORY_PAGES_MAX     4
/* The inbox (impeller_inbox_capacity()): the largest configuration or command. */
#define IMPELLER_INBOX_BYTES          2048
/* The largest message host_publish() is given: the configuration's max_message, 256..16384
 * (1024 by default); a waveform part is at most min(max_bytes, max_message). */
#define IMPELLER_PUBLISH_BYTES_MAX    16384
/* Call impeller_tick() about this often, and never more than a minute apart. */
#define IMPELLER_TICK_PERIOD_MS       1000
#define IMPELLER_TICK_PERIOD_MS_MAX   60000

/* Status codes: zero or positive is success, negative is an error. */
#define IMPELLER_STATUS_OK               0
#define IMPELLER_STATUS_NOT_INITIALISED  (-1)
#define IMPELLER_STATUS_BAD_ARGUMENT     (-2)
#define IMPELLER_STATUS_BAD_CBOR         (-3)
#define IMPELLER_STATUS_BAD_CONFIG       (-4)
#define IMPELLER_STATUS_BAD_SAMPLES      (-5)
#define IMPELLER_STATUS_NO_ROOM          (-6)
/* The host refused a message (host_publish() returned non-zero). From impeller_init(): the
 * firmware IS running, only its boot (or policy) event was refused; do not init it again. */
#define IMPELLER_STATUS_PUBLISH_FAILED   (-7)
/* Storage: returned by host_storage_read()/host_storage_write() for an I/O failure, and by the
 * firmware when a write it needed failed. */
#define IMPELLER_STATUS_STORAGE          (-8)
#define IMPELLER_STATUS_UNKNOWN_COMMAND  (-9)
#define IMPELLER_STATUS_SELF_TEST_FAILED (-10)
/* A second impeller_init() on the same instance, or a configuration whose window or larger
 * max_message needs buffers sized anew: restart the instance (a fresh one, then init). */
#define IMPELLER_STATUS_NEEDS_REBOOT     (-11)
#define IMPELLER_STATUS_NO_DATA          (-12)
#define IMPELLER_STATUS_FORBIDDEN        (-13)
#define IMPELLER_STATUS_REPLAYED         (-14)
/* handle_message only: the command was "reboot"; its reply is out and the state written:
 * restart the firmware. */
#define IMPELLER_STATUS_REBOOT_REQUESTED 1

/* host_storage_read() besides a length: the record is absent, or longer than `capacity`
 * (an I/O failure is IMPELLER_STATUS_STORAGE). */
#define IMPELLER_STORAGE_READ_ABSENT    (-1)
#define IMPELLER_STORAGE_READ_TOO_LARGE (-2)

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

/* Storage records by key, each with the most bytes it holds (little endian throughout;
 * layouts in ABI.md). A write replaces a record whole and atomically. */
#define IMPELLER_STORAGE_COUNTERS              1    /* u32 boot count; written at every init */
#define IMPELLER_STORAGE_COUNTERS_BYTES        4
#define IMPELLER_STORAGE_POLICY                2    /* the owner's policy: 5-byte header, 16..32-byte token */
#define IMPELLER_STORAGE_POLICY_BYTES          37
#define IMPELLER_STORAGE_COMMAND_COUNTER       3    /* u64; written before each command of a provisioned device */
#define IMPELLER_STORAGE_COMMAND_COUNTER_BYTES 8
#define IMPELLER_STORAGE_STATE                 9    /* the running state; 1,252 bytes without a history */
#define IMPELLER_STORAGE_STATE_BYTES           2044
/* Read once, when record 9 is absent (written by the firmware before it), never written. */
#define IMPELLER_STORAGE_OLD_BASELINE          4
#define IMPELLER_STORAGE_OLD_BASELINE_BYTES    24
#define IMPELLER_STORAGE_OLD_TREND             5
#define IMPELLER_STORAGE_OLD_TREND_BYTES       1144
#define IMPELLER_STORAGE_OLD_HISTORY           6
#define IMPELLER_STORAGE_OLD_HISTORY_BYTES     792
#define IMPELLER_STORAGE_OLD_ADVICE            7
#define IMPELLER_STORAGE_OLD_ADVICE_BYTES      44
#define IMPELLER_STORAGE_OLD_TEMPERATURE       8
#define IMPELLER_STORAGE_OLD_TEMPERATURE_BYTES 16
/* The host's own records (keys from 0x100 up); the firmware never touches them but 0x200. */
#define IMPELLER_STORAGE_HOST_SESSION          0x100 /* u32 MQTT session counter */
#define IMPELLER_STORAGE_HOST_SESSION_BYTES    4
#define IMPELLER_STORAGE_HOST_FAULTS           0x101 /* u32 trap, memory, hang counts */
#define IMPELLER_STORAGE_HOST_FAULTS_BYTES     12
/* The sensor mailbox: f64 degrees C, f64 Unix ms of the reading. The host writes it (RAM will
 * do), the firmware reads it at each window; host_storage_write() of it must fail. */
#define IMPELLER_STORAGE_SENSORS               0x200
#define IMPELLER_STORAGE_SENSORS_BYTES         16

/* Signature strings for binding each import: WAMR's NativeSymbol signature
 * (wasm_runtime_register_natives: i i32, I i64, * a pointer WAMR checks and converts to a
 * native one, ~ the byte length of the pointer before it) and wasm3's (m3_LinkRawFunction:
 * result, then arguments; v none, * a pointer). A wrong string in WAMR only warns at
 * registration and traps at the first call: use these. */
#define IMPELLER_WAMR_SIG_CLOCK_MS      "()I"
#define IMPELLER_WAMR_SIG_LOG           "(i*~)"
#define IMPELLER_WAMR_SIG_PUBLISH       "(i*~)i"
#define IMPELLER_WAMR_SIG_PANIC         "(*~)"
#define IMPELLER_WAMR_SIG_STORAGE_READ  "(i*~)i"
#define IMPELLER_WAMR_SIG_STORAGE_WRITE "(i*~)i"
#define IMPELLER_WASM3_SIG_CLOCK_MS      "I()"
#define IMPELLER_WASM3_SIG_LOG           "v(i*i)"
#define IMPELLER_WASM3_SIG_PUBLISH       "i(i*i)"
#define IMPELLER_WASM3_SIG_PANIC         "v(*i)"
#define IMPELLER_WASM3_SIG_STORAGE_READ  "i(i*i)"
#define IMPELLER_WASM3_SIG_STORAGE_WRITE "i(i*i)"

/* ---- Imports: the native host implements these (module "host"). ---- */

/* Monotonic milliseconds from any origin (never Unix time, never going back); used only to
 * rate-limit warnings. */
int64_t host_clock_ms(void);
/* One log line of `len` UTF-8 bytes at `ptr` (at most 256), no terminating NUL. */
void host_log(int32_t level, wasm_ptr_t ptr, int32_t len);
/* One message of `len` bytes (at most IMPELLER_PUBLISH_BYTES_MAX) at `ptr`, valid only during
 * the call (the firmware writes the next message there): copy it before returning. Return 0
 * once it is durable in the outbox, non-zero to refuse it. */
int32_t host_publish(int32_t kind, wasm_ptr_t ptr, int32_t len);
/* The firmware cannot continue: UTF-8 reason of `len` bytes (at most 256) at `ptr`. The module
 * traps (unreachable) right after this returns: record the reason, count the fault, and start
 * a fresh instance (ABI.md, "After a fault"). */
void host_panic(wasm_ptr_t ptr, int32_t len);
/* Copies record `key` into [ptr, ptr+capacity): its length, or IMPELLER_STORAGE_READ_ABSENT,
 * IMPELLER_STORAGE_READ_TOO_LARGE, or IMPELLER_STATUS_STORAGE when the flash cannot be read. */
int32_t host_storage_read(int32_t key, wasm_ptr_t ptr, int32_t capacity);
/* Replaces record `key` with `len` bytes at `ptr`, atomically (after a power cut the record is
 * the old one or the new one, whole): 0, or IMPELLER_STATUS_STORAGE on failure. */
int32_t host_storage_write(int32_t key, wasm_ptr_t ptr, int32_t len);

/* ---- Exports: the native host calls these. ---- */

/* IMPELLER_ABI_VERSION; a host refuses a module whose version it does not implement. */
int32_t impeller_abi_version(void);
/* Firmware version: major << 16 | minor << 8 | patch. */
int32_t impeller_fw_version(void);
/* The inbound buffer for the configuration and for commands, and its size in bytes
 * (IMPELLER_INBOX_BYTES). */
wasm_ptr_t impeller_inbox_buffer(void);
int32_t impeller_inbox_capacity(void);
/* Starts the firmware with the CBOR configuration of `len` bytes written at inbox_buffer():
 * 0 (or IMPELLER_STATUS_PUBLISH_FAILED, running all the same), a negative status for a
 * configuration refused (the instance may be given another), IMPELLER_STATUS_NEEDS_REBOOT
 * once it has started. Publishes a boot event. May grow the memory. */
int32_t impeller_init(int32_t len);
/* Where to write the next float32 samples, and how many fit there (0 before init). Ask again
 * before every batch: the pointer moves from one window to the next. */
wasm_ptr_t impeller_sample_buffer(void);
int32_t impeller_sample_capacity(void);
/* Takes `count` samples written at sample_buffer(); the first was taken at `timestamp_ms`
 * (Unix milliseconds). Returns the number of messages published, or a negative status. */
int32_t impeller_process(int32_t count, int64_t timestamp_ms);
/* Handles the CBOR command of `len` bytes written at inbox_buffer(); replies by publishing. */
int32_t impeller_handle_message(int32_t len);
/* Housekeeping with the current Unix time in milliseconds, every IMPELLER_TICK_PERIOD_MS:
 * drops a partial window whose samples stopped, writes the running state when its hour is up. */
int32_t impeller_tick(int64_t now_ms);
/* Runs the built-in self-test: IMPELLER_STATUS_OK or IMPELLER_STATUS_SELF_TEST_FAILED. */
int32_t impeller_self_test(void);

/* Spectra of the last analysed window (ABI.md, "Spectra"). Optional in ABI v1: images built
 * before them lack both exports; a host checks their signatures when present. */
#define IMPELLER_SPECTRUM_POWER    0 /* Hann power spectrum, (m/s^2)^2 per bin, bins 0..fft/2 */
#define IMPELLER_SPECTRUM_ENVELOPE 1 /* squared-envelope spectrum of the diagnosis's band, relative */
/* Copies spectrum `kind` into `capacity` floats at `ptr` (memory the firmware does not use
 * during the call: the free part of the sample buffer, or the inbox). Returns the number of
 * floats written; IMPELLER_STATUS_NOT_INITIALISED; IMPELLER_STATUS_BAD_ARGUMENT for an unknown
 * kind or a buffer that is empty, past the end of memory or over the firmware's own buffers;
 * IMPELLER_STATUS_NO_DATA when no analysed window is kept (or, for the envelope, no band was
 * enveloped); IMPELLER_STATUS_NO_ROOM when they do not fit. Never grows the memory. */
int32_t impeller_spectrum(int32_t kind, wasm_ptr_t ptr, int32_t capacity);
/* The bin spacing in Hz of both spectra (bin k is at k times it); 0 while impeller_spectrum()
 * has none to give. */
double impeller_spectrum_bin_hz(void);

#endif /* IMPELLER_ABI_H */
