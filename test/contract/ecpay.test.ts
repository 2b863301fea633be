import { ecpayModule } from '../../providers/ecpay/index.ts';
import { paymentBody } from '../helpers/app.ts';
import { conformance } from './conformance.ts';

// NT$1,200: whole dollars, so half of it (the suite's partial refund) is whole dollars too.
const body = (method: string) => (overrides?: Record<string, unknown>) =>
  paymentBody({ provider: 'ecpay', method, amount: 120000, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 60000, quantity: 2 }], ...overrides });

const callbackFields = { signature: 'CheckMacValue', amount: 'TradeAmt' };

conformance({
  providerId: 'ecpay',
  label: 'card',
  modules: () => [ecpayModule()],
  paymentBody: body('card'),
  callbackFields,
  // DoAction has no refund number of ours (§10.1): paygate's refund service keeps that promise.
  refundIdempotentAtProvider: false,
});

conformance({
  providerId: 'ecpay',
  label: 'atm',
  modules: () => [ecpayModule()],
  paymentBody: body('atm'),
  callbackFields,
  // DoAction is for cards; an ATM transfer is returned outside ECPay.
  refundable: false,
});
