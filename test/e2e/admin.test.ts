/**
 * The operators' dashboard in a real browser (Debian Chromium through playwright-core): sign in,
 * find a paid FakePay order, read its timeline, refund part of it through the confirmation, and
 * see the refund in the timeline. No JavaScript on the pages: plain links and forms.
 */
import test from 'ava';
import { ADMIN, paymentBody, startApp } from '../helpers/app.ts';
import { closeBrowser, requireBrowser, withPage } from '../helpers/browser.ts';
import { dbTest } from '../helpers/db.ts';

test.after.always(closeBrowser);

if (requireBrowser()) {
  dbTest('an operator signs in, finds a paid order, refunds part of it and sees the refund in its timeline', async (t, h) => {
    const app = await startApp(h);
    try {
      const created = await app.api('POST', '/v1/payments', paymentBody({ amount: 10000, items: [{ sku: 'MUG', name: 'Mug', unitAmount: 5000, quantity: 2 }] }));
      t.is(created.status, 201, created.text);
      const order = created.body as { id: string; orderNo: string };
      await app.control('pay', order.orderNo);

      await withPage(t, async (page) => {
        const problems: string[] = [];
        page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
        page.on('pageerror', (e) => problems.push(e.message));

        // Signed out, the dashboard sends the browser to its login page.
        await page.goto(`${app.url}/admin/orders`);
        t.regex(page.url(), /\/admin\/login\?next=%2Fadmin%2Forders$/);
        await page.getByLabel('Username').fill(ADMIN.username);
        await page.getByLabel('Password').fill('wrong password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        t.is(await page.getByTestId('flash').textContent(), 'Wrong username or password.');
        await page.getByLabel('Password').fill(ADMIN.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(/\/admin\/orders$/);
        await page.keyboard.press('Tab');
        t.is(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content', 'the first Tab reaches the skip link');

        // The stylesheet is allowed by the Content-Security-Policy (it is our own file, not inline).
        t.is(await page.locator('header.top').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(22, 32, 50)');

        // Find the order: paid, this merchant.
        await page.getByLabel('Status').selectOption('paid');
        await page.getByLabel('Merchant').selectOption(app.merchant.id);
        await page.getByRole('button', { name: 'Apply filters' }).click();
        await page.waitForURL(/status=paid/);
        const rows = page.locator('tbody tr[data-order-no]');
        t.is(await rows.count(), 1);
        t.regex((await rows.first().textContent())!, /TWD 100\.00/);
        await page.getByRole('link', { name: order.orderNo }).click();

        // Its timeline.
        await page.waitForURL(new RegExp(`/admin/orders/${order.id}$`));
        t.is(await page.getByTestId('order-no').textContent(), order.orderNo);
        t.regex((await page.getByTestId('transitions').textContent())!, /pending\s*paid\s*provider reported paid/);
        t.regex((await page.getByTestId('callbacks').textContent())!, /notify[\s\S]*verified[\s\S]*applied/);
        t.regex((await page.getByTestId('events').textContent())!, /payment\.paid/);
        t.regex((await page.getByTestId('refunds').textContent())!, /No refunds/);

        // Refund part of it: the form, the review, the confirmation.
        await page.getByRole('link', { name: 'Refund…' }).click();
        await page.getByLabel('Amount (TWD)').fill('25.50');
        await page.getByLabel(/^Reason/).fill('box arrived damaged');
        await page.getByRole('button', { name: 'Review refund' }).click();
        t.is(await page.getByTestId('review-amount').textContent(), 'TWD 25.50');
        await page.getByRole('button', { name: 'Refund TWD 25.50' }).click();

        // Back on the timeline with the result.
        await page.waitForURL(new RegExp(`/admin/orders/${order.id}$`));
        t.regex((await page.getByTestId('flash').textContent())!, /^Refunded TWD 25\.50 \(refund R/);
        const refunds = (await page.getByTestId('refunds').textContent())!;
        t.regex(refunds, /TWD 25\.50/);
        t.regex(refunds, /succeeded/);
        t.regex(refunds, /box arrived damaged/);
        t.is(await page.getByTestId('refunded').textContent(), 'TWD 25.50');
        t.regex((await page.getByTestId('transitions').textContent())!, /paid\s*partially refunded\s*refund R\d{12}[0-9A-Z]{8} of 2550/);
        t.deepEqual(problems.filter((m) => /Content Security Policy|Refused to/i.test(m)), [], 'nothing was blocked by the Content-Security-Policy');
      });

      const refund = await h.db('refunds').where({ order_id: order.id }).first();
      t.is(Number(refund.amount_minor), 2550);
      t.is(app.sim.byOrderNo(order.orderNo)!.refunded, 2550);
    } finally {
      await app.close();
    }
  });
}
