/**
 * The examples of the OpenAPI document: one request example for every operation that takes a body
 * or a query, one example for every documented answer, and one webhook body per event type. They
 * are shaped like real traffic (TWD in minor units, ids in the API's formats, zh-TW text) and
 * clearly fake: no id, key or account here exists anywhere. test/server/openapi.test.ts validates
 * each one against the schema the document publishes beside it.
 */

type Json = { [key: string]: any };

// Ids in the API's formats (core/ids.ts: a prefix and 22 base62 characters; core/order-no.ts: 20
// characters; core/refund-rows.ts: R + yyMMddHHmmss + 8).
export const EXAMPLE_IDS = {
  payment: 'pay_Ex4mp1eQ7m2XcV9kLp4Rt8',
  otherPayment: 'pay_Ex4mp1eW3nB8dJ6hTy2Lq5',
  event: 'evt_Ex4mp1eK9vC3sN7gPa1Zw6',
  refund: 'ref_Ex4mp1eH5xM2bR8fUe4Jy7',
  orderNo: '26120308312704K9ZQ7M',
  otherOrderNo: '2612030755180G3XK2PA',
  refundNo: 'R261203093012K7P2QX9M',
  merchantOrderId: 'A1001',
  idempotencyKey: '7c1e9a52-3d4b-4f6e-9a8c-2b5d0e7f1a34',
  /** The buyer link's signature (`s`) is an HMAC; this one signs nothing. */
  linkSignature: 'bm90LWEtcmVhbC1zaWduYXR1cmUtanVzdC1hbi1leGFtcGxl',
};

const CREATED = '2026-12-03T08:31:27.000Z';
const PAID = '2026-12-03T08:36:02.000Z';
const REFUNDED = '2026-12-03T09:30:12.000Z';
const EXPIRES = '2026-12-04T08:31:27.000Z';
/** `e` of a buyer link: the payment's deadline plus 7 days, in unix seconds. */
const LINK_E = Math.floor(Date.parse(EXPIRES) / 1000) + 7 * 24 * 3600;

export function checkoutPathExample(id: string = EXAMPLE_IDS.payment): string {
  return `/checkout/${id}?e=${LINK_E}&s=${EXAMPLE_IDS.linkSignature}`;
}

const ITEMS_IN = [{ sku: 'TEE-ORG-M', name: '有機棉T恤（M）', unitAmount: 39950, quantity: 2 }];
const ITEMS_OUT = [{ ...ITEMS_IN[0], amount: 79900 }];

/** A hosted checkout: the buyer picks the way to pay on paygate's page. */
const createHosted = {
  merchantOrderId: EXAMPLE_IDS.merchantOrderId,
  currency: 'TWD',
  amount: 79900,
  items: ITEMS_IN,
  subject: '有機棉T恤 2 件',
  returnUrl: 'https://shop.example.com/orders/A1001',
  expiresInMinutes: 1440,
  metadata: { customerId: 'C-20931' },
};

/** A payment started at one provider: SinoPac ATM transfer to a virtual account. */
const createDirect = {
  merchantOrderId: 'A1002',
  currency: 'TWD',
  amount: 128000,
  items: [
    { sku: 'MUG-CER-01', name: '手作陶瓷馬克杯', unitAmount: 45000, quantity: 2 },
    { sku: 'BAG-TOTE-01', name: '帆布托特包', unitAmount: 38000, quantity: 1 },
  ],
  provider: 'sinopac',
  method: 'atm',
  subject: '陶瓷馬克杯與托特包',
  returnUrl: 'https://shop.example.com/orders/A1002',
};

