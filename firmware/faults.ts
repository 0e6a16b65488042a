// Deliberate faults, compiled only into test images (--use IMPELLER_FAULT=N): how the host's
// watchdog, trap containment and update rollback are proven against firmware that traps,
// hangs, exhausts its memory or fails its self-test. The flashable build does not define
// IMPELLER_FAULT, so every call site and this module's code are compiled away.

export const FAULT_TRAP_AT_INIT: i32 = 1;
export const FAULT_HANG_AT_INIT: i32 = 2;
export const FAULT_SELF_TEST_FAILS: i32 = 3;
export const FAULT_TRAP_ON_WINDOW: i32 = 4;
export const FAULT_HANG_ON_WINDOW: i32 = 5;
export const FAULT_MEMORY_ON_WINDOW: i32 = 6;

/** The window on which the *_ON_WINDOW faults strike: the first ones run normally. */
const FAULT_WINDOW: i32 = 3;

let windows: i32 = 0;

function mode(): i32 {
  return isDefined(IMPELLER_FAULT) ? IMPELLER_FAULT : 0;
}

function hang(): void {
  // An unbounded loop on purpose: what the host's time budget exists to stop.
  let spins: i64 = 0;
  while (spins >= 0) spins++;
}

function exhaustMemory(): void {
  // Allocates until the stub runtime cannot grow memory any more, and aborts.
  for (;;) {
    const block = new StaticArray<u8>(16384);
    store<u8>(changetype<usize>(block), 1);
  }
}

export function atInit(): void {
  if (mode() == FAULT_TRAP_AT_INIT) unreachable();
  if (mode() == FAULT_HANG_AT_INIT) hang();
}

export function onWindow(): void {
  windows++;
  if (windows < FAULT_WINDOW) return;
  if (mode() == FAULT_TRAP_ON_WINDOW) unreachable();
  if (mode() == FAULT_HANG_ON_WINDOW) hang();
  if (mode() == FAULT_MEMORY_ON_WINDOW) exhaustMemory();
}

export function selfTestFails(): bool {
  return mode() == FAULT_SELF_TEST_FAILS;
}
