import Router from '@koa/router';
import { z } from 'zod';
import { cancelPaymentInput, createPaymentInput, createRefundInput, listPaymentsQuery } from '../../core/api-schemas.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { DELIVERY_STATUSES, listEventsQuery } from '../../core/events.ts';
import { IDEMPOTENCY_KEY } from '../../core/idempotency.ts';
import { EVENT_TYPES } from '../../core/outbox.ts';
import { ORDER_STATUSES } from '../../core/state-machine.ts';
import { escapeHtml } from '../views/html.ts';

/**
 * GET /openapi.json (OpenAPI 3.1) and GET /docs (the same document as a page). Request bodies and
 * query parameters come from the zod schemas the routes validate with, so a change there shows here
 * at once; what zod cannot say (summaries, answers, auth) is in the tables below. The test
 * (test/server/openapi.test.ts) fails when the app registers a route this document does not have.
 *
 * Adding a route: a JSON route gets an OPERATIONS entry (its zod body or `null`, its answers); an
 * HTML page under /checkout or /admin needs one line in HTML_PAGES.
 */

// ---------------------------------------------------------------------------------------------
// What the API answers. The services build these as TypeScript types; the test parses live answers
// with these schemas (strict objects), so a field added there without being documented here fails.

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
  .discriminatedUnion('type', [
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
  failure,
  returnUrl: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  expiresAt: isoTime,
  action: nextAction.optional(),
  checkoutUrl: z.string().optional().meta({ description: 'The buyer’s signed page: the hosted checkout, ATM instructions or the result' }),
});

