// The abort handler of the flashable build (--use abort=firmware/panic/panic): AssemblyScript's
// runtime errors reach the host as host.panic with a UTF-8 reason, never through env.abort.

import { host_panic } from "./host";
import { appendAscii, appendDecimal } from "./text";

const PANIC_BYTES_MAX: i32 = 256;
const reason: usize = memory.data(PANIC_BYTES_MAX);

export function panic(message: string | null, file: string | null, line: u32, column: u32): void {
  let at = appendAscii(reason, PANIC_BYTES_MAX, 0, message !== null ? message : "abort");
  if (file !== null) {
    at = appendAscii(reason, PANIC_BYTES_MAX, at, " at ");
    at = appendAscii(reason, PANIC_BYTES_MAX, at, file);
    at = appendAscii(reason, PANIC_BYTES_MAX, at, ":");
    at = appendDecimal(reason, PANIC_BYTES_MAX, at, <i64>line);
    at = appendAscii(reason, PANIC_BYTES_MAX, at, ":");
    at = appendDecimal(reason, PANIC_BYTES_MAX, at, <i64>column);
  }
  host_panic(reason, at);
  unreachable();
}
