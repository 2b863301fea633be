/**
 * NewebPay end to end against its simulator over real HTTP with real crypto, on both databases: the
 * buyer's browser is played by fetch (the MPG form, the pay page's buttons, the ReturnURL and
 * CustomerURL hand-offs), NewebPay's notifies by the simulator.
 */
import { NewebpayProvider } from '../../../providers/newebpay/adapter.ts';
import { decryptText, encryptText, tradeSha } from '../../../providers/newebpay/crypto.ts';
import { newebpayModule, type NewebpayModuleOptions } from '../../../providers/newebpay/index.ts';
import type { NewebpaySimulator } from '../../../providers/newebpay/simulator/index.ts';
import { findOrder, loadSnapshot } from '../../../core/orders.ts';
import { silentLogger } from '../../../core/logger.ts';
import type { PaymentProvider } from '../../../core/payment-provider.ts';
import { startApp, type TestApp } from '../../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../../helpers/db.ts';
import { openPayPage, parseForm, postForm, press, until } from '../../helpers/forms.ts';
import { addSecondAccount } from '../../contract/inbox-replay.ts';

const ITEMS = [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 60000, quantity: 2 }];

function body(method: 'card' | 'atm' | 'cvs' | 'barcode', overrides: Record<string, unknown> = {}) {
  return {
    merchantOrderId: `N${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
    currency: 'TWD',
    amount: 120000,
    items: ITEMS,
    provider: 'newebpay',
    method,
    returnUrl: 'https://shop.example/orders/8',
    ...overrides,
  };
}

async function withNewebpay(h: TestDbHandle, fn: (app: TestApp, sim: NewebpaySimulator, provider: PaymentProvider) => Promise<void>, options: NewebpayModuleOptions = {}): Promise<void> {
  let sim: NewebpaySimulator | undefined;
  const app = await startApp(h, { modules: [newebpayModule({ ...options, onSimulator: (s) => (sim = s) })] });
  try {
    await fn(app, sim!, app.deps.registry.find('newebpay')!);
  } finally {
    await app.close();
  }
}

const payment = (app: TestApp, id: string) => app.api('GET', `/v1/payments/${id}`).then((r) => r.body);

/** The simulator's control API over HTTP, as scripts and the conformance suite drive it. */
async function control(app: TestApp, action: 'pay' | 'decline' | 'renotify', orderNo: string): Promise<any> {
  const res = await app.raw('POST', `/sim/newebpay/_control/${action}`, { body: JSON.stringify({ orderNo }), headers: { 'content-type': 'application/json' } });
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${res.text}`);
  await app.background.drain();
  return JSON.parse(res.text);
}

const trade = (sim: NewebpaySimulator, orderNo: string) => sim.book.byOrderNo(orderNo)!;

dbTest('card: the MPG form, the pay page, the notify makes it paid, the ReturnURL hand-off shows it; renotifies move nothing', async (t, h) => {
  await withNewebpay(h, async (app, sim, provider) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    t.is(created.status, 201, created.text);
    const action = created.body.action;
    t.like(action, { type: 'form', method: 'POST', url: `${app.url}/sim/newebpay/MPG/mpg_gateway` });
    const keys = sim.accountConfig('default');
    t.is(action.fields.TradeSha, tradeSha(action.fields.TradeInfo, keys));
    const params = Object.fromEntries(new URLSearchParams(decryptText(action.fields.TradeInfo, keys)!));
    t.like(params, { MerchantID: keys.MerchantID, MerchantOrderNo: created.body.orderNo, Amt: '1200', CREDIT: '1', NotifyURL: `${app.url}/callbacks/newebpay/default/notify`, ReturnURL: `${app.url}/callbacks/newebpay/default/return` });

    const page = await openPayPage(action);
    t.true(page.html.includes('NT$1,200'));
    const handOff = await press(page, 'pay');
    const first = sim.deliveries.find((d) => d.merchantOrderNo === created.body.orderNo)!;
    t.like(first, { kind: 'notify', messageStatus: 'SUCCESS', status: 200, body: 'SUCCESS', ok: true });
    const paid = await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    t.is(paid.status, 'paid');
    t.is(paid.providerTradeNo, trade(sim, created.body.orderNo).tradeNo);

    // The browser is handed to the ReturnURL with the same signed message; the result page only shows it.
    const result = parseForm(handOff);
    t.is(result.action, `${app.url}/callbacks/newebpay/default/return`);
    const shown = await postForm(result.action, result.fields);
    const html = await shown.text();
    t.is(shown.status, 200);
    t.true(html.includes('data-status="paid"'));
    const row = await h.db('provider_callbacks').where({ kind: 'return', order_id: created.body.id }).first();
    t.like(row, { outcome: 'displayed' });
    t.truthy(row.verified);

    // NewebPay's re-sends are the same bytes: acknowledged, one inbox row, one transition.
    await sim.renotify(created.body.orderNo);
    await sim.renotify(created.body.orderNo);
    await app.background.drain();
    t.deepEqual(sim.deliveries.filter((d) => d.merchantOrderNo === created.body.orderNo).map((d) => [d.kind, d.status, d.body]), [
      ['notify', 200, 'SUCCESS'],
      ['renotify', 200, 'SUCCESS'],
      ['renotify', 200, 'SUCCESS'],
    ]);
    t.is((await h.db('provider_callbacks').where({ kind: 'notify', order_id: created.body.id })).length, 1);
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' })).length, 1);

    const queried = await provider.query({ order: await loadSnapshot(h.db, (await findOrder(h.db, created.body.id))!) });
    t.true(queried.found && queried.facts.outcome === 'paid' && queried.facts.amount === 120000);
  });
});

