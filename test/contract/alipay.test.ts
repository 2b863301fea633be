import { alipayModule } from '../../providers/alipay/index.ts';
import { paymentBody } from '../helpers/app.ts';
import { conformance } from './conformance.ts';

const body = (method: string) => (overrides?: Record<string, unknown>) =>
  paymentBody({ provider: 'alipay', method, currency: 'CNY', amount: 8888, items: [{ sku: 'TEA-1', name: '西湖龙井 250g', unitAmount: 4444, quantity: 2 }], ...overrides });

for (const method of ['page', 'wap']) {
  conformance({
    providerId: 'alipay',
    label: method,
    modules: () => [alipayModule()],
    paymentBody: body(method),
    declinedStatus: 'cancelled',
    callbackFields: { signature: 'sign', amount: 'total_amount' },
  });
}
