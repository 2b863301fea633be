/**
 * ECPay end to end against its simulator over real HTTP with real CheckMacValues, on both
 * databases: the buyer's browser is played by fetch (the AioCheckOut form, the pay page's buttons,
 * the OrderResultURL / ClientRedirectURL hand-offs), ECPay's notices by the simulator.
 */
import { checkMacMatches } from '../../../providers/ecpay/crypto.ts';
import { ecpayModule } from '../../../providers/ecpay/index.ts';
import type { EcpaySimulator } from '../../../providers/ecpay/simulator/index.ts';
import { startApp, type TestApp } from '../../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../../helpers/db.ts';
import { openPayPage, parseForm, postForm, press, until } from '../../helpers/forms.ts';

const ITEMS = [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 60000, quantity: 2 }];

function body(method: 'card' | 'atm', overrides: Record<string, unknown> = {}) {
  return {
    merchantOrderId: `E${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
    currency: 'TWD',
    amount: 120000,
    items: ITEMS,
    provider: 'ecpay',
    method,
    returnUrl: 'https://shop.example/orders/8',
    ...overrides,
  };
}

async function withEcpay(h: TestDbHandle, fn: (app: TestApp, sim: EcpaySimulator) => Promise<void>): Promise<void> {
  let sim: EcpaySimulator | undefined;
  const app = await startApp(h, { modules: [ecpayModule({ onSimulator: (s) => (sim = s) })] });
  try {
    await fn(app, sim!);
  } finally {
    await app.close();
  }
}

const payment = (app: TestApp, id: string) => app.api('GET', `/v1/payments/${id}`).then((r) => r.body);

dbTest('card: the AioCheckOut form, the pay page, ReturnURL makes it paid, OrderResultURL shows it', async (t, h) => {
  await withEcpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    t.is(created.status, 201, created.text);
    const action = created.body.action;
    t.is(action.type, 'form');
    t.is(action.method, 'POST');
    t.is(action.url, `${app.url}/sim/ecpay/Cashier/AioCheckOut/V5`);
    const keys = sim.accountConfig('default');
    t.true(checkMacMatches(action.fields, keys), 'every field is covered by the CheckMacValue');
    t.like(action.fields, {
      MerchantID: keys.MerchantID,
      MerchantTradeNo: created.body.orderNo,
      TotalAmount: '1200',
      ChoosePayment: 'Credit',
      ItemName: '凍頂烏龍茶 300g x2',
      ReturnURL: `${app.url}/callbacks/ecpay/default/notify`,
      OrderResultURL: `${app.url}/callbacks/ecpay/default/return`,
    });
    t.regex(action.fields.MerchantTradeDate, /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);

    const page = await openPayPage(action, 'AioCheckOut');
    t.true(page.html.includes('NT$1,200'));
    t.true(page.html.includes('確認付款 Pay'));
    const handOff = await press(page, 'pay');
    // ReturnURL was told first (the page follows its first delivery) and answered exactly 1|OK.
    const first = sim.deliveries.find((d) => d.merchantTradeNo === created.body.orderNo)!;
    t.like(first, { target: 'ReturnURL', rtnCode: '1', rtnMsg: '交易成功', status: 200, body: '1|OK', ok: true });
    const paid = await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    t.is(paid.status, 'paid');
    t.is(paid.providerTradeNo, sim.orders.find((o) => o.merchantTradeNo === created.body.orderNo)!.tradeNo);
    t.truthy(paid.paidAt);

    // The browser is handed to OrderResultURL with RtnMsg=Succeeded, signed; the result page only shows.
    const result = parseForm(handOff, 'order-result');
    t.is(result.action, `${app.url}/callbacks/ecpay/default/return`);
    t.is(result.fields.RtnMsg, 'Succeeded');
    t.true(checkMacMatches(result.fields, keys));
    const shown = await postForm(result.action, result.fields);
    const html = await shown.text();
    t.is(shown.status, 200);
    t.true(html.includes('data-status="paid"'));
    t.true(html.includes(created.body.orderNo));
    const row = await h.db('provider_callbacks').where({ kind: 'return', order_id: created.body.id }).first();
    t.like(row, { outcome: 'displayed' });
    t.truthy(row.verified);
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' })).length, 1);
  });
});

dbTest('card chosen by the merchant: the buyer\'s checkoutUrl posts the AioCheckOut form itself (a button without scripts), never a dead end', async (t, h) => {
  await withEcpay(h, async (app) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    const u = new URL(created.body.checkoutUrl);
    const page = await app.raw('GET', u.pathname + u.search, { headers: { 'accept-language': 'en' } });
    t.is(page.status, 200);
    const form = parseForm(page.text);
    t.is(form.action, created.body.action.url);
    t.deepEqual(form.fields, created.body.action.fields);
    t.regex(page.text, /<noscript>|type="submit"/);
  });
});

dbTest('one notice delivered five times (first + 4 re-sends): one transition, one payment.paid event, every delivery 1|OK', async (t, h) => {
  await withEcpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    await openPayPage(created.body.action);
    const paid = await sim.pay(created.body.orderNo);
    t.is(paid.firstDelivery!.body, '1|OK');
    for (let i = 0; i < 4; i++) t.is((await sim.renotify(created.body.orderNo)).firstDelivery!.body, '1|OK');
    await app.background.drain();
    const deliveries = sim.deliveries.filter((d) => d.merchantTradeNo === created.body.orderNo);
    t.is(deliveries.length, 5);
    t.deepEqual(deliveries.map((d) => d.rtnMsg), ['交易成功', 'paid', 'paid', 'paid', 'paid'], '§5.1: re-sends say paid');
    t.true(deliveries.every((d) => d.ok && d.body === '1|OK'));
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' })).length, 1);
    t.is((await h.db('events').where({ order_id: created.body.id, type: 'payment.paid' })).length, 1);
    // The first delivery and the (identical) re-sends: two bodies, two rows under TradeNo:RtnCode.
    const rows = await h.db('provider_callbacks').where({ order_id: created.body.id, kind: 'notify' }).orderBy('id');
    t.deepEqual(rows.map((r: any) => r.outcome), ['applied', 'duplicate']);
    t.is(rows[0].dedupe_key, `${paid.tradeNo}:1`);
    t.true(rows[1].dedupe_key.startsWith(`${paid.tradeNo}:1~`));
  });
});

dbTest('a lost first notice: ECPay re-sends on its schedule until 1|OK, and the re-send pays the order', async (t, h) => {
  await withEcpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    await openPayPage(created.body.action);
    sim.setNotifyDown(true);
    const paid = await sim.pay(created.body.orderNo);
    t.is(paid.firstDelivery!.status, 0);
    t.is((await payment(app, created.body.id)).status, 'pending');
    sim.setNotifyDown(false);
    // timeScale 0.001: re-sends after 0.3 s, then 0.6 s, 0.9 s, 0.9 s.
    const after = await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    t.is(after.status, 'paid');
    const deliveries = await until(
      async () => sim.deliveries.filter((d) => d.merchantTradeNo === created.body.orderNo),
      (list) => list.some((d) => d.ok),
    );
    t.false(deliveries[0]!.ok);
    const acked = deliveries.find((d) => d.ok)!;
    t.like(acked, { kind: 'resend', rtnMsg: 'paid', body: '1|OK' });
    await new Promise((r) => setTimeout(r, 1_200));
    t.is(sim.deliveries.filter((d) => d.merchantTradeNo === created.body.orderNo).length, deliveries.indexOf(acked) + 1, 'nothing is sent after 1|OK');
  });
});

dbTest('ATM: the account ECPay issues becomes the buyer\'s instructions and deadline; the transfer makes it paid', async (t, h) => {
  await withEcpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('atm', { expiresInMinutes: 3 * 1440 }));
    t.is(created.status, 201, created.text);
    t.is(created.body.action.type, 'form');
    t.like(created.body.action.fields, { ChoosePayment: 'ATM', PaymentInfoURL: `${app.url}/callbacks/ecpay/default/notify`, ClientRedirectURL: `${app.url}/callbacks/ecpay/default/return` });
    // Until the account exists, the order runs to the end of the Taipei day its account would.
    t.regex(new Date(Date.parse(created.body.expiresAt) + 8 * 3_600_000).toISOString(), /T23:59:59\.999Z$/);

    const page = await openPayPage(created.body.action);
    t.true(page.html.includes('取得繳費帳號 Get account number'));
    const issued = await press(page, 'issue', { bank: 'ESUN' });
    const order = sim.orders.find((o) => o.merchantTradeNo === created.body.orderNo)!;
    t.is(order.atm!.bankCode, '808');
    t.is(order.paymentType, 'ATM_ESUN');
    const instructed = await until(() => payment(app, created.body.id), (p) => p.action?.type === 'instructions');
    t.is(instructed.status, 'pending');
    const deadline = new Date(Date.parse(`${order.atm!.expireDate.replace(/\//g, '-')}T23:59:59.999+08:00`)).toISOString();
    t.deepEqual(instructed.action, { type: 'instructions', atm: { bankCode: '808', account: order.atm!.vAccount, amount: 120000, deadline } });
    t.is(instructed.expiresAt, deadline);
    const infoRow = await h.db('provider_callbacks').where({ order_id: created.body.id, kind: 'notify' }).first();
    t.is(infoRow.outcome, 'instructions');
    t.is(infoRow.dedupe_key, `${order.tradeNo}:2`);

    // The browser's ClientRedirectURL post lands on the shared return page, which shows the account.
    const redirect = parseForm(issued, 'client-redirect');
    t.is(redirect.action, `${app.url}/callbacks/ecpay/default/return`);
    t.is(redirect.fields.RtnCode, '2');
    const shown = await (await postForm(redirect.action, redirect.fields)).text();
    t.true(shown.includes(order.atm!.vAccount), 'the account number is shown to the buyer');
    t.true(shown.includes(created.body.orderNo));

    const payPage = { url: page.url, html: issued };
    const done = await press(payPage, 'pay');
    t.true(done.includes('Transfer received'));
    const paid = await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    t.is(paid.status, 'paid');
    t.is(paid.action, undefined, 'instructions are gone once paid');
    const queried = await app.deps.registry.find('ecpay')!.query({ order: { orderNo: created.body.orderNo } as never });
    t.true(queried.found && queried.facts.outcome === 'paid' && queried.facts.amount === 120000);
  });
});

