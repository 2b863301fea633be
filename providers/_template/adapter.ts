/**
 * The adapter: the PaymentProvider of core/payment-provider.ts, written from the template
 * (providers/_template, docs/providers.md#the-adapter). A real provider puts here what paygate asks
 * it and how the answers are read: `create` (an order → the provider's create call → the buyer's
 * next action), `inspectCallback` (the dedupe key, unverified, cheap), `verifyCallback` (a signature,
 * or a call of our own back to the provider → normalised PaymentFacts; a failed check is a result,
 * never an exception), `reply` (the acknowledgement in the provider's own words), `query`, and only
 * the capabilities the provider really has (refund, cancel, listTransactions, probe). A bigger
 * provider keeps wire ⇄ core in codec.ts and the transport in client.ts (providers/ecpay).
 */
import { z } from 'zod';
import { isCredentialsRejection, ProviderUnavailableError, ValidationError } from '../../core/errors.ts';
import { probeOrderNo } from '../../core/provider-health.ts';
import type {
  CallbackEnvelope,
  CallbackReply,
  CallbackRequest,
  CallbackVerification,
  CancelInput,
  CancelResult,
  CreatePaymentInput,
  CreatePaymentResult,
  PaymentFacts,
  PaymentOutcome,
  PaymentProvider,
  ProbeResult,
  ProviderCapability,
  QueryInput,
  QueryResult,
  RefundInput,
  RefundResult,
  ReplyKind,
  ListTransactionsInput,
} from '../../core/payment-provider.ts';
import { httpRequest, parseFormStrict, parseProviderResponse, type HttpAnswer } from '../kit/index.ts';
import type { FakePaySettings } from './config.ts';
import { signed, verify } from './crypto.ts';

/** FakePay's answer to create, parsed once (providers/kit/responses.ts) before anything reads it. */
const createAnswer = z
  .looseObject({
    result: z.enum(['OK', 'DECLINED', 'ERROR']),
    trade_no: z.string().optional(),
    pay_url: z.string().optional(),
    code: z.string().optional(),
    message: z.string().optional(),
  })
  .refine((a) => a.result !== 'OK' || (a.trade_no && a.pay_url), 'an OK answer carries trade_no and pay_url');

const OUTCOMES: Record<string, PaymentOutcome> = {
  WAITING: 'pending',
  PAID: 'paid',
  FAILED: 'failed',
  CLOSED: 'closed',
  REFUNDED: 'refunded',
};

/** FakePay's adapter. */
export class FakePayProvider implements PaymentProvider {
  readonly id = 'fakepay';
  readonly capabilities: ReadonlySet<ProviderCapability> = new Set(['refund', 'cancel', 'listTransactions']);
  readonly methods = ['card', 'atm'] as const;
  readonly currencies = ['TWD', 'CNY'] as const;
  readonly ackAfter: 'stored' | 'applied';
  /** A notify is checked by its signature alone: core may verify it before storing (one commit). */
  readonly verifiesOffline = true;
  readonly refundIdempotent = true;
  private readonly config: FakePaySettings;

  constructor(
    readonly account: string,
    config: FakePaySettings,
  ) {
    this.config = config;
    this.ackAfter = this.config.ackAfter;
  }

