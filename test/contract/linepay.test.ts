/**
 * LINE Pay (providers/linepay/, docs/protocols/linepay.md) runs the whole conformance suite against
 * its simulator. Its notify is the buyer's browser back at the confirmUrl (a GET): what proves it is
 * the transactionId, which must be the one LINE Pay gave the order, and what moves the order is
 * LINE Pay's answer to paygate's own Confirm; the query carries no amount to tamper with.
 */
import { linepayModule } from '../../providers/linepay/index.ts';
import { paymentBody } from '../helpers/app.ts';
import { conformance } from './conformance.ts';

conformance({
  providerId: 'linepay',
  modules: () => [linepayModule()],
  paymentBody: (overrides?: Record<string, unknown>) =>
    paymentBody({ provider: 'linepay', method: 'wallet', amount: 79800, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 39900, quantity: 2 }], ...overrides }),
  callbackFields: { signature: 'transactionId' },
  refundIdempotentAtProvider: false,
});