dbTest('SimulatePaid=1 is recorded and answered 1|OK, but never pays the order; a real transfer later does', async (t, h) => {
  await withEcpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('atm'));
    await openPayPage(created.body.action);
    await sim.issue(created.body.orderNo);
    const simulated = await sim.simulate(created.body.orderNo);
    t.is(simulated.firstDelivery!.body, '1|OK', 'acknowledged, so ECPay stops sending it');
    const delivery = sim.deliveries.filter((d) => d.merchantTradeNo === created.body.orderNo).at(-1)!;
    t.like(delivery, { rtnCode: '1', simulatePaid: '1', rtnMsg: '付款成功' });
    await app.background.drain();
    const after = await payment(app, created.body.id);
    t.is(after.status, 'pending');
    t.is(after.paidAt, null);
    const row = await h.db('provider_callbacks').where({ order_id: created.body.id, kind: 'notify', outcome: 'simulated' }).first();
    t.truthy(row, 'kept with outcome simulated');
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' })).length, 0);
    const queried = await app.deps.registry.find('ecpay')!.query({ order: { orderNo: created.body.orderNo } as never });
    t.true(queried.found && queried.facts.outcome === 'pending', 'ECPay itself does not count it paid either');

    await sim.pay(created.body.orderNo);
    t.is((await until(() => payment(app, created.body.id), (p) => p.status === 'paid')).status, 'paid');
  });
});

