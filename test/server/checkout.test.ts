import sinon from 'sinon';
import { ProviderUnavailableError } from '../../core/errors.ts';
import { checkoutPath } from '../../core/hosted-checkout.ts';
import { updateMerchantDisplay } from '../../core/merchants.ts';
import { silentLogger } from '../../core/logger.ts';
import { paymentBody, startApp, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import { createFakePaySimulator } from '../../providers/_template/simulator.ts';
import { mountSimulator } from '../helpers/sim-server.ts';

/** A payment the buyer will choose for: no provider, no method. */
function hostedBody(overrides: Record<string, unknown> = {}) {
  const body = paymentBody(overrides);
  delete body.provider;
  delete body.method;
  return body;
}

async function hosted(app: TestApp, overrides: Record<string, unknown> = {}) {
  const res = await app.api('POST', '/v1/payments', hostedBody(overrides));
  if (res.status !== 201) throw new Error(res.text);
  return res.body as { id: string; orderNo: string; amount: number; status: string; provider: string | null; checkoutUrl: string; expiresAt: string };
}

/** The link's path and query, to be requested against the test server. */
function pathOf(url: string): string {
  const u = new URL(url, 'http://base.invalid');
  return u.pathname + u.search;
}

function choose(app: TestApp, link: string, choice: string, extraHeaders: Record<string, string> = {}) {
  return app.raw('POST', pathOf(link), {
    body: new URLSearchParams({ choice }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...extraHeaders },
  });
}

dbTest('a payment without a provider waits on a signed hosted checkout that lists the items and every way to pay', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await hosted(app);
    t.is(order.status, 'created');
    t.is(order.provider, null);
    t.regex(order.checkoutUrl, new RegExp(`^${app.url}/checkout/${order.id}\\?e=\\d+&s=[\\w-]{43}$`));
    const page = await app.raw('GET', pathOf(order.checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.is(page.status, 200);
    t.regex(page.headers.get('content-security-policy') ?? '', /script-src 'none'/);
    t.is(page.headers.get('cache-control'), 'no-store');
    t.true(page.text.includes('T-shirt'));
    t.true(page.text.includes('data-testid="total">NT$799<'), 'a TWD total in whole dollars, the way Taiwan writes it');
    t.true(page.text.includes('value="fakepay/default/card"'));
    t.true(page.text.includes('value="fakepay/default/atm"'));
    t.true(page.text.includes('<label class="choice">'), 'each choice is a labelled radio');
    // Nothing went to the provider yet.
    t.is(app.sim.byOrderNo(order.orderNo), undefined);
    const zh = await app.raw('GET', `${pathOf(order.checkoutUrl)}&lang=zh-CN`);
    t.true(zh.text.includes('选择支付方式'));
  });
});

dbTest('picking card sends the buyer to the provider; the choice is final and made once', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await hosted(app);
    const res = await choose(app, order.checkoutUrl, 'fakepay/default/card');
    t.is(res.status, 303);
    const trade = app.sim.byOrderNo(order.orderNo);
    t.truthy(trade, 'created at the provider');
    t.is(res.headers.get('location'), (await app.api('GET', `/v1/payments/${order.id}`)).body.action.url);
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.status, 'pending');
    t.is(got.body.provider, 'fakepay');
    t.is(got.body.method, 'card');
    // A second tab choosing ATM finds the order taken: told so and which (409), no second trade,
    // no change of method, and a way on to the payment already chosen.
    const again = await choose(app, order.checkoutUrl, 'fakepay/default/atm', { 'accept-language': 'en' });
    t.is(again.status, 409);
    t.true(again.text.includes('A way to pay was already chosen for this order.'));
    t.true(again.text.includes('The way to pay chosen earlier: Credit card with'), again.text);
    t.true(again.text.includes(`data-testid="go-to-payment">Go to that payment<`));
    const onward = await app.raw('GET', pathOf(order.checkoutUrl));
    t.is(onward.status, 303, 'the link leads on to the card payment chosen first');
    // The same choice posted again (a double click, the back button) simply carries on to it.
    const twice = await choose(app, order.checkoutUrl, 'fakepay/default/card');
    t.is(twice.status, 303);
    t.is(twice.headers.get('location'), res.headers.get('location'));
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.method, 'card');
    const transitions = await h.db('order_transitions').where({ order_id: order.id });
    t.is(transitions.length, 1);
    // Paid at the provider: the same link now shows the result, with the ways back to the shop.
    await app.control('pay', order.orderNo);
    const result = await app.raw('GET', pathOf(order.checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.regex(result.text, /data-status="paid"/);
    t.true(result.text.includes('href="https://shop.example/orders/A1001"'));
    t.true(result.text.includes('href="https://shop.example/"'));
  });
});

