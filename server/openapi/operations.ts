import { z } from 'zod';
import { cancelPaymentInput, createPaymentInput, createRefundInput, listPaymentsQuery } from '../../core/api-schemas.ts';
import { listEventsQuery } from '../../core/events.ts';
import { errorBody, eventView, healthBody, paymentList, paymentView, readyBody, refundView, RESPONSE_SCHEMAS, unreadyBody } from './views.ts';

/**
 * The operations of the OpenAPI document: what zod cannot say about a route (its summary, its
 * answers, who may call it). Request bodies and query parameters are the zod schemas the routes
 * validate with, so a change there shows in the document at once. The test
 * (test/server/openapi.test.ts) fails when the app registers a route that is in neither table.
 *
 * Adding a route: a JSON route gets an OPERATIONS entry (its zod body or `null`, its answers); an
 * HTML page under /checkout or /admin needs one line in HTML_PAGES.
 */

export type Auth = 'merchant' | 'metrics' | 'operator' | 'buyerLink' | 'provider' | 'none';
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export const AUTH_TEXT: Record<Auth, string> = {
  merchant: 'Merchant API key: `Authorization: Bearer <api key>`',
  metrics: '`Authorization: Bearer <PAYGATE_METRICS_TOKEN>` when that variable is set; else loopback clients only (403), unless PAYGATE_METRICS_PUBLIC=true',
  operator: 'Dashboard operators: the signed-in session (PAYGATE_ADMIN_USER / PAYGATE_ADMIN_PASSWORD)',
  buyerLink: 'None: the signed, expiring link itself (`?e=&s=`) is the authority',
  provider: 'None: the provider’s own signature (or token exchange) is verified before anything is applied',
  none: 'None',
};

export const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  merchant: [{ merchantApiKey: [] }],
  metrics: [{ metricsToken: [] }, {}],
  operator: [{ operatorSession: [] }],
  buyerLink: [],
  provider: [],
  none: [],
};

export interface Reply {
  description: string;
  /** A JSON body: one of the named schemas (views.ts). */
  json?: z.ZodType;
  /** Any other body, by media type. */
  media?: string;
}

/** A body that is not ours to describe (a provider's own request). */
interface ForeignBody {
  media: string;
  description: string;
}

export interface Operation {
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

export const TAGS: { name: string; description: string }[] = [
  { name: 'Payments', description: 'Create, read, list and cancel payments. Amounts are integer minor units everywhere.' },
  { name: 'Refunds', description: 'Full or partial refunds of a paid payment, where the provider supports them.' },
  { name: 'Events', description: 'Every change of a payment is an event, also POSTed to the merchant’s webhook (signed, retried for about a day).' },
  { name: 'Providers', description: 'The provider accounts this gateway offers: what `provider`, `account` and `method` can be.' },
  { name: 'Provider callbacks', description: 'Provider-facing: server-to-server notifies and the buyer’s browser coming back. Each provider speaks its own protocol; paygate answers in its words.' },
  { name: 'Buyer pages', description: 'HTML pages for the buyer’s browser, reached through signed links.' },
  { name: 'Dashboard', description: 'HTML pages for operators under /admin.' },
  { name: 'Operations', description: 'Health, readiness, metrics and this documentation.' },
];

const PAYMENT_ID = { id: 'The payment’s `id` (`pay_...`)' };
const CALLBACK_PARAMS = { provider: 'The provider’s id', account: 'The provider account’s id from configuration' };

export const OPERATIONS: Operation[] = [
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
      503: { description: '`storage_unavailable`: the database is briefly unavailable, retry; or `provider_misconfigured`: the provider refuses the account’s credentials, nothing was kept and retrying does not help until an operator fixes them', json: errorBody },
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
      422: { description: '`refund_unsupported`: this provider can never refund this method (an ATM transfer); nothing is stored', json: errorBody },
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
    method: 'get', path: '/v1/providers', id: 'listProviders', tag: 'Providers', auth: 'merchant',
    summary: 'List the provider accounts payments can use',
    description: 'Every configured account (or, on the demo, every simulator) with its methods, currencies and what it can refund or cancel.',
    body: null,
    responses: { 200: { description: 'Every account, providers in registry order', json: RESPONSE_SCHEMAS.ProviderList } },
  },
  {
    method: 'get', path: '/callbacks/{provider}/{account}/notify', id: 'providerNotifyFromBrowser', tag: 'Provider callbacks', auth: 'provider', params: CALLBACK_PARAMS,
    summary: 'A notify the buyer’s browser brings (providers whose notify comes that way, such as LINE Pay’s confirmUrl)',
    description:
      'Only for providers that declare it: the buyer’s browser comes back with the provider’s query string. Stored raw, then ' +
      'verified by the adapter through its own call to the provider (never by the query itself) and applied; the browser is ' +
      'then sent on to the hosted result page. For any other provider this is 405.',
    body: null,
    responses: {
      303: { description: 'On to the hosted result page (applied, a duplicate, or not decided yet)' },
      400: { description: 'A request that cannot be read or fails verification', json: errorBody },
      404: { description: 'No such provider or account', json: errorBody },
      405: { description: 'This provider’s notify is posted by its server', json: errorBody },
    },
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
    responses: { 200: { description: 'Ready', json: readyBody }, 503: { description: 'The database is not reachable (storage_unavailable), or a provider refuses an account\'s credentials (provider_misconfigured with `rejectedAccounts`, the number of such accounts; which ones is in the log and on the dashboard, never in this public answer)', json: unreadyBody } },
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
 * Only the home page and paths under /checkout and /admin belong here (anything else is a problem the test reports);
 * JSON routes go in OPERATIONS. A POST here is the page's own form (303 onwards, or the page again).
 */
export type HtmlPage = readonly [method: 'GET' | 'POST', path: string, auth: 'buyerLink' | 'operator' | 'none', summary: string, media?: string];

export const HTML_PAGES: readonly HtmlPage[] = [
  ['GET', '/', 'none', 'The home page: links to these docs and the dashboard; in the demo on simulators, a form that makes a test payment'],
  ['POST', '/', 'none', 'The demo’s test payment (simulators only; a same-site cookie and its token): on to its hosted checkout'],
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

/** `/` admits the home page alone (`//...` is no path). */
export const HTML_PREFIXES = ['/', '/checkout', '/admin'];

export function htmlOperation([method, path, auth, summary, media = 'text/html']: HtmlPage): Operation {
  const params = Object.fromEntries([...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name!, 'From the page’s link']));
  const post = method === 'POST';
  return {
    method: post ? 'post' : 'get',
    path,
    id: `page${method}${path === '/' ? 'Home' : path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9_]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    tag: path.startsWith('/admin') ? 'Dashboard' : path === '/' ? 'Operations' : 'Buyer pages',
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
export function standardErrors(op: Operation): Record<string, Reply> {
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
