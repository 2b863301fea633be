/**
 * LINE Pay Online API v3 (docs/protocols/linepay.md): reserve (Request) → the buyer approves on LINE
 * Pay's page → paygate's server confirms (Confirm). LINE Pay sends no notify of its own: the buyer's
 * browser coming back to the confirmUrl is the notify (PaymentProvider.notifyFrom = 'browser',
 * docs/architecture.md#a-notify-the-browser-brings). That request is unsigned and proves nothing: it
 * must name this order's transaction, and the fact that moves the order is LINE Pay's answer to our
 * own Confirm, made with the order's amount. A buyer who never comes back is found by `query`
 * (reconciliation, expiry), which confirms a request the buyer approved while the order still waits.
 */
import { z } from 'zod';
import { isCredentialsRejection, ProviderUnavailableError, ValidationError } from '../../core/errors.ts';
import type {
  CallbackEnvelope,
  CallbackReply,
  CallbackRequest,
  CallbackUrls,
  CallbackVerification,
  CreatePaymentInput,
  CreatePaymentResult,
  OrderSnapshot,
  PaymentFacts,
  PaymentProvider,
  ProbeResult,
  ProviderCapability,
  QueryInput,
  QueryResult,
  RefundInput,
  RefundResult,
  ReplyKind,
  VerifyContext,
} from '../../core/payment-provider.ts';
import { parseFormStrict, parseProviderResponse, type HttpTransport } from '../kit/index.ts';
import { LinePayClient, type LinePayAnswer } from './client.ts';
import { attemptOrderId, checkState, classify, detailsFacts, fromLinePayAmount, orderNoOf, requestBody, toLinePayAmount, type DetailsRow } from './codec.ts';
import type { LinepaySettings } from './config.ts';

/** How long LINE Pay keeps a request open for the buyer's approval (§8; LIKELY: 20 minutes). */
export const PAYMENT_WINDOW_MS = 20 * 60_000;
/** After the window, how long paygate still waits before expiring the order (a late approval's confirm). */
export const EXPIRY_GRACE_MS = 2 * 60_000;
/** A transaction id no request has, for the credentials probe: LINE Pay answers 1150 (not found) with good keys. */
export const PROBE_TRANSACTION_ID = '1000000000000000001';

/** Statuses of an order still waiting for its payment: only for these does paygate confirm. */
const PAYABLE = new Set(['created', 'pending']);

const TRANSACTION_ID = /^\d{1,19}$/;

const requestInfo = z.looseObject({
  paymentUrl: z.looseObject({ web: z.string().url(), app: z.string().optional() }),
  transactionId: z.string().regex(TRANSACTION_ID),
  paymentAccessToken: z.string().optional(),
});
const payInfo = z.array(z.looseObject({ method: z.string().optional(), amount: z.number() }));
const confirmInfo = z.looseObject({
  transactionId: z.string().regex(TRANSACTION_ID),
  orderId: z.string(),
  payInfo,
  authorizationExpireDate: z.string().optional(),
});
const detailsInfo = z.array(
  z.looseObject({
    transactionId: z.string().regex(TRANSACTION_ID),
    orderId: z.string(),
    transactionDate: z.string().optional(),
    transactionType: z.string().optional(),
    payStatus: z.string().optional(),
    currency: z.string().optional(),
    payInfo: payInfo.optional(),
    refundList: z.array(z.looseObject({ refundTransactionId: z.string(), refundAmount: z.number(), refundTransactionDate: z.string().optional() })).optional(),
  }),
);
const refundInfo = z.looseObject({ refundTransactionId: z.string().regex(TRANSACTION_ID) });

/** What the buyer's browser brought: back from approval (confirmUrl) or from giving up (cancelUrl). */
type BrowserNews = { kind: 'confirm'; transactionId: string; orderId: string } | { kind: 'cancel'; orderNo: string; transactionId: string | null };

