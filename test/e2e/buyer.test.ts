/**
 * The buyer's journeys in a real browser (Debian Chromium through playwright-core), against the
 * real app and the providers' simulators over HTTP with real crypto.
 */
import test from 'ava';
import { alipayModule } from '../../providers/alipay/index.ts';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import { linepayModule } from '../../providers/linepay/index.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { closeBrowser, requireBrowser, withPage } from '../helpers/browser.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';
import { eventually, resultStatus, statusOf } from '../helpers/buyer.ts';

test.after.always(closeBrowser);

async function buyerApp(h: TestDbHandle): Promise<TestApp> {
  // ATM accounts are paid by the test (no automatic payment), so the instructions stay on screen.
  return startApp(h, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null } }), alipayModule(), ecpayModule(), linepayModule()] });
}

async function create(app: TestApp, body: Record<string, unknown>) {
  const res = await app.api('POST', '/v1/payments', body);
  if (res.status !== 201) throw new Error(res.text);
  return res.body as { id: string; orderNo: string; status: string; checkoutUrl: string; action?: { type: string; url?: string } };
}

const sinopacCard = () => paymentBody({ provider: 'sinopac', method: 'card', amount: 79900, items: [{ sku: 'TEE-1', name: 'T-shirt', unitAmount: 39950, quantity: 2 }] });

/**
 * One journey at a time in this file: each runs a gateway, its simulators and a browser page in
 * this worker's one event loop, and a dozen at once (two runs showed it) push a single click's
 * form post past the page's 15 s action timeout on two loaded cores.
 */
const journey = (title: string, fn: Parameters<typeof dbTest>[1]) => dbTest(title, fn, { serial: true });

