import sinon from 'sinon';
import { ProviderUnavailableError } from '../../core/errors.ts';
import { dbTest } from '../helpers/db.ts';
import { paymentBody, withApp } from '../helpers/app.ts';

/** Tests in a file share a database, so counts are per merchant. */
async function count(db: any, merchantId: string): Promise<number> {
  const row = await db('orders').where({ merchant_id: merchantId }).count({ n: '*' }).first();
  return Number(row.n);
}

dbTest('creates a payment and answers with the order and its next action', async (t, h) => {
  await withApp(t, h, async (app) => {
    const res = await app.api('POST', '/v1/payments', paymentBody({ merchantOrderId: 'A1001' }));
    t.is(res.status, 201, res.text);
    t.is(res.body.merchantOrderId, 'A1001');
    t.is(res.body.status, 'pending');
    t.is(res.body.amount, 79900);
    t.is(res.body.currency, 'TWD');
    t.regex(res.body.orderNo, /^[0-9A-Z]{20}$/);
    t.is(res.body.action.type, 'redirect');
    t.true(res.body.action.url.startsWith(`${app.url}/sim/fakepay/pay/`));
    t.deepEqual(res.body.items, [{ sku: 'TEE-1', name: 'T-shirt', unitAmount: 39950, quantity: 2, amount: 79900 }]);
    t.is(res.body.attention, null);
    t.truthy(res.body.providerTradeNo);

    const got = await app.api('GET', `/v1/payments/${res.body.id}`);
    t.is(got.status, 200);
    t.is(got.body.orderNo, res.body.orderNo);
    t.deepEqual(got.body.action, res.body.action);

    const transitions = await h.db('order_transitions').where({ order_id: res.body.id });
    t.deepEqual(
      transitions.map((r: any) => [r.from_status, r.to_status, r.source]),
      [['created', 'pending', 'api']],
    );
  });
});

dbTest('ATM method answers with instructions', async (t, h) => {
  await withApp(t, h, async (app) => {
    const res = await app.api('POST', '/v1/payments', paymentBody({ method: 'atm', expiresInMinutes: 4320 }));
    t.is(res.status, 201, res.text);
    t.is(res.body.action.type, 'instructions');
    t.is(res.body.action.atm.amount, 79900);
    t.is(res.body.action.atm.deadline, res.body.expiresAt);
    t.is(Date.parse(res.body.expiresAt) - Date.parse(res.body.createdAt), 4320 * 60_000);
  });
});

dbTest('a provider decline is a failed payment, not an error', async (t, h) => {
  await withApp(t, h, async (app) => {
    // FakePay's simulator declines the amount 666 at creation.
    const res = await app.api('POST', '/v1/payments', paymentBody({ amount: 666, items: [{ sku: 'X', name: 'Cursed', unitAmount: 666, quantity: 1 }] }));
    t.is(res.status, 201, res.text);
    t.is(res.body.status, 'failed');
    t.deepEqual(res.body.failure, { code: 'RISK', message: 'declined by risk control' });
    t.is(res.body.action, undefined);
  });
});

const BAD_BODIES: [string, Record<string, unknown> | ((b: Record<string, unknown>) => unknown), string][] = [
  ['missing merchantOrderId', { merchantOrderId: undefined }, 'merchantOrderId'],
  ['missing items', { items: undefined }, 'items'],
  ['empty items', { items: [] }, 'items'],
  ['amount as a string', { amount: '799.00' }, 'amount'],
  ['fractional amount', { amount: 799.5 }, 'amount'],
  ['negative amount', { amount: -100 }, 'amount'],
  ['zero amount', { amount: 0, items: [{ sku: 'A', name: 'A', unitAmount: 0, quantity: 1 }] }, 'amount'],
  ['fractional unit price', { items: [{ sku: 'A', name: 'A', unitAmount: 399.5, quantity: 2 }] }, 'items.0.unitAmount'],
  ['negative unit price', { items: [{ sku: 'A', name: 'A', unitAmount: -1, quantity: 2 }] }, 'items.0.unitAmount'],
  ['zero quantity', { items: [{ sku: 'A', name: 'A', unitAmount: 39950, quantity: 0 }] }, 'items.0.quantity'],
  ['total differs from the items', { amount: 79901 }, 'amount'],
  ['lower-case currency', { currency: 'twd' }, 'currency'],
  ['unknown currency', { currency: 'XYZ' }, 'currency'],
  ['currency the provider does not take', { currency: 'USD' }, 'currency'],
  ['unknown provider', { provider: 'nopay' }, 'provider'],
  ['unknown account', { account: 'nope' }, 'account'],
  ['unknown method', { method: 'bitcoin' }, 'method'],
  ['unknown field', { ammount: 1 }, 'ammount'],
  ['returnUrl not http', { returnUrl: 'javascript:alert(1)' }, 'returnUrl'],
  ['expiresInMinutes too large', { expiresInMinutes: 100000 }, 'expiresInMinutes'],
  ['items not an array', { items: 'TEE-1' }, 'items'],
];

