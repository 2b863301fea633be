import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { BEIJING, endOfWallClockDay, formatWallClock, parseWallClock } from '../../kit/time.ts';

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8 all year, §9 Time), the format of every Alipay timestamp (§3.2, §6). */
export function beijing(date: Date): string {
  return formatWallClock(date, BEIJING, 'yyyy-MM-dd HH:mm:ss');
}

/** `yyyy-MM-dd HH:mm:ss.SSS`: the docs show gmt_refund with milliseconds (§3.2, UNVERIFIED). */
export function beijingMs(date: Date): string {
  return formatWallClock(date, BEIJING, 'yyyy-MM-dd HH:mm:ss.SSS');
}

/** `yyyyMMdd` in Beijing time. */
export function beijingDay(date: Date): string {
  return formatWallClock(date, BEIJING, 'yyyyMMdd');
}

/** The instant a Beijing `yyyy-MM-dd HH:mm:ss` names, or null when it is not a real calendar time. */
export function parseBeijing(text: string): Date | null {
  return parseWallClock(text, BEIJING, 'yyyy-MM-dd HH:mm:ss');
}

/** The end of the current Beijing day (timeout_express `1c`, §6). */
export function endOfBeijingDay(now: Date): Date {
  // 23:59:59.000: whole seconds, like every Alipay time.
  return new Date(endOfWallClockDay(now, BEIJING).getTime() - 999);
}

/** Yuan with at most 2 decimals → integer fen (§6); null for anything else. Never a float. */
export function parseYuan(text: string): number | null {
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** Integer fen → yuan with exactly two decimals, as Alipay writes amounts (`"0.10"`). */
export function yuan(fen: number): string {
  return `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

export function randomDigits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(randomInt(10));
  return out;
}

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** A stable `2088…` user id for a buyer account name, so the same buyer keeps the same id. */
export function buyerIdFor(logon: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(logon, 'utf8').digest('hex').slice(0, 15)}`) % 10n ** 12n;
  return `2088${digits.toString().padStart(12, '0')}`;
}

/** Masks an account like Alipay's buyer_logon_id (`xud***@126.com`, `159****5620`, §3.2). */
export function maskLogon(logon: string): string {
  const at = logon.indexOf('@');
  if (at > 0) return `${logon.slice(0, Math.min(3, at))}***${logon.slice(at)}`;
  if (/^\d{11}$/.test(logon)) return `${logon.slice(0, 3)}****${logon.slice(7)}`;
  return `${logon.slice(0, 2)}***`;
}

export function redirect(res: ServerResponse, location: string): void {
  if (res.headersSent) return;
  res.writeHead(302, { location, 'cache-control': 'no-store', 'content-type': 'text/plain; charset=utf-8' });
  res.end(`Redirecting to ${location}`);
}

export { Timers } from '../../simulator-kit/timers.ts';
