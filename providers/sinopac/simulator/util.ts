import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { endOfWallClockDay, formatWallClock, parseWallClock, TAIPEI } from '../../kit/time.ts';

/** `yyyyMMddHHmm` in Asia/Taipei (§10; UTC+8 all year, §7 conventions). */
export function taipeiStamp(date: Date): string {
  return formatWallClock(date, TAIPEI, 'yyyyMMddHHmm');
}

/** `yyyy-MM-dd HH:mm` in Asia/Taipei, for people. */
export function taipeiText(date: Date): string {
  return formatWallClock(date, TAIPEI, 'yyyy-MM-dd HH:mm');
}

/** `yyyyMMdd` in Asia/Taipei. */
export function taipeiDay(date: Date): string {
  return formatWallClock(date, TAIPEI, 'yyyyMMdd');
}

/** The instant a `yyyyMMdd` day ends in Taipei (ATM ExpireDate is valid through 23:59, §7.1), or null. */
export function endOfTaipeiDay(day: string): Date | null {
  const start = parseWallClock(day, TAIPEI, 'yyyyMMdd');
  return start ? endOfWallClockDay(start, TAIPEI) : null;
}

/** True for a real calendar minute written as `yyyyMMddHHmm`. */
export function isStamp(value: string): boolean {
  return parseWallClock(value, TAIPEI, 'yyyyMMddHHmm') !== null;
}

/** .NET DateTime ticks start at 0001-01-01; the bank's nonces begin with ticks / 10 000 (§3.3). */
const DOTNET_EPOCH_OFFSET_MS = 62_135_596_800_000;

/** A nonce shaped like the bank's: base64("<ms since 0001-01-01>.<d>:<64 lower hex>") (§3.3). */
export function mintNonce(now = Date.now()): string {
  const text = `${now + DOTNET_EPOCH_OFFSET_MS}.${randomInt(10)}:${randomBytes(32).toString('hex')}`;
  return Buffer.from(text, 'ascii').toString('base64');
}

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

export function randomDigits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(randomInt(10));
  return out;
}

/** Constant-time string equality that does not leak the length either. */
export function secretEquals(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y);
}

export function luhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** NT$ text for an amount in 1/100 NTD (§7): integer arithmetic only. */
export function ntd(amount: number): string {
  const whole = Math.trunc(amount / 100).toLocaleString('en-US');
  const cents = amount % 100;
  return `NT$${whole}${cents ? `.${String(cents).padStart(2, '0')}` : ''}`;
}

export { Timers } from '../../simulator-kit/timers.ts';
