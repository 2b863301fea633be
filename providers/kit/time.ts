/**
 * Wall-clock time in a fixed-offset zone, for provider wires that write local time without a zone.
 * Taiwan and China keep UTC+8 all year (no daylight saving), so each zone is one fixed offset and
 * nothing here reads the process's TZ: SinoPac and ECPay write Taipei time, Alipay Beijing time
 * (docs/protocols/sinopac.md#time-zone-and-formats, docs/protocols/ecpay.md#time-zone-and-formats,
 * docs/protocols/alipay.md#time-zone-and-formats).
 *
 * Patterns are built from `yyyy MM dd HH mm ss SSS`; every other character is a literal. Formatting
 * drops what the pattern does not show (`yyyyMMddHHmm` truncates to the minute); parsing is strict:
 * exact widths and literals, real calendar dates only (no Feb 30, no 24:00), null otherwise.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface FixedOffsetZone {
  /** `+08:00` */
  readonly name: string;
  /** Local time minus UTC. */
  readonly offsetMs: number;
}

/** A zone from `±HH:MM`; throws on anything else (a programming error, never input). */
export function fixedOffsetZone(offset: string): FixedOffsetZone {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (!m || Number(m[2]) > 14 || Number(m[3]) > 59) throw new RangeError(`not a UTC offset: ${offset}`);
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return Object.freeze({ name: offset, offsetMs: (m[1] === '-' ? -minutes : minutes) * MINUTE_MS });
}

/** Asia/Taipei: SinoPac and ECPay. */
export const TAIPEI = fixedOffsetZone('+08:00');
/** Asia/Shanghai (Beijing time): Alipay. */
export const BEIJING = fixedOffsetZone('+08:00');

type Token = 'yyyy' | 'MM' | 'dd' | 'HH' | 'mm' | 'ss' | 'SSS';
type Part = { token: Token } | { literal: string };

const TOKEN = /yyyy|MM|dd|HH|mm|ss|SSS/g;
const compiled = new Map<string, { parts: Part[]; regex: RegExp }>();

function compile(pattern: string): { parts: Part[]; regex: RegExp } {
  let hit = compiled.get(pattern);
  if (hit) return hit;
  const parts: Part[] = [];
  let at = 0;
  for (const m of pattern.matchAll(TOKEN)) {
    if (m.index > at) parts.push({ literal: pattern.slice(at, m.index) });
    parts.push({ token: m[0] as Token });
    at = m.index + m[0].length;
  }
  if (at < pattern.length) parts.push({ literal: pattern.slice(at) });
  const source = parts.map((p) => ('token' in p ? `(\\d{${p.token.length}})` : p.literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  hit = { parts, regex: new RegExp(`^${source}$`) };
  compiled.set(pattern, hit);
  return hit;
}

/** `date` as the zone's wall clock in `pattern`. Throws a RangeError for an invalid Date or a year outside 0000-9999. */
export function formatWallClock(date: Date, zone: FixedOffsetZone, pattern: string): string {
  const t = new Date(date.getTime() + zone.offsetMs);
  const year = t.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) throw new RangeError('the date cannot be written with a four-digit year');
  const values: Record<Token, number> = {
    yyyy: year,
    MM: t.getUTCMonth() + 1,
    dd: t.getUTCDate(),
    HH: t.getUTCHours(),
    mm: t.getUTCMinutes(),
    ss: t.getUTCSeconds(),
    SSS: t.getUTCMilliseconds(),
  };
  return compile(pattern)
    .parts.map((p) => ('token' in p ? String(values[p.token]).padStart(p.token.length, '0') : p.literal))
    .join('');
}

/**
 * The instant `text`, a wall-clock time of `zone` in `pattern`, names; null for anything that does
 * not match exactly or is not a real calendar time. Fields the pattern leaves out are zero.
 */
export function parseWallClock(text: unknown, zone: FixedOffsetZone, pattern: string): Date | null {
  if (typeof text !== 'string') return null;
  const { parts, regex } = compile(pattern);
  const m = regex.exec(text);
  if (!m) return null;
  const v: Record<Token, number> = { yyyy: 1970, MM: 1, dd: 1, HH: 0, mm: 0, ss: 0, SSS: 0 };
  let group = 1;
  for (const p of parts) if ('token' in p) v[p.token] = Number(m[group++]);
  if (v.MM < 1 || v.MM > 12 || v.dd < 1 || v.HH > 23 || v.mm > 59 || v.ss > 59) return null;
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  const local = new Date(0);
  local.setUTCFullYear(v.yyyy, v.MM - 1, v.dd);
  local.setUTCHours(v.HH, v.mm, v.ss, v.SSS);
  if (local.getUTCFullYear() !== v.yyyy || local.getUTCMonth() !== v.MM - 1 || local.getUTCDate() !== v.dd) return null;
  return new Date(local.getTime() - zone.offsetMs);
}

/** The last millisecond of the zone's calendar day that `date` falls on. */
export function endOfWallClockDay(date: Date, zone: FixedOffsetZone): Date {
  return new Date((wallClockDay(date, zone) + 1) * DAY_MS - zone.offsetMs - 1);
}

/** The zone's calendar day of `date`, counted in days from 1970-01-01 (differences count days). */
export function wallClockDay(date: Date, zone: FixedOffsetZone): number {
  return Math.floor((date.getTime() + zone.offsetMs) / DAY_MS);
}

/** Minutes past the zone's midnight. */
export function wallClockMinuteOfDay(date: Date, zone: FixedOffsetZone): number {
  const t = new Date(date.getTime() + zone.offsetMs);
  return t.getUTCHours() * 60 + t.getUTCMinutes();
}
