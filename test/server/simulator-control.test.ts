/**
 * `POST /sim/<provider>/_control/pay` acts as the buyer even before the buyer has opened Alipay's
 * redirect or posted ECPay's form: the simulator was told of the hand-off at create time
 * (core/simulator-handoffs.ts) and opens the trade through the cashier's own checks.
 */
import { alipayModule } from '../../providers/alipay/index.ts';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

const modules = () => [sinopacModule(), alipayModule(), ecpayModule()];

const control = (app: TestApp, provider: string, action: string, body: unknown) =>
  fetch(`${app.url}/sim/${provider}/_control/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as any,
  }));

const CASES = [
  { provider: 'alipay', method: 'page', currency: 'CNY', amount: 3000, action: 'redirect' },
  { provider: 'alipay', method: 'wap', currency: 'CNY', amount: 3000, action: 'form' },
  { provider: 'ecpay', method: 'card', currency: 'TWD', amount: 50000, action: 'form' },
  { provider: 'ecpay', method: 'atm', currency: 'TWD', amount: 50000, action: 'form' },
] as const;

dbTest('_control/pay pays an Alipay or ECPay payment whose buyer never opened the hand-off', async (t, h) => {
  const app = await startApp(h, { modules: modules() });
  try {
    for (const c of CASES) {
      const created = await app.api('POST', '/v1/payments', {
        merchantOrderId: `SC-${c.provider}-${c.method}-${Date.now()}`,
        currency: c.currency,
        amount: c.amount,
        items: [{ sku: 'A', name: 'Tea', unitAmount: c.amount, quantity: 1 }],
        provider: c.provider,
        method: c.method,
      });
      t.is(created.status, 201, created.text);
      t.is(created.body.action.type, c.action);
      const paid = await control(app, c.provider, 'pay', { orderNo: created.body.orderNo });
      t.is(paid.status, 200, `${c.provider}/${c.method}: ${JSON.stringify(paid.body)}`);
      await app.background.drain();
      t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid', `${c.provider}/${c.method}`);
    }
  } finally {
    await app.close();
  }
});

dbTest('_control/pay still answers 404 for an order the gateway never handed to the provider', async (t, h) => {
  const app = await startApp(h, { modules: modules() });
  try {
    for (const provider of ['alipay', 'ecpay']) {
      const unknown = await control(app, provider, 'pay', { orderNo: 'PGNEVERHANDEDOFF01' });
      t.is(unknown.status, 404);
      t.regex(JSON.stringify(unknown.body), /has not handed this order/);
    }
    // The buyer's own path still works after the control API was told of the hand-off: opening it
    // first, then paying through the control API, pays once.
    const created = await app.api('POST', '/v1/payments', {
      merchantOrderId: `SC-open-${Date.now()}`,
      currency: 'CNY',
      amount: 3000,
      items: [{ sku: 'A', name: 'Tea', unitAmount: 3000, quantity: 1 }],
      provider: 'alipay',
      method: 'page',
    });
    await (await fetch(created.body.action.url)).arrayBuffer();
    const paid = await control(app, 'alipay', 'pay', { orderNo: created.body.orderNo });
    t.is(paid.status, 200);
    const again = await control(app, 'alipay', 'pay', { orderNo: created.body.orderNo });
    t.is(again.status, 409, 'already paid: the expected hand-off does not open a second trade');
  } finally {
    await app.close();
  }
});
