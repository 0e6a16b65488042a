// The firmware's view of its host: every import of ABI v1, all in module "host".
// A native host implements these with WAMR natives or wasm3 raw functions (impeller_abi.h).

/** Monotonic milliseconds since the host started. */
@external("host", "clock_ms")
export declare function host_clock_ms(): i64;

/** A log line: level (0 debug, 1 info, 2 warn, 3 error) and UTF-8 text. */
@external("host", "log")
export declare function host_log(level: i32, ptr: usize, len: i32): void;

/** Hands one message to the host; 0 means the host accepted it (it is now durable). */
@external("host", "publish")
export declare function host_publish(kind: i32, ptr: usize, len: i32): i32;

/** The firmware cannot go on; the host records the UTF-8 reason and restarts it. */
@external("host", "panic")
export declare function host_panic(ptr: usize, len: i32): void;

/** Reads record `key` into [ptr, ptr+capacity); returns its length, or a negative status. */
@external("host", "storage_read")
export declare function host_storage_read(key: i32, ptr: usize, capacity: i32): i32;

/** Replaces record `key` with [ptr, ptr+len) as one atomic write; returns 0 or a negative status. */
@external("host", "storage_write")
export declare function host_storage_write(key: i32, ptr: usize, len: i32): i32;