function payment(base: string, overrides: Json = {}): Json {
  return {
    id: EXAMPLE_IDS.payment,
    orderNo: EXAMPLE_IDS.orderNo,
    merchantOrderId: EXAMPLE_IDS.merchantOrderId,
    status: 'created',
    amount: 79900,
    refundedAmount: 0,
    currency: 'TWD',
    provider: null,
    account: null,
    method: null,
    subject: '有機棉T恤 2 件',
    items: ITEMS_OUT,
    providerTradeNo: null,
    paidAt: null,
    attention: null,
    metadata: { customerId: 'C-20931' },
    simulated: false,
    failure: null,
    returnUrl: 'https://shop.example.com/orders/A1001',
    createdAt: CREATED,
    updatedAt: CREATED,
    expiresAt: EXPIRES,
    checkoutUrl: `${base}${checkoutPathExample()}`,
    ...overrides,
  };
}

const paidFields = { status: 'paid', provider: 'ecpay', account: 'default', method: 'card', providerTradeNo: '2612031636027741', paidAt: PAID, updatedAt: PAID };

function atmPayment(base: string): Json {
  return payment(base, {
    id: EXAMPLE_IDS.otherPayment,
    orderNo: EXAMPLE_IDS.otherOrderNo,
    merchantOrderId: 'A1002',
    status: 'pending',
    amount: 128000,
    provider: 'sinopac',
    account: 'default',
    method: 'atm',
    subject: '陶瓷馬克杯與托特包',
    items: [
      { sku: 'MUG-CER-01', name: '手作陶瓷馬克杯', unitAmount: 45000, quantity: 2, amount: 90000 },
      { sku: 'BAG-TOTE-01', name: '帆布托特包', unitAmount: 38000, quantity: 1, amount: 38000 },
    ],
    providerTradeNo: 'TD2612031000481',
    metadata: {},
    returnUrl: 'https://shop.example.com/orders/A1002',
    action: { type: 'instructions', atm: { bankCode: '807', account: '95330012345678', amount: 128000, deadline: EXPIRES } },
    checkoutUrl: `${base}${checkoutPathExample(EXAMPLE_IDS.otherPayment)}`,
  });
}

/** A convenience-store code issued on the provider's page after create (NewebPay's CustomerURL). */
function cvsPayment(base: string): Json {
  return {
    ...atmPayment(base),
    provider: 'newebpay',
    method: 'cvs',
    providerTradeNo: '26120310004812345',
    action: { type: 'instructions', cvs: { code: 'LLL26120300123', stores: ['7-ELEVEN', 'FamilyMart', 'Hi-Life', 'OK mart'], amount: 128000, deadline: EXPIRES } },
  };
}

function refund(overrides: Json = {}): Json {
  return {
    id: EXAMPLE_IDS.refund,
    refundNo: EXAMPLE_IDS.refundNo,
    paymentId: EXAMPLE_IDS.payment,
    amount: 39950,
    currency: 'TWD',
    status: 'succeeded',
    reason: '一件尺寸不合，退回一件',
    providerRefundNo: '2612031730120093',
    source: 'merchant',
    failure: null,
    createdAt: REFUNDED,
    updatedAt: REFUNDED,
    ...overrides,
  };
}

/** The payment as an event carries it: no items, action or checkoutUrl. */
function eventPayment(base: string, overrides: Json = {}): Json {
  const { items: _items, checkoutUrl: _url, ...rest } = payment(base, overrides);
  return rest;
}

const REFUND_STATUSES = ['pending', 'succeeded', 'failed'];

/**
 * One webhook body per event type, as core/order-writer.ts writes them. A type this table does not
 * know yet (`refund.<status>`, or any other) still gets a body of the same shape.
 */