dbTest('a declined card: failed with ECPay\'s code, and OrderResultURL shows the failure', async (t, h) => {
  await withEcpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    const page = await openPayPage(created.body.action);
    const handOff = await press(page, 'decline');
    const failed = await until(() => payment(app, created.body.id), (p) => p.status === 'failed');
    t.is(failed.status, 'failed');
    t.is(failed.failure.code, '10100058');
    const result = parseForm(handOff, 'order-result');
    const html = await (await postForm(result.action, result.fields)).text();
    t.true(html.includes('data-status="failed"'));
    // The page says why (ECPay's own words and code) and, with no pay-again at ECPay, what to do.
    t.regex(html, new RegExp(`data-testid="failure-reason">[^<]*${failed.failure.code}`));
    t.true(html.includes('data-testid="no-retry"'));
    const u = new URL(created.body.checkoutUrl);
    for (const [lang, words] of [['en', 'cannot be tried again here'], ['zh-TW', '無法在此重試'], ['zh-CN', '无法在此重试']] as const) {
      const link = await app.raw('GET', `${u.pathname}${u.search}`, { headers: { 'accept-language': lang } });
      t.true(link.text.includes(words), lang);
      t.true(link.text.includes(failed.failure.code), lang);
    }
    // The number is spent at ECPay (§11.2): the same form again is refused as a duplicate.
    const again = await postForm(created.body.action.url, created.body.action.fields);
    t.is(again.status, 200);
    t.true((await again.text()).includes('10300028'));
    void sim;
  });
});

