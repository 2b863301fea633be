import { z } from 'zod';
import { cancelPaymentInput, createPaymentInput, createRefundInput } from '../../core/api-schemas.ts';
import { DELIVERY_STATUSES } from '../../core/events.ts';
import { EVENT_TYPES, type EventType } from '../../core/outbox.ts';
import { ORDER_STATUSES } from '../../core/state-machine.ts';

/**
 * What the API answers, as zod schemas, and the schemas the OpenAPI document names. The services
 * build these answers as TypeScript types; the test parses live answers with these schemas (strict
 * objects), so a field added there without being documented here fails.
 */

const isoTime = z.iso.datetime();
const minorUnits = z.int().min(0).meta({ description: 'Integer minor units of `currency` (NT$799 is 79900)' });

export const errorBody = z.strictObject({
  error: z.strictObject({
    code: z.string().meta({ description: 'Stable, machine-readable: `invalid_request`, `not_found`, `duplicate_merchant_order_id`...' }),
    message: z.string(),
    details: z.array(z.strictObject({ path: z.string().meta({ description: 'Dotted field path, e.g. `items.0.quantity`' }), message: z.string() })),
    errorId: z.string().optional().meta({ description: 'On a 5xx only: quote it to the operator' }),
  }),
});

const failure = z.strictObject({ code: z.string(), message: z.string() }).nullable().meta({ description: "The provider's code and message for a decline" });

const nextAction = z
  .union([
    z.strictObject({ type: z.literal('redirect'), url: z.string().meta({ description: "Send the buyer's browser here" }) }),
    z.strictObject({
      type: z.literal('form'),
      method: z.enum(['POST', 'GET']),
      url: z.string(),
      fields: z.record(z.string(), z.string()).meta({ description: 'Submit these fields from the buyer’s browser, unchanged' }),
    }),
    z.strictObject({
      type: z.literal('instructions'),
      atm: z.strictObject({
        bankCode: z.string(),
        account: z.string().meta({ description: 'The virtual account to transfer to' }),
        amount: minorUnits,
        deadline: isoTime,
        webAtmUrl: z.string().optional(),
      }),
    }),
    z.strictObject({
      type: z.literal('instructions'),
      cvs: z
        .strictObject({
          code: z.string().optional().meta({ description: 'The payment code the buyer keys in at the store’s kiosk (7-ELEVEN ibon, FamilyMart FamiPort…)' }),
          barcodes: z.array(z.string()).optional().meta({ description: 'Barcode texts the cashier scans, in printed order (usually three)' }),
          stores: z.array(z.string()).optional().meta({ description: 'The store chains that take it, as buyers know them' }),
          amount: minorUnits,
          deadline: isoTime,
        })
        .meta({ description: 'A convenience-store payment: a code, barcodes, or both' }),
    }),
  ])
  .meta({ description: 'What the buyer does next; present only while it can still be used' });

export const paymentView = z.strictObject({
  id: z.string().meta({ description: 'paygate’s id (`pay_...`)' }),
  orderNo: z.string().meta({ description: 'The number the provider sees (20 characters, time-sortable)' }),
  merchantOrderId: z.string(),
  status: z.enum(ORDER_STATUSES),
  amount: minorUnits,
  refundedAmount: minorUnits,
  currency: z.string(),
  provider: z.string().nullable().meta({ description: 'null while a hosted checkout waits for the buyer’s choice' }),
  account: z.string().nullable(),
  method: z.string().nullable(),
  subject: z.string(),
  items: z
    .array(z.strictObject({ sku: z.string(), name: z.string(), unitAmount: minorUnits, quantity: z.int(), amount: minorUnits }))
    .optional()
    .meta({ description: 'On single payments, not in lists or events' }),
  providerTradeNo: z.string().nullable(),
  paidAt: isoTime.nullable(),
  attention: z.string().nullable().meta({ description: 'Why a person must look at this payment (paid after cancel, amount mismatch...)' }),
  metadata: z.record(z.string(), z.string()).meta({ description: 'The merchant’s own notes given at create (`{}` when none); carried in every event' }),
  simulated: z.boolean().meta({ description: 'Taken by a provider simulator (the demo or tests): no money moved, whatever the status says' }),
  failure,
  returnUrl: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  expiresAt: isoTime,
  action: nextAction.optional(),
  checkoutUrl: z.string().optional().meta({ description: 'The buyer’s signed page: the hosted checkout, ATM instructions or the result' }),
});