const paymentList = z.strictObject({ data: z.array(paymentView), nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' }) });

export const refundView = z.strictObject({
  id: z.string(),
  refundNo: z.string().meta({ description: 'Our refund number: the provider’s idempotency key' }),
  paymentId: z.string(),
  amount: minorUnits,
  currency: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  reason: z.string().nullable(),
  providerRefundNo: z.string().nullable(),
  failure,
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const eventView = z.strictObject({
  id: z.string().meta({ description: '`evt_...`; also the `Paygate-Event-Id` header of its webhook' }),
  type: z.enum(EVENT_TYPES),
  createdAt: isoTime,
  data: z
    .looseObject({ payment: paymentView })
    .meta({ description: 'The payment as it was, plus what the change carries (`from`, `cause`, `refund`, `reason`)' }),
  delivery: z.strictObject({
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.int(),
    deliveredAt: isoTime.nullable(),
    nextAttemptAt: isoTime.nullable(),
  }),
});

const healthBody = z.strictObject({ status: z.literal('ok') });
const readyBody = z.strictObject({ status: z.literal('ready') });
const unreadyBody = z.strictObject({ status: z.literal('unavailable'), error: errorBody.shape.error });

/** Named schemas: components/schemas in the document, `$ref`'d wherever they are used. */
const REQUEST_SCHEMAS: Record<string, z.ZodType> = {
  CreatePaymentRequest: createPaymentInput,
  CancelPaymentRequest: cancelPaymentInput,
  CreateRefundRequest: createRefundInput,
};
const RESPONSE_SCHEMAS: Record<string, z.ZodType> = {
  Payment: paymentView,
  PaymentList: paymentList,
  Refund: refundView,
  RefundList: z.strictObject({ data: z.array(refundView) }),
  Event: eventView,
  EventList: z.strictObject({ data: z.array(eventView), nextCursor: z.string().nullable() }),
  Error: errorBody,
  Health: healthBody,
  Ready: readyBody,
  Unready: unreadyBody,
};

/** What zod cannot say about request fields (dotted paths; `items.unitAmount` is inside the array). */
const FIELD_NOTES: Record<string, Record<string, string>> = {
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

// ---------------------------------------------------------------------------------------------
// The operations.

type Auth = 'merchant' | 'metrics' | 'operator' | 'buyerLink' | 'provider' | 'none';
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

const AUTH_TEXT: Record<Auth, string> = {
  merchant: 'Merchant API key: `Authorization: Bearer <api key>`',
  metrics: '`Authorization: Bearer <PAYGATE_METRICS_TOKEN>` when that variable is set; open when it is not',
  operator: 'Dashboard operators: the signed-in session (PAYGATE_ADMIN_USER / PAYGATE_ADMIN_PASSWORD)',
  buyerLink: 'None: the signed, expiring link itself (`?e=&s=`) is the authority',
  provider: 'None: the provider’s own signature (or token exchange) is verified before anything is applied',
  none: 'None',
};

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  merchant: [{ merchantApiKey: [] }],
  metrics: [{ metricsToken: [] }, {}],
  operator: [{ operatorSession: [] }],
  buyerLink: [],
  provider: [],
  none: [],
};

interface Reply {
  description: string;
  /** A JSON body: one of the named schemas above. */
  json?: z.ZodType;
  /** Any other body, by media type. */
  media?: string;
}

/** A body that is not ours to describe (a provider's own request). */
interface ForeignBody {
  media: string;
  description: string;
}

interface Operation {
  method: Method;
  /** OpenAPI template: `/v1/payments/{id}`. */
  path: string;
  id: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  /** Every `{name}` in the path, described. */
  params?: Record<string, string>;
  /** The zod object the route parses its query with: one parameter per property. */
  query?: z.ZodObject;
  queryNotes?: Record<string, string>;
  /** The zod schema the route parses its JSON body with, or null when it takes none. */
  body: z.ZodType | null | ForeignBody;
  /** The answers; the errors every route of its kind can give are added (standardErrors). */
  responses: Record<string, Reply>;
}

const TAGS: { name: string; description: string }[] = [
  { name: 'Payments', description: 'Create, read, list and cancel payments. Amounts are integer minor units everywhere.' },
  { name: 'Refunds', description: 'Full or partial refunds of a paid payment, where the provider supports them.' },
  { name: 'Events', description: 'Every change of a payment is an event, also POSTed to the merchant’s webhook (signed, retried for about a day).' },
  { name: 'Provider callbacks', description: 'Provider-facing: server-to-server notifies and the buyer’s browser coming back. Each provider speaks its own protocol; paygate answers in its words.' },
  { name: 'Buyer pages', description: 'HTML pages for the buyer’s browser, reached through signed links.' },
  { name: 'Dashboard', description: 'HTML pages for operators under /admin.' },
  { name: 'Operations', description: 'Health, readiness, metrics and this documentation.' },
];

const PAYMENT_ID = { id: 'The payment’s `id` (`pay_...`)' };
const CALLBACK_PARAMS = { provider: 'The provider’s id', account: 'The provider account’s id from configuration' };

const OPERATIONS: Operation[] = [
  {
    method: 'post', path: '/v1/payments', id: 'createPayment', tag: 'Payments', auth: 'merchant',
    summary: 'Create a payment',
    description:
      'With `provider` and `method` the payment starts at that provider and the answer carries the buyer’s next `action`. ' +
      'Without them the payment waits on paygate’s hosted checkout (`checkoutUrl`), where the buyer picks one of `choices`. ' +
      'A decline by the provider is a 201 with status `failed`, not an error.',
    body: createPaymentInput,
    responses: {
      201: { description: 'The payment, with its `action` or `checkoutUrl`', json: paymentView },
      409: { description: '`duplicate_merchant_order_id`, or the `Idempotency-Key` was used with another request', json: errorBody },
      502: { description: '`provider_unavailable`: the provider could not be reached; nothing was kept, send the same request again', json: errorBody },
    },
  },
  {
    method: 'get', path: '/v1/payments', id: 'listPayments', tag: 'Payments', auth: 'merchant',
    summary: 'List payments, newest first',
    description: 'Keyset-paged: pass `nextCursor` back as `cursor`. An empty parameter (`?status=`) means no filter.',
    query: listPaymentsQuery,
    queryNotes: { from: 'Created at or after (ISO date or date-time)', to: 'Created before', limit: 'Page size, default 20' },
    body: null,
    responses: { 200: { description: 'One page', json: paymentList } },
  },
  {
    method: 'get', path: '/v1/payments/{id}', id: 'getPayment', tag: 'Payments', auth: 'merchant', params: PAYMENT_ID,
    summary: 'Get a payment',
    description: 'Its `action` only while the buyer can still use it.',
    body: null,
    responses: { 200: { description: 'The payment', json: paymentView } },
  },
  {
    method: 'post', path: '/v1/payments/{id}/cancel', id: 'cancelPayment', tag: 'Payments', auth: 'merchant', params: PAYMENT_ID,
    summary: 'Cancel an unpaid payment',
    description: 'Closes it at the provider where the provider can, then here. A payment that still lands afterwards becomes `paid` with `attention` set.',
    body: cancelPaymentInput,
    responses: {
      200: { description: 'The cancelled payment', json: paymentView },
      409: { description: '`not_cancellable` (paid, or refused by the provider), or an `Idempotency-Key` reused', json: errorBody },
    },
  },
  {
    method: 'post', path: '/v1/payments/{id}/refunds', id: 'createRefund', tag: 'Refunds', auth: 'merchant', params: PAYMENT_ID,
    summary: 'Refund a payment, fully or in part',
    body: createRefundInput,
    responses: {
      201: { description: 'The provider answered: the refund `succeeded` or `failed`', json: refundView },
      202: { description: 'The provider’s answer is not known yet: `pending`, its amount reserved', json: refundView },
      409: { description: '`refund_not_supported`, `not_refundable`, `refund_exceeds_payment`, or an `Idempotency-Key` reused', json: errorBody },
    },
  },
  {
    method: 'get', path: '/v1/payments/{id}/refunds', id: 'listRefunds', tag: 'Refunds', auth: 'merchant', params: PAYMENT_ID,
    summary: 'List a payment’s refunds',
    body: null,
    responses: { 200: { description: 'Oldest first', json: RESPONSE_SCHEMAS.RefundList } },
  },
  {
    method: 'get', path: '/v1/events', id: 'listEvents', tag: 'Events', auth: 'merchant',
    summary: 'List events, newest first, with their delivery state',
    query: listEventsQuery,
    queryNotes: { limit: 'Page size, default 20' },
    body: null,
    responses: { 200: { description: 'One page', json: RESPONSE_SCHEMAS.EventList } },
  },
  {
    method: 'get', path: '/v1/events/{id}', id: 'getEvent', tag: 'Events', auth: 'merchant', params: { id: 'The event’s `id` (`evt_...`)' },
    summary: 'Get an event',
    body: null,
    responses: { 200: { description: 'The event', json: eventView } },
  },
  {
    method: 'post', path: '/v1/events/{id}/replay', id: 'replayEvent', tag: 'Events', auth: 'merchant', params: { id: 'The event’s `id` (`evt_...`)' },
    summary: 'Send an event to the webhook again',
    description: 'Queued for delivery now, whatever its state; the retry schedule starts over. Takes no body.',
    body: null,
    responses: { 202: { description: 'The event, queued', json: eventView } },
  },
  {
    method: 'post', path: '/callbacks/{provider}/{account}/notify', id: 'providerNotify', tag: 'Provider callbacks', auth: 'provider', params: CALLBACK_PARAMS,
    summary: 'Server-to-server notify from a provider',
    description:
      'Stored raw before anything else, then verified by the provider’s adapter and applied. The answer is the provider’s own ' +
      'acknowledgement (`success`, `{"Status":"S"}`, `1|OK`...), sent only once the request is stored; when it could not be stored, the provider’s “try again”.',
    body: { media: '*/*', description: 'The provider’s own request, byte for byte (form fields, JSON or a query string)' },
    responses: {
      200: { description: 'The provider’s acknowledgement, or its “try again”, in its own format', media: '*/*' },
      400: { description: 'A request the provider’s adapter cannot read', json: errorBody },
      404: { description: 'No such provider or account', json: errorBody },
    },
  },
  ...(['get', 'post'] as const).map(
    (method): Operation => ({
      method, path: '/callbacks/{provider}/{account}/return', id: `providerReturn${method === 'get' ? 'Get' : 'Post'}`, tag: 'Provider callbacks', auth: 'provider', params: CALLBACK_PARAMS,
      summary: `The buyer’s browser back from the provider (${method.toUpperCase()})`,
      description: 'Stored and verified, never applied: it renders the result page. `lang` is paygate’s own parameter and is removed before the provider verifies the query.',
      body: method === 'post' ? { media: '*/*', description: 'The provider’s own form post' } : null,
      responses: {
        200: { description: 'The result page', media: 'text/html' },
        404: { description: 'No such provider or account', json: errorBody },
      },
    }),
  ),
  {
    method: 'get', path: '/healthz', id: 'health', tag: 'Operations', auth: 'none',
    summary: 'The process is up', description: 'Consults nothing else.', body: null,
    responses: { 200: { description: 'Up', json: healthBody } },
  },
  {
    method: 'get', path: '/readyz', id: 'ready', tag: 'Operations', auth: 'none',
    summary: 'Ready for traffic: the database answers within two seconds', body: null,
    responses: { 200: { description: 'Ready', json: readyBody }, 503: { description: 'The database is not reachable', json: unreadyBody } },
  },
  {
    method: 'get', path: '/metrics', id: 'metrics', tag: 'Operations', auth: 'metrics',
    summary: 'Prometheus metrics',
    description: 'Callbacks, transitions, provider call latency, outbox lag, job health and process metrics of this process.',
    body: null,
    responses: {
      200: { description: 'Prometheus text exposition format 0.0.4', media: 'text/plain' },
      401: { description: 'PAYGATE_METRICS_TOKEN is set and the request does not carry it', json: errorBody },
    },
  },
  {
    method: 'get', path: '/openapi.json', id: 'openapi', tag: 'Operations', auth: 'none',
    summary: 'This API description (OpenAPI 3.1)', body: null,
    responses: { 200: { description: 'The document', media: 'application/json' } },
  },
  {
    method: 'get', path: '/docs', id: 'docs', tag: 'Operations', auth: 'none',
    summary: 'This API description as a page', body: null,
    responses: { 200: { description: 'An HTML page; needs no script', media: 'text/html' } },
  },
];

/**
 * Pages for people: one line each, `[method, path, who may open it, summary, media type if not HTML]`.
 * Only paths under /checkout and /admin belong here (anything else is a problem the test reports);
 * JSON routes go in OPERATIONS. A POST here is the page's own form (303 onwards, or the page again).
 */
type HtmlPage = readonly [method: 'GET' | 'POST', path: string, auth: 'buyerLink' | 'operator' | 'none', summary: string, media?: string];

export const HTML_PAGES: readonly HtmlPage[] = [
  ['GET', '/checkout/{orderId}', 'buyerLink', 'The hosted checkout: items, total and the ways to pay; later the ATM instructions or the result'],
  ['POST', '/checkout/{orderId}', 'buyerLink', 'The buyer’s choice (`choice=<provider>/<account>/<method>`), sent on to the provider'],
  ['GET', '/admin', 'operator', 'Dashboard overview: figures for the last 14 or 30 days (`?days=30`)'],
  ['GET', '/admin/login', 'none', 'The operators’ sign-in form'],
  ['POST', '/admin/login', 'none', 'Sign in (throttled); sets the session cookie'],
  ['POST', '/admin/logout', 'operator', 'Sign out'],
  ['GET', '/admin/assets/admin.css', 'none', 'The dashboard’s stylesheet', 'text/css'],
  ['GET', '/admin/orders', 'operator', 'Orders, filtered and paged'],
  ['GET', '/admin/orders/{id}', 'operator', 'One order: its facts, timeline, callbacks, events and refunds'],
  ['GET', '/admin/orders/{id}/reconcile', 'operator', 'Confirm asking the provider for the order’s status now'],
  ['POST', '/admin/orders/{id}/reconcile', 'operator', 'Ask the provider now'],
  ['GET', '/admin/orders/{id}/cancel', 'operator', 'Confirm cancelling the order'],
  ['POST', '/admin/orders/{id}/cancel', 'operator', 'Cancel the order'],
  ['GET', '/admin/orders/{id}/refund', 'operator', 'The refund form'],
  ['POST', '/admin/orders/{id}/refund', 'operator', 'Review, then confirm, a refund'],
  ['GET', '/admin/orders/{id}/events/{eventId}/replay', 'operator', 'Confirm sending a merchant event again'],
  ['POST', '/admin/orders/{id}/events/{eventId}/replay', 'operator', 'Send the merchant event again'],
];

/**
 * Catch-alls that only render a "not found" page: routes in the router, not operations. The test
 * leaves exactly these out.
 */
export const FALLBACK_ROUTES: readonly string[] = ['/admin{/*rest}'];

const HTML_PREFIXES = ['/checkout', '/admin'];

function htmlOperation([method, path, auth, summary, media = 'text/html']: HtmlPage): Operation {
  const params = Object.fromEntries([...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name!, 'From the page’s link']));
  const post = method === 'POST';
  return {
    method: post ? 'post' : 'get',
    path,
    id: `page${method}${path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9_]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    tag: path.startsWith('/admin') ? 'Dashboard' : 'Buyer pages',
    auth,
    summary,
    description: media === 'text/html' ? 'A page for a person, not an API.' : undefined,
    params,
    body: post ? { media: 'application/x-www-form-urlencoded', description: 'The page’s own form' } : null,
    responses: {
      200: { description: media === 'text/html' ? 'An HTML page' : 'The file', media },
      ...(post ? { 303: { description: 'On to the next page' } } : {}),
      '4XX': { description: 'A page explaining the problem (an invalid or expired link, a refused form...)', media: 'text/html' },
    },
  };
}

/** The errors every merchant route can answer with, beside its own. */
function standardErrors(op: Operation): Record<string, Reply> {
  if (op.auth !== 'merchant') return {};
  const schemaBody = op.body instanceof z.ZodType;
  const errors: Record<string, Reply> = {};
  if (schemaBody || op.query) errors[400] = { description: 'Invalid request: `details` names every field at fault', json: errorBody };
  errors[401] = { description: 'No API key, or not a valid one', json: errorBody };
  if (op.path.includes('{')) errors[404] = { description: 'Not found (another merchant’s object is a 404 too)', json: errorBody };
  if (op.method === 'post') errors[409] = { description: 'The `Idempotency-Key` was used with another request, or its first request is still running', json: errorBody };
  if (schemaBody) {
    errors[413] = { description: 'The body is larger than PAYGATE_BODY_LIMIT_KB', json: errorBody };
    errors[415] = { description: 'The body is not `application/json`', json: errorBody };
  }
  errors[503] = { description: 'The database is briefly unavailable; retry', json: errorBody };
  return errors;
}

// ---------------------------------------------------------------------------------------------
// zod → OpenAPI 3.1. Everything OpenAPI needs adjusted in zod's JSON Schema happens in `tidy`.

type Json = { [key: string]: any };

const SCHEMA_REF = '#/components/schemas/';
const FORMATS_WITH_OWN_PATTERN = new Set(['date-time', 'date', 'time', 'email', 'uuid', 'duration']);

/**
 * zod's draft 2020-12 output made fit for an OpenAPI 3.1 document: no `$schema` or `$id` inside the
 * document, no zod-internal regex beside a `format` that says the same, and any `$defs` hoisted
 * into components (a `#/$defs/` reference would resolve against the document root).
 */
function tidy(schema: Json, hoist: (name: string, schema: Json) => void, owner: string): Json {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$schema' || key === '$id') continue;
      if (key === '$defs') {
        for (const [name, def] of Object.entries(value as Json)) hoist(`${owner}_${name}`, walk(def) as Json);
        continue;
      }
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')) {
        out.$ref = `${SCHEMA_REF}${owner}_${value.slice('#/$defs/'.length)}`;
        continue;
      }
      out[key] = walk(value);
    }
    if (typeof out.format === 'string' && FORMATS_WITH_OWN_PATTERN.has(out.format)) delete out.pattern;
    return out;
  };
  return walk(schema) as Json;
}

const ZOD_OPTIONS = { target: 'draft-2020-12', unrepresentable: 'any', uri: (id: string) => `${SCHEMA_REF}${id}` } as const;

function annotate(schema: Json, path: string, text: string): boolean {
  let node: Json | undefined = schema;
  for (const part of path.split('.')) {
    if (node?.type === 'array') node = node.items;
    node = node?.properties?.[part];
  }
  if (!node) return false;
  node.description = node.description ? `${text}. ${node.description}` : text;
  return true;
}

export interface BuiltDocument {
  document: Json;
  /** Notes or pages that point nowhere; the test requires none. */
  problems: string[];
}

export function buildOpenApi(): BuiltDocument {
  const problems: string[] = [];
  const schemas: Json = {};
  const hoist = (name: string, schema: Json) => (schemas[name] = schema);
  const names = new Map<z.ZodType, string>();
  for (const [group, io] of [
    [REQUEST_SCHEMAS, 'input'],
    [RESPONSE_SCHEMAS, 'output'],
  ] as const) {
    const registry = z.registry<{ id: string }>();
    for (const [name, schema] of Object.entries(group)) {
      registry.add(schema, { id: name });
      names.set(schema, name);
    }
    const generated = z.toJSONSchema(registry, { ...ZOD_OPTIONS, io }).schemas as Json;
    for (const [name, schema] of Object.entries(generated)) schemas[name] = tidy(schema, hoist, name);
  }
  for (const [name, notes] of Object.entries(FIELD_NOTES)) {
    for (const [path, text] of Object.entries(notes)) {
      if (!schemas[name] || !annotate(schemas[name], path, text)) problems.push(`FIELD_NOTES.${name}: no field ${path}`);
    }
  }
  const ref = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const name = names.get(schema);
    return name ? { $ref: `${SCHEMA_REF}${name}` } : tidy(z.toJSONSchema(schema, { ...ZOD_OPTIONS, io }) as Json, hoist, 'Inline');
  };

  const operations = [...OPERATIONS];
  for (const page of HTML_PAGES) {
    if (!HTML_PREFIXES.some((p) => page[1] === p || page[1].startsWith(`${p}/`))) problems.push(`HTML_PAGES: ${page[1]} is not under ${HTML_PREFIXES.join(' or ')}`);
    operations.push(htmlOperation(page));
  }

  const paths: Json = {};
  for (const op of operations) {
    const parameters: Json[] = [];
    for (const [, name] of op.path.matchAll(/\{(\w+)\}/g)) {
      const description = op.params?.[name!];
      if (!description) problems.push(`${op.method.toUpperCase()} ${op.path}: path parameter ${name} is not described`);
      parameters.push({ name, in: 'path', required: true, description: description ?? name, schema: { type: 'string' } });
    }
    if (op.query) {
      const query = tidy(z.toJSONSchema(op.query, { ...ZOD_OPTIONS, io: 'input' }) as Json, hoist, `${op.id}Query`);
      const required = new Set<string>(query.required ?? []);
      for (const [name, schema] of Object.entries(query.properties ?? {})) {
        const note = op.queryNotes?.[name];
        parameters.push({ name, in: 'query', required: required.has(name), ...(note ? { description: note } : {}), schema });
      }
    }
    if (op.auth === 'merchant' && op.method === 'post') parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });

    const operation: Json = {
      operationId: op.id,
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      security: SECURITY[op.auth],
      'x-paygate-auth': AUTH_TEXT[op.auth],
      ...(parameters.length ? { parameters } : {}),
    };
    if (op.body instanceof z.ZodType) {
      operation.requestBody = { required: !op.body.safeParse(undefined).success, content: { 'application/json': { schema: ref(op.body, 'input') } } };
    } else if (op.body) {
      operation.requestBody = { required: false, description: op.body.description, content: { [op.body.media]: { schema: {} } } };
    }
    const replies = { ...standardErrors(op), ...op.responses };
    operation.responses = Object.fromEntries(
      Object.keys(replies)
        .sort()
        .map((status) => {
          const reply = replies[status]!;
          const content = reply.json
            ? { 'application/json': { schema: ref(reply.json, 'output') } }
            : reply.media
              ? { [reply.media]: { schema: reply.media === 'application/json' ? { type: 'object' } : { type: 'string' } } }
              : undefined;
          return [status, { description: reply.description, ...(content ? { content } : {}) }];
        }),
    );
    paths[op.path] ??= {};
    if (paths[op.path][op.method]) problems.push(`${op.method.toUpperCase()} ${op.path} is described twice`);
    paths[op.path][op.method] = operation;
  }

  const document = {
    openapi: '3.1.0',
    info: {
      title: 'paygate',
      version: 'v1',
      description:
        'A multi-provider payment gateway. Amounts are integer minor units of their currency everywhere (NT$799 is 79900). ' +
        'Errors are `{"error":{"code","message","details"}}`. Every merchant POST takes an `Idempotency-Key`.',
    },
    tags: TAGS,
    paths,
    components: {
      schemas,
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'The same key with the same request replays the first answer (`Idempotent-Replayed: true`); with another request it is a 409',
          schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
        },
      },
      securitySchemes: {
        merchantApiKey: { type: 'http', scheme: 'bearer', description: 'The merchant’s API key (`npm run paygate -- merchant:create`)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'PAYGATE_METRICS_TOKEN; /metrics is open when it is unset' },
        // server/admin/context.ts SESSION_COOKIE
        operatorSession: { type: 'apiKey', in: 'cookie', name: 'paygate_admin', description: 'The dashboard session, set by signing in at /admin/login' },
      },
    },
  };
  return { document, problems };
}

