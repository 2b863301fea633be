/**
 * NewebPay's buyer journeys in a real browser (Debian Chromium through playwright-core): the MPG
 * form our page posts by itself, the simulator's pay page, NewebPay's hand-off back to ReturnURL or
 * CustomerURL, and our result and instructions pages; real HTTP and real AES / SHA-256 throughout.
 * (A file of its own so that ava spreads the browser work over its workers.)
 */
import test from 'ava';
import { newebpayModule } from '../../providers/newebpay/index.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { closeBrowser, requireBrowser, withPage } from '../helpers/browser.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';
import { eventually, resultStatus } from '../helpers/buyer.ts';

test.after.always(closeBrowser);

async function buyerApp(h: TestDbHandle): Promise<TestApp> {
  return startApp(h, { modules: [sinopacModule(), newebpayModule()] });
}

async function create(app: TestApp, body: Record<string, unknown>) {
  const res = await app.api('POST', '/v1/payments', body);
  if (res.status !== 201) throw new Error(res.text);
  return res.body as { id: string; orderNo: string; status: string; checkoutUrl: string };
}

async function payment(app: TestApp, id: string) {
  await app.background.drain();
  return (await app.api('GET', `/v1/payments/${id}`)).body as { status: string; provider: string; method: string; amount: number; attempts?: unknown[] };
}

function checkoutBody(method: string, amount: number): Record<string, unknown> {
  const body = paymentBody({ amount, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: amount, quantity: 1 }], choices: [{ provider: 'sinopac', method: 'card' }, { provider: 'newebpay', method }] });
  delete body.provider;
  delete body.method;
  return body;
}

/**
 * One journey at a time in this file: each runs a gateway, its simulators and a browser page in
 * this worker's one event loop, and a dozen at once (two runs showed it) push a single click's
 * form post past the page's 15 s action timeout on two loaded cores.
 */
const journey = (title: string, fn: Parameters<typeof dbTest>[1]) => dbTest(title, fn, { serial: true });

if (requireBrowser()) {
  journey('NewebPay card from the hosted checkout: declined by the issuer, pay again, paid', async (t, h) => {
    const app = await buyerApp(h);
    try {
      const order = await create(app, checkoutBody('card', 120000));
      await withPage(t, async (page) => {
        await page.goto(order.checkoutUrl);
        await page.getByRole('radio', { name: /NewebPay/ }).check();
        await page.getByRole('button', { name: 'Continue to payment' }).click();
        // Our page posts the encrypted MPG form by itself; NewebPay's card page opens.
        t.is(await page.getByTestId('newebpay-amount').textContent(), 'NT$1,200');
        await page.getByLabel(/Card number/).fill('4000-2211-1111-1112');
        await page.getByTestId('newebpay-pay').click();
        // NewebPay carries the browser back to ReturnURL; the page shows what the notify decided.
        await page.waitForSelector('[data-status]');
        t.is(await resultStatus(page, 'failed'), 'failed');
        t.is(await eventually(app, order.id, 'failed'), 'failed');

        // NewebPay never takes a MerchantOrderNo twice: "pay again" starts attempt 2, a trade of its own.
        await page.getByRole('button', { name: 'Pay again' }).click();
        t.is(await page.getByTestId('newebpay-order-no').textContent(), `${order.orderNo}_2`);
        await page.getByLabel(/Card number/).fill('4000-2211-1111-1111');
        await page.getByTestId('newebpay-pay').click();
        await page.waitForSelector('[data-status]');
        t.is(await resultStatus(page, 'paid'), 'paid');
        t.is(await page.getByTestId('order-no').textContent(), order.orderNo);
      });
      t.is(await eventually(app, order.id, 'paid'), 'paid');
      t.like(await payment(app, order.id), { provider: 'newebpay', method: 'card', amount: 120000 });
      const moves = await h.db('order_transitions').where({ order_id: order.id }).orderBy('id');
      t.deepEqual(moves.map((m: { from_status: string; to_status: string }) => `${m.from_status}→${m.to_status}`), ['created→pending', 'pending→failed', 'failed→pending', 'pending→paid']);
    } finally {
      await app.close();
    }
  });

  journey('NewebPay convenience-store code: issued on NewebPay\'s page, shown on ours with its deadline, paid at the store later', async (t, h) => {
    const app = await buyerApp(h);
    try {
      const order = await create(app, checkoutBody('cvs', 45000));
      await withPage(
        t,
        async (page) => {
          await page.goto(order.checkoutUrl);
          await page.getByRole('radio', { name: /超商代碼繳費/ }).check();
          await page.getByRole('button', { name: '前往付款' }).click();
          await page.getByTestId('newebpay-issue').click();
          // CustomerURL (取號完成) brings the code back; our page shows it as the buyer's instructions.
          const code = (await page.getByTestId('cvs-code').textContent())!.trim();
          t.regex(code, /^[A-Z0-9]{6,20}$/);
          t.is(await page.getByTestId('cvs-amount').textContent(), 'NT$450');
          t.true((await page.getByTestId('deadline').textContent())!.endsWith('台北時間'));
          t.is(await page.locator('[data-status]').count(), 0, 'no result yet: the code is not a payment');
          t.is((await payment(app, order.id)).status, 'pending');

          // The buyer pays at the store; NewebPay's notify tells the gateway.
          const paid = await fetch(`${app.url}/sim/newebpay/_control/pay`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ orderNo: order.orderNo }),
          });
          t.is(paid.status, 200);
          t.is(await eventually(app, order.id, 'paid'), 'paid');
          await page.reload();
          t.is(await resultStatus(page, 'paid'), 'paid');
          t.true((await page.locator('h1').textContent())!.includes('付款成功'));
        },
        { locale: 'zh-TW' },
      );
      t.like(await payment(app, order.id), { provider: 'newebpay', method: 'cvs', amount: 45000 });
    } finally {
      await app.close();
    }
  });
} else {
  test.skip('browser tests — skipped: no Chromium at /usr/bin/chromium (apt-get install -y chromium)', () => {});
}
