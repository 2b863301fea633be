/**
 * Property-based fuzzing (fast-check) of every public endpoint, the merchant API and the callback
 * endpoints of every provider: no answer ≥ 500, no crash, and no row written by a rejected merchant
 * request (callbacks are kept for audit by design; they must never move an order).
 */
import fc from 'fast-check';
import { alipayModule } from '../../providers/alipay/index.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import { figure, size } from './size.ts';

const RUNS = size(60, 600);

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.constantFrom(-1, 0, 1.5, 1e308, Number.MAX_SAFE_INTEGER + 2, '79900', '', ' ', '\u0000', '%', "'", '<script>', '__proto__'),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Valid payment bodies with one field broken or replaced: the interesting neighbourhood. */
const paymentLike = fc.record({
  field: fc.constantFrom('merchantOrderId', 'currency', 'amount', 'items', 'provider', 'method', 'account', 'subject', 'returnUrl', 'expiresInMinutes', 'extra'),
  value: jsonValue,
  drop: fc.boolean(),
});

const rawBody = fc.oneof(
  fc.string({ maxLength: 300 }),
  jsonValue.map((v) => JSON.stringify(v)),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 40 }), { maxKeys: 8 }).map((d) => new URLSearchParams(d).toString()),
);
const contentType = fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'text/plain', 'application/octet-stream', '');

async function counts(app: TestApp, h: { db: any }) {
  const [orders, refunds] = await Promise.all([
    h.db('orders').where({ merchant_id: app.merchant.id }).count({ n: '*' }).first(),
    h.db('refunds').where({ merchant_id: app.merchant.id }).count({ n: '*' }).first(),
  ]);
  return { orders: Number(orders.n), refunds: Number(refunds.n) };
}

dbTest(`fuzzing every public endpoint (${RUNS} runs each): no 5xx, no rows from rejected requests`, async (t, h) => {
  t.timeout(20 * 60_000);
  const app = await startApp(h, {
    modules: [fakePayModule(), sinopacModule({ simulator: { atmAutoPayMs: null } }), alipayModule()],
  });
  let requests = 0;
  const fiveHundreds: string[] = [];
  const check = (label: string, res: { status: number; text: string }) => {
    requests++;
    if (res.status >= 500) fiveHundreds.push(`${label} → ${res.status} ${res.text.slice(0, 200)}`);
  };
  try {
    const paid = await app.api('POST', '/v1/payments', paymentBody({ amount: 10000, items: [{ sku: 'A', name: 'Tea', unitAmount: 10000, quantity: 1 }] }));
    await app.control('pay', paid.body.orderNo);
    const paidBefore = await h.db('orders').where({ id: paid.body.id }).first();

    // POST /v1/payments: a rejected request writes nothing.
    await fc.assert(
      fc.asyncProperty(paymentLike, async ({ field, value, drop }) => {
        const body: Record<string, unknown> = paymentBody();
        if (drop) delete body[field];
        else body[field] = value;
        const before = await counts(app, h);
        const res = await app.api('POST', '/v1/payments', body);
        check('POST /v1/payments', res);
        if (res.status >= 400) {
          const after = await counts(app, h);
          if (after.orders !== before.orders) throw new Error(`a rejected create wrote an order: ${res.text}`);
        }
      }),
      { numRuns: RUNS },
    );
    // Any body at all, any content type.
    await fc.assert(
      fc.asyncProperty(rawBody, contentType, async (body, type) => {
        const before = await counts(app, h);
        const res = await app.raw('POST', '/v1/payments', { body, headers: { authorization: `Bearer ${app.merchant.apiKey}`, ...(type ? { 'content-type': type } : {}) } });
        check('POST /v1/payments (raw)', res);
        if (res.status >= 400 && (await counts(app, h)).orders !== before.orders) throw new Error('a rejected raw create wrote an order');
      }),
      { numRuns: RUNS },
    );
    // Refunds and cancel on a paid order: rejected ones write no refund.
    await fc.assert(
      fc.asyncProperty(jsonValue, fc.constantFrom('refunds', 'cancel'), async (value, what) => {
        const before = await counts(app, h);
        const body = what === 'refunds' ? (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { amount: value }) : value;
        const res = await app.api('POST', `/v1/payments/${paid.body.id}/${what}`, body);
        check(`POST /v1/payments/:id/${what}`, res);
        if (res.status >= 400 && (await counts(app, h)).refunds !== before.refunds) throw new Error(`a rejected ${what} wrote a refund`);
      }),
      { numRuns: RUNS },
    );
    // Query strings and ids.
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom('status', 'provider', 'from', 'to', 'limit', 'cursor', 'type', 'x'), fc.string({ maxLength: 30 }), { maxKeys: 4 }), fc.string({ maxLength: 40 }), async (query, id) => {
        const qs = new URLSearchParams(query).toString();
        check('GET /v1/payments', await app.api('GET', `/v1/payments?${qs}`));
        check('GET /v1/events', await app.api('GET', `/v1/events?${qs}`));
        const safeId = encodeURIComponent(id);
        check('GET /v1/payments/:id', await app.api('GET', `/v1/payments/${safeId}`));
        check('GET /v1/events/:id', await app.api('GET', `/v1/events/${safeId}`));
        check('POST /v1/events/:id/replay', await app.api('POST', `/v1/events/${safeId}/replay`, {}));
      }),
      { numRuns: RUNS },
    );
    // Every provider's callback endpoints with anything in them never move an order.
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('fakepay', 'sinopac', 'alipay', 'nopay'), fc.constantFrom('default', 'other'), fc.constantFrom('notify', 'return'), rawBody, contentType, fc.string({ maxLength: 60 }), async (provider, account, kind, body, type, query) => {
        const method = kind === 'return' && body.length % 2 === 0 ? 'GET' : 'POST';
        const res = await app.raw(method, `/callbacks/${provider}/${account}/${kind}?${encodeURIComponent(query)}`, method === 'GET' ? {} : { body, headers: type ? { 'content-type': type } : {} });
        check(`${method} /callbacks/${provider}/${account}/${kind}`, res);
      }),
      { numRuns: RUNS * 2 },
    );
    figure(`fuzz [${h.kind}]`, { requests, fiveHundreds: fiveHundreds.length });
    t.deepEqual(fiveHundreds, [], 'no answer ≥ 500');
    const paidAfter = await h.db('orders').where({ id: paid.body.id }).first();
    t.is(paidBefore.status, 'paid');
    t.true(['paid', 'partially_refunded', 'refunded'].includes(paidAfter.status), 'the paid order stayed paid (or got refunds through the API)');
  } finally {
    await app.close();
  }
});