export function webhookExample(type: string, base = 'https://pay.example.com'): Json {
  const paid = { ...paidFields };
  let data: Json;
  switch (type) {
    case 'payment.pending':
      data = { payment: eventPayment(base, { status: 'pending', provider: 'sinopac', account: 'default', method: 'atm', providerTradeNo: 'TD2612031000481' }), from: 'created', cause: 'created at the provider' };
      break;
    case 'payment.paid':
      data = { payment: eventPayment(base, paid), from: 'created', cause: 'verified notify from ecpay: paid' };
      break;
    case 'payment.failed':
      data = {
        payment: eventPayment(base, { status: 'failed', provider: 'ecpay', account: 'default', method: 'card', failure: { code: '10100058', message: '交易失敗，請洽發卡銀行' } }),
        from: 'pending',
        cause: 'provider declined: 10100058 交易失敗，請洽發卡銀行',
      };
      break;
    case 'payment.cancelled':
      data = { payment: eventPayment(base, { status: 'cancelled' }), from: 'created', cause: 'merchant cancelled: 買家改變心意 (api)' };
      break;
    case 'payment.expired':
      data = { payment: eventPayment(base, { status: 'expired' }), from: 'created', cause: 'past its deadline 2026-12-04T08:31:27.000Z (no way to pay was chosen before the deadline)' };
      break;
    case 'payment.refunded':
      data = {
        payment: eventPayment(base, { ...paid, status: 'partially_refunded', refundedAmount: 39950, updatedAt: REFUNDED }),
        from: 'paid',
        cause: `refund ${EXAMPLE_IDS.refundNo} of 39950`,
        refund: refund(),
      };
      break;
    case 'payment.attention':
      data = {
        payment: eventPayment(base, { ...paid, attention: 'Paid after the order was cancelled: money moved, a person must decide (refund or fulfil)' }),
        reason: 'Paid after the order was cancelled: money moved, a person must decide (refund or fulfil)',
      };
      break;
    default: {
      const status = type.startsWith('refund.') ? type.slice('refund.'.length) : 'succeeded';
      const refundStatus = REFUND_STATUSES.includes(status) ? status : 'succeeded';
      data = {
        payment: eventPayment(base, paid),
        refund: refund({ status: refundStatus, providerRefundNo: refundStatus === 'succeeded' ? '2612031730120093' : null, failure: refundStatus === 'failed' ? { code: 'REFUND_REJECTED', message: '退款失敗：交易已超過可退款期限' } : null }),
      };
    }
  }
  return { id: EXAMPLE_IDS.event, type, createdAt: data.payment.updatedAt, data };
}

const delivered = { status: 'delivered', attempts: 1, deliveredAt: '2026-12-03T08:36:03.000Z', nextAttemptAt: null };

const error = (code: string, message: string, details: { path: string; message: string }[] = [], errorId?: string) => ({
  error: { code, message, details, ...(errorId ? { errorId } : {}) },
});

/** The error answers every merchant route shares, by status; an operation may say its own. */
export const ERROR_EXAMPLES: Record<string, Json> = {
  400: error('invalid_request', 'items.0.quantity: Too small: expected number to be >=1', [{ path: 'items.0.quantity', message: 'Too small: expected number to be >=1' }]),
  401: error('unauthorized', 'Missing or invalid API key'),
  404: error('not_found', 'Payment not found'),
  409: error('idempotency_key_reused', 'This Idempotency-Key was used with a different request', [{ path: 'Idempotency-Key', message: 'was used with a different request' }]),
  413: error('payload_too_large', 'The body is larger than this endpoint accepts'),
  415: error('unsupported_media_type', 'Send the body as application/json', [{ path: 'Content-Type', message: 'must be application/json' }]),
  422: error('refund_unsupported', 'sinopac cannot refund atm payments', [{ path: 'method', message: 'atm payments cannot be refunded through sinopac' }]),
  502: error('provider_unavailable', 'sinopac could not be reached; nothing was kept, send the same request again'),
  503: error('storage_unavailable', 'The database is not reachable right now', [], 'err_Ex4mp1eYc2Nq8Lr'),
};

export interface OperationExamples {
  /** Path parameters by name. */
  params?: Record<string, string>;
  /** Query parameters by name. */
  query?: Record<string, string | number>;
  /** The request body: one value, or named values (the first is the one the curl line sends). */
  request?: { [name: string]: { summary: string; value: unknown } } | { value: unknown };
  /** Answers by status; answers not given here come from their schema's or status's default. */
  responses?: Record<string, unknown>;
}

const HTML_EXAMPLE = '<!doctype html>\n<html lang="zh-TW">…</html>';

