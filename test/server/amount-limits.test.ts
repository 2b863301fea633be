/**
 * Issue 13 item 3: how large an order may be (core/amount-limits.ts) and the dashboard's sums
 * (server/admin/queries/figures.ts), which must survive whatever amounts are already stored.
 */
import test from 'ava';
import { MAX_ORDER_AMOUNT_MINOR } from '../../core/amount-limits.ts';
import { CURRENCY_EXPONENTS } from '../../core/money.ts';
import { createMerchant } from '../../core/merchants.ts';
import { exactInteger } from '../../server/admin/queries/figures.ts';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { ADMIN, paymentBody, startApp, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

const NEAR_2_53 = Number.MAX_SAFE_INTEGER; // 2^53 - 1: what create accepted before the maximum

/** A hosted-checkout body: no provider, no method. */
function hostedBody(overrides: Record<string, unknown> = {}) {
  const body = paymentBody(overrides);
  delete body.provider;
  delete body.method;
  return body;
}

function oneItem(amount: number) {
  return { amount, items: [{ sku: 'BIG', name: 'Big thing', unitAmount: amount, quantity: 1 }] };
}

async function signIn(app: TestApp): Promise<string> {
  const res = await fetch(`${app.url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: ADMIN.username, password: ADMIN.password, next: '/admin' }).toString(),
  });
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  return res.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
}

/** Orders inserted as rows, as an installation that accepted them before this fix would hold them. */
async function insertOrders(h: TestDbHandle, merchantId: string, provider: string, count: number, status: string, amount: number, tag: string): Promise<void> {
  const now = Date.now();
  const rows = Array.from({ length: count }, (_, i) => ({
    id: `pay_${tag}${i}`,
    merchant_id: merchantId,
    merchant_order_id: `${tag}${i}`,
    order_no: `${tag}${String(i).padStart(5, '0')}`.slice(0, 20),
    subject: 'big',
    currency: 'TWD',
    amount_minor: amount,
    status,
    provider,
    provider_account: 'default',
    provider_method: 'card',
    expires_at: now + 86_400_000,
    created_at: now,
    updated_at: now,
  }));
  for (let i = 0; i < rows.length; i += 200) await h.db('orders').insert(rows.slice(i, i + 200));
}

test('every currency paygate accepts has a maximum, exact as a JavaScript number', (t) => {
  for (const currency of Object.keys(CURRENCY_EXPONENTS)) {
    const max = MAX_ORDER_AMOUNT_MINOR[currency];
    t.true(Number.isSafeInteger(max) && max! > 0, currency);
    // 2^63 / max orders fit in one 64-bit sum: far more than a day of any shop.
    t.true(2n ** 63n / BigInt(max!) > 900_000_000n, currency);
  }
});

test('exactInteger reads what either driver hands back for a SUM, and refuses anything inexact', (t) => {
  t.is(exactInteger('9223372036854775807'), 9223372036854775807n);
  t.is(exactInteger('2097151.0000'), 2097151n); // MariaDB DECIMAL
  t.is(exactInteger(12), 12n);
  t.is(exactInteger(null), 0n);
  t.throws(() => exactInteger(2 ** 60));
  t.throws(() => exactInteger('1.5'));
});

dbTest('orders near 2^53 already stored do not break the overview; the paid sum is exact and adds paid orders only', async (t, h) => {
  await withApp(t, h, async (app) => {
    const { merchant } = await createMerchant(h.db, { name: 'Big spender' });
    const tag = `B${h.kind === 'mysql' ? 'M' : 'S'}${Date.now().toString(36).toUpperCase()}`;
    const provider = `big-${tag.toLowerCase()}`;
    // 1,100 × (2^53 − 1) > 2^63: SQLite's SUM overflowed here, and MariaDB's exact DECIMAL lost digits in a JS number.
    await insertOrders(h, merchant.id, provider, 1100, 'paid', NEAR_2_53, `${tag}P`);
    await insertOrders(h, merchant.id, provider, 2, 'refunded', NEAR_2_53, `${tag}R`);
    // Not paid: never added to "Paid amount", however large.
    await insertOrders(h, merchant.id, provider, 1100, 'created', NEAR_2_53, `${tag}C`);
    await insertOrders(h, merchant.id, provider, 3, 'failed', 7, `${tag}F`);

    const cookie = await signIn(app);
    const page = await fetch(`${app.url}/admin`, { headers: { cookie } });
    const html = await page.text();
    t.is(page.status, 200, html.slice(0, 300));
    const expected = 1102n * BigInt(NEAR_2_53);
    const digits = expected.toString();
    const text = `TWD ${digits.slice(0, -2)}.${digits.slice(-2)}`;
    // Each cell may carry its column's name (data-label) for the phone layout.
    const num = (value: string) => `<td class="num"(?: data-label="[^"]*")?>${value}</td>`;
    const row = new RegExp(`<td(?: [^>]*)?>${provider}</td>${num('2205')}${num('1105')}${num('1102')}${num('[^<]+')}${num(text.replace('.', '\\.'))}`);
    t.regex(html, row);
    t.regex(html, /<strong>Paid amount<\/strong> = the sum of the orders counted under Paid/);
  });
});