export const paymentList = z.strictObject({ data: z.array(paymentView), nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' }) });

export const refundView = z.strictObject({
  id: z.string(),
  refundNo: z.string().meta({ description: 'Our refund number: the provider’s idempotency key' }),
  paymentId: z.string(),
  amount: minorUnits,
  currency: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  reason: z.string().nullable(),
  providerRefundNo: z.string().nullable(),
  source: z.enum(['merchant', 'provider']).meta({ description: '`provider`: made in the provider\'s own back office and learned from its news; `merchant`: through the API or the dashboard' }),
  failure,
  createdAt: isoTime,
  updatedAt: isoTime,
});

/** The payment inside an event: as it was at the change, without what only a live answer carries. */
const eventPayment = paymentView.omit({ items: true, action: true, checkoutUrl: true });

/** What a change carries beside the payment (core/order-writer.ts), whatever the event's type. */
const eventData = z
  .strictObject({
    payment: eventPayment,
    from: z.enum(ORDER_STATUSES).optional().meta({ description: 'The status the payment left (on a change of status)' }),
    cause: z.string().optional().meta({ description: 'Why it changed, in words for people (not a stable code)' }),
    refund: refundView.optional().meta({ description: 'The refund this event is about' }),
    reason: z.string().nullable().optional().meta({ description: 'Why a person must look at the payment (`payment.attention`)' }),
  })
  .meta({ description: 'The payment as it was, plus what the change carries' });

type DataField = 'from' | 'cause' | 'refund' | 'reason';

/**
 * What each type always carries beside the payment (core/order-writer.ts, core/refunds.ts): a
 * change of status says where from and why; attention says why; a refund event carries its refund.
 * `payment.refunded` carries its refund where one of paygate's refund rows is behind it.
 */
const DATA_ALWAYS: Partial<Record<string, readonly DataField[]>> = {
  'payment.pending': ['from', 'cause'],
  'payment.paid': ['from', 'cause'],
  'payment.failed': ['from', 'cause'],
  'payment.cancelled': ['from', 'cause'],
  'payment.expired': ['from', 'cause'],
  'payment.attention': ['reason'],
};

/** The body of a webhook POST for one event type: the event exactly as it is stored and signed. */
export function webhookEventBody(type: EventType) {
  const always = DATA_ALWAYS[type] ?? (type.startsWith('refund.') ? (['refund'] as const) : []);
  return z.strictObject({
    id: z.string().meta({ description: '`evt_...`; also the `Paygate-Event-Id` header' }),
    type: z.literal(type),
    createdAt: isoTime,
    data: always.length ? eventData.required(Object.fromEntries(always.map((f) => [f, true])) as Record<DataField, true>) : eventData,
  });
}

/** Any webhook body (the type is one of EVENT_TYPES). */
export const webhookEvent = z.strictObject({
  id: z.string().meta({ description: '`evt_...`; also the `Paygate-Event-Id` header of its webhook' }),
  type: z.enum(EVENT_TYPES),
  createdAt: isoTime,
  data: eventData,
});

/** An event through the API: the webhook body plus where its delivery stands. */
export const eventView = webhookEvent.extend({
  delivery: z.strictObject({
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.int(),
    deliveredAt: isoTime.nullable(),
    nextAttemptAt: isoTime.nullable(),
  }),
});

/** `payment.paid` → `PaymentPaidEvent`: the component name of one event type's webhook body. */
export function webhookSchemaName(type: string): string {
  return `${type.split(/[._-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Event`;
}

export const healthBody = z.strictObject({ status: z.literal('ok') });
export const readyBody = z.strictObject({ status: z.literal('ready') });
export const unreadyBody = z.strictObject({
  status: z.literal('unavailable'),
  /** With provider_misconfigured: how many accounts (which ones are in the log and on the dashboard, not here). */
  rejectedAccounts: z.number().int().min(1).optional(),
  error: errorBody.shape.error,
});

export const providerAccountView = z.strictObject({
  provider: z.string().meta({ description: 'Pass as `provider` when creating a payment' }),
  account: z.string().meta({ description: 'Pass as `account` (or leave it out for the provider’s default account)' }),
  displayName: z.string(),
  methods: z.array(z.string()).meta({ description: 'Pass one as `method`' }),
  currencies: z.array(z.string()),
  default: z.boolean().meta({ description: 'Whether this is the provider’s default account' }),
  simulated: z.boolean().meta({ description: 'True on the demo: a simulator, no real money' }),
  refundMethods: z.array(z.string()).meta({ description: 'The methods whose payments can be refunded (empty: refunds are refused with `refund_unsupported`)' }),
  cancelsAtProvider: z.boolean().meta({ description: 'Whether cancelling a pending payment also closes it at the provider' }),
});

/** Named schemas: components/schemas in the document, `$ref`'d wherever they are used. */
export const REQUEST_SCHEMAS: Record<string, z.ZodType> = {
  CreatePaymentRequest: createPaymentInput,
  CancelPaymentRequest: cancelPaymentInput,
  CreateRefundRequest: createRefundInput,
};
export const RESPONSE_SCHEMAS: Record<string, z.ZodType> = {
  Payment: paymentView,
  PaymentList: paymentList,
  Refund: refundView,
  RefundList: z.strictObject({ data: z.array(refundView) }),
  Event: eventView,
  WebhookEvent: webhookEvent,
  EventData: eventData,
  EventPayment: eventPayment,
  ...Object.fromEntries(EVENT_TYPES.map((type) => [webhookSchemaName(type), webhookEventBody(type)])),
  EventList: z.strictObject({ data: z.array(eventView), nextCursor: z.string().nullable() }),
  ProviderAccount: providerAccountView,
  ProviderList: z.strictObject({ data: z.array(providerAccountView) }),
  Error: errorBody,
  Health: healthBody,
  Ready: readyBody,
  Unready: unreadyBody,
};

/** What zod cannot say about request fields (dotted paths; `items.unitAmount` is inside the array). */
export const FIELD_NOTES: Record<string, Record<string, string>> = {
  CreatePaymentRequest: {
    merchantOrderId: 'Your order id, unique per merchant',
    amount: 'Integer minor units; must equal the sum of `unitAmount × quantity`',
    'items.unitAmount': 'Integer minor units',
    provider: 'With `method`: the payment starts at this provider at once. Leave both out for a hosted checkout',
    method: 'One of the provider account’s methods (`atm`, `card`, `page`...)',
    account: 'The provider account; its default account when left out. Needs `provider`',
    choices: 'Hosted checkout only: the ways to pay offered to the buyer (default: every account that takes the currency)',
    subject: 'Shown to the buyer; defaults from the items',
    returnUrl: 'An http(s) URL: where the result page sends the buyer back',
    expiresInMinutes: 'Default 1,440 (one day)',
  },
  CreateRefundRequest: { amount: 'Integer minor units; partial refunds allowed, never more than what is left' },
};
