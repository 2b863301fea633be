import { currencyExponent, toDecimalString } from '../../core/money.ts';
import { everydayZoneName, type Locale } from './i18n.ts';

/**
 * The one place buyer pages turn amounts and instants into text, per locale, through Intl.
 *
 * Money: amounts are integer minor units (core/money.ts). They reach Intl.NumberFormat as the exact
 * decimal string ("799.00"), never as a float, so no amount can round on the way. A currency whose
 * fraction is unused in practice (TWD: prices are whole dollars) shows none unless the amount has
 * one: NT$799, but NT$799.50.
 *
 * Dates: in the installation's zone (PAYGATE_TIME_ZONE), with that zone named in the page's
 * language: "2026/12/03 01:22 台北時間", "Dec 3, 2026, 01:22 Taipei time".
 */

/** Currencies whose minor unit exists in ISO 4217 but not in everyday prices. */
const WHOLE_IN_PRACTICE = new Set(['TWD']);

/**
 * The symbol each locale's buyers expect where Intl's differs: CLDR gives zh-TW a bare "$" for TWD,
 * which a buyer cannot tell from US dollars on a page that may show either.
 */
const SYMBOLS: Partial<Record<Locale, Record<string, string>>> = {
  'zh-TW': { TWD: 'NT$' },
};

const numberFormats = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: Locale, currency: string, digits: number): Intl.NumberFormat {
  const key = `${locale}|${currency}|${digits}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits });
    numberFormats.set(key, format);
  }
  return format;
}

/** 79900 TWD in zh-TW → "NT$799"; 8888 CNY in zh-CN → "¥88.88"; 79950 TWD in en → "NT$799.50". */
export function formatMoney(amount: number, currency: string, locale: Locale): string {
  const exponent = currencyExponent(currency);
  const decimal = toDecimalString(amount, currency);
  const whole = exponent > 0 && WHOLE_IN_PRACTICE.has(currency) && /\.0+$/.test(decimal);
  const digits = whole ? 0 : exponent;
  const text = whole ? decimal.replace(/\.0+$/, '') : decimal;
  // A string argument is formatted as the exact decimal it spells (ECMA-402 Intl.NumberFormat v3).
  const parts = numberFormat(locale, currency, digits).formatToParts(text as unknown as number);
  const symbol = SYMBOLS[locale]?.[currency];
  return parts.map((p) => (p.type === 'currency' && symbol ? symbol : p.value)).join('');
}

/** The name of `timeZone` in `locale`: "台北時間", "Eastern Time". */
export function zoneName(timeZone: string, locale: Locale): string {
  const known = everydayZoneName(locale, timeZone);
  if (known) return known;
  const at = new Date();
  const part = (style: 'longGeneric' | 'long') =>
    new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: style }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
  const generic = part('longGeneric');
  return /^GMT/.test(generic) ? part('long') : generic;
}

const DATE_OPTIONS: Record<Locale, Intl.DateTimeFormatOptions> = {
  'zh-TW': { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  'zh-CN': { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  // Month by name: "12/03/2026" reads as 12 March to half the world.
  en: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
};

/** An instant in `timeZone`, with the zone named: "2026/12/03 01:22 台北時間". */
export function formatDateTime(date: Date, locale: Locale, timeZone: string): string {
  // ICU puts thin and narrow no-break spaces between parts (zh-TW: U+2009); plain spaces read and
  // copy the same everywhere.
  const text = new Intl.DateTimeFormat(locale, { ...DATE_OPTIONS[locale], timeZone }).format(date).replace(/[\u2009\u202f\u00a0]/g, ' ');
  return `${text} ${zoneName(timeZone, locale)}`;
}

/** What a page needs to format with: its language and the installation's zone. */
export interface Formats {
  locale: Locale;
  timeZone: string;
}

export const DEFAULT_TIME_ZONE = 'Asia/Taipei';