/** A route path in the router's syntax (`/v1/payments/:id`) as an OpenAPI template (`/v1/payments/{id}`). */
export function openApiPath(routerPath: string): string {
  return routerPath.replace(/:(\w+)/g, '{$1}');
}

/** The zod schema of an operation's documented JSON answer, for tests that hold live answers to it. */
export function documentedAnswer(method: string, path: string, status: number): z.ZodType | undefined {
  const op = OPERATIONS.find((o) => o.method === method.toLowerCase() && o.path === path);
  if (!op) return undefined;
  return ({ ...standardErrors(op), ...op.responses })[status]?.json;
}

// ---------------------------------------------------------------------------------------------
// The page: server-rendered, no script, no external resource.

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A path or dotted field name that may wrap at its separators, never inside a word. */
function breakable(text: string): string {
  return escapeHtml(text).replace(/(?<=.)([./[])/g, '<wbr>$1');
}

/** Backticks in our prose become <code>; everything else is escaped. */
function prose(text: string | undefined): string {
  return escapeHtml(text ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');
}

function resolve(schema: Json, components: Json): { schema: Json; name?: string } {
  if (typeof schema?.$ref === 'string' && schema.$ref.startsWith(SCHEMA_REF)) {
    const name = schema.$ref.slice(SCHEMA_REF.length);
    return { schema: components[name] ?? {}, name };
  }
  return { schema };
}

function typeLabel(schema: Json, components: Json): string {
  const { schema: s, name } = resolve(schema, components);
  if (name) return name;
  if (s.const !== undefined) return JSON.stringify(s.const);
  const variants: Json[] | undefined = s.anyOf ?? s.oneOf;
  if (variants) return [...new Set(variants.map((v) => typeLabel(v, components)))].join(' or ');
  if (Array.isArray(s.type)) return s.type.join(' or ');
  if (s.type === 'array') return `array of ${typeLabel(s.items ?? {}, components)}`;
  if (s.type === 'object' && !s.properties && s.additionalProperties && typeof s.additionalProperties === 'object') {
    return `map of ${typeLabel(s.additionalProperties, components)}`;
  }
  return s.type ?? 'any';
}

function constraints(schema: Json): string[] {
  // `X or null`: the constraints are X's.
  const variants: Json[] | undefined = schema.anyOf ?? schema.oneOf;
  const nonNull = variants?.filter((v) => v.type !== 'null');
  const s = nonNull?.length === 1 ? { ...nonNull[0], ...schema, anyOf: undefined, oneOf: undefined } : schema;
  const out: string[] = [];
  const range = (min: unknown, max: unknown, unit: string) => {
    const lo = typeof min === 'number' && min > -MAX_SAFE ? min : undefined;
    const hi = typeof max === 'number' && max < MAX_SAFE ? max : undefined;
    if (lo !== undefined && hi !== undefined) out.push(`${lo}–${hi}${unit}`);
    else if (lo !== undefined) out.push(`≥ ${lo}${unit}`);
    else if (hi !== undefined) out.push(`≤ ${hi}${unit}`);
  };
  range(s.minLength, s.maxLength, ' characters');
  range(s.minimum, s.maximum, '');
  range(s.minItems, s.maxItems, ' items');
  if (Array.isArray(s.enum)) out.push(`one of ${s.enum.map((v: unknown) => `\`${String(v)}\``).join(', ')}`);
  if (s.format) out.push(`format ${s.format}`);
  if (s.pattern) out.push(`pattern \`${s.pattern}\``);
  if (s.default !== undefined) out.push(`default \`${JSON.stringify(s.default)}\``);
  if (s.additionalProperties === false) out.push('no other fields');
  return out;
}