dbTest('partial refunds of a card through the merchant API follow the card\'s state (C+R, then R after the close, then the rest)', async (t, h) => {
  await withEcpay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    await openPayPage(created.body.action);
    await sim.pay(created.body.orderNo);
    await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    const card = () => sim.orders.find((o) => o.merchantTradeNo === created.body.orderNo)!.card!;

    const first = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 40000, reason: 'one tin broken' });
    t.is(first.status, 201, first.text);
    t.is(first.body.status, 'succeeded');
    t.like(card(), { state: '要關帳', authorisedAmount: 1200, closedAmount: 800 });
    t.deepEqual(card().actions.map((a) => `${a.action}${a.amount}`), ['C1200', 'R400']);
    t.is((await payment(app, created.body.id)).status, 'partially_refunded');

    const cents = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 150 });
    t.is(cents.body.status, 'failed');
    t.is(cents.body.failure.code, 'amount_not_representable');

    t.is(sim.autoClose(), 1, 'the 20:15 close settles it');
    const second = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 30000 });
    t.is(second.body.status, 'succeeded');
    t.like(card(), { state: '已關帳', closedAmount: 500 });
    const rest = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 50000 });
    t.is(rest.body.status, 'succeeded');
    t.like(card(), { state: '已關帳', closedAmount: 0 });
    const done = await payment(app, created.body.id);
    t.is(done.status, 'refunded');
    t.is(done.refundedAmount, 120000);
    const over = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 100 });
    t.is(over.status, 409, 'nothing is left to refund');
  });
});

dbTest('create refuses what ECPay cannot take: cents, amounts outside a method\'s limits', async (t, h) => {
  await withEcpay(h, async (app) => {
    const cents = await app.api('POST', '/v1/payments', body('card', { amount: 79950, items: [{ sku: 'A', name: 'Tea', unitAmount: 79950, quantity: 1 }] }));
    t.is(cents.status, 400, cents.text);
    t.is(cents.body.error.details[0].path, 'amount');
    const atm = await app.api('POST', '/v1/payments', body('atm', { amount: 5_000_000, items: [{ sku: 'A', name: 'Tea', unitAmount: 5_000_000, quantity: 1 }] }));
    t.is(atm.status, 400, atm.text);
    t.is(atm.body.error.details[0].path, 'amount');
    t.is((await h.db('orders').whereIn('merchant_order_id', [cents.body.merchantOrderId ?? '', atm.body.merchantOrderId ?? '']).count({ n: '*' }))[0].n, 0);
  });
});
