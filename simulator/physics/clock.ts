// The simulator's virtual clock: Unix milliseconds that move only when the simulation says,
// so weeks of a fleet's life pass in minutes and every run with one seed reads the same times.
// It is also the simulated world's only timer: reconnect backoffs, keepalives, an update
// agent's silence, a campaign's waits are set on it and fire as it passes their time, in the
// order of their times (timers set for the same millisecond in the order they were set).

import type { TimerHandle, Timers } from "../../protocol/timers.js";

interface Timer {
  readonly id: number;
  readonly dueMs: number;
  readonly callback: () => void;
}

/** Timers fired at one instant before the clock gives the world a chance to settle, at most. */
const TIMERS_PER_INSTANT_MAX = 100_000;

export class VirtualClock implements Timers {
  /** Pending timers as a binary heap ordered by (dueMs, id); cleared ones are dropped when they surface. */
  private readonly heap: Timer[] = [];
  private readonly pending = new Set<number>();
  private nextId = 1;

  constructor(private nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, dueMs: this.nowMs + Math.max(0, ms), callback };
    this.pending.add(timer.id);
    this.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === "number") this.pending.delete(handle);
  }

  /** The time the next pending timer is due, if any. */
  nextDueMs(): number | undefined {
    this.dropCleared();
    return this.heap[0]?.dueMs;
  }

  /** Moves to `ms`, firing every timer due by then in order, each at its own time. */
  advanceTo(ms: number): void {
    if (ms < this.nowMs) throw new RangeError(`the virtual clock cannot go back from ${this.nowMs} to ${ms}`);
    for (let due = this.nextDueMs(); due !== undefined && due <= ms; due = this.nextDueMs()) this.fireAt(due);
    this.nowMs = ms;
  }

  /** As advanceTo, but after the timers of each instant it waits for `settle`: what they set
   *  going (a connection attempt, a request) plays out before the clock moves on. */
  async runTo(ms: number, settle: () => Promise<unknown>): Promise<void> {
    if (ms < this.nowMs) throw new RangeError(`the virtual clock cannot go back from ${this.nowMs} to ${ms}`);
    for (let due = this.nextDueMs(); due !== undefined && due <= ms; due = this.nextDueMs()) {
      this.fireAt(due);
      await settle();
    }
    this.nowMs = ms;
  }

  /** Fires every timer due at `dueMs` (also those set for it meanwhile), the clock reading `dueMs`. */
  private fireAt(dueMs: number): void {
    this.nowMs = Math.max(this.nowMs, dueMs);
    for (let fired = 0; fired < TIMERS_PER_INSTANT_MAX; fired++) {
      this.dropCleared();
      const timer = this.heap[0];
      if (timer === undefined || timer.dueMs > dueMs) return;
      this.pop();
      this.pending.delete(timer.id);
      timer.callback();
    }
    throw new Error(`more than ${TIMERS_PER_INSTANT_MAX} timers at ${new Date(dueMs).toISOString()}: a timer that sets itself again at once?`);
  }

  private dropCleared(): void {
    while (this.heap.length > 0 && !this.pending.has(this.heap[0].id)) this.pop();
  }

  private static before(a: Timer, b: Timer): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.id < b.id);
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!VirtualClock.before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && VirtualClock.before(heap[left], heap[least])) least = left;
      if (right < heap.length && VirtualClock.before(heap[right], heap[least])) least = right;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least], heap[i]];
      i = least;
    }
  }
}

/** Holds a run to `pace` simulated seconds per real second, so a person can watch it: wait(step)
 *  resolves when step's time has come. A run that fell behind (a campaign holds the virtual
 *  clock while it runs in wall time) carries on from where it is rather than rushing to catch up. */
export class Pacer {
  private originMs = performance.now();
  private originStep = 0;

  constructor(private readonly stepSeconds: number, private readonly pace: number | undefined) {
    if (pace !== undefined && !(pace > 0)) throw new RangeError(`a pace is above 0 simulated seconds per second, not ${pace}`);
  }

  async wait(step: number): Promise<void> {
    if (this.pace === undefined) return;
    const stepMs = (this.stepSeconds / this.pace) * 1000;
    const due = this.originMs + (step - this.originStep) * stepMs;
    const now = performance.now();
    if (due > now) await new Promise((resolve) => setTimeout(resolve, due - now));
    else if (now - due > stepMs) {
      this.originMs = now;
      this.originStep = step;
    }
  }
}