export class LinepayProvider implements PaymentProvider {
  readonly id = 'linepay';
  readonly capabilities: ReadonlySet<ProviderCapability> = new Set(['refund']);
  readonly methods = ['wallet'] as const;
  readonly currencies: readonly string[];
  /** The browser hears its answer after Confirm's outcome is committed (a 303 on to the result page). */
  readonly ackAfter = 'applied' as const;
  readonly notifyFrom = 'browser' as const;
  /** Refunds carry no key of ours at LINE Pay: a refund whose answer was lost is never sent again. */
  readonly refundIdempotent = false;
  /** A query string (transactionId, orderId, our own parameter); no body. */
  readonly maxCallbackBytes = 4 * 1024;
  private readonly client: LinePayClient;

  constructor(
    readonly account: string,
    private readonly settings: LinepaySettings,
    private readonly urls: CallbackUrls,
    transport?: HttpTransport,
  ) {
    this.currencies = [settings.currency];
    this.client = new LinePayClient(settings, transport);
  }

  private fault(api: string, answer: LinePayAnswer): ProviderUnavailableError {
    const kind = classify(answer.returnCode, api as never);
    return new ProviderUnavailableError(`linepay ${api}: returnCode ${answer.returnCode}`, undefined, { credentialsRejected: kind === 'credentials' });
  }

  async create({ order, urls }: CreatePaymentInput): Promise<CreatePaymentResult> {
    if (order.currency !== this.settings.currency) throw ValidationError.field('currency', `LINE Pay takes ${this.settings.currency} only`, 'currency_not_supported');
    toLinePayAmount(order.amount);
    const cancelUrl = new URL(urls.notifyUrl);
    // LINE Pay may append nothing to the cancelUrl (UNVERIFIED): our own parameter names the order.
    cancelUrl.searchParams.set('cancelled', order.orderNo);
    const answer = await this.client.call({
      api: 'request',
      method: 'POST',
      path: '/v3/payments/request',
      body: requestBody(order, attemptOrderId(order.orderNo), { confirmUrl: urls.notifyUrl, cancelUrl: cancelUrl.toString() }, this.settings.capture),
      timeoutMs: this.settings.requestTimeoutMs,
    });
    const kind = classify(answer.returnCode, 'request');
    if (kind === 'credentials' || kind === 'retry') throw this.fault('request', answer);
    // Nothing was reserved: the attempt failed (a fresh create gets a fresh orderId).
    if (kind !== 'ok') return { outcome: 'failed', code: answer.returnCode, message: (answer.returnMessage ?? '').slice(0, 200) };
    const info = parseProviderResponse(requestInfo, answer.info, { provider: 'linepay', operation: 'request' });
    const window = new Date(Date.now() + PAYMENT_WINDOW_MS + EXPIRY_GRACE_MS);
    return {
      outcome: 'pending',
      action: { type: 'redirect', url: info.paymentUrl.web },
      providerTradeNo: info.transactionId,
      ...(window < order.expiresAt ? { expiresAt: window } : {}),
    };
  }

  /** The browser's query, strictly: a parameter named twice is a ValidationError (providers/kit/fields.ts). */
  private news(request: CallbackRequest): BrowserNews {
    const q = parseFormStrict(request.rawQuery);
    if (q.cancelled !== undefined) {
      if (!/^[0-9A-Za-z]{1,40}$/.test(q.cancelled)) throw ValidationError.field('cancelled', 'is not an order number');
      if (q.transactionId !== undefined && !TRANSACTION_ID.test(q.transactionId)) throw ValidationError.field('transactionId', 'must be up to 19 digits');
      return { kind: 'cancel', orderNo: q.cancelled, transactionId: q.transactionId ?? null };
    }
    if (!q.transactionId) throw ValidationError.field('transactionId', 'is missing');
    if (!TRANSACTION_ID.test(q.transactionId)) throw ValidationError.field('transactionId', 'must be up to 19 digits');
    if (!q.orderId) throw ValidationError.field('orderId', 'is missing');
    if (q.orderId.length > 100) throw ValidationError.field('orderId', 'is longer than 100 characters');
    return { kind: 'confirm', transactionId: q.transactionId, orderId: q.orderId };
  }