dbTest('create refuses an amount above the currency maximum with the field amount, with or without a provider', async (t, h) => {
  await withApp(t, h, async (app) => {
    for (const body of [paymentBody(oneItem(NEAR_2_53)), hostedBody(oneItem(NEAR_2_53)), hostedBody({ ...oneItem(10_000_000_000), currency: 'CNY' })]) {
      const res = await app.api('POST', '/v1/payments', body);
      t.is(res.status, 400, res.text);
      t.is(res.body.error.code, 'amount_too_large');
      t.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), ['amount']);
      t.regex(res.body.error.details[0].message, /at most 9999999999 \((TWD|CNY) 99,999,999\.99\)/);
      t.is(await h.db('orders').where({ merchant_order_id: body.merchantOrderId as string }).first(), undefined, 'nothing stored');
    }
    // The maximum itself is taken (the buyer will choose; FakePay states no maximum of its own).
    const atMax = await app.api('POST', '/v1/payments', hostedBody(oneItem(MAX_ORDER_AMOUNT_MINOR.TWD!)));
    t.is(atMax.status, 201, atMax.text);

    // Items whose unitAmount × quantity passes 2^53 are refused on the line, not rounded.
    const overflow = await app.api('POST', '/v1/payments', hostedBody({ amount: 9_000_000_000, items: [{ sku: 'X', name: 'X', unitAmount: 2 ** 52, quantity: 4 }] }));
    t.is(overflow.status, 400, overflow.text);
    t.deepEqual(overflow.body.error.details.map((d: { path: string }) => d.path), ['items.0.unitAmount']);
  });
});

dbTest('a provider maximum: refused at create, left off the hosted checkout, refused when chosen anyway', async (t, h) => {
  const app = await startApp(h, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null } }), ecpayModule()] });
  try {
    // NT$60,000: above ECPay ATM (NT$49,999) and SinoPac ATM (NT$30,000, UNVERIFIED); cards take it.
    const amount = 6_000_000;
    const direct = await app.api('POST', '/v1/payments', paymentBody({ ...oneItem(amount), provider: 'ecpay', method: 'atm' }));
    t.is(direct.status, 400, direct.text);
    t.is(direct.body.error.code, 'amount_too_large');
    t.is(direct.body.error.details[0].path, 'amount');
    t.regex(direct.body.error.details[0].message, /ecpay atm payments take at most TWD 49,999\.00/);
    // SinoPac card: at most 9 digits of 1/100 NTD; refused before the bank is asked.
    const sinopacCard = await app.api('POST', '/v1/payments', paymentBody({ ...oneItem(1_000_000_000), provider: 'sinopac', method: 'card' }));
    t.is(sinopacCard.status, 400, sinopacCard.text);
    t.is(sinopacCard.body.error.code, 'amount_too_large');

    const named = await app.api('POST', '/v1/payments', hostedBody({ ...oneItem(amount), choices: [{ provider: 'ecpay', method: 'card' }, { provider: 'ecpay', method: 'atm' }] }));
    t.is(named.status, 400, named.text);
    t.is(named.body.error.details[0].path, 'choices.1.method');

    const none = await app.api('POST', '/v1/payments', hostedBody(oneItem(5_000_000_000)));
    t.is(none.status, 400, none.text);
    t.is(none.body.error.details[0].path, 'amount');
    t.regex(none.body.error.details[0].message, /more than any configured provider takes/);

    const created = await app.api('POST', '/v1/payments', hostedBody(oneItem(amount)));
    t.is(created.status, 201, created.text);
    const link = new URL(created.body.checkoutUrl);
    const path = link.pathname + link.search;
    const page = await app.raw('GET', path, { headers: { 'accept-language': 'en' } });
    t.is(page.status, 200);
    t.regex(page.text, /value="ecpay\/default\/card"/);
    t.regex(page.text, /value="sinopac\/default\/card"/);
    t.notRegex(page.text, /value="(ecpay|sinopac)\/default\/atm"/);

    const chosen = await app.raw('POST', path, { body: new URLSearchParams({ choice: 'ecpay/default/atm' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' } });
    t.is(chosen.status, 400);
    const order = await h.db('orders').where({ id: created.body.id }).first();
    t.is(order.provider, null, 'the order still waits for a choice it can take');
    t.is(order.status, 'created');
  } finally {
    await app.close();
  }
});
