import { randomUpperAlnum } from './ids.ts';

/**
 * Order numbers (docs/architecture.md#order-numbers) are what every provider sees: 20 characters of [0-9A-Z], which fits
 * provider limits we know of: at most 20 alphanumerics is the strictest (others allow 50 or 64, and
 * forbid quotes or %).
 *
 * Layout: yyMMddHHmmss in UTC (12 digits, so numbers sort by creation second), then 4 base-36
 * characters of a per-process counter that restarts every second (1.6 million numbers a second
 * before it wraps, so one process never repeats itself), then 4 random base-36 characters that
 * keep processes apart. The orders table has a unique index on order_no and checkout retries on
 * the rare cross-process collision, so uniqueness never rests on chance alone.
 */
export const ORDER_NO_LENGTH = 20;
export const ORDER_NO_PATTERN = /^[0-9]{12}[0-9A-Z]{8}$/;

const COUNTER_SPACE = 36 ** 4;
let lastStamp = '';
let counter = 0;

export function newOrderNo(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp =
    pad(now.getUTCFullYear() % 100) +
    pad(now.getUTCMonth() + 1) +
    pad(now.getUTCDate()) +
    pad(now.getUTCHours()) +
    pad(now.getUTCMinutes()) +
    pad(now.getUTCSeconds());
  if (stamp !== lastStamp) {
    lastStamp = stamp;
    // Start each second at a random point so two processes rarely walk the same counter values.
    counter = Math.floor(Math.random() * COUNTER_SPACE);
  }
  counter = (counter + 1) % COUNTER_SPACE;
  return stamp + counter.toString(36).toUpperCase().padStart(4, '0') + randomUpperAlnum(4);
}

export function isOrderNo(value: string): boolean {
  return ORDER_NO_PATTERN.test(value);
}