  inspectCallback(request: CallbackRequest): CallbackEnvelope {
    const news = this.news(request);
    if (news.kind === 'cancel') return { dedupeKey: `cancel:${news.orderNo}${news.transactionId ? `:${news.transactionId}` : ''}`, orderNo: news.orderNo };
    return { dedupeKey: news.transactionId, orderNo: orderNoOf(news.orderId) };
  }

  async verifyCallback(request: CallbackRequest, context?: VerifyContext): Promise<CallbackVerification> {
    let news: BrowserNews;
    try {
      news = this.news(request);
    } catch (err) {
      return { verified: false, reason: (err as Error).message };
    }
    const order = context?.order ?? null;
    if (!order) return { verified: false, reason: 'the request names no order of this account' };
    const transactionId = order.providerTradeNo;
    if (!transactionId) return { verified: false, reason: 'the order has no LINE Pay transaction' };
    if (news.transactionId !== null && news.transactionId !== transactionId) {
      return { verified: false, reason: 'transactionId is not the one LINE Pay gave for this order' };
    }
    // Back from approval, at the notify URL, for an order still waiting: confirm. A cancel, a
    // return, or an order no longer waiting: only look (a cancelled order's approval lapses unconfirmed).
    const complete = news.kind === 'confirm' && request.kind === 'notify' && PAYABLE.has(order.status);
    const facts = complete ? await this.confirm(order, transactionId) : await this.look(order, transactionId, false);
    if (!facts) return { verified: false, reason: 'LINE Pay does not know this transaction' };
    return { verified: true, facts };
  }

  /** The browser goes on to the hosted result page (the return URL, same query) unless refused. */
  reply(kind: ReplyKind, request: CallbackRequest): CallbackReply {
    if (kind === 'reject') return { status: 400, contentType: 'text/plain', body: 'This LINE Pay return could not be verified.' };
    const location = `${this.urls.returnUrl}${request.rawQuery ? `?${request.rawQuery}` : ''}`;
    const body = kind === 'ack' ? 'LINE Pay: on to the result page.' : 'LINE Pay: not confirmed yet; on to the result page.';
    return { status: 303, contentType: 'text/plain', body, headers: { location } };
  }

  private pending(order: OrderSnapshot, transactionId: string): PaymentFacts {
    return { orderNo: order.orderNo, outcome: 'pending', amount: order.amount, currency: order.currency, providerTradeNo: transactionId };
  }

  /**
   * Confirm (§5.3) with the order's own amount; a second Confirm answers an error, never the first
   * one's success (§5.4), so "maybe done already" is settled by looking, never by confirming again.
   */
  private async confirm(order: OrderSnapshot, transactionId: string): Promise<PaymentFacts | null> {
    const answer = await this.client.call({
      api: 'confirm',
      method: 'POST',
      path: `/v3/payments/${transactionId}/confirm`,
      body: { amount: toLinePayAmount(order.amount), currency: order.currency },
      timeoutMs: this.settings.confirmTimeoutMs,
    });
    switch (classify(answer.returnCode, 'confirm')) {
      case 'ok': {
        const info = parseProviderResponse(confirmInfo, answer.info, { provider: 'linepay', operation: 'confirm' });
        if (info.transactionId !== transactionId || orderNoOf(info.orderId) !== order.orderNo) {
          throw new ProviderUnavailableError('linepay confirm: the answer is about another transaction');
        }
        if (!this.settings.capture) await this.capture(order, transactionId);
        return this.paid(order, transactionId, info.payInfo);
      }
      case 'done':
        return this.look(order, transactionId, false);
      case 'pending':
        return this.pending(order, transactionId);
      case 'expired':
        return { ...this.pending(order, transactionId), outcome: 'closed', code: answer.returnCode, message: 'the 20 minutes to pay ran out' };
      case 'decline':
        return { ...this.pending(order, transactionId), outcome: 'failed', code: answer.returnCode, message: (answer.returnMessage ?? '').slice(0, 200) };
      default:
        // 1159 and the like: the request is gone or unknown; what LINE Pay has is the answer.
        if (answer.returnCode === '1159') return this.look(order, transactionId, false);
        throw this.fault('confirm', answer);
    }
  }