dbTest('picking ATM shows the instructions page with the account, amount and deadline', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await hosted(app);
    const res = await choose(app, order.checkoutUrl, 'fakepay/default/atm');
    t.is(res.status, 303);
    t.is(res.headers.get('location'), pathOf(order.checkoutUrl));
    const page = await app.raw('GET', pathOf(order.checkoutUrl), { headers: { 'accept-language': 'zh-TW' } });
    t.is(page.status, 200);
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.action.type, 'instructions');
    t.true(page.text.includes(`data-testid="atm-account">${got.body.action.atm.account}<`));
    t.true(page.text.includes('data-testid="atm-amount">NT$799<'));
    t.regex(page.text, /data-testid="deadline">\d{4}\/\d{2}\/\d{2} \d{2}:\d{2} 台北時間</, 'the deadline in the configured zone (Asia/Taipei by default), named');
    const nonce = /script-src 'nonce-([^']+)'/.exec(page.headers.get('content-security-policy') ?? '')?.[1];
    t.truthy(nonce);
    t.true(page.text.includes(`<script nonce="${nonce}">`));
  });
});

dbTest('a link that was changed or has run out shows an error page and reveals nothing', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await hosted(app);
    const link = pathOf(order.checkoutUrl);
    const forged = link.replace(/s=([\w-])/, (_m, c: string) => `s=${c === 'A' ? 'B' : 'A'}`);
    const bad = await app.raw('GET', forged, { headers: { 'accept-language': 'en' } });
    t.is(bad.status, 404);
    t.false(bad.text.includes(order.orderNo));
    t.is((await app.raw('GET', `/checkout/${order.id}`)).status, 404);
    const otherOrder = await hosted(app);
    t.is((await app.raw('GET', link.replace(order.id, otherOrder.id))).status, 404, 'a link signs one order only');
    // Signed correctly but long past the order's deadline.
    const old = checkoutPath(app.linkSecret, { id: order.id, expiresAt: new Date(Date.now() - 30 * 86_400_000) });
    const expired = await app.raw('GET', old, { headers: { 'accept-language': 'en' } });
    t.is(expired.status, 410);
    const post = await choose(app, forged, 'fakepay/default/card');
    t.is(post.status, 404);
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'created');
  });
});

dbTest('a choice that is not offered is refused with a 400 page and changes nothing', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await hosted(app, { choices: [{ provider: 'fakepay', method: 'card' }] });
    const page = await app.raw('GET', pathOf(order.checkoutUrl));
    t.false(page.text.includes('fakepay/default/atm'), 'only the merchant\'s choices are offered');
    for (const choice of ['fakepay/default/atm', 'nope/default/card', 'garbage', 'a/b/c/d', '']) {
      const res = await choose(app, order.checkoutUrl, choice, { 'accept-language': 'en' });
      t.is(res.status, 400, choice);
      t.true(res.text.includes('Choose a way to pay.'));
    }
    const json = await app.raw('POST', pathOf(order.checkoutUrl), { body: '{}', headers: { 'content-type': 'application/json' } });
    t.is(json.status, 415);
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.status, 'created');
    t.is(got.body.provider, null);
  });
});

