import { ValidationError } from './errors.ts';

/**
 * Money is an integer count of ISO 4217 minor units plus a currency code. Nothing here accepts a
 * float: a number with a fraction, NaN, Infinity or beyond 2^53 is refused, not rounded.
 */
export interface Money {
  amount: number;
  currency: string;
}

/** ISO 4217 minor-unit exponents of the currencies paygate accepts. */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  TWD: 2,
  CNY: 2,
  HKD: 2,
  USD: 2,
  EUR: 2,
  JPY: 0,
});

export function isKnownCurrency(code: string): boolean {
  return Object.prototype.hasOwnProperty.call(CURRENCY_EXPONENTS, code);
}

export function currencyExponent(code: string): number {
  // hasOwnProperty, not `[code] === undefined`: "toString" or "__proto__" would find Object.prototype's.
  const exponent = isKnownCurrency(code) ? CURRENCY_EXPONENTS[code] : undefined;
  if (exponent === undefined) throw ValidationError.field('currency', `unknown currency ${JSON.stringify(code)}`);
  return exponent;
}

/** Refuses anything that is not a non-negative safe integer. */
export function assertMinorUnits(value: unknown, path = 'amount'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw ValidationError.field(path, 'must be an integer number of minor units');
  }
  if (value < 0) throw ValidationError.field(path, 'must not be negative');
  return value;
}

export function money(amount: number, currency: string): Money {
  currencyExponent(currency);
  return { amount: assertMinorUnits(amount), currency };
}

/** Multiplies a unit price by a quantity, refusing a product beyond 2^53. */
export function multiplyMinor(unit: number, quantity: number, path = 'amount'): number {
  assertMinorUnits(unit, path);
  assertMinorUnits(quantity, path);
  const product = unit * quantity;
  if (!Number.isSafeInteger(product)) throw ValidationError.field(path, 'is too large');
  return product;
}

export function sumMinor(values: readonly number[], path = 'amount'): number {
  let total = 0;
  for (const value of values) {
    total += assertMinorUnits(value, path);
    if (!Number.isSafeInteger(total)) throw ValidationError.field(path, 'is too large');
  }
  return total;
}

/** 79900 TWD → "799.00"; 1 CNY → "0.01"; 500 JPY → "500". */
export function toDecimalString(amount: number, currency: string): string {
  const exponent = currencyExponent(currency);
  assertMinorUnits(amount);
  if (exponent === 0) return String(amount);
  const digits = String(amount).padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * toDecimalString for a sum of many amounts, which may pass 2^53 and so is a bigint:
 * 123456789012345678n TWD → "1234567890123456.78".
 */
export function bigMinorToDecimalString(amount: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(exponent + 1, '0');
  const text = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return negative ? `-${text}` : text;
}

const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/**
 * "799.00" → 79900 for TWD. Works on the string's digits, never through parseFloat. More fraction
 * digits than the currency has are refused unless they are all zero.
 */
export function parseDecimalString(text: string, currency: string, path = 'amount'): number {
  const exponent = currencyExponent(currency);
  const match = DECIMAL.exec(text);
  if (!match) throw ValidationError.field(path, `${JSON.stringify(text)} is not a decimal amount`);
  const whole = match[1]!;
  let fraction = match[2] ?? '';
  if (fraction.length > exponent) {
    if (/[^0]/.test(fraction.slice(exponent))) {
      throw ValidationError.field(path, `${JSON.stringify(text)} has more than ${exponent} decimal places`);
    }
    fraction = fraction.slice(0, exponent);
  }
  const minor = Number(whole + fraction.padEnd(exponent, '0'));
  if (!Number.isSafeInteger(minor)) throw ValidationError.field(path, 'is too large');
  return minor;
}

/** 79900 TWD → 799 whole dollars; 79950 TWD → an error, since the cents cannot be represented. */
export function toWholeUnits(amount: number, currency: string, path = 'amount'): number {
  const exponent = currencyExponent(currency);
  assertMinorUnits(amount, path);
  const factor = 10 ** exponent;
  if (amount % factor !== 0) {
    throw ValidationError.field(
      path,
      `${toDecimalString(amount, currency)} ${currency} has a fraction; this provider takes whole units only`,
      'amount_not_representable',
    );
  }
  return amount / factor;
}

export function fromWholeUnits(units: number, currency: string, path = 'amount'): number {
  const exponent = currencyExponent(currency);
  assertMinorUnits(units, path);
  const minor = units * 10 ** exponent;
  if (!Number.isSafeInteger(minor)) throw ValidationError.field(path, 'is too large');
  return minor;
}