for (const [title, change, field] of BAD_BODIES) {
  dbTest(`400 naming the field for ${title}; nothing written`, async (t, h) => {
    await withApp(t, h, async (app) => {
      const body = paymentBody();
      for (const [k, v] of Object.entries(change)) {
        if (v === undefined) delete body[k];
        else body[k] = v;
      }
      const before = await count(h.db, app.merchant.id);
      const res = await app.api('POST', '/v1/payments', body);
      t.is(res.status, 400, res.text);
      t.truthy(res.body.error.code);
      t.true(
        res.body.error.details.some((d: { path: string }) => d.path === field),
        `expected a detail for ${field}: ${JSON.stringify(res.body.error.details)}`,
      );
      t.is(await count(h.db, app.merchant.id), before);
    });
  });
}

dbTest('malformed JSON, a non-JSON body and an oversized body are 4xx with nothing written', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const before = await count(h.db, app.merchant.id);
      const auth = { authorization: `Bearer ${app.merchant.apiKey}` };
      const malformed = await app.raw('POST', '/v1/payments', { body: '{"merchantOrderId": ', headers: { ...auth, 'content-type': 'application/json' } });
      t.is(malformed.status, 400);
      t.is(JSON.parse(malformed.text).error.code, 'invalid_json');

      const form = await app.raw('POST', '/v1/payments', { body: 'a=1', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } });
      t.is(form.status, 415);
      t.is(JSON.parse(form.text).error.details[0].path, 'Content-Type');

      const big = JSON.stringify(paymentBody({ subject: 'x'.repeat(3000) }));
      const oversized = await app.raw('POST', '/v1/payments', { body: big, headers: { ...auth, 'content-type': 'application/json' } });
      t.is(oversized.status, 413);
      t.is(JSON.parse(oversized.text).error.code, 'payload_too_large');

      const array = await app.api('POST', '/v1/payments', [paymentBody()]);
      t.is(array.status, 400);
      t.is(await count(h.db, app.merchant.id), before);
    },
    { bodyLimitKb: 2 },
  );
});

dbTest('authentication: missing or wrong key is 401', async (t, h) => {
  await withApp(t, h, async (app) => {
    const none = await app.raw('GET', '/v1/payments');
    t.is(none.status, 401);
    t.is(none.headers.get('www-authenticate'), 'Bearer');
    t.is(JSON.parse(none.text).error.code, 'unauthorized');
    const wrong = await app.api('GET', '/v1/payments', undefined, {}, { apiKey: 'pgk_thisisnotakeythisisnotakey' });
    t.is(wrong.status, 401);
    const post = await app.api('POST', '/v1/payments', paymentBody(), {}, { apiKey: 'pgk_thisisnotakeythisisnotakey' });
    t.is(post.status, 401);
  });
});

dbTest("merchant B can neither read nor cancel merchant A's payment (404)", async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    t.is(created.status, 201);
    const read = await app.api('GET', `/v1/payments/${created.body.id}`, undefined, {}, app.other);
    t.is(read.status, 404);
    const cancel = await app.api('POST', `/v1/payments/${created.body.id}/cancel`, undefined, {}, app.other);
    t.is(cancel.status, 404);
    const list = await app.api('GET', '/v1/payments', undefined, {}, app.other);
    t.is(list.status, 200);
    t.false(list.body.data.some((p: { id: string }) => p.id === created.body.id));
    const still = await app.api('GET', `/v1/payments/${created.body.id}`);
    t.is(still.body.status, 'pending');
  });
});