dbTest('a provider fault at the choice puts the order back to waiting, and the buyer can choose again', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await hosted(app);
    const provider = app.deps.registry.find('fakepay', 'default')!;
    const fault = sinon.stub(provider, 'create').rejects(new ProviderUnavailableError('connection reset'));
    try {
      const res = await choose(app, order.checkoutUrl, 'fakepay/default/card', { 'accept-language': 'en' });
      t.is(res.status, 503);
      t.true(res.text.includes('nothing was charged'));
      t.true(res.text.includes('value="fakepay/default/card"'), 'the choices are offered again');
    } finally {
      fault.restore();
    }
    const waiting = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(waiting.body.status, 'created');
    t.is(waiting.body.provider, null);
    const retry = await choose(app, order.checkoutUrl, 'fakepay/default/card');
    t.is(retry.status, 303);
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'pending');
  });
});

dbTest('create-payment input: provider and method go together, choices only on a hosted checkout', async (t, h) => {
  await withApp(t, h, async (app) => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...hostedBody(), provider: 'fakepay' }, 'method'],
      [{ ...hostedBody(), method: 'card' }, 'provider'],
      [{ ...hostedBody(), account: 'default' }, 'account'],
      [paymentBody({ choices: [{ provider: 'fakepay', method: 'card' }] }), 'choices'],
      [hostedBody({ choices: [{ provider: 'fakepay', method: 'qr' }] }), 'choices.0.method'],
      [hostedBody({ choices: [{ provider: 'nope', method: 'card' }] }), 'provider'],
      [hostedBody({ choices: [] }), 'choices'],
      [hostedBody({ currency: 'USD' }), 'currency'],
    ];
    for (const [body, path] of cases) {
      const res = await app.api('POST', '/v1/payments', body);
      t.is(res.status, 400, JSON.stringify(body));
      t.true(res.body.error.details.some((d: { path: string }) => d.path === path), `${path}: ${JSON.stringify(res.body.error.details)}`);
    }
    t.is((await h.db('orders').where({ merchant_id: app.merchant.id }).count({ n: '*' }).first() as any).n == 0, true);
  });
});

