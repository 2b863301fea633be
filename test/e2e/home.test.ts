/**
 * The home page in a real browser (Debian Chromium through playwright-core): it fits a phone and a
 * desktop without sideways scrolling, and its demo form reaches the hosted checkout.
 */
import test from 'ava';
import { startApp } from '../helpers/app.ts';
import { closeBrowser, requireBrowser, withPage } from '../helpers/browser.ts';
import { dbTest } from '../helpers/db.ts';

test.after.always(closeBrowser);

if (requireBrowser()) {
  for (const width of [390, 1280]) {
    dbTest(`home page at ${width} px: fits, and its form reaches the hosted checkout`, async (t, h) => {
      const app = await startApp(h);
      try {
        await withPage(t, async (page) => {
          await page.setViewportSize({ width, height: 844 });
          for (const lang of ['zh-TW', 'zh-CN', 'en']) {
            await page.goto(`${app.url}/?lang=${lang}`);
            const fit = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
            t.true(fit.scroll <= fit.inner, `${lang}: scrollWidth ${fit.scroll} > innerWidth ${fit.inner}`);
          }
          t.is(await page.locator('a[href="/docs"]').count(), 1);
          t.is(await page.locator('a[href="/admin"]').count(), 1);

          await page.fill('#amount', '1280');
          await page.fill('#subject', '手作陶瓷馬克杯');
          await Promise.all([page.waitForURL(/\/checkout\/pay_/), page.click('form.demo button[type=submit]')]);
          t.regex(page.url(), new RegExp(`^${app.url.replace(/[.]/g, '\\.')}/checkout/pay_[A-Za-z0-9]+\\?e=\\d+&s=`));
          t.true(await page.locator('input[value="fakepay/default/card"]').isVisible(), 'the hosted checkout offers the way to pay');
          t.regex(await page.locator('main').innerText(), /1,280/, 'the amount the form gave');
          const fit = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
          t.true(fit.scroll <= fit.inner, `checkout: scrollWidth ${fit.scroll} > innerWidth ${fit.inner}`);
        }, { locale: 'en-US' });
      } finally {
        await app.close();
      }
    });
  }
} else {
  test.skip('home page in a browser (no Chromium on this machine)', () => {});
}
