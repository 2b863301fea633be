/**
 * Hostile text in every field a merchant, a buyer or a provider controls, on every page, in a real
 * Chromium: the DOM holds no element or attribute the templates did not write (no on* attribute, no
 * foreign script, img, svg or iframe, no javascript: link), no injected script ran (window.__xss),
 * and the hostile text is shown as text where the page shows that field.
 *
 * Pages are fetched over HTTP from the real app (store → page) where the app can reach them: the
 * hosted checkout, the second-tab page, result pages (paid, failed, cancelled, waiting), the home
 * page, the dashboard's login, overview, orders, order and refund-confirm pages, and the docs page.
 * Result states and simulator pages the app cannot reach in a test are rendered directly. Each page
 * is loaded with setContent (no Content-Security-Policy), so an injected script would run.
 */
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { Page } from 'playwright-core';
import { html, unsafeRaw, type SafeHtml } from '../../core/html.ts';
import { findMerchantDisplay, updateMerchantDisplay } from '../../core/merchants.ts';
import { findOrder, loadItems } from '../../core/orders.ts';
import { signedIn } from '../helpers/admin-browser.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { closeBrowser, launchBrowser, requireBrowser } from '../helpers/browser.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';
import { renderChosenAlreadyPage, renderFormPostPage, renderInstructionsPage } from '../../server/views/checkout-page.ts';
import { renderHomePage } from '../../server/views/home-page.ts';
import { renderResultPage } from '../../server/views/result-page.ts';
import { renderErrorPage } from '../../server/admin/views/login.ts';
import * as alipayPages from '../../providers/alipay/simulator/pages.ts';
import * as ecpayPages from '../../providers/ecpay/simulator/pages.ts';
import * as sinopacPages from '../../providers/sinopac/simulator/pages.ts';

test.after.always(closeBrowser);

const PAYLOADS = [
  '<script>window.__xss=1</script>',
  '"><img src=x onerror=window.__xss=1>',
  "'",
  "'><svg onload=window.__xss=1>",
  'javascript:window.__xss=1',
  '</title><svg onload=window.__xss=1>',
  '</textarea><script>window.__xss=1</script>',
  '<!--',
  '&lt;b&gt;&amp;',
];

/** A hostile string: payloads run together, with some arbitrary text among them. */
const hostile = fc
  .tuple(fc.constantFrom(...PAYLOADS), fc.string({ maxLength: 6 }), fc.constantFrom(...PAYLOADS))
  .map(([a, b, c]) => `${a}${b}${c}`.replace(/[\u0000-\u001f\u007f]/g, '').trim() || PAYLOADS[0]!);