dbTest('a direct payment\'s link carries the buyer on to the provider while its way to pay is usable, never to a dead end', async (t, h) => {
  await withApp(t, h, async (app) => {
    const card = await app.api('POST', '/v1/payments', paymentBody({ method: 'card' }));
    const first = await app.raw('GET', pathOf(card.body.checkoutUrl));
    t.is(first.status, 303);
    t.is(first.headers.get('location'), card.body.action.url);
    t.is(first.headers.get('cache-control'), 'no-store');
    // The redirect leads to a page the buyer can pay on.
    t.is((await fetch(card.body.action.url)).status, 200);
    // ATM: the link is the instructions page itself.
    const atm = await app.api('POST', '/v1/payments', paymentBody({ method: 'atm' }));
    const instructions = await app.raw('GET', pathOf(atm.body.checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.is(instructions.status, 200);
    t.true(instructions.text.includes(atm.body.action.atm.account));
    // Paid: the result, not the provider again.
    await app.control('pay', card.body.orderNo);
    const paid = await app.raw('GET', pathOf(card.body.checkoutUrl));
    t.is(paid.status, 200);
    t.regex(paid.text, /data-status="paid"/);
  });
});

dbTest('a direct payment carries the same signed link, which shows the result after payment', async (t, h) => {
  await withApp(t, h, async (app) => {
    const res = await app.api('POST', '/v1/payments', paymentBody({ method: 'card' }));
    t.is(res.status, 201);
    t.truthy(res.body.checkoutUrl);
    const failed = await app.control('decline', res.body.orderNo);
    void failed;
    const page = await app.raw('GET', pathOf(res.body.checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.regex(page.text, /data-status="failed"/);
    t.true(page.text.includes('Pay again'));
    // Why, in the provider's words with its code; a pay-again exists, so no "cannot be tried again".
    t.regex(page.text, /data-testid="failure-reason">Reason: [^<]*DECLINED/);
    t.false(page.text.includes('data-testid="no-retry"'));
  });
});

dbTest('reconciliation leaves an order waiting on the buyer\'s choice alone; expiry ends it', async (t, h) => {
  const { reconcileJob } = await import('../../core/jobs/reconcile.ts');
  const { expiryJob } = await import('../../core/jobs/expiry.ts');
  let now = new Date();
  await withApp(
    t,
    h,
    async (app) => {
      const order = await hosted(app, { expiresInMinutes: 30 });
      now = new Date(now.getTime() + 20 * 60_000);
      for (let i = 0; i < 3; i++) await reconcileJob(app.deps, 'test', { minAgeMs: 0, merchantId: app.merchant.id }).run();
      const after = await h.db('orders').where({ id: order.id }).first();
      t.is(Number(after.reconcile_faults ?? 0), 0);
      t.falsy(Number(after.attention));
      now = new Date(now.getTime() + 60 * 60_000);
      await expiryJob(app.deps, 'test', { merchantId: app.merchant.id }).run();
      t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'expired');
    },
    { now: () => now },
  );
});

dbTest('a payment no one chose a way to pay for expires on time: the job allows it no grace, and opening its link past the deadline ends it and says so', async (t, h) => {
  const { expiryJob } = await import('../../core/jobs/expiry.ts');
  let now = new Date();
  await withApp(
    t,
    h,
    async (app) => {
      const byJob = await hosted(app, { expiresInMinutes: 5 });
      // Another merchant's: the job run below (for the first merchant only) leaves it to its link.
      const byLink = (await app.api('POST', '/v1/payments', hostedBody({ expiresInMinutes: 5 }), {}, app.other)).body as { id: string; checkoutUrl: string };
      const chosen = await app.api('POST', '/v1/payments', paymentBody({ expiresInMinutes: 5 }));
      // One second past the deadline: the job's usual grace (a payment made at the last minute)
      // holds the chosen one, not the unchosen ones.
      now = new Date(now.getTime() + 5 * 60_000 + 1_000);
      await expiryJob(app.deps, 'test', { merchantId: app.merchant.id }).run();
      t.is((await app.api('GET', `/v1/payments/${byJob.id}`)).body.status, 'expired');
      t.is((await app.api('GET', `/v1/payments/${chosen.body.id}`)).body.status, 'pending');
      t.deepEqual((await h.db('events').where({ order_id: byJob.id })).map((e: any) => e.type), ['payment.expired']);
      t.is((await app.api('GET', `/v1/payments/${byLink.id}`, undefined, {}, app.other)).body.status, 'created');
      for (const [lang, words] of [['en', 'before a way to pay was chosen'], ['zh-TW', '尚未選擇付款方式'], ['zh-CN', '尚未选择付款方式']] as const) {
        const page = await app.raw('GET', pathOf(byLink.checkoutUrl), { headers: { 'accept-language': lang } });
        t.is(page.status, 200);
        t.true(page.text.includes('data-status="expired"'), lang);
        t.true(page.text.includes(words), lang);
        t.false(/refresh|重新整理|刷新/i.test(page.text.replace(/<style[\s\S]*?<\/style>/, '')), `${lang}: no "refresh" for a link that cannot change`);
      }
      t.is((await app.api('GET', `/v1/payments/${byLink.id}`, undefined, {}, app.other)).body.status, 'expired');
      t.deepEqual((await h.db('events').where({ order_id: byLink.id })).map((e: any) => e.type), ['payment.expired']);
    },
    { now: () => now },
  );
});

dbTest('an account whose keys are rejected is not offered; choosing it anyway gets the 503 page and nothing is asked; offered again once accepted', async (t, h) => {
  const bank = await mountSimulator('/sim/fakepay', (baseUrl) => createFakePaySimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, 'applied'));
  const config = bank.sim.accountConfig();
  const app = await startApp(h, { modules: [fakePayModule()], providers: { fakepay: { default: config, shop2: config } } });
  try {
    const order = await hosted(app);
    const en = { headers: { 'accept-language': 'en' } };
    t.true((await app.raw('GET', pathOf(order.checkoutUrl), en)).text.includes('value="fakepay/shop2/card"'));

    app.deps.registry.credentials.record('fakepay', 'shop2', { status: 'rejected', reason: 'BAD_SIGN' }, 'probe');
    const page = await app.raw('GET', pathOf(order.checkoutUrl), en);
    t.false(page.text.includes('value="fakepay/shop2/'), 'a buyer is never sent to a broken account');
    t.true(page.text.includes('value="fakepay/default/card"'));

    // A page loaded before the verdict, or a hand-made post: the "choose another way" page, 503.
    const chosen = await choose(app, order.checkoutUrl, 'fakepay/shop2/card', en.headers);
    t.is(chosen.status, 503);
    t.true(chosen.text.includes('choose another way to pay'));
    t.false(chosen.text.includes('value="fakepay/shop2/'));
    t.is(bank.sim.trades.size, 0, 'the provider was not asked');
    t.like(await app.api('GET', `/v1/payments/${order.id}`), { body: { status: 'created', provider: null } });

    // The order kept its whole list: once a probe accepts the keys, the account is offered again.
    app.deps.registry.credentials.record('fakepay', 'shop2', { status: 'ok' }, 'probe');
    t.true((await app.raw('GET', pathOf(order.checkoutUrl), en)).text.includes('value="fakepay/shop2/card"'));
  } finally {
    await app.close();
    await bank.close();
    await bank.sim.close();
  }
});

dbTest('a hosted checkout whose every way to pay is on a rejected account is refused at create: 503 provider_misconfigured', async (t, h) => {
  const bank = await mountSimulator('/sim/fakepay', (baseUrl) => createFakePaySimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, 'applied'));
  const config = bank.sim.accountConfig();
  const app = await startApp(h, { modules: [fakePayModule()], providers: { fakepay: { default: config, shop2: config } } });
  try {
    app.deps.registry.credentials.record('fakepay', 'shop2', { status: 'rejected', reason: 'BAD_SIGN' }, 'probe');
    const onlyShop2 = await app.api('POST', '/v1/payments', hostedBody({ choices: [{ provider: 'fakepay', account: 'shop2', method: 'card' }] }));
    t.is(onlyShop2.status, 503, onlyShop2.text);
    t.is(onlyShop2.body.error.code, 'provider_misconfigured');
    // One usable choice is enough.
    const mixed = await app.api('POST', '/v1/payments', hostedBody({ choices: [{ provider: 'fakepay', account: 'shop2', method: 'card' }, { provider: 'fakepay', account: 'default', method: 'card' }] }));
    t.is(mixed.status, 201, mixed.text);
    app.deps.registry.credentials.record('fakepay', 'default', { status: 'rejected', reason: 'BAD_SIGN' }, 'probe');
    const any = await app.api('POST', '/v1/payments', hostedBody());
    t.is(any.status, 503, any.text);
    t.is(any.body.error.code, 'provider_misconfigured');
  } finally {
    await app.close();
    await bank.close();
    await bank.sim.close();
  }
});

dbTest('the return URL a provider is given carries the language the buyer chose in, and the return page speaks it', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await hosted(app);
    // The browser says English, the link says zh-CN: the link wins, and rides through the provider.
    const res = await choose(app, `${order.checkoutUrl}&lang=zh-CN`, 'fakepay/default/card', { 'accept-language': 'en' });
    t.is(res.status, 303);
    const returnUrl = new URL(app.sim.byOrderNo(order.orderNo)!.returnUrl);
    t.is(returnUrl.searchParams.get('lang'), 'zh-CN');
    t.is(returnUrl.pathname, '/callbacks/fakepay/default/return');
    // The return as the provider would send it, here bare (unsigned): the page is in zh-CN even so.
    const back = await app.raw('GET', returnUrl.pathname + returnUrl.search, { headers: { 'accept-language': 'en' } });
    t.true(back.text.includes('<html lang="zh-CN">'), back.text.slice(0, 300));
    t.true(back.text.includes('无法确认这笔支付'));
    // Providers with signed returns: test/e2e/buyer-pages.test.ts goes through each simulator.
  });
});

