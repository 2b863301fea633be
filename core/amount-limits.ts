import { ValidationError } from './errors.ts';
import { currencyExponent, toDecimalString } from './money.ts';
import type { PaymentProvider } from './payment-provider.ts';

/**
 * How large one order may be (issue 13, item 3). Two limits apply at create:
 *
 * 1. paygate's own per-currency maximum, whoever the provider is (a hosted checkout has none yet).
 *    It is generous, far above any provider's own limit, and exists so that no merchant can
 *    store amounts near 2^53: 1,000 such orders once overflowed the dashboard's 64-bit SUM.
 *    9,999,999,999 minor units (99,999,999.99 in a two-decimal currency) leaves room for about
 *    9.2 × 10^8 orders in one 64-bit sum and is still exact as a JavaScript number.
 * 2. the chosen provider's own maximum for the method (PaymentProvider.maxAmount), checked before
 *    anything is written or sent, and used to leave a method off a hosted checkout it cannot take.
 */

/** paygate's maximum per order in minor units, per currency paygate accepts (core/money.ts). */
export const MAX_ORDER_AMOUNT_MINOR: Readonly<Record<string, number>> = Object.freeze({
  TWD: 9_999_999_999, // NT$99,999,999.99
  CNY: 9_999_999_999, // ¥99,999,999.99 (a provider's own lower ceiling comes from its maxAmount)
  HKD: 9_999_999_999, // HK$99,999,999.99
  USD: 9_999_999_999, // US$99,999,999.99
  EUR: 9_999_999_999, // €99,999,999.99
  JPY: 9_999_999_999, // ¥9,999,999,999 (no minor unit)
});

/** The per-currency maximum; an unknown currency is the caller's error. */
export function maxOrderAmount(currency: string): number {
  currencyExponent(currency); // throws on an unknown currency
  const max = Object.prototype.hasOwnProperty.call(MAX_ORDER_AMOUNT_MINOR, currency) ? MAX_ORDER_AMOUNT_MINOR[currency] : undefined;
  if (max === undefined) throw new Error(`no maximum order amount declared for ${currency} (core/amount-limits.ts)`);
  return max;
}

/** "TWD 99,999,999.99" style text for error messages (exact: from integer minor units). */
export function describeAmount(amount: number, currency: string): string {
  const [whole, fraction] = toDecimalString(amount, currency).split('.');
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${currency} ${fraction === undefined ? grouped : `${grouped}.${fraction}`}`;
}

/** Refuses an amount above paygate's maximum for the currency, with the field at fault. */
export function assertWithinCurrencyMaximum(amount: number, currency: string, path = 'amount'): void {
  const max = maxOrderAmount(currency);
  if (amount > max) throw ValidationError.field(path, `must be at most ${max} (${describeAmount(max, currency)})`, 'amount_too_large');
}

/** The provider's own maximum for `method` in minor units of `currency`, or undefined when it states none. */
export function providerMaximum(provider: PaymentProvider, currency: string, method: string): number | undefined {
  return provider.maxAmount?.(currency, method);
}

/** Whether the provider's account takes `amount` for `method` (true when it states no maximum). */
export function providerTakes(provider: PaymentProvider, currency: string, method: string, amount: number): boolean {
  const max = providerMaximum(provider, currency, method);
  return max === undefined || amount <= max;
}

/** Refuses an amount above the provider's maximum for the method, naming the field at fault. */
export function assertProviderTakes(provider: PaymentProvider, currency: string, method: string, amount: number, path = 'amount'): void {
  const max = providerMaximum(provider, currency, method);
  if (max !== undefined && amount > max) {
    throw ValidationError.field(path, `${provider.id} ${method} payments take at most ${describeAmount(max, currency)}`, 'amount_too_large');
  }
}
