import { endOfWallClockDay, formatWallClock, parseWallClock, TAIPEI, wallClockDay, wallClockMinuteOfDay } from '../kit/time.ts';

/**
 * ECPay writes every date as Taiwan local time without a zone (§11.3, §13.6). Taiwan keeps UTC+8
 * all year (no daylight saving): the kit's fixed-offset TAIPEI zone, so the process's TZ never matters.
 */
const DAY_MS = 86_400_000;
const DATE = 'yyyy/MM/dd';
const DATE_TIME = 'yyyy/MM/dd HH:mm:ss';

/** `yyyy/MM/dd` in Taipei. */
export function taipeiDate(date: Date): string {
  return formatWallClock(date, TAIPEI, DATE);
}

/** `yyyy/MM/dd HH:mm:ss` in Taipei (MerchantTradeDate, PaymentDate, TradeDate). */
export function taipeiDateTime(date: Date): string {
  return formatWallClock(date, TAIPEI, DATE_TIME);
}

/**
 * `yyyy/MM/dd` or `yyyy/MM/dd HH:mm:ss` in Taipei → the instant; null for anything that is not a
 * real calendar time (ECPay's own values are never trusted to be well formed).
 */
export function parseTaipei(text: unknown): Date | null {
  return parseWallClock(text, TAIPEI, DATE_TIME) ?? parseWallClock(text, TAIPEI, DATE);
}

/** The last instant of a Taipei calendar day (`yyyy/MM/dd`): 23:59:59.999 Taipei. */
export function endOfTaipeiDay(yyyyMmDd: string): Date | null {
  const start = parseWallClock(yyyyMmDd.slice(0, 10), TAIPEI, DATE);
  return start ? endOfWallClockDay(start, TAIPEI) : null;
}

/** How many Taipei calendar days lie from `from`'s day to `to`'s day (0 when the same day). */
export function taipeiDaysBetween(from: Date, to: Date): number {
  return wallClockDay(to, TAIPEI) - wallClockDay(from, TAIPEI);
}

/** `date` moved forward by whole Taipei days, as `yyyy/MM/dd`. */
export function taipeiDatePlusDays(date: Date, days: number): string {
  return taipeiDate(new Date(date.getTime() + days * DAY_MS));
}

/** Minutes past midnight, Taipei. */
export function taipeiMinuteOfDay(date: Date): number {
  return wallClockMinuteOfDay(date, TAIPEI);
}
