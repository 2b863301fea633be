/**
 * SinoPac end to end against its simulator over HTTP: the gateway, the bank and its callbacks all
 * speak the real protocol (nonce, AES, Sign) on both databases.
 */
import test from 'ava';
import { inboxRetryJob } from '../../../core/jobs/inbox-retry.ts';
import { silentLogger } from '../../../core/logger.ts';
import { newOrderNo } from '../../../core/order-no.ts';
import type { OrderSnapshot } from '../../../core/payment-provider.ts';
import { SinopacProvider } from '../../../providers/sinopac/adapter.ts';
import { sinopacModule } from '../../../providers/sinopac/index.ts';
import type { SinopacSimulator } from '../../../providers/sinopac/simulator/index.ts';
import { startApp, type TestApp } from '../../helpers/app.ts';
import { dbTest, openTestDb, type TestDbHandle } from '../../helpers/db.ts';
import { parseForm, until } from '../../helpers/forms.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSinopacSimulator } from '../../../providers/sinopac/simulator/index.ts';
import { sinopacConfig } from '../../../providers/sinopac/config.ts';

const ITEMS = [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 39950, quantity: 2 }];

function body(method: 'atm' | 'card', overrides: Record<string, unknown> = {}) {
  return {
    merchantOrderId: `S${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
    currency: 'TWD',
    amount: 79900,
    items: ITEMS,
    provider: 'sinopac',
    method,
    returnUrl: 'https://shop.example/orders/1',
    ...overrides,
  };
}

async function withSinopac(
  h: TestDbHandle,
  fn: (app: TestApp, bank: SinopacSimulator) => Promise<void>,
  options: { atmAutoPayMs?: number | null; newOrderNo?: (now: Date) => string } = {},
): Promise<void> {
  let bank: SinopacSimulator | undefined;
  const app = await startApp(h, {
    modules: [sinopacModule({ simulator: { atmAutoPayMs: options.atmAutoPayMs ?? null }, onSimulator: (s) => (bank = s) })],
    newOrderNo: options.newOrderNo,
  });
  try {
    await fn(app, bank!);
  } finally {
    await app.close();
  }
}

const payment = (app: TestApp, id: string) => app.api('GET', `/v1/payments/${id}`).then((r) => r.body);

dbTest('ATM: instructions, the bank books the transfer, BackendURL, paid with TSNo and paid_at', async (t, h) => {
  await withSinopac(h, async (app, bank) => {
    const created = await app.api('POST', '/v1/payments', body('atm', { expiresInMinutes: 60 }));
    t.is(created.status, 201, created.text);
    const atm = created.body.action.atm;
    t.is(created.body.action.type, 'instructions');
    t.is(atm.bankCode, '807');
    t.regex(atm.account, /^\d{14}$/);
    t.is(atm.amount, 79900);
    t.truthy(atm.webAtmUrl);
    // The account stays open to 23:59 Taipei of its ExpireDate; the order takes that deadline.
    t.is(created.body.expiresAt, atm.deadline);
    t.regex(new Date(Date.parse(atm.deadline) + 8 * 3_600_000).toISOString(), /T23:59:59\.999Z$/);
    t.truthy(created.body.providerTradeNo);

    const paid = await bank.pay(created.body.orderNo);
    t.is(paid.firstDelivery.status, 200);
    t.deepEqual(JSON.parse(paid.firstDelivery.body), { Status: 'S' });
    const after = await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    t.is(after.status, 'paid');
    t.is(after.providerTradeNo, created.body.providerTradeNo);
    t.truthy(after.paidAt);

    // The bank delivers the same PayToken four more times: one transition, one inbox row.
    for (let i = 0; i < 4; i++) {
      const again = await bank.renotify(created.body.orderNo);
      t.deepEqual(JSON.parse(again.body), { Status: 'S' });
    }
    await app.background.drain();
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' })).length, 1);
    const rows = await h.db('provider_callbacks').where({ order_id: created.body.id, kind: 'notify' });
    t.is(rows.length, 1);
    t.is(rows[0].dedupe_key, paid.payToken);
  });
});

dbTest('a PayToken the bank does not know changes nothing and is kept', async (t, h) => {
  await withSinopac(h, async (app, bank) => {
    const created = await app.api('POST', '/v1/payments', body('atm'));
    const shopNo = bank.accountConfig('default').ShopNo;
    const token = 'f'.repeat(64);
    const res = await app.raw('POST', '/callbacks/sinopac/default/notify', {
      body: JSON.stringify({ ShopNo: shopNo, PayToken: token }),
      headers: { 'content-type': 'application/json' },
    });
    t.deepEqual(JSON.parse(res.text), { Status: 'S' }, 'stored, so acknowledged');
    await app.background.drain();
    const row = await h.db('provider_callbacks').where({ dedupe_key: token }).first();
    t.is(row.outcome, 'rejected');
    t.regex(row.error, /OrderPayQuery/);
    t.is((await payment(app, created.body.id)).status, 'pending');

    const unknownShop = await app.raw('POST', '/callbacks/sinopac/default/notify', {
      body: JSON.stringify({ ShopNo: 'XX0000_001', PayToken: 'a'.repeat(64) }),
      headers: { 'content-type': 'application/json' },
    });
    t.is(unknownShop.status, 400);
    t.is(JSON.parse(unknownShop.text).error.details[0].path, 'ShopNo');
    const malformed = await app.raw('POST', '/callbacks/sinopac/default/notify', { body: '{"ShopNo":', headers: { 'content-type': 'application/json' } });
    t.is(malformed.status, 400);
  });
});

dbTest('an order number ending in 9 is not auto-paid; the bank answers pending until it is paid', async (t, h) => {
  let nine = true;
  const numbers = (now: Date) => {
    const base = newOrderNo(now);
    return nine ? `${base.slice(0, 19)}9` : `${base.slice(0, 19)}1`;
  };
  await withSinopac(
    h,
    async (app, bank) => {
      const stays = await app.api('POST', '/v1/payments', body('atm'));
      nine = false;
      const autopaid = await app.api('POST', '/v1/payments', body('atm'));
      t.true(stays.body.orderNo.endsWith('9'));
      await until(() => payment(app, autopaid.body.id), (p) => p.status === 'paid');
      t.is((await payment(app, autopaid.body.id)).status, 'paid');
      t.is((await payment(app, stays.body.id)).status, 'pending');
      const provider = app.deps.registry.find('sinopac')!;
      const order = (await h.db('orders').where({ id: stays.body.id }).first()) as { order_no: string };
      const snapshot = { orderNo: order.order_no, method: 'atm', amount: 79900 } as OrderSnapshot;
      const before = await provider.query({ order: snapshot });
      t.true(before.found && before.facts.outcome === 'pending');
      // The transfer happens but its BackendURL never reaches us: only a query can tell.
      bank.setBackendUrlDown?.(true);
      await bank.pay(stays.body.orderNo).catch(() => undefined);
      const later = await provider.query({ order: snapshot });
      t.true(later.found && later.facts.outcome === 'paid');
    },
    { atmAutoPayMs: 200, newOrderNo: numbers },
  );
});

dbTest('card: declined on the card page, the return shows failure and pay-again, then paid on the second try', async (t, h) => {
  await withSinopac(h, async (app, bank) => {
    const created = await app.api('POST', '/v1/payments', body('card'));
    t.is(created.body.action.type, 'redirect');
    const cardPayUrl = created.body.action.url as string;
    const page = await app.raw('GET', new URL(cardPayUrl).pathname + new URL(cardPayUrl).search);
    t.is(page.status, 200);
    t.true(page.text.includes(created.body.orderNo));

    // The buyer declines on the bank's card page; the bank answers with a form that the browser
    // auto-submits to our ReturnURL (§8.2). Submit both forms as the browser would.
    const cardForm = parseForm(page.text);
    const bankAnswer = await fetch(cardForm.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...cardForm.fields, action: 'decline' }).toString(),
    }).then((r) => r.text());
    const returnForm = parseForm(bankAnswer);
    t.true(returnForm.action.startsWith(`${app.url}/callbacks/sinopac/default/return`));
    t.deepEqual(Object.keys(returnForm.fields).sort(), ['PayToken', 'ShopNo']);
    await app.background.drain();
    await until(() => payment(app, created.body.id), (p) => p.status === 'failed');
    const shopNo = bank.accountConfig('default').ShopNo;
    const result = await app.raw('POST', '/callbacks/sinopac/default/return?lang=en', {
      body: new URLSearchParams(returnForm.fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    t.is(result.status, 200);
    t.true(result.text.includes('Payment failed'));
    t.true(result.text.includes(created.body.orderNo));
    t.true(result.text.includes(`href="${cardPayUrl.replace(/&/g, '&amp;')}"`), 'pay again goes to the same CardPayURL');

    const second = await bank.pay(created.body.orderNo);
    await until(() => payment(app, created.body.id), (p) => p.status === 'paid');
    t.is((await payment(app, created.body.id)).status, 'paid');
    const zh = await app.raw('POST', '/callbacks/sinopac/default/return', {
      body: new URLSearchParams({ ShopNo: shopNo, PayToken: second.payToken }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'zh-TW' },
    });
    t.true(zh.text.includes('付款成功'));
    t.true(zh.text.includes('data-status="paid"'));
  });
});

dbTest('bank down during the exchange: acknowledged on store, the worker finishes when the bank is back', async (t, h) => {
  await withSinopac(h, async (app, bank) => {
    const created = await app.api('POST', '/v1/payments', body('atm'));
    bank.setOutage(true);
    const paid = await bank.pay(created.body.orderNo);
    t.deepEqual(JSON.parse(paid.firstDelivery.body), { Status: 'S' });
    await app.background.drain();
    const row = await h.db('provider_callbacks').where({ dedupe_key: paid.payToken }).first();
    t.is(row.processed_at, null);
    t.is(Number(row.attempts), 1);
    t.is((await payment(app, created.body.id)).status, 'pending');

    bank.setOutage(false);
    const later = new Date(Number(row.next_attempt_at) + 1);
    await inboxRetryJob({ ...app.deps, now: () => later }, 'test-worker').run();
    t.is((await payment(app, created.body.id)).status, 'paid');
  });
});

dbTest('database down: the bank gets a non-S answer and will retry', async (t, h) => {
  const own = await openTestDb(h.kind);
  await withSinopac(own, async (app, bank) => {
    const created = await app.api('POST', '/v1/payments', body('atm'));
    await own.db.destroy();
    const paid = await bank.pay(created.body.orderNo);
    t.not(paid.firstDelivery.status, 200);
    t.notDeepEqual(JSON.parse(paid.firstDelivery.body), { Status: 'S' });
  }).finally(() => own.close().catch(() => undefined));
});

dbTest('a verified amount that differs from the order is not paid and raises attention', async (t, h) => {
  await withSinopac(h, async (app, bank) => {
    const created = await app.api('POST', '/v1/payments', body('atm'));
    // Our record says NT$800 while the bank collected NT$799.
    await h.db('orders').where({ id: created.body.id }).update({ amount_minor: 80000 });
    await bank.pay(created.body.orderNo);
    await app.background.drain();
    const got = await until(() => payment(app, created.body.id), (p) => p.attention !== null);
    t.is(got.status, 'pending');
    t.regex(got.attention, /Amount mismatch/);
  });
});

test('reconciliation over a window holding more than 300 orders finds every one', async (t) => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bank = createSinopacSimulator({ baseUrl: base, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null });
  server.on('request', (req, res) => bank.handler(req, res));
  try {
    const settings = sinopacConfig.parse(bank.accountConfig('default'));
    const provider = new SinopacProvider('default', settings, { notifyUrl: `${base}/n`, returnUrl: `${base}/r` }, silentLogger);
    const from = new Date();
    const made: string[] = [];
    for (let i = 0; i < 320; i++) {
      const orderNo = newOrderNo(new Date());
      made.push(orderNo);
      const snapshot: OrderSnapshot = {
        id: `pay_${i}`,
        orderNo,
        subject: 'Tea',
        currency: 'TWD',
        amount: 10000 + i * 100,
        // Made within a minute or two: more than 300 in one minute, so the adapter must also split by type.
        method: i % 2 ? 'atm' : 'card',
        items: [],
        providerTradeNo: null,
        status: 'pending',
        attempt: 1,
        createdAt: new Date(),
        expiresAt: new Date(Date.now() + 86_400_000),
        returnUrl: null,
      };
      const result = await provider.create({ order: snapshot, urls: { notifyUrl: `${base}/n`, returnUrl: `${base}/r` } });
      t.is(result.outcome, 'pending');
    }
    const to = new Date(Date.now() + 60_000);
    const found = await provider.listTransactions({ from: new Date(from.getTime() - 60_000), to });
    t.is(found.length, 320);
    t.deepEqual(found.map((f) => f.orderNo).sort(), [...made].sort());
  } finally {
    await bank.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

dbTest('card: the payment lives as long as the bank\'s card link (ExpMinutes), not the 24 h asked for', async (t, h) => {
  await withSinopac(h, async (app) => {
    const before = Date.now();
    const created = await app.api('POST', '/v1/payments', body('card', { expiresInMinutes: 1440 }));
    t.is(created.status, 201, created.text);
    const expiresAt = Date.parse(created.body.expiresAt);
    // The account's cardExpMinutes (10 by default): the link and the payment end together.
    t.true(expiresAt <= Date.now() + 10 * 60_000 + 1_000, `expires ${created.body.expiresAt}`);
    t.true(expiresAt >= before + 9 * 60_000);
    t.is(created.body.action.type, 'redirect');
    const row = await h.db('orders').where({ id: created.body.id }).first();
    t.is(Number(row.expires_at), expiresAt, 'the order row holds the link\'s deadline');
  });
});
