/** NewebPay runs the whole conformance suite (docs/providers.md#the-conformance-suite): card, ATM, convenience-store code and barcode. */
import { newebpayModule } from '../../providers/newebpay/index.ts';
import { decryptText, encryptText } from '../../providers/newebpay/crypto.ts';
import type { NewebpaySimulator } from '../../providers/newebpay/simulator/index.ts';
import { paymentBody } from '../helpers/app.ts';
import { conformance } from './conformance.ts';
import { tamperField, type RawCallback, type TamperKind } from './tamper.ts';

// NT$1,200: whole dollars, so half of it (the suite's partial refund) is whole dollars too.
const body = (method: string) => (overrides?: Record<string, unknown>) =>
  paymentBody({ provider: 'newebpay', method, amount: 120000, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 60000, quantity: 2 }], ...overrides });

// TradeSha proves a notify; its amount is inside the encrypted TradeInfo, so no plain field carries it.
const callbackFields = { signature: 'TradeSha' };

/** Every simulator the tests of this file started (they run side by side): the tamper hook finds a shop's keys there. */
const simulators: NewebpaySimulator[] = [];
const modules = () => [newebpayModule({ onSimulator: (s) => simulators.push(s) })];

/**
 * The amount changed inside TradeInfo, re-encrypted under the shop's own keys, the genuine TradeSha
 * kept: what someone who could read the message but not sign it would send.
 */
function tamper(kind: TamperKind, raw: RawCallback): RawCallback | null {
  if (kind === 'signature') return tamperField(kind, raw, callbackFields);
  const fields = new URLSearchParams(raw.rawBody);
  const shop = simulators.map((s) => s.book.merchants.get(fields.get('MerchantID') ?? '')).find(Boolean);
  const plain = shop ? decryptText(fields.get('TradeInfo') ?? '', shop) : null;
  if (!shop || plain === null) throw new Error('the stored notify does not decrypt under its shop\'s keys');
  const message = JSON.parse(plain) as { Result: { Amt: number } };
  message.Result.Amt += 1;
  fields.set('TradeInfo', encryptText(JSON.stringify(message), shop));
  return { ...raw, rawBody: fields.toString() };
}

conformance({
  providerId: 'newebpay',
  label: 'card',
  modules,
  paymentBody: body('card'),
  callbackFields,
  tamper,
  // Close has no refund number of ours (§7.3): paygate's refund service keeps that promise.
  refundIdempotentAtProvider: false,
});

conformance({
  providerId: 'newebpay',
  label: 'atm',
  modules,
  paymentBody: body('atm'),
  callbackFields,
  tamper,
  // Cancel and Close are for cards; an ATM transfer is returned outside NewebPay.
  refundable: false,
});

conformance({
  providerId: 'newebpay',
  label: 'cvs',
  modules,
  paymentBody: body('cvs'),
  callbackFields,
  tamper,
  // A store payment is returned outside NewebPay, as an ATM transfer is.
  refundable: false,
});

conformance({
  providerId: 'newebpay',
  label: 'barcode',
  modules,
  paymentBody: body('barcode'),
  callbackFields,
  tamper,
  refundable: false,
});
