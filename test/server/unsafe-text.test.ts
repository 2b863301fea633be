/**
 * Issue 13 item 7: NUL and unpaired UTF-16 surrogates in anything a merchant sends are refused with
 * a field error (core/validation.ts). Before, they were stored: a NUL byte for byte, a lone
 * surrogate as U+FFFD on MariaDB and as bytes that are not UTF-8 on SQLite.
 */
import test from 'ava';
import { unsafeTextDetails } from '../../core/validation.ts';
import { paymentBody, withApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

const NUL = 'a\u0000b';
const HIGH = 'a\uD800b';
const LOW = '\uDC00z';

test('the walk finds NUL and lone surrogates anywhere, names the field, and takes paired surrogates', (t) => {
  t.deepEqual(unsafeTextDetails({ a: [{ b: NUL }, 'ok'], c: HIGH, d: 'emoji \uD83D\uDE00 ok', e: 1, f: null }), [
    { path: 'a.0.b', message: 'must not contain a NUL character (\\u0000)' },
    { path: 'c', message: 'must not contain an unpaired UTF-16 surrogate (not valid Unicode)' },
  ]);
  t.deepEqual(unsafeTextDetails({ [`k${NUL}`]: 'v' }).map((d) => d.path), ['(a field name)']);
  t.deepEqual(unsafeTextDetails(LOW, ['query']).map((d) => d.path), ['query']);
  // 100,000 nested arrays: no stack overflow, no quadratic path copies.
  let deep: unknown = HIGH;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.is(unsafeTextDetails(deep).length, 1);
});

dbTest('create-payment refuses NUL and lone surrogates in every text field with a 400 naming it, and stores nothing', async (t, h) => {
  await withApp(t, h, async (app) => {
    const hosted = (o: Record<string, unknown>) => {
      const body = paymentBody(o);
      delete body.provider;
      delete body.method;
      return body;
    };
    const cases: [string, Record<string, unknown>][] = [
      ['items.0.name', paymentBody({ items: [{ sku: 'S', name: NUL, unitAmount: 79900, quantity: 1 }] })],
      ['items.0.name', paymentBody({ items: [{ sku: 'S', name: HIGH, unitAmount: 79900, quantity: 1 }] })],
      ['items.0.sku', paymentBody({ items: [{ sku: LOW, name: 'Tea', unitAmount: 79900, quantity: 1 }] })],
      ['subject', paymentBody({ subject: `Tea${NUL}` })],
      ['subject', paymentBody({ subject: `Tea${LOW}` })],
      ['merchantOrderId', paymentBody({ merchantOrderId: `M${Date.now()}\u0000` })],
      ['returnUrl', paymentBody({ returnUrl: `https://shop.example/${HIGH}` })],
      ['provider', paymentBody({ provider: `fakepay${NUL}` })],
      ['choices.0.account', hosted({ choices: [{ provider: 'fakepay', account: HIGH, method: 'card' }] })],
    ];
    for (const [field, body] of cases) {
      const res = await app.api('POST', '/v1/payments', body);
      t.is(res.status, 400, `${field}: ${res.text}`);
      t.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), [field], field);
      t.regex(res.body.error.details[0].message, /NUL character|unpaired UTF-16 surrogate/, field);
      t.false(res.text.includes('\u0000'), 'the bad text is not echoed');
    }
    const stored = await h.db('orders').where({ merchant_id: app.merchant.id }).count({ n: '*' }).first();
    t.is(Number(stored?.n), 0, 'no order was written');

    // Well-formed text outside the BMP (a surrogate pair) is fine, and comes back as sent.
    const name = 'Tea \uD83C\uDF75 烏龍';
    const ok = await app.api('POST', '/v1/payments', paymentBody({ items: [{ sku: 'T', name, unitAmount: 79900, quantity: 1 }], subject: name }));
    t.is(ok.status, 201, ok.text);
    t.is((await h.db('order_items').where({ order_id: ok.body.id }).first()).name, name);
    t.is((await h.db('orders').where({ id: ok.body.id }).first()).subject, name);

    // The other bodies and queries that go through the same parser.
    const cancel = await app.api('POST', `/v1/payments/${ok.body.id}/cancel`, { reason: NUL });
    t.is(cancel.status, 400, cancel.text);
    t.is(cancel.body.error.details[0].path, 'reason');
    t.is((await h.db('orders').where({ id: ok.body.id }).first()).status, 'pending');
    const refund = await app.api('POST', `/v1/payments/${ok.body.id}/refunds`, { amount: 1, reason: HIGH });
    t.is(refund.status, 400, refund.text);
    t.is(refund.body.error.details[0].path, 'reason');
    const list = await app.api('GET', '/v1/payments?provider=%00');
    t.is(list.status, 400, list.text);
    t.is(list.body.error.details[0].path, 'provider');
  });
});
