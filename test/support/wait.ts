// Waiting in tests: for a condition, never for a fixed time. vi.waitFor polls the condition until
// it holds, up to a bound, and the failure says what did not come.

import { vi } from "vitest";

const TIMEOUT_MS_DEFAULT = 10_000;

export interface WaitOptions {
  /** How long the condition has to come true. Default 10 s. */
  timeoutMs?: number;
  /** How often it is looked at. Default 10 ms. */
  intervalMs?: number;
  /** What is awaited, for the failure's message. */
  what?: string;
}

/** Resolves once `condition` holds; rejects after `timeoutMs` naming what did not come. */
export async function until(condition: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS_DEFAULT;
  await vi.waitFor(async () => {
    if (!(await condition())) throw new Error(`${options.what ?? "the condition"} did not come within ${timeoutMs} ms`);
  }, { timeout: timeoutMs, interval: options.intervalMs ?? 10 });
}

/** The first value `read` gives that passes `done` (a notification, a retained message). */
export async function untilValue<T>(read: () => T, done: (value: T) => boolean, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS_DEFAULT;
  let value!: T;
  await vi.waitFor(() => {
    value = read();
    if (!done(value)) throw new Error(`${options.what ?? "not there"} within ${timeoutMs} ms: ${JSON.stringify(value)}`);
  }, { timeout: timeoutMs, interval: options.intervalMs ?? 10 });
  return value;
}
