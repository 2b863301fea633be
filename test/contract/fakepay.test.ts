import { paymentBody } from '../helpers/app.ts';
import { fakePayModule } from '../helpers/fakepay/index.ts';
import { conformance } from './conformance.ts';

// The test-only provider runs the suite in both acknowledgement styles.
conformance({
  providerId: 'fakepay',
  label: 'ack after apply',
  modules: () => [fakePayModule({ ackAfter: 'applied' })],
  paymentBody: (overrides) => paymentBody(overrides),
});

conformance({
  providerId: 'fakepay',
  label: 'ack on store',
  modules: () => [fakePayModule({ ackAfter: 'stored' })],
  paymentBody: (overrides) => paymentBody({ method: 'atm', ...overrides }),
});