interface FieldRow {
  name: string;
  type: string;
  required: boolean;
  notes: string[];
}

/** A schema as one row per field, nested fields by dotted name (`items[].sku`, `action[type=redirect].url`). */
function fieldRows(schema: Json, components: Json, prefix = '', depth = 0): FieldRow[] {
  const { schema: s } = resolve(schema, components);
  if (depth > 6) return [];
  const variants: Json[] | undefined = s.anyOf ?? s.oneOf;
  if (variants) {
    return variants.flatMap((v) => {
      const inner = resolve(v, components).schema;
      const tag = Object.entries(inner.properties ?? {}).find(([, p]) => (p as Json).const !== undefined);
      const label = tag ? `[${tag[0]}=${String((tag[1] as Json).const)}]` : '';
      return inner.type === 'null' ? [] : fieldRows(v, components, prefix && label ? `${prefix.slice(0, -1)}${label}.` : prefix, depth + 1);
    });
  }
  if (s.type === 'array') return fieldRows(s.items ?? {}, components, prefix ? `${prefix.slice(0, -1)}[].` : '[].', depth + 1);
  if (!s.properties) return [];
  const required = new Set<string>(s.required ?? []);
  return Object.entries(s.properties as Json).flatMap(([key, prop]) => {
    const resolved = resolve(prop, components).schema;
    const row: FieldRow = {
      name: `${prefix}${key}`,
      type: typeLabel(prop, components),
      required: required.has(key),
      notes: [...(resolved.description ?? prop.description ? [String(prop.description ?? resolved.description)] : []), ...constraints(resolved)],
    };
    return [row, ...fieldRows(prop, components, `${prefix}${key}.`, depth + 1)];
  });
}

