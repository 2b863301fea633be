import { EVENT_TYPES } from '../../core/outbox.ts';
import { SCHEMA_REF, type Json } from './document.ts';
import { EXAMPLE_IDS, webhookExample } from './examples.ts';
import { webhookSchemaName } from './views.ts';

/** When each event is sent, for the reader; a type added to EVENT_TYPES without a line here is named only. */
const WEBHOOK_WHEN: Record<string, string> = {
  'payment.pending': 'The payment was created at its provider and waits for the buyer (an ATM transfer, a card page)',
  'payment.paid': 'The money arrived. Fulfil the order (check `attention` first)',
  'payment.failed': 'The provider declined (`failure` says why); where the provider takes another try, the buyer may still pay and `payment.paid` follows',
  'payment.cancelled': 'Cancelled (by you, or closed at the provider) before any money arrived',
  'payment.expired': 'Its deadline passed without payment',
  'payment.refunded': 'Money went back to the buyer: `refundedAmount` and the status say how much in all, `refund` which refund',
  'payment.attention': 'A person must look at this payment (`reason`): money that arrived after a cancel, an amount that does not match...',
  'refund.pending': 'A refund the provider did not settle at once; its end follows as `payment.refunded` or `refund.failed`',
  'refund.failed': 'The provider refused a refund: nothing went back to the buyer (`refund.failure` says why)',
};

/**
 * OpenAPI 3.1 `webhooks`: what paygate POSTs to the merchant's `webhook_url` (core/webhooks.ts),
 * one entry per event type in core/outbox.ts EVENT_TYPES (a type added there appears here), each
 * with its headers, its body schema (views.ts) and an example body. The contract in words is
 * docs/webhooks.md.
 */
export function buildWebhooks(serverUrl: string): Json {
  const headers: Json[] = [
    {
      name: 'Paygate-Signature',
      in: 'header',
      required: true,
      description:
        '`t=<unix seconds of this attempt>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the merchant’s webhook secret>`. ' +
        'Verify it on the raw bytes before parsing (`verifyWebhook(rawBody, header, secret)` in core/webhook-signature.ts): ' +
        'compare in constant time, accept any of several `v1=` values (a secret being rotated), and refuse a `t` more than 300 seconds away from now.',
      // Schemes after v1 may come one day (docs/webhooks.md, "The signature"): the pattern leaves room for them.
      schema: { type: 'string', pattern: '^t=\\d+(,v1=[0-9a-f]{64})+(,[a-z][a-z0-9]*=[^,]+)*$' },
      example: 't=1796286963,v1=5f0c3a1e9b7d2c4a6e8f0b1d3c5a7e9f1b3d5c7a9e1f3b5d7c9a1e3f5b7d9c1a',
    },
    { name: 'Paygate-Event-Id', in: 'header', required: true, description: 'The event’s `id`: deduplicate on it (delivery is at least once)', schema: { type: 'string' }, example: EXAMPLE_IDS.event },
    { name: 'Paygate-Event-Type', in: 'header', required: true, description: 'The event’s `type`', schema: { type: 'string', enum: [...EVENT_TYPES] } },
    { name: 'User-Agent', in: 'header', required: false, description: 'paygate’s webhook sender and its version', schema: { type: 'string' }, example: 'paygate-webhooks/1' },
  ];
  return Object.fromEntries(
    EVENT_TYPES.map((type) => {
      const name = webhookSchemaName(type);
      const withType = headers.map((h) => (h.name === 'Paygate-Event-Type' ? { ...h, example: type } : h));
      return [
        type,
        {
          post: {
            operationId: `webhook_${type.replace(/\W+/g, '_')}`,
            tags: ['Events'],
            summary: WEBHOOK_WHEN[type] ?? `\`${type}\``,
            description:
              'A JSON POST of the event, byte for byte as stored and signed. Answer any 2xx; anything else (or no answer within 10 seconds) ' +
              'is retried after 30 s, 1 min, 2 min, 5 min, 10 min, 30 min, 1 h, 2 h, 4 h, 6 h and 10 h, then the event is `failed` ' +
              '(`POST /v1/events/{id}/replay` sends it again). Redirects are not followed.',
            parameters: withType,
            requestBody: { required: true, content: { 'application/json': { schema: { $ref: `${SCHEMA_REF}${name}` }, examples: { example: { value: webhookExample(type, serverUrl) } } } } },
            responses: {
              '2XX': { description: 'Received: the event is `delivered`' },
              default: { description: 'Anything else: the event is tried again on the schedule above' },
            },
          },
        },
      ];
    }),
  );
}
