/**
 * What docs/webhooks.md says about Idempotency-Key, held to the code: per merchant, across
 * endpoints, the same request is method + path + JSON body (key order aside), the same request replayed for ever, another request
 * refused for 24 hours.
 */
import { beginIdempotent, completeIdempotent, IDEMPOTENCY_RETENTION_MS, requestHash } from '../../core/idempotency.ts';
import { createMerchant } from '../../core/merchants.ts';
import { dbTest } from '../helpers/db.ts';

dbTest('an idempotency key is per merchant, covers every endpoint, and may be taken by another request after 24 hours, never by the same one', async (t, h) => {
  const a = (await createMerchant(h.db, { name: 'Key shop A' })).merchant.id;
  const b = (await createMerchant(h.db, { name: 'Key shop B' })).merchant.id;
  const at = new Date('2026-12-01T00:00:00Z');
  const hash = requestHash('POST', '/v1/payments', { amount: 1, currency: 'TWD' });
  t.is(requestHash('POST', '/v1/payments', { currency: 'TWD', amount: 1 }), hash, 'key order in the body does not matter');

  const first = await beginIdempotent(h.db, a, 'order-1001', hash, at);
  t.is(first.kind, 'started');
  await completeIdempotent(h.db, (first as { id: number }).id, 201, '{"id":"pay_1"}');

  t.deepEqual(await beginIdempotent(h.db, a, 'order-1001', hash, new Date(at.getTime() + 60_000)), { kind: 'replay', status: 201, body: '{"id":"pay_1"}' });
  t.is((await beginIdempotent(h.db, b, 'order-1001', hash, at)).kind, 'started', 'another merchant has its own keys');
  const elsewhere = requestHash('POST', '/v1/payments/pay_1/cancel', { amount: 1, currency: 'TWD' });
  const conflict = await t.throwsAsync(beginIdempotent(h.db, a, 'order-1001', elsewhere, at));
  t.is((conflict as { code?: string }).code, 'idempotency_key_reused', 'one key, one request, whatever the endpoint');

  const justBefore = new Date(at.getTime() + IDEMPOTENCY_RETENTION_MS - 1);
  t.is((await beginIdempotent(h.db, a, 'order-1001', hash, justBefore)).kind, 'replay');
  const after = new Date(at.getTime() + IDEMPOTENCY_RETENTION_MS);
  const muchLater = new Date(at.getTime() + 30 * IDEMPOTENCY_RETENTION_MS);
  t.deepEqual(
    await beginIdempotent(h.db, a, 'order-1001', hash, muchLater),
    { kind: 'replay', status: 201, body: '{"id":"pay_1"}' },
    'the same request replays however late it is retried: a refund is never made twice',
  );
  const fresh = await beginIdempotent(h.db, a, 'order-1001', elsewhere, after);
  t.is(fresh.kind, 'started', 'after 24 hours another request may take the key over');
  t.is(await h.db('idempotency_keys').where({ merchant_id: a, key: 'order-1001' }).count({ n: '*' }).first().then((r: any) => Number(r.n)), 1);
});