/** A table that scrolls sideways on its own on a narrow screen (and can be reached by keyboard to do so). */
function table(caption: string, headers: string[], rows: string[][], options: { showCaption?: boolean } = {}): string {
  return `<div class="scroll" role="region" tabindex="0" aria-label="${escapeHtml(caption)}"><table><caption${options.showCaption ? '' : ' class="sr-only"'}>${escapeHtml(caption)}</caption>
<thead><tr>${headers.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead>
<tbody>${rows.map(([head, ...cells]) => `<tr><th scope="row">${head}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table></div>`;
}

function fieldTable(schema: Json, components: Json, caption: string): string {
  const rows = fieldRows(schema, components);
  if (rows.length === 0) return `<p>${escapeHtml(typeLabel(schema, components))}</p>`;
  return table(
    caption,
    ['Field', 'Type', 'Required', 'Notes'],
    rows.map((r) => [`<code>${breakable(r.name)}</code>`, escapeHtml(r.type), r.required ? 'yes' : 'no', r.notes.map(prose).join('; ')]),
    { showCaption: true },
  );
}

function schemaLink(schema: Json, components: Json): string {
  const { name } = resolve(schema, components);
  return name ? `<a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a>` : escapeHtml(typeLabel(schema, components));
}

const PAGE_CSS = `
  :root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #fff; --panel: #f6f8fa; --line: #d0d7de; --link: #0b57d0; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117; --panel: #161b22; --line: #30363d; --link: #6ea8fe; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", "Noto Sans TC", sans-serif; color: var(--fg); background: var(--bg); }
  a { color: var(--link); }
  a:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
  .skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; }
  header { padding: 1.5rem 2rem; border-bottom: 1px solid var(--line); }
  header h1 { margin: 0 0 .25rem; font-size: 1.6rem; }
  .layout { display: grid; grid-template-columns: minmax(14rem, 20rem) 1fr; }
  nav { padding: 1rem 1.5rem; border-right: 1px solid var(--line); font-size: .92rem; position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto; }
  nav ul { list-style: none; padding: 0; margin: 0 0 1rem; } nav li { margin: .2rem 0; }
  nav h2 { font-size: 1rem; } nav h3 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1rem 0 .3rem; }
  main { padding: 1rem 2rem 4rem; min-width: 0; }
  section > h2 { border-bottom: 1px solid var(--line); padding-bottom: .3rem; margin-top: 2.5rem; }
  article { border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin: 1.25rem 0; }
  article h3 { margin: 0 0 .4rem; font-size: 1.1rem; overflow-wrap: anywhere; }
  h4 { margin: 1.1rem 0 .4rem; font-size: .95rem; }
  .method { display: inline-block; min-width: 3.6rem; text-align: center; font: 700 .78rem/1.7 ui-monospace, Menlo, monospace; border-radius: 6px; padding: 0 .4rem; margin-right: .4rem; color: #fff; }
  .m-get { background: #1a7f37; } .m-post { background: #0b57d0; } .m-put, .m-patch { background: #9a6700; } .m-delete { background: #cf222e; }
  code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .88em; background: var(--panel); padding: .05rem .3rem; border-radius: 4px; }
  td code { overflow-wrap: anywhere; }
  dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .6rem 0; } dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; }
  .scroll { overflow-x: auto; margin: .3rem 0; } .scroll:focus-visible { outline: 3px solid var(--link); }
  table { border-collapse: collapse; width: 100%; min-width: 34rem; font-size: .9rem; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  caption { text-align: left; color: var(--muted); font-size: .85rem; padding-bottom: .2rem; }
  th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
  thead th { background: var(--panel); }
  td:last-child { min-width: 16rem; }
  @media (max-width: 800px) { .layout { display: block; } nav { position: static; max-height: none; border-right: none; border-bottom: 1px solid var(--line); } main { padding: 1rem; } }
`;

export function renderDocsPage(document: Json): string {
  const components: Json = document.components.schemas;
  const ops: { tag: string; method: string; path: string; op: Json }[] = [];
  for (const [path, item] of Object.entries(document.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) ops.push({ tag: op.tags[0], method, path, op });
  }
  const anchor = (op: Json) => `op-${escapeHtml(op.operationId)}`;
  const badge = (method: string) => `<span class="method m-${method}">${method.toUpperCase()}</span>`;
  const tags = (document.tags as { name: string; description: string }[]).filter((t) => ops.some((o) => o.tag === t.name));

  const nav = tags
    .map((t) => `<h3>${escapeHtml(t.name)}</h3><ul>${ops
      .filter((o) => o.tag === t.name)
      .map((o) => `<li><a href="#${anchor(o.op)}">${badge(o.method)}<code>${breakable(o.path)}</code></a></li>`)
      .join('')}</ul>`)
    .join('\n');

  const article = ({ method, path, op }: (typeof ops)[number]): string => {
    const parts: string[] = [
      `<h3 id="${anchor(op)}-title">${badge(method)}<code>${breakable(path)}</code></h3>`,
      `<p><strong>${prose(op.summary)}</strong></p>`,
      op.description ? `<p>${prose(op.description)}</p>` : '',
      `<dl class="meta"><dt>Auth</dt><dd>${prose(op['x-paygate-auth'])}</dd><dt>Operation id</dt><dd><code>${escapeHtml(op.operationId)}</code></dd></dl>`,
    ];
    const params: Json[] = (op.parameters ?? []).map((p: Json) => (p.$ref ? document.components.parameters[p.$ref.split('/').pop()] : p));
    if (params.length) {
      parts.push(
        `<h4>Parameters</h4>${table(
          `Parameters of ${op.operationId}`,
          ['Name', 'In', 'Type', 'Required', 'Notes'],
          params.map((p) => [`<code>${escapeHtml(p.name)}</code>`, escapeHtml(p.in), escapeHtml(typeLabel(p.schema, components)), p.required ? 'yes' : 'no', [p.description, ...constraints(p.schema)].filter(Boolean).map(prose).join('; ')]),
        )}`,
      );
    }
    if (op.requestBody) {
      const [media, content] = Object.entries(op.requestBody.content as Json)[0]!;
      parts.push(`<h4>Request body</h4><p><code>${escapeHtml(media)}</code>, ${op.requestBody.required ? 'required' : 'optional'}${op.requestBody.description ? `: ${prose(op.requestBody.description)}` : ''}</p>`);
      if (media === 'application/json') parts.push(fieldTable(content.schema, components, `Fields of ${typeLabel(content.schema, components)}`));
    }
    const responses = Object.entries(op.responses as Json).map(([status, r]) => {
      const [media, content] = Object.entries((r.content ?? {}) as Json)[0] ?? [];
      const body = media ? (media === 'application/json' && content.schema.$ref ? schemaLink(content.schema, components) : `<code>${escapeHtml(media)}</code>`) : '—';
      return [escapeHtml(status), prose(r.description), body];
    });
    parts.push(`<h4>Responses</h4>${table(`Responses of ${op.operationId}`, ['Status', 'Meaning', 'Body'], responses)}`);
    return `<article id="${anchor(op)}" aria-labelledby="${anchor(op)}-title">${parts.join('\n')}</article>`;
  };

  const sections = tags
    .map((t) => `<section aria-labelledby="tag-${escapeHtml(t.name.replace(/\W+/g, '-'))}"><h2 id="tag-${escapeHtml(t.name.replace(/\W+/g, '-'))}">${escapeHtml(t.name)}</h2><p>${prose(t.description)}</p>${ops
      .filter((o) => o.tag === t.name)
      .map(article)
      .join('\n')}</section>`)
    .join('\n');
  const schemas = Object.entries(components)
    .map(([name, schema]) => `<article id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${fieldTable(schema, components, `Fields of ${name}`)}</article>`)
    .join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} API</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<a class="skip" href="#main">Skip to the operations</a>
<header>
<h1>${escapeHtml(document.info.title)} API <small>(${escapeHtml(document.info.version)})</small></h1>
<p>${prose(document.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)}).</p>
</header>
<div class="layout">
<nav aria-label="Operations"><h2>Operations</h2>${nav}<h3>Schemas</h3><ul>${Object.keys(components)
    .map((name) => `<li><a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a></li>`)
    .join('')}</ul></nav>
<main id="main">
${sections}
<section aria-labelledby="schemas"><h2 id="schemas">Schemas</h2>${schemas}</section>
</main>
</div>
</body>
</html>`;
}

/** GET /openapi.json and GET /docs, both built once. */
export function docsRoutes(_deps: CoreDeps): Router {
  const router = new Router();
  let built: { json: string; html: string } | undefined;
  const docs = () => {
    if (!built) {
      const { document } = buildOpenApi();
      built = { json: JSON.stringify(document), html: renderDocsPage(document) };
    }
    return built;
  };
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = docs().json;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = docs().html;
  });
  return router;
}