/** Scripts the templates write themselves (buyer pages under a nonce, simulator hand-offs). */
const KNOWN_SCRIPTS = [/^document\.getElementById\('[\w-]+'\)\.submit\(\);$/, /^\(function\(\)\{var b=document\.getElementById\('copy'\);/];

interface Findings {
  problems: string[];
  text: string;
  title: string;
}

/** Loads `markup` with no network and lists anything a template would not have written. */
async function inspect(page: Page, markup: string | SafeHtml): Promise<Findings> {
  await page.evaluate('delete window.__xss;'); // setContent keeps the window: start each page clean
  await page.setContent(String(markup), { waitUntil: 'load' });
  // Give an injected onerror / onload a moment to fire.
  await page.waitForTimeout(20);
  return page.evaluate((known) => {
    const problems: string[] = [];
    if ((window as unknown as { __xss?: unknown }).__xss !== undefined) problems.push('window.__xss was set: an injected script ran');
    for (const el of Array.from(document.querySelectorAll('*'))) {
      for (const attr of Array.from(el.attributes)) {
        if (/^on/i.test(attr.name)) problems.push(`<${el.localName} ${attr.name}>`);
        if (/^\s*javascript:/i.test(attr.value) && /^(href|src|action|formaction|xlink:href)$/i.test(attr.name)) problems.push(`<${el.localName} ${attr.name}="${attr.value}">`);
      }
    }
    for (const s of Array.from(document.querySelectorAll('script'))) {
      const code = (s.textContent ?? '').trim();
      if (!known.some((k) => new RegExp(k).test(code))) problems.push(`foreign <script>: ${code.slice(0, 80)}`);
    }
    for (const el of Array.from(document.querySelectorAll('img'))) if (el.getAttribute('data-testid') !== 'shop-logo') problems.push(`foreign <img src="${el.getAttribute('src')}">`);
    for (const el of Array.from(document.querySelectorAll('svg'))) if (!/^chart-/.test(el.getAttribute('data-testid') ?? '')) problems.push('foreign <svg>');
    for (const el of Array.from(document.querySelectorAll('iframe, object, embed, base, meta[http-equiv]'))) problems.push(`foreign <${el.localName}>`);
    return { problems, text: document.body?.textContent ?? '', title: document.title };
  }, KNOWN_SCRIPTS.map((k) => k.source));
}

async function check(t: ExecutionContext, page: Page, where: string, markup: string | SafeHtml, shown: readonly string[] = []): Promise<void> {
  const found = await inspect(page, markup);
  t.deepEqual(found.problems, [], where);
  for (const text of shown) t.true(found.text.includes(text) || found.title.includes(text), `${where}: shows ${JSON.stringify(text)} as text`);
}

async function newPage(): Promise<{ page: Page; done: () => Promise<void> }> {
  const browser = await launchBrowser();
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  // Nothing leaves the browser: an injected <img src> or <script src> gets nothing, and a form a
  // page submits by itself (a hand-off to a provider) gets 204, so the page stays to be inspected.
  await page.route('**/*', (route) => route.fulfill({ status: 204, body: '' }));
  // A page that submits its form by script (a hand-off) would navigate away before it is inspected;
  // its script still runs, the submission does nothing. (setContent keeps this window.)
  await page.evaluate('HTMLFormElement.prototype.submit = () => undefined;');
  return { page, done: () => context.close() };
}

/** A URL the server or a simulator builds itself (a path of its own), with hostile text inside. */
const own = (text: string) => `/pay/${encodeURIComponent(text)}?s=${encodeURIComponent(text)}`;

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** Every field the merchant API and merchant:update take, filled from `v` (as far as each field's validation allows). */
function fields(v: string[]) {
  const at = (i: number) => v[i % v.length]!;
  const printable = at(5).replace(/[^\x21-\x7e]/g, '').slice(0, 56) || '"><svg/onload=window.__xss=1>';
  return {
    display: { displayName: at(0).slice(0, 100), logoUrl: `https://cdn.example/${encodeURI(at(1)).slice(0, 300)}`, supportEmail: 'help@shop.example', supportUrl: `https://shop.example/?q=${at(2)}`.slice(0, 500) },
    payment: {
      merchantOrderId: `M${Math.random().toString(36).slice(2, 6)}${printable}`,
      subject: at(3).slice(0, 128),
      items: [
        { sku: at(4).slice(0, 64), name: at(4).slice(0, 256), unitAmount: 30000, quantity: 2 },
        { sku: 'S2', name: at(6).slice(0, 256), unitAmount: 19900, quantity: 1 },
      ],
      metadata: { note: at(7).slice(0, 500), [at(8).slice(0, 40) || 'k']: at(0).slice(0, 500) },
      returnUrl: `https://shop.example/orders/${at(1)}`.slice(0, 2000),
    },
    reason: at(2).slice(0, 400),
    text: v,
  };
}

async function create(app: TestApp, body: Record<string, unknown>) {
  const res = await app.api('POST', '/v1/payments', body);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${res.text}`);
  return res.body as { id: string; orderNo: string; checkoutUrl: string };
}

/** One round through the app: hostile values in, every page it serves checked. */
async function roundThroughApp(t: ExecutionContext, h: TestDbHandle, app: TestApp, page: Page, v: string[]): Promise<void> {
  const f = fields(v);
  await updateMerchantDisplay(h.db, app.merchant.id, f.display);
  const displayName = f.display.displayName.trim();
  const subject = f.payment.subject.trim();
  const itemName = f.payment.items[0]!.name.trim();

  // The hosted checkout, then a second tab's choice (409).
  const { provider: _p, method: _m, ...hosted } = paymentBody(f.payment);
  const order = await create(app, hosted);
  const checkout = await app.raw('GET', pathOf(order.checkoutUrl), { headers: { 'accept-language': 'en' } });
  t.is(checkout.status, 200);
  await check(t, page, 'hosted checkout', checkout.text, [displayName, subject, itemName]);
  const post = (choice: string) =>
    app.raw('POST', pathOf(order.checkoutUrl), { body: new URLSearchParams({ choice }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' } });
  t.is((await post('fakepay/default/card')).status, 303);
  const second = await post('fakepay/default/atm');
  t.is(second.status, 409);
  await check(t, page, 'second tab', second.text, [displayName]);

  // Result pages from the store: paid (then refunded with a hostile reason), failed, cancelled.
  await app.control('pay', order.orderNo);
  await check(t, page, 'result: paid', (await app.raw('GET', pathOf(order.checkoutUrl))).text, [displayName]);
  const refund = await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 100, reason: f.reason.trim() || 'r' });
  t.is(refund.status, 201, refund.text);
  const failed = await create(app, paymentBody({ ...f.payment, merchantOrderId: `${f.payment.merchantOrderId}F` }));
  await app.control('decline', failed.orderNo);
  await check(t, page, 'result: failed', (await app.raw('GET', pathOf(failed.checkoutUrl))).text, [displayName]);
  const cancelled = await create(app, paymentBody({ ...f.payment, merchantOrderId: `${f.payment.merchantOrderId}C` }));
  const cancel = await app.api('POST', `/v1/payments/${cancelled.id}/cancel`, { reason: f.reason });
  t.true(cancel.status < 300, cancel.text);
  await check(t, page, 'result: cancelled', (await app.raw('GET', pathOf(cancelled.checkoutUrl))).text, [displayName]);

  // The home page, with a hostile language asked for.
  await check(t, page, 'home', (await app.raw('GET', `/?lang=${encodeURIComponent(v[0]!)}`)).text);

  // The dashboard: hostile filters and next, the order with its refund, a refund review with a hostile reason.
  const admin = await signedIn(app);
  await check(t, page, 'admin login', (await admin.get(`/admin/login?next=${encodeURIComponent(`/admin?${v[1]}`)}`)).text);
  await check(t, page, 'admin overview', (await admin.get('/admin')).text);
  await check(t, page, 'admin orders', (await admin.get(`/admin/orders?find=${encodeURIComponent(v[2]!)}&provider=${encodeURIComponent(v[3]!)}&from=${encodeURIComponent(v[4]!)}`)).text);
  await check(t, page, 'admin orders (all)', (await admin.get('/admin/orders')).text, [f.payment.merchantOrderId]);
  await check(t, page, 'admin order', (await admin.get(`/admin/orders/${order.id}`)).text, [f.payment.merchantOrderId, subject, itemName]);
  const csrf = await admin.csrf(`/admin/orders/${order.id}/refund`);
  const review = await admin.post(`/admin/orders/${order.id}/refund`, { _csrf: csrf, step: 'review', amount: '1', reason: f.reason.slice(0, 400) });
  await check(t, page, 'admin refund review', review.text);
  const bad = await admin.post(`/admin/orders/${order.id}/refund`, { _csrf: csrf, step: 'review', amount: v[5]!.slice(0, 100), reason: f.reason.slice(0, 400) });
  await check(t, page, 'admin refund form with errors', bad.text);
  await check(t, page, 'admin cancel confirm', (await admin.get(`/admin/orders/${failed.id}/cancel`)).text);
  await check(t, page, 'admin 404', (await admin.get(`/admin/${encodeURIComponent(v[6]!)}`)).text);

  // Pages the app shows only in states a test cannot easily reach, from the stored order and shop.
  const stored = (await findOrder(h.db, order.id))!;
  const merchant = (await findMerchantDisplay(h.db, app.merchant.id)) ?? null;
  const items = await loadItems(h.db, order.id);
  t.truthy(items.length);
  for (const status of ['created', 'pending', 'failed', 'expired', 'partially_refunded'] as const) {
    await check(
      t,
      page,
      `result: ${status} (rendered)`,
      renderResultPage({ locale: 'en', merchant, order: { ...stored, status, failure: { code: v[7]!, message: v[8]! } }, verified: false, reported: null, payAgainUrl: `https://pay.example/${v[1]}`, refreshUrl: own(v[0]!) }),
      [displayName],
    );
  }
  await check(t, page, 'second tab (rendered)', renderChosenAlreadyPage({ locale: 'zh-TW', merchant, order: stored, providerName: v[2]!, method: v[3]!, continueUrl: own(v[4]!) }), [v[2]!]);
}

if (requireBrowser()) {
  dbTest('hostile merchant and buyer text through the app: every page keeps it text', async (t, h) => {
    const app = await startApp(h);
    const { page, done } = await newPage();
    try {
      // Each payload everywhere once, then a few mixed ones.
      await roundThroughApp(t, h, app, page, PAYLOADS);
      await fc.assert(
        fc.asyncProperty(fc.array(hostile, { minLength: 9, maxLength: 9 }), async (v) => {
          await roundThroughApp(t, h, app, page, v);
        }),
        { numRuns: 2, seed: 16 },
      );
      await check(t, page, 'docs', (await app.raw('GET', '/docs')).text);
    } finally {
      await done();
      await app.close();
    }
  });

  test('hostile text in buyer pages rendered directly: ATM and store instructions, form post, home form, admin error page', async (t) => {
    const { page, done } = await newPage();
    try {
      const d = new Date('2026-12-02T17:22:00Z');
      await fc.assert(
        fc.asyncProperty(fc.array(hostile, { minLength: 6, maxLength: 6 }), async (v) => {
          const merchant = { name: v[0]!, logoUrl: `https://cdn.example/${v[1]}`, supportEmail: v[2]!, supportUrl: `https://s.example/${v[3]}` };
          const order = { id: 'pay_1', merchantId: 'm', merchantOrderId: v[4]!, orderNo: v[5]!, subject: v[0]!, currency: 'TWD', amount: 100, refundedAmount: 0, status: 'pending', attempt: 1, provider: 'p', account: 'a', method: 'atm', providerTradeNo: null, choices: null, action: null, failure: null, returnUrl: `https://shop.example/${v[1]}`, paidAt: null, expiresAt: d, attention: false, attentionReason: null, simulated: true, metadata: {}, version: 1, createdAt: d, updatedAt: d } as const;
          await check(t, page, 'ATM instructions', renderInstructionsPage({ locale: 'en', merchant, order: { ...order }, instructions: { atm: { bankCode: v[1]!, account: v[2]!, amount: 100, deadline: d.toISOString(), webAtmUrl: `javascript:${v[3]}` } }, refreshUrl: own(v[4]!), nonce: v[5]! }), [v[0]!, v[2]!]);
          await check(t, page, 'store instructions', renderInstructionsPage({ locale: 'en', merchant, order: { ...order, method: 'cvs' }, instructions: { cvs: { code: v[1]!, barcodes: [v[2]!, v[3]!], stores: [v[4]!], amount: 100, deadline: d.toISOString() } }, refreshUrl: own(v[5]!), nonce: v[0]! }), [v[1]!, v[2]!]);
          await check(t, page, 'form post', renderFormPostPage({ locale: 'en', merchant, method: 'POST', url: `https://provider.example${own(v[0]!)}`, fields: { [v[1]!]: v[2]!, a: v[3]! }, nonce: v[4]! }), [v[0]!]);
          await check(t, page, 'home form', renderHomePage({ locale: 'en', admin: true, demo: { token: v[0]!, amount: v[1]!, subject: v[2]!, error: { field: 'subject', key: 'home_subject' } } }));
          await check(t, page, 'admin error', renderErrorPage({ status: 400, title: v[0]!, message: v[1]!, details: [{ path: v[2]!, message: v[3]! }], back: { href: own(v[4]!), label: v[5]! } }), [v[1]!]);
        }),
        { numRuns: 6, seed: 16 },
      );
    } finally {
      await done();
    }
  });

  test('the check sees an injection when there is one', async (t) => {
    const { page, done } = await newPage();
    try {
      for (const payload of ['<img src=x onerror=window.__xss=1>', '<script>window.__xss=1</script>', '<a href="javascript:void 0">x</a>', '<svg onload=window.__xss=1>']) {
        const found = await inspect(page, html`<!doctype html><title>t</title><p>${unsafeRaw(payload, 'the injection this test plants on purpose')}</p>`);
        t.true(found.problems.length > 0, payload);
      }
      t.deepEqual((await inspect(page, html`<!doctype html><title>t</title><p>${PAYLOADS}</p>`)).problems, [], 'escaped, the same text is harmless');
    } finally {
      await done();
    }
  });

  test("hostile text on the simulators' pages (ECPay, Alipay, SinoPac)", async (t) => {
    const { page, done } = await newPage();
    try {
      const d = new Date('2026-12-02T17:22:00Z');
      await fc.assert(
        fc.asyncProperty(fc.array(hostile, { minLength: 6, maxLength: 6 }), async (v) => {
          const ecpay = { payId: 'p', merchant: { merchantId: v[0]! }, merchantTradeNo: v[1]!, tradeNo: v[2]!, tradeDate: d, totalAmount: 100, itemName: `${v[3]}#${v[4]}`, tradeDesc: v[5]!, choosePayment: 'ATM', chooseSubPayment: '', paymentType: '', status: '0', paymentDate: null, simulatePaid: false, needExtraPaidInfo: false, customFields: ['', '', '', ''], storeId: '', urls: { return: v[0]!, orderResult: `javascript:${v[1]}`, clientBack: `javascript:${v[2]}`, paymentInfo: '', clientRedirect: `https://shop.example/${v[3]}` }, expireDays: 3, atm: { bankCode: v[4]!, vAccount: v[5]!, expireDate: v[0]! }, card: null, failure: { code: v[1]!, message: v[2]! }, chargeFee: 0 } as any;
          const fieldsOf = { [v[0]!]: v[1]!, MerchantTradeNo: v[2]! };
          for (const [name, markup] of [
            ['ecpay card', ecpayPages.cardPage(ecpay, own(v[0]!))],
            ['ecpay atm choose', ecpayPages.atmChoosePage(ecpay, own(v[1]!))],
            ['ecpay atm issued', ecpayPages.atmIssuedPage(ecpay, own(v[2]!), fieldsOf, html`<p>${v[3]}</p>`)],
            ['ecpay result hand-off', ecpayPages.resultHandOffPage(ecpay, fieldsOf, false)],
            ['ecpay outcome', ecpayPages.outcomePage(ecpay, 'bad', v[3]!, v[4]!, own(v[5]!))],
            ['ecpay error', ecpayPages.errorPage(v[0]!, v[1]!)],
            ['ecpay index', ecpayPages.indexPage([ecpay], () => own(v[2]!))],
          ] as const) await check(t, page, name, markup, name === 'ecpay error' ? [v[1]!] : []);
          const trade = { app: { appId: v[0]!, sellerEmail: v[1]! }, subject: v[2]!, fen: 100, outTradeNo: v[3]!, method: 'alipay.trade.page.pay', expiresAt: d, tradeNo: v[4]!, status: v[5]!, createdAt: d } as any;
          for (const [name, markup] of [
            ['alipay cashier', alipayPages.cashierPage(trade, own(v[0]!), v[1]!)],
            ['alipay error', alipayPages.errorPage(v[0]!, v[1]!)],
            ['alipay closed', alipayPages.closedPage(trade, v[0]!)],
            ['alipay cancelled', alipayPages.cancelledPage(trade, `javascript:${v[1]}`)],
            ['alipay paid', alipayPages.paidPage(trade)],
            ['alipay index', alipayPages.indexPage([trade], () => own(v[2]!))],
          ] as const) await check(t, page, name, markup, name === 'alipay cashier' ? [v[2]!] : []);
          const order = { shopNo: v[0]!, orderNo: v[1]!, tsNo: v[2]!, prdtName: v[3]!, amount: 100, attempts: [], card: { cardPayUrl: own(v[4]!) }, atm: { atmPayNo: v[5]!, expireDate: v[0]!, webAtmUrl: own(v[1]!) }, deadline: d, returnUrl: `javascript:${v[2]}`, payType: v[3]!, status: v[4]! } as any;
          for (const [name, markup] of [
            ['sinopac card', sinopacPages.cardPage(order, { cardNo: v[0]!, expireMM: v[1]!, expireYY: v[2]!, error: v[3]! })],
            ['sinopac atm', sinopacPages.atmPage(order, 'PayOTP', own(v[4]!))],
            ['sinopac return', sinopacPages.returnForm(`javascript:${v[0]}`, v[1]!, v[2]!, v[3]!)],
            ['sinopac atm done', sinopacPages.atmDonePage(order, v[5]!, false)],
            ['sinopac message', sinopacPages.messagePage(v[0]!, v[1]!)],
          ] as const) await check(t, page, name, markup, name === 'sinopac message' ? [v[1]!] : []);
        }),
        { numRuns: 4, seed: 16 },
      );
    } finally {
      await done();
    }
  });
}
