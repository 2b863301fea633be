/**
 * Merchant isolation: every merchant endpoint, called by merchant B with merchant A's ids, is a
 * 404 that changes nothing; B's lists never show A's objects.
 */
import { paymentBody, withApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { figure } from './size.ts';

dbTest("every merchant endpoint with another merchant's ids → 404, nothing changed", async (t, h) => {
  await withApp(t, h, async (app) => {
    // A's objects: a paid payment with a refund, and its events.
    const created = await app.api('POST', '/v1/payments', paymentBody({ amount: 10000, items: [{ sku: 'A', name: 'Tea', unitAmount: 10000, quantity: 1 }] }));
    await app.control('pay', created.body.orderNo);
    const refund = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 100 });
    t.is(refund.status, 201);
    const events = await app.api('GET', '/v1/events');
    t.true(events.body.data.length >= 2);
    const eventId = events.body.data[0].id as string;
    const before = await h.db('orders').where({ id: created.body.id }).first();

    const calls: [string, string, unknown?][] = [
      ['GET', `/v1/payments/${created.body.id}`],
      ['POST', `/v1/payments/${created.body.id}/cancel`, {}],
      ['POST', `/v1/payments/${created.body.id}/refunds`, { amount: 100 }],
      ['GET', `/v1/payments/${created.body.id}/refunds`],
      ['GET', `/v1/events/${eventId}`],
      ['POST', `/v1/events/${eventId}/replay`, {}],
    ];
    let notFound = 0;
    for (const [method, path, body] of calls) {
      const res = await app.api(method, path, body, {}, app.other);
      t.is(res.status, 404, `${method} ${path}: ${res.text}`);
      if (res.status === 404) notFound++;
    }
    const listed = await app.api('GET', '/v1/payments', undefined, {}, app.other);
    t.false(listed.body.data.some((p: { id: string }) => p.id === created.body.id));
    const otherEvents = await app.api('GET', '/v1/events', undefined, {}, app.other);
    t.false(otherEvents.body.data.some((e: { id: string }) => e.id === eventId));
    t.deepEqual(await h.db('orders').where({ id: created.body.id }).first(), before, 'nothing changed');
    t.is((await h.db('refunds').where({ order_id: created.body.id })).length, 1);
    figure(`isolation [${h.kind}]`, { endpoints: calls.length, notFound });
  });
});
