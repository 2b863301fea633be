/**
 * ECPay writes every date as Taiwan local time without a zone (§11.3, §13.6). Taiwan keeps UTC+8
 * all year (no daylight saving), so the offset is fixed here and the process's TZ never matters.
 */
const TAIPEI_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function shifted(date: Date): Date {
  return new Date(date.getTime() + TAIPEI_OFFSET_MS);
}

/** `yyyy/MM/dd` in Taipei. */
export function taipeiDate(date: Date): string {
  const t = shifted(date);
  return `${t.getUTCFullYear()}/${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())}`;
}

/** `yyyy/MM/dd HH:mm:ss` in Taipei (MerchantTradeDate, PaymentDate, TradeDate). */
export function taipeiDateTime(date: Date): string {
  const t = shifted(date);
  return `${taipeiDate(date)} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

/**
 * `yyyy/MM/dd` or `yyyy/MM/dd HH:mm:ss` in Taipei → the instant; null for anything that is not a
 * real calendar time (ECPay's own values are never trusted to be well formed).
 */
export function parseTaipei(text: unknown): Date | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{4})\/(\d{2})\/(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$/.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = m[4] === undefined ? [0, 0, 0] : [Number(m[4]), Number(m[5]), Number(m[6])];
  if (h > 23 || mi > 59 || s > 59) return null;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(utc);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return new Date(utc - TAIPEI_OFFSET_MS);
}

/** The last instant of a Taipei calendar day (`yyyy/MM/dd`): 23:59:59.999 Taipei. */
export function endOfTaipeiDay(yyyyMmDd: string): Date | null {
  const start = parseTaipei(yyyyMmDd.slice(0, 10));
  return start ? new Date(start.getTime() + DAY_MS - 1) : null;
}

/** How many Taipei calendar days lie from `from`'s day to `to`'s day (0 when the same day). */
export function taipeiDaysBetween(from: Date, to: Date): number {
  const day = (d: Date) => Math.floor(shifted(d).getTime() / DAY_MS);
  return day(to) - day(from);
}

/** `date` moved forward by whole Taipei days, as `yyyy/MM/dd`. */
export function taipeiDatePlusDays(date: Date, days: number): string {
  return taipeiDate(new Date(date.getTime() + days * DAY_MS));
}

/** Minutes past midnight, Taipei. */
export function taipeiMinuteOfDay(date: Date): number {
  const t = shifted(date);
  return t.getUTCHours() * 60 + t.getUTCMinutes();
}
