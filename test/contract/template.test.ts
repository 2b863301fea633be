/**
 * The template provider (providers/_template/, docs/providers.md) runs the whole conformance suite, in
 * both acknowledgement styles. `paygate new-provider <id>` writes test/contract/<id>.test.ts from this file.
 */
import { fakePayModule } from '../../providers/_template/index.ts';
import { paymentBody } from '../helpers/app.ts';
import { conformance } from './conformance.ts';

const body = (method: string) => (overrides?: Record<string, unknown>) => paymentBody({ provider: 'fakepay', method, ...overrides });
// What proves a notify (its HMAC) and the amount in it (providers/_template/crypto.ts).
const callbackFields = { signature: 'sign', amount: 'amount' };

conformance({
  providerId: 'fakepay',
  label: 'ack after apply',
  modules: () => [fakePayModule({ ackAfter: 'applied' })],
  paymentBody: body('card'),
  callbackFields,
});

conformance({
  providerId: 'fakepay',
  label: 'ack on store',
  modules: () => [fakePayModule({ ackAfter: 'stored' })],
  paymentBody: body('atm'),
  callbackFields,
});
