// Assertions in TigerBeetle's manner: what must hold is checked where it must hold (before a
// write that nothing else bounds, between constants that size one another, around every
// storage record), in the debug build only. Two forms:
//
// - `if (ASSERTS) assert(condition, "what went wrong")` at run time. The release build is
//   compiled with --noAssert, which makes ASSERTS a compile-time false: the statement, its
//   operands included, leaves nothing in the flashable image (AssemblyScript's assert() alone
//   would still evaluate its operands under --noAssert). ASSERTS is an inlined constant, not a
//   global, so not even a read of it is left for the optimiser: the release image is the same,
//   byte for byte, with the assertions as without them. In the debug build a failed assertion
//   aborts, and the build's abort handler is firmware/panic.ts: host.panic with the message,
//   the file and the line.
// - `if (A != B) ERROR("...")` between compile-time constants: a relation that fails stops the
//   build of either image, and one that holds leaves nothing behind.
//
// A loop of writes is covered by one assertion before it that every index it writes exists
// (holds(), within()); the writes themselves stay as they are in the hot loops.

/** Whether run-time assertions are compiled in: the debug build's, not the release build's. */
// @ts-ignore: decorator
@inline export const ASSERTS: bool = !ASC_NO_ASSERT;

/** Whether elements [first, first + count) of `array` exist. */
// @ts-ignore: decorator
@inline export function holds<T>(array: StaticArray<T>, first: i32, count: i32): bool {
  return first >= 0 && count >= 0 && first <= array.length - count;
}

/** Whether the `bytes` bytes at `at` lie within the `capacity` bytes at `base`: the same for a
 *  region of linear memory (memory.data, or a buffer known by its address). */
// @ts-ignore: decorator
@inline export function within(at: usize, bytes: usize, base: usize, capacity: usize): bool {
  return at >= base && bytes <= capacity && at - base <= capacity - bytes;
}