dbTest('card declined on the pay page (MPG05005 card): failed with NewebPay\'s code', async (t, h) => {
  await withNewebpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    const page = await openPayPage(created.body.action);
    await press(page, 'pay', { cardNumber: '4000-2211-1111-0000' });
    const failed = await until(() => payment(app, created.body.id), (p) => p.status === 'failed');
    t.is(failed.status, 'failed');
    const order = await findOrder(h.db, created.body.id);
    t.is(order?.failure?.code, 'MPG05005');
    t.is(trade(sim, created.body.orderNo).tradeStatus, '2');
  });
});

dbTest('ATM: the code issued comes back through the CustomerURL as the buyer\'s instructions with their deadline; the transfer then pays it', async (t, h) => {
  await withNewebpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('atm'));
    t.is(created.status, 201, created.text);
    const page = await openPayPage(created.body.action);
    // The buyer gets a code; NewebPay's page carries the browser to the CustomerURL (our notify endpoint, marked).
    const issued = parseForm(await press(page, 'issue'));
    t.is(issued.action, `${app.url}/callbacks/newebpay/default/notify?via=customer`);
    const t1 = trade(sim, created.body.orderNo);
    t.truthy(t1.payCode);
    t.is(sim.deliveries.filter((d) => d.merchantOrderNo === created.body.orderNo).length, 0, 'a code issued is no notify');
    const ack = await postForm(issued.action, issued.fields);
    t.is(ack.status, 200);
    // Acknowledged once applied: a page that posts the same signed fields on to our return page.
    const next = parseForm(await ack.text());
    t.is(next.action, `${app.url}/callbacks/newebpay/default/return`);
    t.is(next.fields.TradeSha, issued.fields.TradeSha);

    const pending = await payment(app, created.body.id);
    t.is(pending.status, 'pending');
    t.deepEqual(pending.action, { type: 'instructions', atm: { bankCode: t1.payCode!.bankCode, account: t1.payCode!.codeNo, amount: 120000, deadline: t1.expireAt!.toISOString() } });
    t.is(pending.expiresAt, t1.expireAt!.toISOString());
    t.regex(t1.expireAt!.toISOString(), /T15:59:59\.000Z$/, '23:59:59 Taipei');
    const row = await h.db('provider_callbacks').where({ kind: 'notify', order_id: created.body.id }).first();
    t.like(row, { outcome: 'instructions' });

    // The return page shows the account to transfer to.
    const shown = await (await postForm(next.action, next.fields)).text();
    t.true(shown.includes(t1.payCode!.codeNo));

    // The same CustomerURL post again (a reload) changes nothing.
    const transitions = (await h.db('order_transitions').where({ order_id: created.body.id })).length;
    t.is((await postForm(issued.action, issued.fields)).status, 200);
    t.is((await h.db('order_transitions').where({ order_id: created.body.id })).length, transitions);
    t.deepEqual((await payment(app, created.body.id)).action, pending.action);

    // The bank settles (模擬觸發): the paid notify.
    const paid = await sim.pay(created.body.orderNo);
    t.false('nextUrl' in paid, 'the code was issued before: the browser goes nowhere');
    t.is((await until(() => payment(app, created.body.id), (p) => p.status === 'paid')).status, 'paid');
  });
});