  private paid(order: OrderSnapshot, transactionId: string, paidWith: { amount: number }[]): PaymentFacts {
    const amount = fromLinePayAmount(paidWith.reduce((sum, p) => sum + p.amount, 0));
    if (amount === null) throw new ProviderUnavailableError('linepay confirm: payInfo amounts are not whole dollars');
    // A total other than the order's is reported as it is: core records the mismatch and raises attention.
    return { orderNo: order.orderNo, outcome: 'paid', amount, currency: order.currency, providerTradeNo: transactionId, paidAt: new Date() };
  }

  /** With `capture: false`, Confirm only authorised: take the money now (§6.1). */
  private async capture(order: OrderSnapshot, transactionId: string): Promise<void> {
    const answer = await this.client.call({
      api: 'capture',
      method: 'POST',
      path: `/v3/payments/authorizations/${transactionId}/capture`,
      body: { amount: toLinePayAmount(order.amount), currency: order.currency },
      timeoutMs: this.settings.captureTimeoutMs,
    });
    // Anything but success leaves an authorisation: looking again (query) sees it and captures it.
    if (answer.returnCode !== '0000') throw this.fault('capture', answer);
  }

  /**
   * LINE Pay's view of the order's transaction: Check Payment Status (§6.5) for a request not
   * confirmed, Payment Details (§6.4) once it was. With `complete`, an approved request of an order
   * still waiting is confirmed (the buyer approved and never came back). Null: LINE Pay knows no
   * such transaction.
   */
  private async look(order: OrderSnapshot, transactionId: string, complete: boolean): Promise<PaymentFacts | null> {
    const answer = await this.client.call({
      api: 'check',
      method: 'GET',
      path: `/v3/payments/requests/${transactionId}/check`,
      timeoutMs: this.settings.shortTimeoutMs,
    });
    if (!answer.returnCode.startsWith('0') && answer.returnCode !== '1150' && answer.returnCode !== '1159') throw this.fault('check', answer);
    switch (checkState(answer.returnCode)) {
      case 'reserved':
        return this.pending(order, transactionId);
      case 'approved':
        return complete && PAYABLE.has(order.status) ? this.confirm(order, transactionId) : this.pending(order, transactionId);
      case 'lapsed':
        return { ...this.pending(order, transactionId), outcome: 'closed', code: answer.returnCode, message: 'the buyer cancelled, or the 20 minutes to pay ran out' };
      case 'failed':
        return { ...this.pending(order, transactionId), outcome: 'failed', code: answer.returnCode, message: 'LINE Pay: the payment failed' };
      case 'completed':
        return this.details(order, transactionId, complete);
      default:
        return null;
    }
  }

