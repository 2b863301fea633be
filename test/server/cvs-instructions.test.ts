/**
 * The convenience-store next action (NextAction `{type: 'instructions', cvs}`), whichever provider
 * issues it: the unified API hands it out as the OpenAPI document describes, the buyer's signed
 * link shows the code, barcodes, stores, amount and deadline in the buyer's language, the dashboard
 * shows what the buyer was told, and core applies it from a verified notify like an ATM account.
 */
import { buildOpenApi } from '../../server/openapi/document.ts';
import type { Order } from '../../core/orders.ts';
import { decide } from '../../core/decide.ts';
import type { NextAction } from '../../core/payment-provider.ts';
import { paymentBody, withApp, type TestApp } from '../helpers/app.ts';
import { signedIn } from '../helpers/admin-browser.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';
import { documentValidator } from '../helpers/openapi-validator.ts';
import test from 'ava';

const CVS = {
  type: 'instructions' as const,
  cvs: { code: 'LLL26120300123', barcodes: ['261210PH5', '9912345678901234', '120300000079900'], stores: ['7-ELEVEN', 'FamilyMart'], amount: 79900, deadline: '2026-12-10T15:59:59.000Z' },
} satisfies NextAction;

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** A pending payment of the template provider whose next action the provider has just made a store code. */
async function pendingWithCvs(app: TestApp, h: TestDbHandle): Promise<{ id: string; checkoutUrl: string }> {
  const created = await app.api('POST', '/v1/payments', paymentBody({ provider: 'fakepay', method: 'atm' }));
  await h.db('orders').where({ id: created.body.id }).update({ action_json: JSON.stringify(CVS), expires_at: Date.parse(CVS.cvs.deadline) });
  return { id: created.body.id, checkoutUrl: created.body.checkoutUrl };
}

dbTest('the API hands out a store code as the OpenAPI document describes it', async (t, h) => {
  await withApp(t, h, async (app) => {
    const { id } = await pendingWithCvs(app, h);
    const got = await app.api('GET', `/v1/payments/${id}`);
    t.is(got.status, 200);
    t.deepEqual(got.body.action, CVS);
    const { document } = buildOpenApi();
    const validator = documentValidator(document);
    t.deepEqual(validator.check(['components', 'schemas', 'Payment'], got.body), []);
    t.notDeepEqual(validator.check(['components', 'schemas', 'Payment'], { ...got.body, action: { type: 'instructions', cvs: { ...CVS.cvs, amount: 799.5 } } }), [], 'the cvs amount is minor units');
    t.notDeepEqual(validator.check(['components', 'schemas', 'Payment'], { ...got.body, action: { type: 'instructions', cvs: { ...CVS.cvs, colour: 'red' } } }), [], 'no other fields');
  });
});

dbTest('the buyer\'s link shows the code (with a copy button), the barcodes, the stores, the amount and the deadline, in the buyer\'s language', async (t, h) => {
  await withApp(t, h, async (app) => {
    const { checkoutUrl } = await pendingWithCvs(app, h);
    const zh = await app.raw('GET', pathOf(checkoutUrl), { headers: { 'accept-language': 'zh-TW' } });
    t.is(zh.status, 200);
    t.true(zh.text.includes('請於期限前至超商繳費'));
    t.true(zh.text.includes('data-testid="cvs-code">LLL26120300123<'));
    t.regex(zh.text, /data-testid="cvs-barcodes"><li class="account">261210PH5<\/li><li class="account">9912345678901234<\/li><li class="account">120300000079900<\/li><\/ol>/);
    t.true(zh.text.includes('data-testid="cvs-stores">7-ELEVEN、FamilyMart<'));
    t.true(zh.text.includes('data-testid="cvs-amount">NT$799<'));
    t.regex(zh.text, /data-testid="deadline">2026\/12\/10 23:59 台北時間</, 'the deadline in Taipei time');
    t.true(zh.text.includes('id="copy"'));
    t.false(zh.text.includes('data-testid="atm-account"'));
    const en = await app.raw('GET', pathOf(checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.true(en.text.includes('Pay at a convenience store before the deadline'));
    t.true(en.text.includes('Payment code'));
    const cn = await app.raw('GET', `${pathOf(checkoutUrl)}&lang=zh-CN`);
    t.true(cn.text.includes('请在期限前至便利店缴费'));
    // Barcodes only: no code row, no copy button.
    const barcodesOnly = { type: 'instructions', cvs: { barcodes: ['261210PH5'], amount: 79900, deadline: CVS.cvs.deadline } };
    await h.db('orders').update({ action_json: JSON.stringify(barcodesOnly) }).whereNot({ action_json: null }).andWhere('action_json', 'like', '%LLL26120300123%');
    const only = await app.raw('GET', pathOf(checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.false(only.text.includes('data-testid="cvs-code"'));
    t.false(only.text.includes('id="copy"'));
    t.false(only.text.includes('data-testid="cvs-stores"'));
    t.true(only.text.includes('261210PH5'));
  });
});

dbTest('the dashboard shows what the buyer was told: the store code and barcodes, or the ATM account', async (t, h) => {
  await withApp(t, h, async (app) => {
    const b = await signedIn(app);
    const { id } = await pendingWithCvs(app, h);
    const page = await b.get(`/admin/orders/${id}`);
    t.is(page.status, 200);
    t.regex(page.text, /data-testid="instructions">Convenience store: code <span class="mono">LLL26120300123<\/span>, barcodes <span class="mono">261210PH5<\/span>/);
    t.regex(page.text, /at 7-ELEVEN, FamilyMart, <span class="nowrap">TWD 799\.00<\/span> by <time datetime="2026-12-10T15:59:59\.000Z"/);
    const atm = await app.api('POST', '/v1/payments', paymentBody({ provider: 'fakepay', method: 'atm' }));
    const atmPage = await b.get(`/admin/orders/${atm.body.id}`);
    t.regex(atmPage.text, new RegExp(`data-testid="instructions">ATM: bank <span class="mono">${atm.body.action.atm.bankCode}</span>, account <span class="mono">${atm.body.action.atm.account}</span>`));
    const card = await app.api('POST', '/v1/payments', paymentBody({ provider: 'fakepay', method: 'card' }));
    t.false((await b.get(`/admin/orders/${card.body.id}`)).text.includes('data-testid="instructions"'), 'a redirect is no instruction');
  });
});

test('a verified notify bringing a store code makes it the pending order\'s next action and deadline', (t) => {
  const order = { id: 'pay_1', orderNo: 'PG1', provider: 'p', account: 'a', status: 'pending', amount: 79900, currency: 'TWD', providerTradeNo: null, action: null, expiresAt: new Date('2026-12-05T00:00:00Z'), attention: false, attentionReason: null } as unknown as Order;
  const plan = decide({
    order,
    news: { kind: 'facts', facts: { orderNo: 'PG1', outcome: 'pending', amount: 79900, currency: 'TWD', action: CVS, expiresAt: new Date(CVS.cvs.deadline) }, reporter: { provider: 'p', account: 'a' } },
    source: 'callback',
    now: new Date('2026-12-03T00:00:00Z'),
    pendingRefunds: 0,
  });
  t.deepEqual(plan, { kind: 'instructions', action: CVS, expiresAt: new Date(CVS.cvs.deadline) });
});