dbTest('convenience-store code: issued on NewebPay\'s page, brought back through the CustomerURL as store instructions, shown on the return page and the buyer\'s link, then paid at the store', async (t, h) => {
  await withNewebpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('cvs'));
    t.is(created.status, 201, created.text);
    const page = await openPayPage(created.body.action);
    t.true(page.html.includes('超商代碼繳費'));
    const issued = parseForm(await press(page, 'issue'));
    t.is(issued.action, `${app.url}/callbacks/newebpay/default/notify?via=customer`);
    const next = parseForm(await (await postForm(issued.action, issued.fields)).text());
    const t1 = trade(sim, created.body.orderNo);
    t.regex(t1.payCode!.codeNo, /^TEST\d{10}$/);
    t.is(t1.payCode!.bankCode, null);
    const pending = await payment(app, created.body.id);
    t.deepEqual(pending.action, { type: 'instructions', cvs: { code: t1.payCode!.codeNo, stores: ['7-ELEVEN', 'FamilyMart', 'Hi-Life', 'OK mart'], amount: 120000, deadline: t1.expireAt!.toISOString() } });
    // The return page (the CustomerURL's acknowledgement carried the browser there) and the buyer's link show the code.
    const shown = await (await fetch(next.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' }, body: new URLSearchParams(next.fields).toString() })).text();
    t.true(shown.includes(`data-testid="cvs-code">${t1.payCode!.codeNo}<`));
    t.true(shown.includes('Pay at a convenience store before the deadline'));
    const link = new URL(created.body.checkoutUrl);
    t.true((await app.raw('GET', link.pathname + link.search)).text.includes(`data-testid="cvs-code">${t1.payCode!.codeNo}<`));
    // Paid at the store: the notify names the store, the order is paid; no refund through NewebPay.
    await sim.pay(created.body.orderNo);
    t.is((await until(() => payment(app, created.body.id), (p) => p.status === 'paid')).status, 'paid');
    const refused = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 120000 });
    t.is(refused.status, 422);
  });
});

dbTest('store barcodes: issued (the control API brings the CustomerURL as the browser would), handed out as store instructions with the three barcodes, shown on the buyer\'s link', async (t, h) => {
  await withNewebpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('barcode'));
    t.is(created.status, 201, created.text);
    await openPayPage(created.body.action);
    const issued = await app.raw('POST', '/sim/newebpay/_control/issue', { body: JSON.stringify({ orderNo: created.body.orderNo }), headers: { 'content-type': 'application/json' } });
    t.is(issued.status, 200, issued.text);
    t.like(JSON.parse(issued.text).browserDelivery, { status: 200, ok: true });
    const barcodes = trade(sim, created.body.orderNo).payCode!.barcodes!;
    t.is(barcodes.length, 3);
    const pending = await payment(app, created.body.id);
    t.deepEqual(pending.action.cvs.barcodes, barcodes);
    t.false('code' in pending.action.cvs);
    const link = new URL(created.body.checkoutUrl);
    const page = (await app.raw('GET', link.pathname + link.search, { headers: { 'accept-language': 'en' } })).text;
    t.true(page.includes(`<li class="account">${barcodes[0]}</li><li class="account">${barcodes[1]}</li><li class="account">${barcodes[2]}</li>`));
    await sim.pay(created.body.orderNo);
    t.is((await until(() => payment(app, created.body.id), (p) => p.status === 'paid')).status, 'paid');
  });
});

