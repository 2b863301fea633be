/**
 * The buyer's link in a real browser, at 1280×800 and 390×844, in each language: a direct payment's
 * checkoutUrl carries the buyer on (redirect, auto-posted form, ATM instructions), a failed payment's
 * page gives the provider's reason and, where there is no pay again (ECPay), what to do instead, and
 * a link no one chose a way to pay on says it expired and how to get a new one.
 */
import test, { type ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { closeBrowser, requireBrowser, withPage } from '../helpers/browser.ts';
import { dbTest } from '../helpers/db.ts';

test.after.always(closeBrowser);

type Lang = 'zh-TW' | 'zh-CN' | 'en';
const LANGS: Lang[] = ['zh-TW', 'zh-CN', 'en'];
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];
const REASON: Record<Lang, string> = { 'zh-TW': '原因', 'zh-CN': '原因', en: 'Reason' };
const NO_RETRY: Record<Lang, string> = { 'zh-TW': '無法在此重試', 'zh-CN': '无法在此重试', en: 'cannot be tried again here' };
const EXPIRED: Record<Lang, string> = { 'zh-TW': '尚未選擇付款方式', 'zh-CN': '尚未选择付款方式', en: 'before a way to pay was chosen' };

type Created = { id: string; orderNo: string; status: string; checkoutUrl: string; action?: { type: string; url?: string; atm?: { account: string } } };

async function create(app: TestApp, body: Record<string, unknown>): Promise<Created> {
  const res = await app.api('POST', '/v1/payments', body);
  if (res.status !== 201) throw new Error(res.text);
  return res.body as Created;
}

const withLang = (url: string, lang: Lang) => `${url}${url.includes('?') ? '&' : '?'}lang=${lang}`;

