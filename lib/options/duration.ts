import { OptionsError, describeValue } from '../core/errors';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** Parses `30m`, `1h`, `90s` or a number of milliseconds; throws an `OptionsError` naming `option` otherwise. */
export function parseDuration(option: string, value: unknown): number {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const match = PATTERN.exec(value.trim());
    if (match) ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 1 || ms > 7 * UNIT_MS.d) {
    const shown = typeof value === 'string' ? `"${value}"` : describeValue(value);
    throw new OptionsError(
      'ERR_EPR_OPTION_INVALID',
      option,
      `must be milliseconds or a string like '30m', '1h', '90s', from 1 ms to 7 days, got ${shown}`,
    );
  }
  return Math.round(ms);
}