dbTest('control API: pay answers nextUrl, the page that carries the buyer\'s browser on (ReturnURL for a card, CustomerURL for a new ATM code)', async (t, h) => {
  await withNewebpay(h, async (app) => {
    const card = await app.api('POST', '/v1/payments', body('card'));
    await openPayPage(card.body.action);
    const paid = await app.raw('POST', '/sim/newebpay/_control/pay', { body: JSON.stringify({ orderNo: card.body.orderNo }), headers: { 'content-type': 'application/json' } });
    t.is(paid.status, 200);
    const answer = JSON.parse(paid.text);
    t.like(answer, { orderNo: card.body.orderNo, tradeStatus: '1' });
    t.regex(answer.nextUrl, /\/sim\/newebpay\/MPG\/next\/[0-9a-z]{24}\?to=return$/);
    const next = parseForm(await (await fetch(answer.nextUrl)).text());
    t.is(next.action, `${app.url}/callbacks/newebpay/default/return`);

    const atm = await app.api('POST', '/v1/payments', body('atm'));
    // Not even posted by a browser yet: the control API opens the trade from the hand-off it was told of.
    const viaControl = await control(app, 'pay', atm.body.orderNo);
    t.regex(viaControl.nextUrl, /\?to=customer$/);
    // The control API brought the CustomerURL post as the browser would: our page carrying it on to the return page.
    t.like(viaControl.browserDelivery, { status: 200, ok: true });
    t.regex(viaControl.browserDelivery.body, /action="[^"]*\/callbacks\/newebpay\/default\/return"/);
    const customer = parseForm(await (await fetch(viaControl.nextUrl)).text());
    t.is(customer.action, `${app.url}/callbacks/newebpay/default/notify?via=customer`);
    t.is((await until(() => payment(app, atm.body.id), (p) => p.status === 'paid')).status, 'paid');

    // An ATM code that could not be issued: the CustomerURL says so (the browser brings it); no notify.
    const failing = await app.api('POST', '/v1/payments', body('atm'));
    const declined = await control(app, 'decline', failing.body.orderNo);
    t.is(declined.firstDelivery, null);
    t.like(declined.browserDelivery, { status: 200 });
    const failed = await until(() => payment(app, failing.body.id), (p) => p.status === 'failed');
    t.is(failed.status, 'failed');
    t.is((await findOrder(h.db, failing.body.id))?.failure?.code, 'MPG03009');

    const unknown = await app.raw('POST', '/sim/newebpay/_control/pay', { body: JSON.stringify({ orderNo: 'NOPE' }), headers: { 'content-type': 'application/json' } });
    t.is(unknown.status, 404);
    const again = await app.raw('POST', '/sim/newebpay/_control/decline', { body: JSON.stringify({ orderNo: card.body.orderNo }), headers: { 'content-type': 'application/json' } });
    t.is(again.status, 409);
  });
});

dbTest('refunds: part of an uncaptured card by capturing the rest (Close 1), the rest by withdrawing it and voiding (Cancel)', async (t, h) => {
  await withNewebpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    await control(app, 'pay', created.body.orderNo);
    await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    const first = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 30000 });
    t.is(first.status, 201, first.text);
    const card = trade(sim, created.body.orderNo).card!;
    t.like(card, { closeStatus: '1', closeAmt: 900, backBalance: 900 });
    const rest = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 90000 });
    t.is(rest.status, 201, rest.text);
    t.is(trade(sim, created.body.orderNo).tradeStatus, '3', 'the authorisation was voided');
    t.is((await payment(app, created.body.id)).status, 'refunded');
    const over = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 100 });
    t.true(over.status >= 400 && over.status < 500, over.text);
  });
});

dbTest('refunds of a captured card go through Close 2; one in NewebPay\'s queue refuses the next (TRA10045) until the batch', async (t, h) => {
  await withNewebpay(
    h,
    async (app, sim, provider) => {
      const created = await app.api('POST', '/v1/payments', body('card'));
      await control(app, 'pay', created.body.orderNo);
      await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
      t.like(trade(sim, created.body.orderNo).card, { closeStatus: '1', closeAmt: 1200 }, 'auto-capture queued it');
      t.is(sim.batch(), 1);
      const snapshot = await loadSnapshot(h.db, (await findOrder(h.db, created.body.id))!);
      const one = await provider.refund!({ order: snapshot, refundNo: 'R1', amount: 30000 });
      t.deepEqual(one, { outcome: 'succeeded', providerRefundNo: null });
      t.like(trade(sim, created.body.orderNo).card, { closeStatus: '3', backStatus: '1', backBalance: 900 });
      const two = await provider.refund!({ order: snapshot, refundNo: 'R2', amount: 30000 });
      t.like(two, { outcome: 'failed', code: 'TRA10045' });
      sim.batch();
      t.like(await provider.refund!({ order: snapshot, refundNo: 'R3', amount: 90000 }), { outcome: 'succeeded' });
      t.like(await provider.refund!({ order: snapshot, refundNo: 'R4', amount: 100 }), { outcome: 'failed', code: 'refund_exceeds_payment' });
      sim.batch();
      t.is(trade(sim, created.body.orderNo).tradeStatus, '6');
      const queried = await provider.query({ order: snapshot });
      t.true(queried.found && queried.facts.outcome === 'refunded' && queried.facts.refundedAmount === 120000);
    },
    { simulator: { autoCapture: true } },
  );
});