/** Examples by operationId (server/openapi/operations.ts). */
export function operationExamples(base: string): Record<string, OperationExamples> {
  const pay = payment(base);
  const paid = payment(base, { ...paidFields });
  const atm = atmPayment(base);
  const event = { ...webhookExample('payment.paid', base), delivery: delivered };
  const payParams = { id: EXAMPLE_IDS.payment };
  const callbackParams = { provider: 'ecpay', account: 'default' };
  return {
    createPayment: {
      request: {
        hostedCheckout: { summary: 'The buyer chooses how to pay on the hosted checkout', value: createHosted },
        sinopacAtm: { summary: 'Started at SinoPac at once: an ATM transfer to a virtual account', value: createDirect },
      },
      responses: {
        201: { hostedCheckout: { summary: 'Waiting for the buyer’s choice', value: pay }, sinopacAtm: { summary: 'The ATM instructions to show the buyer', value: atm } },
        409: error('duplicate_merchant_order_id', 'A payment with merchantOrderId A1001 already exists', [{ path: 'merchantOrderId', message: 'already used' }]),
      },
    },
    listPayments: {
      query: { status: 'paid', provider: 'ecpay', from: '2026-12-01', to: '2026-12-04T00:00:00+08:00', limit: 20, cursor: 'eyJjIjoxNzY0NzUwOTYyMDAwLCJpIjoicGF5X0V4NG1wMWVRN20yWGNWOWtMcDRSdDgifQ' },
      responses: { 200: { data: [paid], nextCursor: null } },
    },
    getPayment: {
      params: { id: EXAMPLE_IDS.otherPayment },
      responses: {
        200: {
          sinopacAtm: { summary: 'Pending: an ATM transfer to a virtual account', value: atm },
          newebpayCvs: { summary: 'Pending: a convenience-store code to pay at the counter', value: cvsPayment(base) },
        },
      },
    },
    cancelPayment: {
      params: payParams,
      request: { value: { reason: '買家改變心意' } },
      responses: {
        200: payment(base, { status: 'cancelled', updatedAt: '2026-12-03T08:45:10.000Z' }),
        409: error('not_cancellable', 'A paid payment cannot be cancelled; refund it instead'),
      },
    },
    createRefund: {
      params: payParams,
      request: { value: { amount: 39950, reason: '一件尺寸不合，退回一件' } },
      responses: {
        201: refund(),
        202: refund({ status: 'pending', providerRefundNo: null }),
        409: error('refund_exceeds_payment', 'The refunds would add up to more than was paid', [{ path: 'amount', message: 'at most 39950 is left to refund' }]),
      },
    },
    listRefunds: { params: payParams, responses: { 200: { data: [refund()] } } },
    listEvents: {
      query: { type: 'payment.paid', limit: 20, cursor: 'eyJlIjoiZXZ0X0V4NG1wMWVLOXZDM3NON2dQYTFadzYifQ' },
      responses: { 200: { data: [event], nextCursor: null } },
    },
    getEvent: { params: { id: EXAMPLE_IDS.event }, responses: { 200: event, 404: error('not_found', 'Event not found') } },
    replayEvent: {
      params: { id: EXAMPLE_IDS.event },
      responses: { 202: { ...event, delivery: { status: 'pending', attempts: 0, deliveredAt: null, nextAttemptAt: '2026-12-03T10:02:44.000Z' } }, 404: error('not_found', 'Event not found') },
    },
    listProviders: {
      responses: {
        200: {
          data: [
            { provider: 'sinopac', account: 'default', displayName: 'Bank SinoPac 豐收款', methods: ['atm', 'card'], currencies: ['TWD'], default: true, simulated: false, refundMethods: ['card'], cancelsAtProvider: false },
            { provider: 'alipay', account: 'default', displayName: 'Alipay 支付宝', methods: ['page', 'wap'], currencies: ['CNY'], default: true, simulated: false, refundMethods: ['page', 'wap'], cancelsAtProvider: true },
          ],
        },
      },
    },
    providerNotify: {
      params: callbackParams,
      request: { value: `MerchantID=3000000&MerchantTradeNo=${EXAMPLE_IDS.orderNo}&RtnCode=1&RtnMsg=%E4%BA%A4%E6%98%93%E6%88%90%E5%8A%9F&TradeNo=2612031636027741&TradeAmt=799&PaymentDate=2026%2F12%2F03+16%3A36%3A02&PaymentType=Credit_CreditCard&CheckMacValue=0000000000000000000000000000000000000000000000000000000000000000` },
      responses: { 200: '1|OK', 400: error('invalid_request', 'The notify could not be read', [{ path: 'body', message: 'CheckMacValue is missing' }]), 404: error('not_found', 'Provider account not found') },
    },
    providerNotifyFromBrowser: {
      params: callbackParams,
      responses: {
        400: error('invalid_request', 'The notify could not be read', [{ path: 'query', message: 'transactionId is missing' }]),
        404: error('not_found', 'Provider account not found'),
        405: error('method_not_allowed', 'This callback endpoint takes POST'),
      },
    },
    providerReturnGet: {
      params: callbackParams,
      responses: { 200: HTML_EXAMPLE, 404: error('not_found', 'Provider account not found') },
    },
    providerReturnPost: {
      params: callbackParams,
      request: { value: `MerchantID=3000000&MerchantTradeNo=${EXAMPLE_IDS.orderNo}&RtnCode=1&TradeNo=2612031636027741&TradeAmt=799&CheckMacValue=0000000000000000000000000000000000000000000000000000000000000000` },
      responses: { 200: HTML_EXAMPLE, 404: error('not_found', 'Provider account not found') },
    },
    health: { responses: { 200: { status: 'ok' } } },
    ready: {
      responses: {
        200: { status: 'ready' },
        503: { status: 'unavailable', error: { code: 'storage_unavailable', message: 'The database is not reachable right now', details: [] } },
      },
    },
    metrics: {
      responses: {
        200: '# HELP paygate_transitions_total Order state changes\n# TYPE paygate_transitions_total counter\npaygate_transitions_total{from="pending",to="paid"} 42\n',
        401: error('unauthorized', 'This endpoint needs the metrics token'),
      },
    },
    openapi: { responses: { 200: { openapi: '3.1.0', info: { title: 'paygate', version: 'v1' }, paths: {} } } },
    docs: { responses: { 200: HTML_EXAMPLE } },
  };
}

