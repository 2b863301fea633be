/**
 * GET / and the demo's test-payment form (server/routes/home.ts): links, languages, the payment it
 * makes and the checkout it sends the browser to, the cross-site protections, bad input, and its
 * absence when no simulator runs.
 */
import { checkoutPath } from '../../core/hosted-checkout.ts';
import { silentLogger } from '../../core/logger.ts';
import { listMerchants } from '../../core/merchants.ts';
import { startApp, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import { createFakePaySimulator } from '../../providers/_template/simulator.ts';
import { mountSimulator } from '../helpers/sim-server.ts';

/** The form cookie (name=value) and the token of a freshly loaded home page. */
async function loadForm(app: TestApp, lang = 'en'): Promise<{ cookie: string; token: string; html: string }> {
  const page = await app.raw('GET', `/?lang=${lang}`);
  const cookie = /paygate_home=[A-Za-z0-9_-]+/.exec(page.headers.get('set-cookie') ?? '')?.[0] ?? '';
  const token = /name="token" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
  return { cookie, token, html: page.text };
}

function post(app: TestApp, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return app.raw('POST', '/?lang=en', { body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url, ...headers } });
}

/** Orders with one of these subjects (tests of a file share their database and run at once). */
async function orderCount(h: TestDbHandle, subjects: string[]): Promise<number> {
  return Number(((await h.db('orders').whereIn('subject', subjects).count({ n: '*' }).first()) as { n: number | string }).n);
}

dbTest('GET / answers a page linking the docs and the dashboard, in the buyer’s language', async (t, h) => {
  await withApp(t, h, async (app) => {
    const page = await app.raw('GET', '/');
    t.is(page.status, 200);
    t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
    t.regex(page.headers.get('content-security-policy') ?? '', /script-src 'none'/);
    t.regex(page.text, /<html lang="zh-TW">/, 'zh-TW without a preference');
    t.true(page.text.includes('href="/docs"'));
    t.true(page.text.includes('href="/admin"'));
    t.true(page.text.includes('API 文件'));
    t.regex((await app.raw('GET', '/', { headers: { 'accept-language': 'zh-CN,zh;q=0.9' } })).text, /<html lang="zh-CN">[\s\S]*API 文档/);
    const en = await app.raw('GET', '/?lang=en', { headers: { 'accept-language': 'zh-TW' } });
    t.regex(en.text, /<html lang="en">[\s\S]*API documentation/, '?lang= wins over Accept-Language');
    t.notRegex(en.text, /<script/i);
  });
});

dbTest('the demo form makes a test payment for the demo shop and sends the browser to its checkout', async (t, h) => {
  await withApp(t, h, async (app) => {
    const { cookie, token, html } = await loadForm(app);
    t.true(html.includes('data-testid="demo-form"'));
    t.truthy(token);
    t.regex(cookie, /^paygate_home=/);
    const setCookie = (await app.raw('GET', '/')).headers.get('set-cookie') ?? '';
    t.regex(setCookie, /samesite=strict/i);
    t.regex(setCookie, /httponly/i);

    const answer = await post(app, { token, amount: '1280', subject: '手作陶瓷馬克杯' }, { cookie });
    t.is(answer.status, 303, answer.text);
    const location = answer.headers.get('location') ?? '';
    const id = /\/checkout\/(pay_[A-Za-z0-9]+)\?/.exec(location)?.[1];
    t.truthy(id, location);
    const row = await h.db('orders').where({ id }).first();
    const [demo] = await listMerchants(h.db);
    t.is(row.merchant_id, demo!.id, 'for the demo shop: the first merchant');
    t.is(Number(row.amount_minor), 128000, 'NT$1,280 in minor units');
    t.is(row.currency, 'TWD');
    t.is(row.subject, '手作陶瓷馬克杯');
    t.is(location, `${app.url}${checkoutPath(app.linkSecret, { id: id!, expiresAt: new Date(Number(row.expires_at)) })}`, 'its checkoutUrl');

    const checkout = await app.raw('GET', location.slice(app.url.length), { headers: { 'accept-language': 'en' } });
    t.is(checkout.status, 200);
    t.true(checkout.text.includes('value="fakepay/default/card"'), 'the hosted checkout offers the simulator');
  });
});

dbTest('the form is refused without its cookie, with another token, or from another origin; bad fields name themselves', async (t, h) => {
  await withApp(t, h, async (app) => {
    const { cookie, token } = await loadForm(app);
    const other = await loadForm(app);
    const subject = `測試商品 ${Math.random().toString(36).slice(2, 10)}`;
    const subjects = [subject, 'x', '字'.repeat(128)];
    const fields = { token, amount: '799', subject };

    for (const [what, answer] of [
      ['no cookie', await post(app, fields)],
      ['another browser’s token', await post(app, { ...fields, token: other.token }, { cookie })],
      ['no token', await post(app, { amount: '799', subject: 'x' }, { cookie })],
      ['another origin', await post(app, fields, { cookie, origin: 'https://evil.example' })],
    ] as const) {
      t.is(answer.status, 403, what);
      t.true(answer.text.includes('data-field="form"'), what);
      t.true(answer.text.includes('This form has expired'), what);
    }
    t.is(await orderCount(h, subjects), 0, 'nothing was made');

    for (const amount of ['0', '12.5', 'abc', '', '1000001']) {
      const answer = await post(app, { ...fields, amount }, { cookie });
      t.is(answer.status, 400, amount);
      t.true(answer.text.includes('data-field="amount"'), amount);
      t.true(answer.text.includes('aria-invalid="true"'), amount);
    }
    const blank = await post(app, { ...fields, subject: '   ' }, { cookie });
    t.is(blank.status, 400);
    t.true(blank.text.includes('data-field="subject"'));
    const long = await post(app, { ...fields, subject: '字'.repeat(129) }, { cookie });
    t.is(long.status, 400);
    t.true(long.text.includes('data-field="subject"'));
    t.is(await orderCount(h, subjects), 0, 'still nothing');
  });
});

dbTest('without simulators the form is absent and a post is refused with a page', async (t, h) => {
  const bank = await mountSimulator('/sim/fakepay', (baseUrl) => createFakePaySimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, 'applied'));
  const app = await startApp(h, { modules: [fakePayModule()], providers: { fakepay: { default: bank.sim.accountConfig() } } });
  try {
    const page = await app.raw('GET', '/?lang=en');
    t.is(page.status, 200);
    t.true(page.text.includes('href="/docs"'));
    t.false(page.text.includes('data-testid="demo-form"'));
    t.false(page.text.includes('name="amount"'));
    t.is(page.headers.get('set-cookie'), null, 'no form, no cookie');
    const subject = `測試商品 ${Math.random().toString(36).slice(2, 10)}`;
    const answer = await post(app, { token: 'x', amount: '799', subject });
    t.is(answer.status, 403);
    t.regex(answer.headers.get('content-type') ?? '', /^text\/html/);
    t.true(answer.text.includes('Test payments can only be made in the demo'));
    t.is(await orderCount(h, [subject]), 0);
  } finally {
    await app.close();
    await bank.close();
    await bank.sim.close();
  }
});