dbTest('a void NewebPay accepts for its batch (TRA20001) is a pending refund; an ATM payment is refused up front', async (t, h) => {
  await withNewebpay(
    h,
    async (app, sim, provider) => {
      const created = await app.api('POST', '/v1/payments', body('card'));
      await control(app, 'pay', created.body.orderNo);
      await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
      const snapshot = await loadSnapshot(h.db, (await findOrder(h.db, created.body.id))!);
      t.deepEqual(await provider.refund!({ order: snapshot, refundNo: 'R1', amount: 120000 }), { outcome: 'pending', providerRefundNo: null });
      t.is(trade(sim, created.body.orderNo).tradeStatus, '1');
      sim.batch();
      t.is(trade(sim, created.body.orderNo).tradeStatus, '3');
      const atm = await app.api('POST', '/v1/payments', body('atm'));
      await control(app, 'pay', atm.body.orderNo);
      await until(() => payment(app, atm.body.id), (p) => p.status === 'paid');
      const refused = await app.api('POST', `/v1/payments/${atm.body.id}/refunds`, { amount: 120000 });
      t.is(refused.status, 422);
      t.is(refused.body.error.code, 'refund_unsupported');
    },
    { simulator: { voidInBatch: true } },
  );
});

dbTest('QueryTradeInfo: an answer whose CheckCode fails is a fault, never facts; an answer for another amount is "not found"', async (t, h) => {
  await withNewebpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    await control(app, 'pay', created.body.orderNo);
    const snapshot = await loadSnapshot(h.db, (await findOrder(h.db, created.body.id))!);
    const config = sim.accountConfig('default');
    const urls = { notifyUrl: `${app.url}/n`, returnUrl: `${app.url}/r` };
    const tampering: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const text = (await res.text()).replace(/"TradeStatus":"1"/, '"TradeStatus":"6"');
      return new Response(text, { status: res.status, headers: res.headers });
    };
    const p = new NewebpayProvider('default', (await import('../../../providers/newebpay/config.ts')).newebpayConfig.parse(config), urls, silentLogger, { fetchImpl: tampering });
    // The CheckCode covers Amt, MerchantID, MerchantOrderNo and TradeNo only: TradeStatus is not signed.
    const changed = await p.query({ order: snapshot });
    t.true(changed.found && changed.facts.outcome === 'refunded', 'what the CheckCode does not cover is not proven by it (§3.4)');
    const forging: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const text = (await res.text()).replace(/"TradeNo":"(\d+)"/, (_m, no: string) => `"TradeNo":"${no.slice(0, -1)}${no.endsWith('1') ? '2' : '1'}"`);
      return new Response(text, { status: res.status, headers: res.headers });
    };
    const forged = new NewebpayProvider('default', (await import('../../../providers/newebpay/config.ts')).newebpayConfig.parse(config), urls, silentLogger, { fetchImpl: forging });
    await t.throwsAsync(() => forged.query({ order: snapshot }), { message: /CheckCode/ });
    const real = new NewebpayProvider('default', (await import('../../../providers/newebpay/config.ts')).newebpayConfig.parse(config), urls, silentLogger);
    t.false((await real.query({ order: { ...snapshot, amount: snapshot.amount + 100 } })).found);
    // Other keys: NewebPay refuses the CheckValue (TRA10054), which says the credentials are wrong.
    const wrong = new NewebpayProvider('default', (await import('../../../providers/newebpay/config.ts')).newebpayConfig.parse({ ...config, HashIV: 'WrongIV012345678', probe: true }), urls, silentLogger);
    await t.throwsAsync(() => wrong.query({ order: snapshot }), { message: /TRA10054/ });
    t.like(await wrong.probe!(), { status: 'rejected' });
    t.is(forged.probe, undefined, 'no probe unless the account asks for one (TRA10071)');
  });
});

