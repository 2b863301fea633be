import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Argument handling shared by the CLI's commands: every command declares its own flags, and
 * anything else (an unknown flag, a missing value, a bad date) is a UsageError: exit code 2 with
 * the usage text, never a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Flags = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | boolean | undefined>;

/** Parses `args` against `flags` (plus --help); node's parse errors become UsageErrors. */
export function parseFlags(args: string[], flags: Flags): FlagValues {
  try {
    const { values } = parseArgs({ args, options: { ...flags, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    return values as FlagValues;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message.replace(/\s*To specify an option argument starting with a dash.*$/s, ''));
    throw err;
  }
}

export function str(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** An ISO 8601 date (`2026-11-21`, UTC midnight) or date-time (`2026-11-21T08:00:00+08:00`). */
export function parseInstant(flag: string, value: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
  const at = new Date(value);
  if (!iso.test(value) || Number.isNaN(at.getTime())) {
    throw new UsageError(`--${flag} ${JSON.stringify(value)} is not an ISO 8601 date or date-time (e.g. 2026-11-21 or 2026-11-21T08:00:00Z)`);
  }
  return at;
}

export function parseIntFlag(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}`);
  return Number(value);
}