/** Form bodies of the pages' own forms, by `METHOD path` (server/openapi/operations.ts HTML_PAGES). */
export const PAGE_FORM_EXAMPLES: Record<string, string> = {
  'POST /': 'amount=799&subject=%E6%9C%89%E6%A9%9F%E6%A3%89T%E6%81%A4&token=Ex4mp1eT0k3n',
  'POST /checkout/{orderId}': 'choice=sinopac%2Fdefault%2Fatm',
  'POST /admin/login': 'username=admin&password=not-a-real-password&next=%2Fadmin',
  'POST /admin/logout': '_csrf=Ex4mp1eCsrfT0k3n',
  'POST /admin/orders/{id}/reconcile': '_csrf=Ex4mp1eCsrfT0k3n',
  'POST /admin/orders/{id}/cancel': '_csrf=Ex4mp1eCsrfT0k3n',
  'POST /admin/orders/{id}/refund': '_csrf=Ex4mp1eCsrfT0k3n&step=review&amount=399.50&reason=%E5%B0%BA%E5%AF%B8%E4%B8%8D%E5%90%88',
  'POST /admin/orders/{id}/events/{eventId}/replay': '_csrf=Ex4mp1eCsrfT0k3n',
};

/** Path parameters of the pages, by name. */
export const PAGE_PARAM_EXAMPLES: Record<string, string> = { orderId: EXAMPLE_IDS.payment, id: EXAMPLE_IDS.payment, eventId: EXAMPLE_IDS.event };

/** What a page answers, by media type. */
export const MEDIA_EXAMPLES: Record<string, string> = {
  'text/html': HTML_EXAMPLE,
  'text/css': ':root { color-scheme: light dark; }\n…',
};