if (requireBrowser()) {
  journey('SinoPac card: declined, pay again, paid', async (t, h) => {
    const app = await buyerApp(h);
    try {
      const order = await create(app, sinopacCard());
      await withPage(t, async (page) => {
        await page.goto(order.action!.url!);
        await page.getByRole('button', { name: 'Decline' }).click();
        await page.waitForSelector('[data-status]');
        t.is(await resultStatus(page, 'failed'), 'failed');
        t.is(await eventually(app, order.id, 'failed'), 'failed');
        await page.getByRole('link', { name: 'Pay again' }).click();
        await page.getByLabel('CVV').fill('123');
        await page.getByRole('button', { name: 'Pay', exact: true }).click();
        await page.waitForSelector('[data-status]');
        t.is(await resultStatus(page, 'paid'), 'paid');
        t.is(await page.getByTestId('order-no').textContent(), order.orderNo);
        t.truthy(await page.getByRole('link', { name: 'Continue shopping' }).getAttribute('href'));
      });
      t.is(await eventually(app, order.id, 'paid'), 'paid');
    } finally {
      await app.close();
    }
  });

  journey('SinoPac ATM: instructions page, the bank is paid, the page shows paid', async (t, h) => {
    const app = await buyerApp(h);
    try {
      const order = await create(app, paymentBody({ provider: 'sinopac', method: 'atm' }));
      await withPage(
        t,
        async (page) => {
          await page.goto(order.checkoutUrl);
          const account = (await page.getByTestId('atm-account').textContent())!.trim();
          t.regex(account, /^\d{10,16}$/);
          t.true((await page.getByTestId('deadline').textContent())!.endsWith('台北時間'));
          t.true(await page.getByRole('button', { name: '複製' }).isVisible(), 'the copy button works where scripts run');
          const paid = await fetch(`${app.url}/sim/sinopac/_control/pay`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ orderNo: order.orderNo }),
          });
          t.is(paid.status, 200);
          t.is(await eventually(app, order.id, 'paid'), 'paid');
          await page.reload();
          t.is(await page.locator('[data-status]').getAttribute('data-status'), 'paid');
          t.true((await page.locator('h1').textContent())!.includes('付款成功'));
        },
        { locale: 'zh-TW' },
      );
    } finally {
      await app.close();
    }
  });

  journey('Alipay page pay: cashier, then the return page', async (t, h) => {
    const app = await buyerApp(h);
    try {
      const order = await create(app, paymentBody({ provider: 'alipay', method: 'page', currency: 'CNY', amount: 8888, items: [{ sku: 'MUG', name: '马克杯', unitAmount: 8888, quantity: 1 }] }));
      t.is(order.action!.type, 'redirect');
      await withPage(
        t,
        async (page) => {
          await page.goto(order.action!.url!);
          await page.getByRole('button', { name: /Pay/ }).click();
          await page.waitForSelector('[data-status]');
          t.is(await resultStatus(page, 'paid'), 'paid');
          t.true((await page.locator('h1').textContent())!.includes('支付成功'));
        },
        { locale: 'zh-CN' },
      );
      t.is(await eventually(app, order.id, 'paid'), 'paid');
    } finally {
      await app.close();
    }
  });

  journey('LINE Pay from the hosted checkout: approve on LINE Pay\'s page, back through the confirmUrl, paid on the result page', async (t, h) => {
    const app = await buyerApp(h);
    try {
      const body = paymentBody({ amount: 79800, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 39900, quantity: 2 }], choices: [{ provider: 'linepay', method: 'wallet' }, { provider: 'sinopac', method: 'card' }] });
      delete body.provider;
      delete body.method;
      const order = await create(app, body);
      await withPage(
        t,
        async (page) => {
          await page.goto(order.checkoutUrl);
          await page.getByRole('radio', { name: /電子錢包.*LINE Pay/ }).check();
          await page.getByRole('button', { name: '前往付款' }).click();
          await page.waitForSelector('#amount');
          t.is(await page.locator('#amount').textContent(), '798');
          // LINE Pay's page sends the browser to the confirmUrl; paygate confirms, then shows the result.
          await page.getByRole('button', { name: 'Pay with LINE Pay' }).click();
          await page.waitForSelector('[data-status]');
          t.is(await page.locator('[data-status]').getAttribute('data-status'), 'paid', 'paid as soon as the page shows: Confirm ran before the redirect');
          t.true(new URL(page.url()).pathname.endsWith('/callbacks/linepay/default/return'));
        },
        { locale: 'zh-TW' },
      );
      t.is(await statusOf(app, order.id), 'paid');
    } finally {
      await app.close();
    }
  });

  journey('hosted checkout: the buyer picks a provider and pays', async (t, h) => {
    const app = await buyerApp(h);
    try {
      const body = paymentBody({ choices: [{ provider: 'sinopac', method: 'card' }, { provider: 'sinopac', method: 'atm' }] });
      delete body.provider;
      delete body.method;
      const order = await create(app, body);
      t.is(order.status, 'created');
      await withPage(t, async (page) => {
        await page.goto(order.checkoutUrl);
        t.is(await page.getByTestId('total').textContent(), 'NT$799');
        await page.getByRole('radio', { name: /Credit card/ }).check();
        await page.getByRole('button', { name: 'Continue to payment' }).click();
        await page.getByLabel('CVV').fill('123');
        await page.getByRole('button', { name: 'Pay', exact: true }).click();
        await page.waitForSelector('[data-status]');
        t.is(await resultStatus(page, 'paid'), 'paid');
        // The signed link shows the same result on another visit, with no cookie involved.
        await page.context().clearCookies();
        await page.goto(order.checkoutUrl);
        t.is(await page.locator('[data-status]').getAttribute('data-status'), 'paid');
      });
      t.is(await eventually(app, order.id, 'paid'), 'paid');
      t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.method, 'card');
    } finally {
      await app.close();
    }
  });

  journey('ECPay card from the hosted checkout: auto-submitted form, ECPay pay page, result page', async (t, h) => {
    const app = await buyerApp(h);
    try {
      const body = paymentBody({ choices: [{ provider: 'sinopac', method: 'card' }, { provider: 'ecpay', method: 'card' }] });
      delete body.provider;
      delete body.method;
      const order = await create(app, body);
      await withPage(
        t,
        async (page) => {
          await page.goto(order.checkoutUrl);
          await page.getByRole('radio', { name: /ECPay/ }).check();
          await page.getByRole('button', { name: '前往付款' }).click();
          // Our page posts the signed AioCheckOut form by itself; the simulator's pay page opens.
          await page.getByTestId('ecpay-pay').click();
          // ECPay hands the browser back to OrderResultURL; the page only displays what the notify decided.
          await page.waitForSelector('[data-status]');
          t.is(await resultStatus(page, 'paid'), 'paid');
          t.is(await page.getByTestId('order-no').textContent(), order.orderNo);
        },
        { locale: 'zh-TW' },
      );
      t.is(await eventually(app, order.id, 'paid'), 'paid');
      const paid = (await app.api('GET', `/v1/payments/${order.id}`)).body;
      t.like(paid, { provider: 'ecpay', method: 'card', amount: 79900 });
    } finally {
      await app.close();
    }
  });
} else {
  test.skip('browser tests — skipped: no Chromium at /usr/bin/chromium (apt-get install -y chromium)', () => {});
}
