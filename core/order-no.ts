import { randomUpperAlnum } from './ids.ts';

/**
 * Order numbers (DESIGN §3) are what every provider sees: 20 characters of [0-9A-Z], which fits
 * SinoPac (≤ 50, no quotes or %), Alipay (≤ 64) and ECPay (≤ 20 alphanumerics).
 *
 * Layout: yyMMddHHmmss in UTC (12 digits, so numbers sort by creation second) followed by 8 random
 * base-36 characters (36^8 ≈ 2.8e12 per second). The orders table has a unique index on order_no
 * and checkout retries on the rare collision, so uniqueness never rests on chance alone.
 */
export const ORDER_NO_LENGTH = 20;
export const ORDER_NO_PATTERN = /^[0-9]{12}[0-9A-Z]{8}$/;

export function newOrderNo(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp =
    pad(now.getUTCFullYear() % 100) +
    pad(now.getUTCMonth() + 1) +
    pad(now.getUTCDate()) +
    pad(now.getUTCHours()) +
    pad(now.getUTCMinutes()) +
    pad(now.getUTCSeconds());
  return stamp + randomUpperAlnum(8);
}

export function isOrderNo(value: string): boolean {
  return ORDER_NO_PATTERN.test(value);
}