dbTest('a direct payment created with a locale sends the buyer back in it; an unknown locale is refused with the field', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody({ locale: 'en' }));
    t.is(created.status, 201, created.text);
    t.is(new URL(app.sim.byOrderNo(created.body.orderNo)!.returnUrl).searchParams.get('lang'), 'en');
    const plain = await app.api('POST', '/v1/payments', paymentBody());
    t.is(new URL(app.sim.byOrderNo(plain.body.orderNo)!.returnUrl).searchParams.get('lang'), null, 'no locale: the browser decides');
    const bad = await app.api('POST', '/v1/payments', paymentBody({ locale: 'fr' }));
    t.is(bad.status, 400);
    t.is(bad.body.error.details[0].path, 'locale');
  });
});

dbTest("the shop's display name, logo and support contact appear on the checkout and result pages, escaped", async (t, h) => {
  await withApp(t, h, async (app) => {
    await updateMerchantDisplay(h.db, app.merchant.id, {
      displayName: 'Tea & <Cakes> "Shop"',
      logoUrl: 'https://cdn.shop.example/logo.png?v=1&x="><script>',
      supportEmail: 'help@shop.example',
      supportUrl: 'https://shop.example/help',
    });
    const order = await hosted(app);
    const page = await app.raw('GET', pathOf(order.checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.true(page.text.includes('data-testid="shop-name">Tea &amp; &lt;Cakes&gt; &quot;Shop&quot;<'));
    t.false(page.text.includes('<Cakes>'));
    t.false(page.text.includes('"><script>'));
    t.true(page.text.includes('alt="Tea &amp; &lt;Cakes&gt; &quot;Shop&quot; logo"'));
    t.true(page.text.includes('width="48" height="48"'));
    t.true(page.text.includes('href="mailto:help@shop.example"'));
    t.true(page.text.includes('href="https://shop.example/help"'));
    // The logo's origin, and no other, may serve images to the page.
    t.regex(page.headers.get('content-security-policy') ?? '', /img-src 'self' data: https:\/\/cdn\.shop\.example;/);
    // The other merchant's pages show their own name, not this one's.
    const theirs = await app.api('POST', '/v1/payments', hostedBody(), {}, app.other);
    const other = await app.raw('GET', pathOf(theirs.body.checkoutUrl));
    t.false(other.text.includes('Tea &amp;'));
    t.true(other.text.includes('data-testid="shop-name">Shop B '));
    t.regex(other.headers.get('content-security-policy') ?? '', /img-src 'self' data:;/);
    // Paid: the result page carries the same shop.
    await choose(app, order.checkoutUrl, 'fakepay/default/card');
    await app.control('pay', order.orderNo);
    const result = await app.raw('GET', pathOf(order.checkoutUrl), { headers: { 'accept-language': 'zh-TW' } });
    t.true(result.text.includes('data-status="paid"'));
    t.true(result.text.includes('data-testid="shop-name">Tea &amp; &lt;Cakes&gt; &quot;Shop&quot;<'));
    t.true(result.text.includes('需要協助？請聯絡商店'));
    t.true(result.text.includes('data-testid="amount">NT$799<'));
    // Cleared with '': the merchant's own name again, no logo, no support block.
    await updateMerchantDisplay(h.db, app.merchant.id, { displayName: '', logoUrl: '', supportEmail: '', supportUrl: '' });
    const plain = await app.raw('GET', pathOf(order.checkoutUrl));
    t.true(plain.text.includes('data-testid="shop-name">Shop A '));
    t.false(plain.text.includes('data-testid="shop-logo"'));
    t.false(plain.text.includes('data-testid="support"'));
  });
});
