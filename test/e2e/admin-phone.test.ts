/**
 * Every dashboard page on a phone (390×844) and on a laptop (1280×800) in Chromium: the page never
 * scrolls sideways (wide tables scroll inside their own box), "Log out" is visible inside the
 * viewport, and the page names the zone its times are in.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { ADMIN, paymentBody, startApp } from '../helpers/app.ts';
import { closeBrowser, requireBrowser, withPage } from '../helpers/browser.ts';
import { dbTest } from '../helpers/db.ts';

test.after.always(closeBrowser);

const VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
] as const;

interface Fit {
  scrollWidth: number;
  innerWidth: number;
  logout: { visible: boolean; left: number; right: number; top: number; bottom: number } | null;
  /** Tables shown as cards on a phone that still need sideways scrolling in their box. */
  cardsScrolling: number;
}

async function measure(page: Page): Promise<Fit> {
  return page.evaluate(() => {
    const button = [...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Log out');
    const box = button?.getBoundingClientRect();
    const style = button ? getComputedStyle(button) : null;
    return {
      scrollWidth: document.documentElement.scrollWidth,
      cardsScrolling: [...document.querySelectorAll('table.cards')].filter((table) => {
        const box = table.closest('.table-wrap');
        return box !== null && box.scrollWidth > box.clientWidth;
      }).length,
      innerWidth: window.innerWidth,
      logout:
        button && box && style
          ? { visible: style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0, left: box.left, right: box.right, top: box.top, bottom: box.bottom }
          : null,
    };
  });
}

if (requireBrowser()) {
  dbTest('every dashboard page fits a 390 px phone and a 1280 px screen, with Log out in view', async (t, h) => {
    const app = await startApp(h);
    try {
      const created = await app.api('POST', '/v1/payments', paymentBody({ amount: 10000, items: [{ sku: 'MUG', name: 'A mug with a rather long product name that wraps', unitAmount: 5000, quantity: 2 }] }));
      t.is(created.status, 201, created.text);
      const paid = created.body as { id: string; orderNo: string };
      await app.control('pay', paid.orderNo);
      const waiting = (await app.api('POST', '/v1/payments', paymentBody())).body as { id: string };

      for (const viewport of VIEWPORTS) {
        await withPage(t, async (page) => {
          await page.setViewportSize(viewport);
          const label = (what: string) => `${what} at ${viewport.width} px`;
          const check = async (what: string, signedIn = true) => {
            const fit = await measure(page);
            t.true(fit.scrollWidth <= fit.innerWidth, label(`${what}: page is ${fit.scrollWidth} px wide in a ${fit.innerWidth} px window`));
            if (viewport.width < 640) t.is(fit.cardsScrolling, 0, label(`${what}: tables shown as cards fit their box`));
            if (!signedIn) return;
            t.truthy(fit.logout, label(`${what}: has a Log out button`));
            if (!fit.logout) return;
            t.true(fit.logout.visible, label(`${what}: Log out is visible`));
            t.true(fit.logout.left >= 0 && fit.logout.right <= fit.innerWidth && fit.logout.top >= 0 && fit.logout.bottom <= viewport.height, label(`${what}: Log out is inside the viewport (${JSON.stringify(fit.logout)})`));
          };
          const visit = async (path: string, what: string, status = 200) => {
            const response = await page.goto(`${app.url}${path}`);
            t.is(response?.status(), status, label(`${what} (${path})`));
            await check(what);
          };

          await page.goto(`${app.url}/admin/login`);
          await check('sign-in page', false);
          await page.getByLabel('Username').fill(ADMIN.username);
          await page.getByLabel('Password').fill('wrong password');
          await page.getByRole('button', { name: 'Sign in' }).click();
          await check('sign-in page with an error', false);
          await page.getByLabel('Password').fill(ADMIN.password);
          await page.getByRole('button', { name: 'Sign in' }).click();
          await page.waitForURL(/\/admin$/);
          await check('overview');
          t.regex((await page.getByTestId('time-zone').textContent())!, /Times in Asia\/Taipei \(UTC\+8 now\)/);

          await visit('/admin?days=30', 'overview, 30 days');
          await visit('/admin/orders', 'orders list');
          await visit(`/admin/orders?merchant=${app.merchant.id}&status=paid&from=2026-01-01&to=2030-12-31`, 'orders list, filtered');
          await visit('/admin/orders?status=bogus&from=2026-02-30', 'orders list with bad filters', 400);
          await visit(`/admin/orders/${paid.id}`, 'a paid order and its timeline');
          const replay = await page.getByRole('link', { name: 'Replay…' }).first().getAttribute('href');
          await visit(`/admin/orders/${waiting.id}`, 'a waiting order');
          await visit(`/admin/orders/${paid.id}/reconcile`, 'reconcile confirmation');
          await visit(`/admin/orders/${waiting.id}/cancel`, 'cancel confirmation');
          await visit(replay!, 'replay confirmation');
          await visit(`/admin/orders/${paid.id}/refund`, 'refund page');
          await page.getByLabel('Amount (TWD)').fill('999999');
          await page.getByRole('button', { name: 'Review refund' }).click();
          await check('refund page with an error');
          await page.getByLabel('Amount (TWD)').fill('1.00');
          await page.getByRole('button', { name: 'Review refund' }).click();
          await page.getByTestId('review-amount').waitFor();
          await check('refund review');
          await visit('/admin/orders/pay_doesnotexist', 'order not found', 404);
          await visit('/admin/no/such/page', 'page not found', 404);
        });
      }
    } finally {
      await app.close();
    }
  });
}
