// Time as the parts that keep it take it: the milliseconds now, and one-shot timers. A device or
// an operator in the field runs on wall time (WALL_TIMERS); in the simulated world every one of
// them runs on the simulator's virtual clock instead, so a run replays from its seed.

/** A timer's handle: whatever the clock that set it gives back. */
export type TimerHandle = unknown;

export interface Timers {
  /** Milliseconds on this clock's timeline (only differences between two readings mean anything). */
  now(): number;
  /** Calls `callback` once, `ms` from now. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Forgets a timer that has not fired (a handle already fired or cleared is ignored). */
  clearTimeout(handle: TimerHandle): void;
}

/** Wall time. The globals are looked up at each call, so a test's fake timers stand in for them. */
export const WALL_TIMERS: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
