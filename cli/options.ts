// The command line's numeric options: each read as a number or an integer within its range, and
// refused with a message that names the option and what it accepts (a usage error, exit 2).

export class UsageError extends Error {}

function range(min: number, max: number): string {
  return max === Infinity ? `from ${min}` : `from ${min} to ${max}`;
}

/** An integer option (a count, an index, a seed) within min..max; undefined when absent. */
export function integerOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = value.trim() === "" ? NaN : Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} needs a whole number ${range(min, max)}, not ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** A number option within min..max (above min when `aboveMin`); undefined when absent. */
export function numberOption(value: string | undefined, name: string, min: number, max: number, aboveMin = false): number | undefined {
  if (value === undefined) return undefined;
  const parsed = value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(parsed) || parsed < min || (aboveMin && parsed === min) || parsed > max) {
    const accepts = aboveMin ? `above ${min}${max === Infinity ? "" : ` up to ${max}`}` : range(min, max);
    throw new UsageError(`--${name} needs a number ${accepts}, not ${JSON.stringify(value)}`);
  }
  return parsed;
}