  private async call(api: string, fields: Record<string, string>): Promise<Record<string, string>> {
    let response: HttpAnswer;
    try {
      // Provider HTTP goes through the kit's keep-alive client (providers/kit/http.ts), not fetch.
      response = await httpRequest({
        method: 'POST',
        url: `${this.config.baseUrl}/api/${api}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(signed({ merchant_id: this.config.merchantId, ...fields }, this.config.secret)).toString(),
        timeoutMs: this.config.timeoutMs,
        // Only a call that changes nothing may be sent twice (on a stale kept-alive socket).
        idempotent: api === 'query' || api === 'list',
        maxBytes: 64 * 1024,
      });
    } catch (err) {
      throw new ProviderUnavailableError(`fakepay ${api}: ${(err as Error).message}`, err);
    }
    const text = response.text;
    let out: Record<string, string>;
    try {
      out = parseFormStrict(text);
    } catch {
      throw new ProviderUnavailableError(`fakepay ${api}: the answer names a field twice`);
    }
    if (response.status < 200 || response.status > 299) throw new ProviderUnavailableError(`fakepay ${api}: bad response (${response.status})`, undefined, { credentialsRejected: response.status === 401 });
    // An answer that fails our secret, or FakePay saying our request failed its: the secret is wrong.
    if (!verify(out, this.config.secret)) throw new ProviderUnavailableError(`fakepay ${api}: the answer fails our signature check`, undefined, { credentialsRejected: true });
    if (out.result === 'ERROR' && out.code === 'BAD_SIGN') throw new ProviderUnavailableError(`fakepay ${api}: our request failed FakePay's signature check`, undefined, { credentialsRejected: true });
    return out;
  }

  async create({ order, urls }: CreatePaymentInput): Promise<CreatePaymentResult> {
    // A limit of this provider's own, found only at creation (as SinoPac's ATM ceiling is).
    if (order.amount === 777) throw ValidationError.field('amount', 'FakePay cannot take 7.77', 'amount_not_representable');
    const out = parseProviderResponse(
      createAnswer,
      await this.call('create', {
        order_no: order.orderNo,
        amount: String(order.amount),
        currency: order.currency,
        notify_url: urls.notifyUrl,
        return_url: urls.returnUrl,
      }),
      { provider: 'FakePay', operation: 'create' },
    );
    if (out.result === 'DECLINED') return { outcome: 'failed', code: out.code ?? 'DECLINED', message: out.message ?? '' };
    if (out.result !== 'OK') throw new ProviderUnavailableError(`fakepay create: ${out.code}`);
    if (order.method === 'atm') {
      return {
        outcome: 'pending',
        providerTradeNo: out.trade_no,
        action: { type: 'instructions', atm: { bankCode: '999', account: `9${order.orderNo.slice(-13)}`, amount: order.amount, deadline: order.expiresAt.toISOString() } },
      };
    }
    return { outcome: 'pending', providerTradeNo: out.trade_no, action: { type: 'redirect', url: out.pay_url! } };
  }

  /** A field named twice is a ValidationError (providers/kit/fields.ts): the signature covers one value per name. */
  private fields(request: CallbackRequest): Record<string, string> {
    return parseFormStrict(request.httpMethod === 'GET' ? request.rawQuery : request.rawBody);
  }

  inspectCallback(request: CallbackRequest): CallbackEnvelope {
    // A posted notify is a form; a GET (a notify a browser brings) has no body to type.
    if (request.kind === 'notify' && request.httpMethod !== 'GET' && !/application\/x-www-form-urlencoded/i.test(request.contentType)) {
      throw ValidationError.field('content-type', 'must be application/x-www-form-urlencoded');
    }
    const fields = this.fields(request);
    if (request.kind === 'notify' && !fields.notify_id) throw ValidationError.field('notify_id', 'is missing');
    return { dedupeKey: fields.notify_id ?? null, headers: { 'content-type': request.contentType } };
  }

  private facts(fields: Record<string, string>): PaymentFacts {
    return {
      orderNo: fields.order_no ?? '',
      outcome: OUTCOMES[fields.status ?? ''] ?? 'pending',
      amount: Number(fields.amount),
      currency: fields.currency ?? '',
      providerTradeNo: fields.trade_no ?? null,
      paidAt: fields.paid_at ? new Date(fields.paid_at) : null,
      code: fields.status === 'FAILED' ? 'DECLINED' : undefined,
      ...(Number(fields.refunded_amount) > 0 ? { refundedAmount: Number(fields.refunded_amount), providerRefundNo: fields.refund_id ?? null } : {}),
      // An account issued after create (as ECPay's PaymentInfoURL does): the buyer's new instructions.
      ...(fields.atm_account && fields.atm_deadline
        ? {
            action: { type: 'instructions' as const, atm: { bankCode: fields.atm_bank ?? '999', account: fields.atm_account, amount: Number(fields.amount), deadline: fields.atm_deadline } },
            expiresAt: new Date(fields.atm_deadline),
          }
        : {}),
    };
  }

  async verifyCallback(request: CallbackRequest): Promise<CallbackVerification> {
    let fields: Record<string, string>;
    try {
      fields = this.fields(request);
    } catch (err) {
      return { verified: false, reason: (err as Error).message };
    }
    if (!verify(fields, this.config.secret)) return { verified: false, reason: 'bad signature' };
    if (fields.merchant_id !== this.config.merchantId) return { verified: false, reason: 'merchant_id is not this account' };
    return { verified: true, facts: this.facts(fields) };
  }

  reply(kind: ReplyKind): CallbackReply {
    if (kind === 'ack') return { status: 200, contentType: 'text/plain', body: 'OK' };
    if (kind === 'reject') return { status: 400, contentType: 'text/plain', body: 'BAD SIGN' };
    return { status: 503, contentType: 'text/plain', body: 'RETRY' };
  }

  /** A query for a made-up order: NOT_FOUND, signed, proves the secret. */
  async probe(): Promise<ProbeResult> {
    try {
      await this.call('query', { order_no: probeOrderNo() });
      return { status: 'ok' };
    } catch (err) {
      if (isCredentialsRejection(err)) return { status: 'rejected', reason: err.message };
      return { status: 'unreachable', reason: (err as Error).message };
    }
  }

  async query({ order }: QueryInput): Promise<QueryResult> {
    const out = await this.call('query', { order_no: order.orderNo });
    if (out.result === 'NOT_FOUND') return { found: false };
    return { found: true, facts: this.facts(out) };
  }

  async refund({ order, refundNo, amount }: RefundInput): Promise<RefundResult> {
    const out = await this.call('refund', { order_no: order.orderNo, refund_no: refundNo, amount: String(amount) });
    if (out.result === 'OK') return { outcome: 'succeeded', providerRefundNo: out.refund_id ?? null };
    return { outcome: 'failed', code: out.code ?? 'ERROR', message: 'refund refused' };
  }

  /** Every payment FakePay took in the window, each under its own trade number (a second payment too). */
  async listTransactions({ from, to }: ListTransactionsInput): Promise<PaymentFacts[]> {
    const out = await this.call('list', { from: from.toISOString(), to: to.toISOString() });
    if (out.result !== 'OK') throw new ProviderUnavailableError(`fakepay list: ${out.code}`);
    const items = JSON.parse(out.items ?? '[]') as Record<string, string>[];
    return items.map((fields) => this.facts(fields));
  }

  async cancel({ order }: CancelInput): Promise<CancelResult> {
    const out = await this.call('close', { order_no: order.orderNo });
    if (out.result === 'OK') return { outcome: 'cancelled' };
    return { outcome: 'not_cancellable', code: out.code ?? 'ERROR', message: 'close refused' };
  }
}