dbTest('Idempotency-Key: same body replays, other body is 409, no second order', async (t, h) => {
  await withApp(t, h, async (app) => {
    const body = paymentBody();
    const key = { 'idempotency-key': `k-${Math.random()}` };
    const first = await app.api('POST', '/v1/payments', body, key);
    t.is(first.status, 201);
    const again = await app.api('POST', '/v1/payments', body, key);
    t.is(again.status, 201);
    t.deepEqual(again.body, first.body);
    t.is(again.headers.get('idempotent-replayed'), 'true');
    const other = await app.api('POST', '/v1/payments', { ...body, amount: 39950, items: [{ sku: 'TEE-1', name: 'T-shirt', unitAmount: 39950, quantity: 1 }] }, key);
    t.is(other.status, 409);
    t.is(other.body.error.code, 'idempotency_key_reused');
    const rows = await h.db('orders').where({ merchant_id: app.merchant.id });
    t.is(rows.length, 1);
    // Keys are per merchant: B may use the same key for its own request.
    const b = await app.api('POST', '/v1/payments', body, key, app.other);
    t.is(b.status, 201);
    t.not(b.body.id, first.body.id);
  });
});

dbTest('an error answer is replayed for the same key too', async (t, h) => {
  await withApp(t, h, async (app) => {
    const key = { 'idempotency-key': `bad-${Math.random()}` };
    const body = paymentBody({ amount: 1 });
    const first = await app.api('POST', '/v1/payments', body, key);
    t.is(first.status, 400);
    const again = await app.api('POST', '/v1/payments', body, key);
    t.is(again.status, 400);
    t.deepEqual(again.body, first.body);
  });
});

dbTest('concurrent requests with one Idempotency-Key create one order', async (t, h) => {
  await withApp(t, h, async (app) => {
    const body = paymentBody();
    const key = { 'idempotency-key': `race-${Math.random()}` };
    const results = await Promise.all(Array.from({ length: 8 }, () => app.api('POST', '/v1/payments', body, key)));
    const created = results.filter((r) => r.status === 201);
    t.true(created.length >= 1);
    for (const r of results) t.true(r.status === 201 || (r.status === 409 && r.body.error.code === 'idempotency_in_progress'), r.text);
    t.true(created.every((r) => r.body.id === created[0]!.body.id));
    t.is((await h.db('orders').where({ merchant_id: app.merchant.id })).length, 1);
  });
});

dbTest('a second payment for the same merchantOrderId is 409', async (t, h) => {
  await withApp(t, h, async (app) => {
    const body = paymentBody();
    t.is((await app.api('POST', '/v1/payments', body)).status, 201);
    const dup = await app.api('POST', '/v1/payments', body);
    t.is(dup.status, 409);
    t.is(dup.body.error.code, 'duplicate_merchant_order_id');
    t.is(dup.body.error.details[0].path, 'merchantOrderId');
    // The same merchantOrderId at another merchant is that merchant's business.
    t.is((await app.api('POST', '/v1/payments', body, {}, app.other)).status, 201);
  });
});

