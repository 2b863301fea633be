import { sinopacModule } from '../../providers/sinopac/index.ts';
import { paymentBody } from '../helpers/app.ts';
import { conformance } from './conformance.ts';

const body = (method: string) => (overrides?: Record<string, unknown>) =>
  paymentBody({ provider: 'sinopac', method, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 39950, quantity: 2 }], ...overrides });

// The notify is only {ShopNo, PayToken}: the token is what the bank vouches for (OrderPayQuery), and
// the amount comes from the bank's answer, so there is no amount to tamper with.
const callbackFields = { signature: 'PayToken' };

conformance({
  providerId: 'sinopac',
  label: 'card',
  modules: () => [sinopacModule({ simulator: { atmAutoPayMs: null } })],
  paymentBody: body('card'),
  callbackFields,
  refundIdempotentAtProvider: false,
});

conformance({
  providerId: 'sinopac',
  label: 'atm',
  modules: () => [sinopacModule({ simulator: { atmAutoPayMs: null } })],
  paymentBody: body('atm'),
  callbackFields,
  refundable: false,
});