dbTest('a notify NewebPay signed for this shop but with another amount, or for an order of another shop, is refused and changes nothing', async (t, h) => {
  await withNewebpay(h, async (app, sim) => {
    const second = addSecondAccount(app, 'newebpay');
    const created = await app.api('POST', '/v1/payments', body('card'));
    await openPayPage(created.body.action);
    const before = await h.db('orders').where({ id: created.body.id }).first();
    // Signed with the shop's own keys (as only NewebPay can), Amt 1 instead of 1200.
    const shop = sim.keysOf(sim.accountConfig('default').MerchantID);
    const t1 = trade(sim, created.body.orderNo);
    const message = { Status: 'SUCCESS', Message: '授權成功', Result: { MerchantID: shop.merchantId, Amt: 1, TradeNo: t1.tradeNo, MerchantOrderNo: t1.merchantOrderNo, PaymentType: 'CREDIT', PayTime: '2025-01-01 12:00:05' } };
    const signed = (m: unknown, keys: typeof shop) => {
      const tradeInfo = encryptText(JSON.stringify(m), keys);
      return new URLSearchParams({ Status: 'SUCCESS', MerchantID: keys.merchantId, Version: '2.0', TradeInfo: tradeInfo, TradeSha: tradeSha(tradeInfo, keys) }).toString();
    };
    const wrongAmount = await app.raw('POST', '/callbacks/newebpay/default/notify', { body: signed(message, shop), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.true(wrongAmount.status >= 400 && wrongAmount.status < 500, `${wrongAmount.status} ${wrongAmount.text}`);
    const row = await h.db('provider_callbacks').where({ provider: 'newebpay', account: 'default', kind: 'notify', raw_body: signed(message, shop) }).first();
    t.like(row, { outcome: 'amount_mismatch' });
    // The second shop's own notify naming the first shop's order, at the second shop's endpoint.
    const other = sim.keysOf(sim.accountConfig(second.account).MerchantID);
    const foreign = { ...message, Result: { ...message.Result, MerchantID: other.merchantId, Amt: 1200 } };
    const mismatch = await app.raw('POST', `/callbacks/newebpay/${second.account}/notify`, { body: signed(foreign, other), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.true(mismatch.status >= 400 && mismatch.status < 500, `${mismatch.status} ${mismatch.text}`);
    const row2 = await h.db('provider_callbacks').where({ provider: 'newebpay', account: second.account, kind: 'notify', raw_body: signed(foreign, other) }).first();
    t.true(['account_mismatch', 'unknown_order'].includes(row2.outcome), row2.outcome);
    // Nothing moved: no transition, still pending; the amount mismatch is flagged for a person (core/decide.ts).
    const after = await h.db('orders').where({ id: created.body.id }).first();
    t.like(after, { status: before.status, paid_at: null, provider_trade_no: null });
    t.regex(after.attention_reason, /^Amount mismatch: provider reported paid for 100 TWD/);
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' })).length, 0);
  });
});

dbTest('pay again after a decline is a new trade, MerchantOrderNo `<orderNo>_2` (the first is spent: MPG03008); it pays the one order, and QueryTradeInfo asks about it', async (t, h) => {
  await withNewebpay(h, async (app, sim, provider) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    const orderNo: string = created.body.orderNo;
    await press(await openPayPage(created.body.action), 'pay', { cardNumber: '4000-2211-1111-1112' });
    t.is((await until(() => payment(app, created.body.id), (p) => p.status === 'failed')).status, 'failed');
    const spent = await postForm(created.body.action.url, created.body.action.fields);
    t.true((await spent.text()).includes('MPG03008'), 'NewebPay never takes the first MerchantOrderNo again');

    // The result page's button posts the attempt it showed to the order's signed link.
    const link = new URL(created.body.checkoutUrl);
    const failedPage = await app.raw('GET', link.pathname + link.search, { headers: { 'accept-language': 'en' } });
    t.regex(failedPage.text, /name="again" value="1"/);
    const again = await app.raw('POST', link.pathname + link.search, { body: 'again=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.is(again.status, 200);
    const form = parseForm(again.text);
    t.is(form.action, `${app.url}/sim/newebpay/MPG/mpg_gateway`);
    const keys = sim.accountConfig('default');
    const params = Object.fromEntries(new URLSearchParams(decryptText(form.fields.TradeInfo!, keys)!));
    t.like(params, { MerchantOrderNo: `${orderNo}_2`, Amt: '1200', CREDIT: '1' });
    t.like(await payment(app, created.body.id), { status: 'pending' });

    // A late failure about attempt 1 (signed by the shop's keys, other bytes than the one applied) changes nothing now.
    const shop = sim.keysOf(keys.MerchantID);
    const late = { Status: 'MPG03009', Message: '交易失敗', Result: { MerchantID: shop.merchantId, Amt: 1200, TradeNo: trade(sim, orderNo).tradeNo, MerchantOrderNo: orderNo, PaymentType: 'CREDIT' } };
    const lateInfo = encryptText(JSON.stringify(late), shop);
    const lateBody = new URLSearchParams({ Status: 'MPG03009', MerchantID: shop.merchantId, Version: '2.0', TradeInfo: lateInfo, TradeSha: tradeSha(lateInfo, shop) }).toString();
    const lateAnswer = await app.raw('POST', '/callbacks/newebpay/default/notify', { body: lateBody, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.is(lateAnswer.status, 200, lateAnswer.text);
    t.like(await h.db('provider_callbacks').where({ provider: 'newebpay', raw_body: lateBody }).first(), { outcome: 'ignored' });
    t.like(await payment(app, created.body.id), { status: 'pending' });

    await press(await openPayPage({ url: form.action, fields: form.fields }), 'pay');
    const paid = await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    t.like(paid, { status: 'paid', amount: 120000, providerTradeNo: trade(sim, `${orderNo}_2`).tradeNo });
    t.is(trade(sim, orderNo).tradeStatus, '2', 'the first trade stays failed at NewebPay');

    const order = (await findOrder(h.db, created.body.id))!;
    t.is(order.attempt, 2);
    const asked = await provider.query({ order: await loadSnapshot(h.db, order) });
    t.like(asked, { found: true, facts: { orderNo, outcome: 'paid', amount: 120000 } });
  });
});

dbTest('the MPG page refuses a form older than 120 s (MPG02004) and an order number used before (MPG03008)', async (t, h) => {
  let offset = 0;
  await withNewebpay(
    h,
    async (app) => {
      const created = await app.api('POST', '/v1/payments', body('card'));
      offset = 121_000;
      const late = await postForm(created.body.action.url, created.body.action.fields);
      t.is(late.status, 200);
      t.true((await late.text()).includes('MPG02004'));
      offset = 0;
      t.is((await postForm(created.body.action.url, created.body.action.fields)).status, 303);
      const twice = await postForm(created.body.action.url, created.body.action.fields);
      t.true((await twice.text()).includes('MPG03008'));
    },
    { simulator: { now: () => new Date(Date.now() + offset) } },
  );
});

dbTest(
  'a transfer whose notify never came is found by reconciliation (QueryTradeInfo) and paid',
  async (t, h) => {
    await withNewebpay(h, async (app, sim) => {
      const created = await app.api('POST', '/v1/payments', body('atm'));
      t.is(created.status, 201, created.text);
      // The buyer got the account on NewebPay's page, and the bank was paid, but neither the CustomerURL
      // nor the paid notify ever reached the gateway.
      const lost = sim.find(created.body.orderNo);
      sim.issueCode(lost);
      lost.tradeStatus = '1';
      lost.payTime = new Date();
      t.is((await payment(app, created.body.id)).status, 'pending');
      const { reconcileJob } = await import('../../../core/jobs/reconcile.ts');
      const job = reconcileJob({ ...app.deps, now: () => new Date(Date.now() + 11 * 60_000) }, 'nw-lost', { minAgeMs: 10 * 60_000, merchantId: app.merchant.id });
      for (let i = 0; i < 10 && (await payment(app, created.body.id)).status !== 'paid'; i++) await job.run();
      const paid = await payment(app, created.body.id);
      t.is(paid.status, 'paid');
      t.is(paid.amount, 120000);
      t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' }).first()).source, 'reconcile');
    });
  },
  // The reconcile job claims whatever is due in the file's shared database: alone.
  { serial: true },
);
