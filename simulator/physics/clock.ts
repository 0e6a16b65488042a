// The simulator's virtual clock: Unix milliseconds that move only when the simulation says,
// so weeks of a fleet's life pass in minutes and every run with one seed reads the same times.

export class VirtualClock {
  constructor(private nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  advanceTo(ms: number): void {
    if (ms < this.nowMs) throw new RangeError(`the virtual clock cannot go back from ${this.nowMs} to ${ms}`);
    this.nowMs = ms;
  }
}