  private async details(order: OrderSnapshot, transactionId: string, complete: boolean): Promise<PaymentFacts> {
    const answer = await this.client.call({
      api: 'details',
      method: 'GET',
      path: '/v3/payments',
      query: `transactionId=${transactionId}`,
      timeoutMs: this.settings.detailsTimeoutMs,
    });
    if (answer.returnCode !== '0000') throw this.fault('details', answer);
    const rows = parseProviderResponse(detailsInfo, answer.info, { provider: 'linepay', operation: 'details' }) as DetailsRow[];
    const row = rows.find((r) => r.transactionId === transactionId && (r.transactionType ?? 'PAYMENT') === 'PAYMENT');
    const facts = row ? detailsFacts(row, order) : null;
    if (!facts) throw new ProviderUnavailableError('linepay details: no payment row for a completed transaction');
    // Authorised but not captured (capture: false and the capture after Confirm failed): capture it
    // while the order still waits for it; void it when the order no longer does (cancelled, expired),
    // so the buyer's money is not held until the authorisation lapses.
    if (row!.payStatus === 'AUTHORIZATION' && complete) {
      if (PAYABLE.has(order.status)) {
        await this.capture(order, transactionId);
        return this.paid(order, transactionId, row!.payInfo ?? []);
      }
      await this.void(transactionId);
      return { ...facts, outcome: 'closed', code: 'VOIDED_AUTHORIZATION', message: 'the authorisation of an order no longer waiting was voided' };
    }
    return facts;
  }

  /** Void (§6.2): releases an authorisation; already voided (1165) is done. */
  private async void(transactionId: string): Promise<void> {
    const answer = await this.client.call({ api: 'void', method: 'POST', path: `/v3/payments/authorizations/${transactionId}/void`, body: {}, timeoutMs: this.settings.shortTimeoutMs });
    if (answer.returnCode !== '0000' && answer.returnCode !== '1165') throw this.fault('void', answer);
  }

  async query({ order }: QueryInput): Promise<QueryResult> {
    if (!order.providerTradeNo || !TRANSACTION_ID.test(order.providerTradeNo)) return { found: false };
    const facts = await this.look(order, order.providerTradeNo, true);
    return facts ? { found: true, facts } : { found: false };
  }

  async refund({ order, amount }: RefundInput): Promise<RefundResult> {
    const transactionId = order.providerTradeNo;
    if (!transactionId) return { outcome: 'failed', code: 'no_transaction', message: 'the order has no LINE Pay transaction' };
    // Whole dollars only: an amount with cents is refused here, as LINE Pay would (1124).
    if (amount % 100 !== 0) return { outcome: 'failed', code: 'amount_not_representable', message: 'LINE Pay refunds whole Taiwan dollars only' };
    const answer = await this.client.call({
      api: 'refund',
      method: 'POST',
      path: `/v3/payments/${transactionId}/refund`,
      body: { refundAmount: toLinePayAmount(amount) },
      timeoutMs: this.settings.shortTimeoutMs,
    });
    switch (classify(answer.returnCode, 'refund')) {
      case 'ok':
        return { outcome: 'succeeded', providerRefundNo: parseProviderResponse(refundInfo, answer.info, { provider: 'linepay', operation: 'refund' }).refundTransactionId };
      case 'credentials':
        throw this.fault('refund', answer);
      case 'retry':
        // In progress or unknown (1198, 9000): never sent again; Payment Details' refundList tells.
        return { outcome: 'pending' };
      default:
        return { outcome: 'failed', code: answer.returnCode, message: (answer.returnMessage ?? 'refund refused').slice(0, 200) };
    }
  }

  /** Check Payment Status of a transaction no request has: 1150 with good keys, 1104/1106 with bad ones. */
  async probe(): Promise<ProbeResult> {
    try {
      const answer = await this.client.call({ api: 'check', method: 'GET', path: `/v3/payments/requests/${PROBE_TRANSACTION_ID}/check`, timeoutMs: this.settings.shortTimeoutMs });
      const kind = classify(answer.returnCode, 'check');
      if (kind === 'credentials') return { status: 'rejected', reason: `returnCode ${answer.returnCode}` };
      if (answer.returnCode.startsWith('0') || answer.returnCode === '1150' || answer.returnCode === '1159') return { status: 'ok' };
      return { status: 'unreachable', reason: `returnCode ${answer.returnCode}` };
    } catch (err) {
      if (isCredentialsRejection(err)) return { status: 'rejected', reason: err.message };
      return { status: 'unreachable', reason: (err as Error).message };
    }
  }
}