dbTest('lists payments newest first, filtered and paged', async (t, h) => {
  await withApp(t, h, async (app) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await app.api('POST', '/v1/payments', paymentBody({ method: i % 2 ? 'atm' : 'card' }));
      ids.push(r.body.id);
    }
    await app.api('POST', `/v1/payments/${ids[0]}/cancel`);
    const page1 = await app.api('GET', '/v1/payments?limit=2');
    t.is(page1.status, 200);
    t.is(page1.body.data.length, 2);
    t.truthy(page1.body.nextCursor);
    const page2 = await app.api('GET', `/v1/payments?limit=2&cursor=${page1.body.nextCursor}`);
    const page3 = await app.api('GET', `/v1/payments?limit=2&cursor=${page2.body.nextCursor}`);
    t.is(page3.body.nextCursor, null);
    const seen = [...page1.body.data, ...page2.body.data, ...page3.body.data].map((p: { id: string }) => p.id);
    t.deepEqual([...seen].sort(), [...ids].sort());
    t.is(new Set(seen).size, 5);
    const created = [...page1.body.data, ...page2.body.data, ...page3.body.data].map((p: { createdAt: string }) => p.createdAt);
    t.deepEqual(created, [...created].sort().reverse());
    // Each listed payment carries the buyer's link, the same one GET /v1/payments/:id gives.
    for (const listed of page1.body.data) {
      t.is(listed.checkoutUrl, (await app.api('GET', `/v1/payments/${listed.id}`)).body.checkoutUrl);
    }

    const cancelled = await app.api('GET', '/v1/payments?status=cancelled');
    t.deepEqual(cancelled.body.data.map((p: { id: string }) => p.id), [ids[0]]);
    const none = await app.api('GET', '/v1/payments?provider=other');
    t.is(none.body.data.length, 0);
    const future = await app.api('GET', `/v1/payments?from=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`);
    t.is(future.body.data.length, 0);
    const bad = await app.api('GET', '/v1/payments?status=weird&limit=1000');
    t.is(bad.status, 400);
    t.deepEqual(bad.body.error.details.map((d: { path: string }) => d.path).sort(), ['limit', 'status']);
    const badCursor = await app.api('GET', '/v1/payments?cursor=notacursor');
    t.is(badCursor.status, 400);
    t.is(badCursor.body.error.details[0].path, 'cursor');
  });
});

dbTest('cancel closes at the provider, then locally; paid cannot be cancelled', async (t, h) => {
  await withApp(t, h, async (app) => {
    const a = await app.api('POST', '/v1/payments', paymentBody());
    const cancelled = await app.api('POST', `/v1/payments/${a.body.id}/cancel`, { reason: 'buyer changed mind' });
    t.is(cancelled.status, 200, cancelled.text);
    t.is(cancelled.body.status, 'cancelled');
    t.is(cancelled.body.action, undefined);
    t.is(app.sim.byOrderNo(a.body.orderNo)?.status, 'CLOSED');
    const again = await app.api('POST', `/v1/payments/${a.body.id}/cancel`);
    t.is(again.status, 200);
    t.is(again.body.status, 'cancelled');

    const b = await app.api('POST', '/v1/payments', paymentBody());
    await app.control('pay', b.body.orderNo);
    const paid = await app.api('GET', `/v1/payments/${b.body.id}`);
    t.is(paid.body.status, 'paid');
    const refused = await app.api('POST', `/v1/payments/${b.body.id}/cancel`);
    t.is(refused.status, 409);
    t.is(refused.body.error.code, 'not_cancellable');

    const missing = await app.api('GET', '/v1/payments/pay_doesnotexist');
    t.is(missing.status, 404);
  });
});

dbTest('health endpoints answer', async (t, h) => {
  await withApp(t, h, async (app) => {
    const healthz = await app.raw('GET', '/healthz');
    t.is(healthz.status, 200);
    const readyz = await app.raw('GET', '/readyz');
    t.is(readyz.status, 200);
    t.deepEqual(JSON.parse(readyz.text), { status: 'ready' });
    const unknown = await app.raw('GET', '/v2/nothing');
    t.is(unknown.status, 404);
    t.is(JSON.parse(unknown.text).error.code, 'not_found');
  });
});

dbTest('an input the provider refuses at creation is a 400 naming the field, and no order remains', async (t, h) => {
  await withApp(t, h, async (app) => {
    const body = paymentBody({ amount: 777, items: [{ sku: 'A', name: 'A', unitAmount: 777, quantity: 1 }] });
    const res = await app.api('POST', '/v1/payments', body);
    t.is(res.status, 400);
    t.is(res.body.error.details[0].path, 'amount');
    t.is(await count(h.db, app.merchant.id), 0);
    t.is((await h.db('order_items').whereIn('order_id', h.db('orders').select('id').where({ merchant_id: app.merchant.id }))).length, 0);
  });
});

