/**
 * The buyer's pages in a real browser at a desktop (1280×800) and a phone (390×844) width, in each
 * language: money and dates through the one formatter, provider names, the shop's name, logo and
 * support, the language kept through each provider's round trip (SinoPac, Alipay, ECPay, on their
 * simulators over HTTP), and a second tab's choice. Nothing may overflow sideways at 390 px.
 */
import test, { type ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { updateMerchantDisplay } from '../../core/merchants.ts';
import { alipayModule } from '../../providers/alipay/index.ts';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { closeBrowser, requireBrowser, withPage } from '../helpers/browser.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';
import { eventually, resultStatus, statusOf } from '../helpers/buyer.ts';

test.after.always(closeBrowser);

type Lang = 'zh-TW' | 'zh-CN' | 'en';
const LANGS: Lang[] = ['zh-TW', 'zh-CN', 'en'];
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

const SHOP = {
  displayName: 'Tea & Cakes 茶與蛋糕',
  logoUrl: 'https://cdn.shop.example/logo.svg',
  supportEmail: 'help@shop.example',
  supportUrl: 'https://shop.example/help',
};

const PROVIDERS: Record<Lang, { sinopac: string; ecpay: string; alipay: string }> = {
  'zh-TW': { sinopac: '永豐銀行 豐收款', ecpay: '綠界科技 ECPay', alipay: '支付寶' },
  'zh-CN': { sinopac: '永丰银行 丰收款', ecpay: '绿界科技 ECPay', alipay: '支付宝' },
  en: { sinopac: 'Bank SinoPac (SinoPac Pay)', ecpay: 'ECPay', alipay: 'Alipay' },
};

const PAID: Record<Lang, string> = { 'zh-TW': '付款成功', 'zh-CN': '支付成功', en: 'Payment received' };
const ATM: Record<Lang, string> = { 'zh-TW': 'ATM 轉帳（虛擬帳號）', 'zh-CN': 'ATM 转账（虚拟账号）', en: 'ATM transfer (virtual account)' };
const CHOSEN: Record<Lang, string> = {
  'zh-TW': '這筆訂單已選擇付款方式。',
  'zh-CN': '这笔订单已选择支付方式。',
  en: 'A way to pay was already chosen for this order.',
};
const PAY_BUTTON: Record<Lang, string> = { 'zh-TW': '前往付款', 'zh-CN': '去支付', en: 'Continue to payment' };
const CARD: Record<Lang, string> = { 'zh-TW': '信用卡', 'zh-CN': '信用卡', en: 'Credit card' };

/**
 * The expected text of an instant in Taipei, worked out by hand (UTC+8, no daylight saving) rather
 * than through Intl, so the test does not repeat the code it checks.
 */
function taipeiText(at: Date, lang: Lang): string {
  const local = new Date(at.getTime() + 8 * 3600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const [y, m, d, hh, mm] = [local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate(), pad(local.getUTCHours()), pad(local.getUTCMinutes())];
  if (lang === 'en') {
    const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m - 1];
    return `${month} ${d}, ${y}, ${hh}:${mm} Taipei time`;
  }
  return `${y}/${pad(m)}/${pad(d)} ${hh}:${mm} ${lang === 'zh-TW' ? '台北時間' : '台北时间'}`;
}

async function buyerApp(h: TestDbHandle): Promise<TestApp> {
  // ATM accounts are paid by the test (no automatic payment), so the instructions stay on screen.
  return startApp(h, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null } }), alipayModule(), ecpayModule()] });
}

async function create(app: TestApp, body: Record<string, unknown>) {
  const res = await app.api('POST', '/v1/payments', body);
  if (res.status !== 201) throw new Error(res.text);
  return res.body as { id: string; orderNo: string; status: string; checkoutUrl: string; action?: { type: string; url?: string; atm?: { deadline: string; account: string } } };
}

function hostedBody(overrides: Record<string, unknown>): Record<string, unknown> {
  const body = paymentBody(overrides);
  delete body.provider;
  delete body.method;
  return body;
}

const withLang = (url: string, lang: Lang) => `${url}&lang=${lang}`;

