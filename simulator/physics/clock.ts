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