dbTest('provider unreachable at creation: 502, nothing kept, and the same request succeeds later', async (t, h) => {
  await withApp(t, h, async (app) => {
    const provider = app.deps.registry.find('fakepay')!;
    const stub = sinon.stub(provider, 'create').rejects(new ProviderUnavailableError('fakepay create: connection refused'));
    const body = paymentBody();
    const key = { 'idempotency-key': `down-${Math.random()}` };
    try {
      const down = await app.api('POST', '/v1/payments', body, key);
      t.is(down.status, 502);
      t.is(down.body.error.code, 'provider_unavailable');
      t.is(await count(h.db, app.merchant.id), 0);
    } finally {
      stub.restore();
    }
    const again = await app.api('POST', '/v1/payments', body, key);
    t.is(again.status, 201, again.text);
    t.is(again.headers.get('idempotent-replayed'), null);
    t.is(await count(h.db, app.merchant.id), 1);
  });
});

dbTest('the same body with its keys in another order is the same idempotent request', async (t, h) => {
  await withApp(t, h, async (app) => {
    const body = paymentBody();
    const reversed = Object.fromEntries(Object.entries(body).reverse());
    const key = { 'idempotency-key': `order-${Math.random()}` };
    const first = await app.api('POST', '/v1/payments', body, key);
    const second = await app.api('POST', '/v1/payments', reversed, key);
    t.is(second.status, 201);
    t.is(second.body.id, first.body.id);
  });
});

dbTest('crafted cursors, empty filters and wrong methods answer in the JSON error shape', async (t, h) => {
  await withApp(t, h, async (app) => {
    const crafted = Buffer.from('{"c":1e400,"i":"x"}').toString('base64url');
    const res = await app.api('GET', `/v1/payments?cursor=${crafted}`);
    t.is(res.status, 400);
    t.is(res.body.error.details[0].path, 'cursor');
    const empty = await app.api('GET', '/v1/payments?status=&provider=&from=&to=');
    t.is(empty.status, 200);
    const put = await app.api('PUT', '/v1/payments', {});
    t.is(put.status, 405);
    t.is(put.body.error.code, 'method_not_allowed');
  });
});

dbTest('metadata: stored as given, returned, listed and carried in events; too many or too long is a 400 naming the field', async (t, h) => {
  await withApp(t, h, async (app) => {
    const json = '{"cartId":"c-42","note 備註":"送禮用","constructor":"a key like any other","empty":""}';
    const res = await app.api('POST', '/v1/payments', { ...paymentBody(), metadata: JSON.parse(json) });
    t.is(res.status, 201, res.text);
    t.deepEqual(Object.entries(res.body.metadata).sort(), Object.entries(JSON.parse(json) as Record<string, string>).sort());
    t.is(Object.getPrototypeOf(res.body.metadata), Object.prototype);
    t.deepEqual((await app.api('GET', `/v1/payments/${res.body.id}`)).body.metadata, res.body.metadata);
    await app.control('pay', res.body.orderNo);
    const events = await h.db('events').where({ order_id: res.body.id });
    t.true(events.length > 0);
    for (const e of events) t.deepEqual(JSON.parse(e.payload_json).data.payment.metadata, res.body.metadata);

    const none = await app.api('POST', '/v1/payments', paymentBody());
    t.deepEqual(none.body.metadata, {});

    const before = await count(h.db, app.merchant.id);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    for (const [bad, path] of [
      [many, 'metadata'],
      [{ k: 'x'.repeat(501) }, 'metadata.k'],
      [{ ['k'.repeat(41)]: 'v' }, 'metadata'],
      [{ k: 1 }, 'metadata.k'],
      [['a'], 'metadata'],
    ] as const) {
      const refused = await app.api('POST', '/v1/payments', { ...paymentBody(), metadata: bad });
      t.is(refused.status, 400, JSON.stringify(bad).slice(0, 60));
      t.true(refused.body.error.details.some((d: { path: string }) => d.path.startsWith(path)), refused.text);
    }
    // A "__proto__" key is refused by the body parser before anything reads it.
    const proto = await app.api('POST', '/v1/payments', { ...paymentBody(), metadata: JSON.parse('{"__proto__":"x"}') });
    t.is(proto.status, 400);
    t.is(await count(h.db, app.merchant.id), before);
  });
});