async function assertFits(t: ExecutionContext, page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  t.true(scrollWidth <= innerWidth, `${what}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
}

if (requireBrowser()) {
  dbTest("a direct payment's link carries the buyer on: SinoPac card to the bank's page, ECPay card through the auto-posted form, SinoPac ATM to its instructions", async (t, h) => {
    t.timeout(240_000);
    const app = await startApp(h, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null } }), ecpayModule()] });
    try {
      for (const viewport of VIEWPORTS) {
        const card = await create(app, paymentBody({ provider: 'sinopac', method: 'card', amount: 1200, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 150g', unitAmount: 1200, quantity: 1 }], currency: 'TWD' }));
        const ecpay = await create(app, paymentBody({ provider: 'ecpay', method: 'card', amount: 1200, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 150g', unitAmount: 1200, quantity: 1 }], currency: 'TWD' }));
        const atm = await create(app, paymentBody({ provider: 'sinopac', method: 'atm', amount: 1200, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 150g', unitAmount: 1200, quantity: 1 }], currency: 'TWD' }));
        t.is(card.action?.type, 'redirect');
        t.is(ecpay.action?.type, 'form');
        t.is(atm.action?.type, 'instructions');
        await withPage(t, async (page) => {
          await page.setViewportSize(viewport);
          await page.goto(card.checkoutUrl);
          await page.waitForURL((u) => u.pathname.startsWith('/sim/sinopac/'));
          t.true(new URL(page.url()).pathname.startsWith('/sim/sinopac/'), `${viewport.width}: SinoPac card reached the bank's page (${page.url()})`);

          await page.goto(ecpay.checkoutUrl);
          await page.waitForURL((u) => u.pathname.startsWith('/sim/ecpay/'));
          t.true(new URL(page.url()).pathname.startsWith('/sim/ecpay/'), `${viewport.width}: ECPay card reached ECPay's page (${page.url()})`);

          for (const lang of LANGS) {
            await page.goto(withLang(atm.checkoutUrl, lang));
            t.is(await page.locator('html').getAttribute('lang'), lang);
            const text = (await page.locator('main').textContent()) ?? '';
            t.true(text.replace(/\s/g, '').includes(atm.action!.atm!.account.replace(/\s/g, '')), `${viewport.width} ${lang}: the virtual account is on the page`);
            await assertFits(t, page, `ATM instructions ${viewport.width} ${lang}`);
          }
        });
      }
    } finally {
      await app.close();
    }
  });

  dbTest("a declined ECPay card: the page gives the provider's reason and, with no pay again, what to do instead", async (t, h) => {
    t.timeout(240_000);
    const app = await startApp(h, { modules: [ecpayModule()] });
    try {
      const order = await create(app, paymentBody({ provider: 'ecpay', method: 'card', amount: 1200, items: [{ sku: 'TEA-1', name: '鳳梨酥禮盒', unitAmount: 1200, quantity: 1 }], currency: 'TWD' }));
      const declined = await fetch(`${app.url}/sim/ecpay/_control/decline`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderNo: order.orderNo }) });
      t.true(declined.ok, await declined.text());
      let status = '';
      for (let i = 0; i < 100 && status !== 'failed'; i++) {
        await app.background.drain();
        status = (await app.api('GET', `/v1/payments/${order.id}`)).body.status;
        if (status !== 'failed') await new Promise((r) => setTimeout(r, 100));
      }
      t.is(status, 'failed');
      const failure = (await app.api('GET', `/v1/payments/${order.id}`)).body.failure as { code: string; message: string };
      t.truthy(failure?.code, 'the API has the provider code');
      for (const viewport of VIEWPORTS) {
        await withPage(t, async (page) => {
          await page.setViewportSize(viewport);
          for (const lang of LANGS) {
            await page.goto(withLang(order.checkoutUrl, lang));
            const where = `${viewport.width} ${lang}`;
            t.is(await page.locator('[data-status]').getAttribute('data-status'), 'failed', where);
            const reason = (await page.getByTestId('failure-reason').textContent()) ?? '';
            t.true(reason.startsWith(REASON[lang]), `${where}: "${reason}"`);
            t.true(reason.length > REASON[lang].length + 2, `${where}: a reason follows the label`);
            t.true(((await page.getByTestId('no-retry').textContent()) ?? '').includes(NO_RETRY[lang]), `${where}: what to do without pay again`);
            await assertFits(t, page, `failed page ${where}`);
          }
        });
      }
    } finally {
      await app.close();
    }
  });

  dbTest('a hosted link past its deadline with no way to pay chosen says it expired and to go back to the shop', async (t, h) => {
    t.timeout(240_000);
    let now = new Date();
    const app = await startApp(h, { modules: [sinopacModule(), ecpayModule()], now: () => now });
    try {
      const body = paymentBody({ amount: 1200, items: [{ sku: 'TEA-1', name: '鳳梨酥禮盒', unitAmount: 1200, quantity: 1 }], currency: 'TWD', expiresInMinutes: 5 });
      delete body.provider;
      delete body.method;
      const order = await create(app, body);
      t.is(order.status, 'created');
      now = new Date(now.getTime() + 5 * 60_000 + 1_000);
      for (const viewport of VIEWPORTS) {
        await withPage(t, async (page) => {
          await page.setViewportSize(viewport);
          for (const lang of LANGS) {
            await page.goto(withLang(order.checkoutUrl, lang));
            const where = `${viewport.width} ${lang}`;
            t.is(await page.locator('[data-status]').getAttribute('data-status'), 'expired', where);
            t.true(((await page.locator('main').textContent()) ?? '').includes(EXPIRED[lang]), `${where}: says no way to pay was chosen`);
            t.is(await page.locator('form button[type=submit]').count(), 0, `${where}: nothing to choose any more`);
            await assertFits(t, page, `expired page ${where}`);
          }
        });
      }
      t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'expired');
    } finally {
      await app.close();
    }
  });
} else {
  test.skip('browser tests — skipped: no Chromium at /usr/bin/chromium (apt-get install -y chromium)', () => {});
}