/** Nothing wider than the window: no sideways scrolling on a phone. */
async function assertNoOverflow(t: ExecutionContext, page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  t.true(scrollWidth <= innerWidth, `${what}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
}

/** A logo far larger than the page allows (600×300), served for the shop's https logo URL. */
async function serveLogo(page: Page, how: 'ok' | 'broken'): Promise<void> {
  await page.route('https://cdn.shop.example/**', (route) =>
    how === 'broken'
      ? route.abort('connectionrefused')
      : route.fulfill({
          status: 200,
          contentType: 'image/svg+xml',
          body: '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><rect width="600" height="300" fill="#c33"/></svg>',
        }),
  );
}

/** The shop's header and support block as the merchant set them. */
async function assertShop(t: ExecutionContext, page: Page, lang: Lang, where: string, logo: 'ok' | 'broken' = 'ok'): Promise<void> {
  t.is(await page.getByTestId('shop-name').textContent(), SHOP.displayName, `${where}: shop name`);
  const img = page.getByTestId('shop-logo');
  const alt = { 'zh-TW': `${SHOP.displayName} 的標誌`, 'zh-CN': `${SHOP.displayName} 的标志`, en: `${SHOP.displayName} logo` }[lang];
  t.is(await img.getAttribute('alt'), alt, `${where}: logo alt text`);
  const box = (await img.boundingBox())!;
  t.true(box.width <= 48 && box.height <= 48, `${where}: logo within 48×48 (${box.width}×${box.height})`);
  const loaded = await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0);
  t.is(loaded, logo === 'ok', `${where}: logo ${logo === 'ok' ? 'loaded' : 'failed'} as served`);
  const header = (await page.locator('header.shop').boundingBox())!;
  t.true(header.height <= 60, `${where}: the header keeps its height (${header.height})`);
  t.is(await page.getByTestId('support-email').getAttribute('href'), `mailto:${SHOP.supportEmail}`, `${where}: support email`);
  t.is(await page.getByTestId('support-url').getAttribute('href'), SHOP.supportUrl, `${where}: support page`);
}

if (requireBrowser()) {
  dbTest('hosted checkout: money, provider names and the shop in each language, at 1280 and 390 px', async (t, h) => {
    const app = await buyerApp(h);
    try {
      await updateMerchantDisplay(h.db, app.merchant.id, SHOP);
      const order = await create(
        app,
        hostedBody({
          amount: 79950,
          items: [
            { sku: 'TEA-1', name: 'Organic high-mountain oolong, gift box of three 150 g tins, SKU_TEA_OOLONG_HIGHMOUNTAIN_GIFTBOX_WITH_CUP_2026', unitAmount: 39900, quantity: 2 },
            { sku: 'BAG', name: '提袋', unitAmount: 150, quantity: 1 },
          ],
          choices: [
            { provider: 'sinopac', method: 'card' },
            { provider: 'sinopac', method: 'atm' },
            { provider: 'ecpay', method: 'card' },
          ],
        }),
      );
      await withPage(t, async (page) => {
        await serveLogo(page, 'ok');
        for (const viewport of VIEWPORTS) {
          await page.setViewportSize(viewport);
          for (const lang of LANGS) {
            const where = `${lang} at ${viewport.width}px`;
            await page.goto(withLang(order.checkoutUrl, lang));
            t.is(await page.locator('html').getAttribute('lang'), lang);
            t.is(await page.getByTestId('total').textContent(), 'NT$799.50', `${where}: total with its cents`);
            t.true((await page.locator('table.items tbody').textContent())!.includes('NT$798'), `${where}: a whole line in dollars`);
            const radios = await page.locator('label.choice').allTextContents();
            t.true(radios.some((r) => r.includes(PROVIDERS[lang].sinopac)), `${where}: ${radios.join(' | ')}`);
            t.true(radios.some((r) => r.includes(PROVIDERS[lang].ecpay)), `${where}: ${radios.join(' | ')}`);
            await assertShop(t, page, lang, where);
            await assertNoOverflow(t, page, where);
          }
        }
      });
    } finally {
      await app.close();
    }
  });

  dbTest('ATM instructions and the result page: amount, deadline and time in the configured zone, per language and width', async (t, h) => {
    const app = await buyerApp(h);
    try {
      await updateMerchantDisplay(h.db, app.merchant.id, SHOP);
      const order = await create(app, paymentBody({ provider: 'sinopac', method: 'atm' }));
      const deadline = new Date(order.action!.atm!.deadline);
      await withPage(t, async (page) => {
        await serveLogo(page, 'ok');
        for (const viewport of VIEWPORTS) {
          await page.setViewportSize(viewport);
          for (const lang of LANGS) {
            const where = `${lang} at ${viewport.width}px`;
            await page.goto(withLang(order.checkoutUrl, lang));
            t.is(await page.getByTestId('atm-amount').textContent(), 'NT$799', where);
            t.is(await page.getByTestId('deadline').textContent(), taipeiText(deadline, lang), where);
            t.is(await page.getByTestId('atm-account').textContent(), order.action!.atm!.account);
            await assertShop(t, page, lang, where);
            await assertNoOverflow(t, page, where);
          }
        }
        const paid = await fetch(`${app.url}/sim/sinopac/_control/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderNo: order.orderNo }) });
        t.is(paid.status, 200);
        t.is(await eventually(app, order.id, 'paid'), 'paid');
        const paidAt = new Date((await app.api('GET', `/v1/payments/${order.id}`)).body.paidAt);
        for (const viewport of VIEWPORTS) {
          await page.setViewportSize(viewport);
          for (const lang of LANGS) {
            const where = `result, ${lang} at ${viewport.width}px`;
            await page.goto(withLang(order.checkoutUrl, lang));
            t.is(await page.locator('[data-status]').getAttribute('data-status'), 'paid');
            t.true((await page.locator('h1').textContent())!.includes(PAID[lang]), where);
            t.is(await page.getByTestId('amount').textContent(), 'NT$799', where);
            t.is(await page.getByTestId('time').textContent(), taipeiText(paidAt, lang), where);
            await assertShop(t, page, lang, where);
            await assertNoOverflow(t, page, where);
          }
        }
      });
    } finally {
      await app.close();
    }
  });

  dbTest('a logo that fails to load leaves its alt text in a fixed box and the page unbroken', async (t, h) => {
    const app = await buyerApp(h);
    try {
      await updateMerchantDisplay(h.db, app.merchant.id, SHOP);
      const order = await create(app, hostedBody({ choices: [{ provider: 'sinopac', method: 'card' }] }));
      await withPage(t, async (page) => {
        await serveLogo(page, 'broken');
        for (const viewport of VIEWPORTS) {
          await page.setViewportSize(viewport);
          for (const lang of LANGS) {
            await page.goto(withLang(order.checkoutUrl, lang));
            await assertShop(t, page, lang, `broken logo, ${lang} at ${viewport.width}px`, 'broken');
            await assertNoOverflow(t, page, `broken logo, ${lang} at ${viewport.width}px`);
          }
        }
      });
    } finally {
      await app.close();
    }
  });

  dbTest("the buyer's language survives each provider's round trip (SinoPac, Alipay, ECPay simulators)", async (t, h) => {
    const app = await buyerApp(h);
    try {
      await updateMerchantDisplay(h.db, app.merchant.id, SHOP);
      // Each journey: the link's language differs from the browser's, so only the link can have carried it.
      const journeys: { lang: Lang; browser: string; viewport: (typeof VIEWPORTS)[number]; body: Record<string, unknown>; radio: RegExp; pay: (page: Page) => Promise<void> }[] = [
        {
          lang: 'en',
          browser: 'zh-TW',
          viewport: VIEWPORTS[1]!,
          body: hostedBody({ choices: [{ provider: 'sinopac', method: 'card' }, { provider: 'sinopac', method: 'atm' }] }),
          radio: new RegExp(`${CARD.en}.*SinoPac`),
          pay: async (page) => {
            await page.getByLabel('CVV').fill('123');
            await page.getByRole('button', { name: 'Pay', exact: true }).click();
          },
        },
        {
          lang: 'zh-TW',
          browser: 'en-US',
          viewport: VIEWPORTS[0]!,
          body: hostedBody({ currency: 'CNY', amount: 8888, items: [{ sku: 'MUG', name: '马克杯', unitAmount: 8888, quantity: 1 }], choices: [{ provider: 'alipay', method: 'page' }] }),
          radio: new RegExp(PROVIDERS['zh-TW'].alipay),
          pay: async (page) => {
            await page.getByRole('button', { name: /Pay/ }).click();
          },
        },
        {
          lang: 'zh-CN',
          browser: 'en-US',
          viewport: VIEWPORTS[1]!,
          body: hostedBody({ choices: [{ provider: 'sinopac', method: 'card' }, { provider: 'ecpay', method: 'card' }] }),
          radio: new RegExp(PROVIDERS['zh-CN'].ecpay),
          pay: async (page) => {
            await page.getByTestId('ecpay-pay').click();
          },
        },
      ];
      for (const journey of journeys) {
        const order = await create(app, journey.body);
        await withPage(
          t,
          async (page) => {
            await serveLogo(page, 'ok');
            await page.setViewportSize(journey.viewport);
            await page.goto(withLang(order.checkoutUrl, journey.lang));
            await page.getByRole('radio', { name: journey.radio }).check();
            await page.getByRole('button', { name: PAY_BUTTON[journey.lang] }).click();
            await journey.pay(page);
            await page.waitForSelector('[data-status]');
            const where = `${journey.lang} after the provider's return`;
            t.true(new URL(page.url()).pathname.startsWith('/callbacks/'), `${where}: on the provider's return (${page.url()})`);
            t.is(new URL(page.url()).searchParams.get('lang'), journey.lang, where);
            t.is(await resultStatus(page, 'paid'), 'paid', where);
            t.is(await page.locator('html').getAttribute('lang'), journey.lang, where);
            t.true((await page.locator('h1').textContent())!.includes(PAID[journey.lang]), where);
            t.is(await page.getByTestId('order-no').textContent(), order.orderNo);
            await assertShop(t, page, journey.lang, where);
            await assertNoOverflow(t, page, where);
          },
          { locale: journey.browser },
        );
        t.is(await eventually(app, order.id, 'paid'), 'paid');
      }
    } finally {
      await app.close();
    }
  });

  dbTest('a second tab that chooses after the first is told which way was chosen, in its language, and led on to it', async (t, h) => {
    const app = await buyerApp(h);
    try {
      await updateMerchantDisplay(h.db, app.merchant.id, SHOP);
      for (const [i, lang] of LANGS.entries()) {
        const viewport = VIEWPORTS[i % 2]!;
        const order = await create(app, hostedBody({ choices: [{ provider: 'sinopac', method: 'card' }, { provider: 'sinopac', method: 'atm' }] }));
        await withPage(t, async (first) => {
          await serveLogo(first, 'ok');
          await first.setViewportSize(viewport);
          const second = await first.context().newPage();
          await serveLogo(second, 'ok');
          await second.setViewportSize(viewport);
          const link = withLang(order.checkoutUrl, lang);
          await first.goto(link);
          await second.goto(link);
          // The first tab takes ATM and gets its account.
          await first.getByRole('radio', { name: new RegExp(ATM[lang].replace(/[()（）]/g, '.')) }).check();
          await first.getByRole('button', { name: PAY_BUTTON[lang] }).click();
          const account = (await first.getByTestId('atm-account').textContent())!;
          // The second, still showing the choice, picks card.
          await second.getByRole('radio', { name: new RegExp(CARD[lang]) }).check();
          await second.getByRole('button', { name: PAY_BUTTON[lang] }).click();
          const where = `second tab, ${lang} at ${viewport.width}px`;
          t.is(await second.locator('h1').textContent(), CHOSEN[lang], where);
          const detail = (await second.getByTestId('chosen-already').textContent())!;
          t.true(detail.includes(ATM[lang]), `${where}: ${detail}`);
          t.true(detail.includes(PROVIDERS[lang].sinopac), `${where}: ${detail}`);
          t.false(detail.includes(CARD[lang] + '（') || detail.includes(`${CARD[lang]} with`), `${where}: names the first choice, not its own`);
          await assertShop(t, second, lang, where);
          await assertNoOverflow(t, second, where);
          await second.getByTestId('go-to-payment').click();
          t.is(await second.getByTestId('atm-account').textContent(), account, `${where}: on to the first tab's ATM payment`);
          t.is(await second.locator('html').getAttribute('lang'), lang);
        });
        const got = (await app.api('GET', `/v1/payments/${order.id}`)).body;
        t.like(got, { provider: 'sinopac', method: 'atm', status: 'pending' });
      }
    } finally {
      await app.close();
    }
  });
} else {
  test.skip('browser tests — skipped: no Chromium at /usr/bin/chromium (apt-get install -y chromium)', () => {});
}
