/**
 * The webhooks the OpenAPI document publishes are the webhooks paygate sends: a real payment on the
 * simulator goes paid and refunded, the delivery job POSTs its events to a receiver started here,
 * and every captured body (and its headers) is validated against the published schema, as is the
 * GET /v1/events/{id} answer for each.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhookDeliveryJob } from '../../core/jobs/webhook-delivery.ts';
import { verifyWebhook } from '../../core/webhook-signature.ts';
import { paymentBody, withApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { documentValidator } from '../helpers/openapi-validator.ts';

interface Captured {
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function receiver(): Promise<{ url: string; received: Captured[]; close(): Promise<void> }> {
  const received: Captured[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/paygate`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

dbTest('real webhook bodies and GET /v1/events/{id} answers hold to the published schemas', async (t, h) => {
  const hook = await receiver();
  try {
    await withApp(t, h, async (app) => {
      await h.db('merchants').where({ id: app.merchant.id }).update({ webhook_url: hook.url });
      const secret = (await h.db('merchants').where({ id: app.merchant.id }).first('webhook_secret')).webhook_secret as string;

      const created = await app.api('POST', '/v1/payments', paymentBody({ amount: 79900, metadata: { customerId: 'C-20931' } }));
      t.is(created.status, 201, created.text);
      await app.control('pay', created.body.orderNo);
      const refund = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 39950, reason: '一件尺寸不合' });
      t.is(refund.status, 201, refund.text);
      t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'partially_refunded');

      // Deliver: the job the worker runs, until nothing is due.
      const job = webhookDeliveryJob(app.deps, `openapi-webhooks-${h.kind}`);
      for (let n = await job.run(), rounds = 0; n > 0 && rounds < 20; n = await job.run(), rounds++);

      const document = JSON.parse((await app.raw('GET', '/openapi.json')).text);
      const validator = documentValidator(document);
      const mine = hook.received.filter((r) => JSON.parse(r.body).data?.payment?.id === created.body.id);
      const types = mine.map((r) => String(r.headers['paygate-event-type']));
      t.true(types.includes('payment.paid'), types.join());
      t.true(types.includes('payment.refunded'), types.join());

      for (const request of mine) {
        const type = String(request.headers['paygate-event-type']);
        const body = JSON.parse(request.body);
        t.truthy(document.webhooks[type], `${type} is in the document's webhooks`);
        const at = ['webhooks', type, 'post'];
        t.deepEqual(validator.check([...at, 'requestBody', 'content', 'application/json', 'schema'], body), [], `${type} body`);
        t.deepEqual(validator.check(['components', 'schemas', 'WebhookEvent'], body), [], `${type} as any event`);
        // Each header the document describes is sent, in its described form.
        document.webhooks[type].post.parameters.forEach((p: any, i: number) => {
          const value = request.headers[p.name.toLowerCase()];
          if (p.required) t.is(typeof value, 'string', `${type} header ${p.name}`);
          if (typeof value === 'string') t.deepEqual(validator.check([...at, 'parameters', String(i), 'schema'], value), [], `${type} header ${p.name}: ${value}`);
        });
        t.is(request.headers['paygate-event-id'], body.id);
        t.true(verifyWebhook(request.body, String(request.headers['paygate-signature']), secret).ok, `${type} is signed as the document says`);

        const event = await app.api('GET', `/v1/events/${body.id}`);
        t.is(event.status, 200);
        t.deepEqual(validator.check(['paths', '/v1/events/{id}', 'get', 'responses', '200', 'content', 'application/json', 'schema'], event.body), [], `GET /v1/events/${body.id}`);
        t.is(event.body.delivery.status, 'delivered');
        const { delivery: _delivery, ...asSent } = event.body;
        t.deepEqual(asSent, body, 'the API shows the event as it was sent, plus its delivery');
      }
      const refunded = mine.find((r) => r.headers['paygate-event-type'] === 'payment.refunded')!;
      t.is(JSON.parse(refunded.body).data.refund.amount, 39950, 'the refund rides in its event');
    });
  } finally {
    await hook.close();
  }
});
