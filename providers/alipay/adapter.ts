import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import type { z } from 'zod';
import { isCredentialsRejection, ProviderUnavailableError, ValidationError } from '../../core/errors.ts';
import { probeOrderNo } from '../../core/provider-health.ts';
import { parseFormStrict } from '../kit/fields.ts';
import { parseProviderResponse } from '../kit/responses.ts';
import { signPool } from '../kit/sign-pool.ts';
import type { Logger } from '../../core/logger.ts';
import type {
  CallbackEnvelope,
  CallbackReply,
  CallbackRequest,
  CallbackUrls,
  CallbackVerification,
  CancelResult,
  CreatePaymentInput,
  CreatePaymentResult,
  PaymentProvider,
  ProbeResult,
  ProviderCapability,
  QueryInput,
  QueryResult,
  RefundInput,
  RefundResult,
  ReplyKind,
} from '../../core/payment-provider.ts';
import { MAX_EXPIRY_MS, TOTAL_AMOUNT_MAX_MINOR, beijingTime, cleanSubject, notifyFacts, queryFacts, toTotalAmount, withoutEmpty } from './codec.ts';
import { refundQueryAnswer, sdkAnswer, type SdkAnswer, tradeQueryAnswer, tradeRefundAnswer } from './answers.ts';
import type { AlipaySettings } from './config.ts';
import { validateKeys } from './keys.ts';
import { handoffUrl, type PagePayConfig, signPagePay } from './page-pay.ts';

const PRODUCT: Record<string, { method: string; productCode: string }> = {
  page: { method: 'alipay.trade.page.pay', productCode: 'FAST_INSTANT_TRADE_PAY' },
  wap: { method: 'alipay.trade.wap.pay', productCode: 'QUICK_WAP_WAY' },
};

function parsedOrText(pem: string, parse: (pem: string) => KeyObject): KeyObject | string {
  try {
    return parse(pem);
  } catch {
    return pem;
  }
}

/**
 * Gateway answers that refuse the app rather than the request (§5 table): a request signature that
 * fails against the app public key Alipay holds (a wrong privateKey), an app id it does not know, an
 * app without the permission. Which sub_codes the real gateway uses beyond these is UNVERIFIED.
 */
export const CREDENTIAL_SUB_CODES_UNVERIFIED: ReadonlySet<string> = new Set(['isv.invalid-signature', 'isv.invalid-app-id', 'isv.insufficient-isv-permissions']);

/**
 * SDK errors that prove the keys wrong (§1.11): its answer fails our alipayPublicKey (验签失败: the
 * key is not this app's Alipay key, or the gateway signed for a stranger because it does not know
 * the app id), or the gateway refused us at HTTP level (401/403; UNVERIFIED for Alipay).
 */
const CREDENTIAL_SDK_ERRORS = [/^(支付宝响应)?验签失败/, /^HTTP 请求错误, status: 40[13]\b/];

const decodeHtml = (text: string) => text.replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'");

/**
 * Alipay page (PC) and WAP pay through alipay-sdk (docs/protocols/alipay.md). Only the RSA2-verified
 * async notify changes an order; the browser return only displays, after asking trade.query.
 */
export class AlipayProvider implements PaymentProvider {
  readonly id = 'alipay';
  readonly capabilities: ReadonlySet<ProviderCapability> = new Set(['refund', 'cancel']);
  readonly methods = ['page', 'wap'] as const;
  readonly currencies: readonly string[];
  // §3.6: Alipay retries for ~25 h; "success" is said once the notify is recorded and applied.
  readonly ackAfter = 'applied' as const;
  /** A notify is checked by its signature alone: core may verify it before storing (one commit). */
  readonly verifiesOffline = true;
  /**
   * An async notify is a form of some 30 short fields plus the signature, 1-3 KB; the list fields
   * (fund_bill_list, voucher_detail_list) and passback_params can add a few KB. Twice the most seen.
   */
  readonly maxCallbackBytes = 16 * 1024;
  readonly refundIdempotent = true; // out_request_no (§5.2)
  private readonly sdk: AlipaySdk;
  private readonly urls: CallbackUrls;
  /** The SDK's config for the hand-off, signed off the event loop; null: the key stayed text, the SDK signs. */
  private readonly pagePay: PagePayConfig | null;

  constructor(
    readonly account: string,
    private readonly settings: AlipaySettings,
    urls: CallbackUrls,
    private readonly logger: Logger,
  ) {
    validateKeys(settings.privateKey, settings.keyType, settings.alipayPublicKey);
    this.sdk = new AlipaySdk({
      appId: settings.appId,
      privateKey: settings.privateKey.trim(),
      keyType: settings.keyType,
      alipayPublicKey: settings.alipayPublicKey.trim(),
      signType: 'RSA2',
      gateway: settings.gateway,
      timeout: settings.timeoutMs,
    });
    // The SDK keeps both keys as PEM text, which node:crypto parses again on every sign and verify
    // (OpenSSL 3: about as costly as the RSA operation itself). Parsed once here from the PEM the SDK
    // built (its formatKey), they reach the same createSign().sign / createVerify().verify calls,
    // which take KeyObjects; elsewhere the SDK only tests the keys for truthiness. A PEM that
    // formatKey mangled stays text, failing at each use as before. The SDK types them as strings.
    const config = this.sdk.config as unknown as { privateKey: unknown; alipayPublicKey: unknown };
    config.privateKey = parsedOrText(this.sdk.config.privateKey, createPrivateKey);
    config.alipayPublicKey = parsedOrText(this.sdk.config.alipayPublicKey, createPublicKey);
    this.currencies = settings.currencies;
    this.urls = urls;
    const { appId, charset, version, signType, gateway, privateKey } = this.sdk.config as unknown as Record<string, unknown>;
    this.pagePay =
      privateKey instanceof KeyObject && typeof charset === 'string' && typeof version === 'string' && typeof signType === 'string' && typeof gateway === 'string'
        ? { appId: String(appId), charset, version, signType, gateway, privateKey }
        : null;
  }

  /**
   * The SDK's pageExecute output for `params`, with the RSA signature made on the sign pool's
   * threads (providers/alipay/page-pay.ts) instead of on the event loop.
   */
  private async handoff(method: string, params: { notifyUrl: string; returnUrl: string; bizContent: Record<string, string> }, httpMethod: 'GET' | 'POST') {
    if (!this.pagePay) {
      const html = this.sdk.pageExecute(method, httpMethod, params);
      if (httpMethod === 'GET') return { url: html, body: {} };
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      if (!action) throw new Error('alipay-sdk produced no form');
      const fields: Record<string, string> = {};
      for (const m of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[m[1]!] = decodeHtml(m[2]!);
      return { url: decodeHtml(action), body: fields };
    }
    const signed = await signPagePay(signPool(this.logger), this.pagePay, this.sdk.version, method, params);
    return httpMethod === 'GET' ? { url: handoffUrl(signed), body: {} } : signed;
  }

  /** §6: total_amount ≤ 100000000.00 whatever the method. */
  maxAmount(): number {
    return TOTAL_AMOUNT_MAX_MINOR;
  }

  async create({ order, urls }: CreatePaymentInput): Promise<CreatePaymentResult> {
    const product = PRODUCT[order.method];
    if (!product) throw ValidationError.field('method', 'Alipay offers page and wap', 'unsupported_method');
    if (!/^[A-Za-z0-9_]{1,64}$/.test(order.orderNo)) throw ValidationError.field('orderNo', 'is not a valid out_trade_no');
    // §6: time_expire is at most 15 days ahead; the order follows Alipay's deadline.
    const expiresAt = new Date(Math.min(order.expiresAt.getTime(), Date.now() + MAX_EXPIRY_MS));
    const bizContent = {
      out_trade_no: order.orderNo,
      total_amount: toTotalAmount(order.amount, order.currency),
      subject: cleanSubject(order.subject),
      product_code: product.productCode,
      time_expire: beijingTime(expiresAt),
      ...(order.method === 'wap' && order.returnUrl ? { quit_url: order.returnUrl } : {}),
    };
    // The return URL is this order's (it may carry the buyer's language); the notify URL the account's.
    const params = { notifyUrl: this.urls.notifyUrl, returnUrl: urls.returnUrl, bizContent };
    const base = { outcome: 'pending' as const, providerTradeNo: null, ...(expiresAt.getTime() !== order.expiresAt.getTime() ? { expiresAt } : {}) };
    if (order.method === 'page') {
      return { ...base, action: { type: 'redirect', url: (await this.handoff(product.method, params, 'GET')).url } };
    }
    // WAP: the SDK's auto-submitting form, handed over as fields so any page can render it.
    const form = await this.handoff(product.method, params, 'POST');
    return { ...base, action: { type: 'form', method: 'POST', url: form.url, fields: form.body } };
  }

  /** The form (or a return's query string); a field named twice is refused (providers/kit/fields.ts). */
  private params(request: CallbackRequest): Record<string, string> {
    return parseFormStrict(request.httpMethod === 'GET' ? request.rawQuery : request.rawBody);
  }

  inspectCallback(request: CallbackRequest): CallbackEnvelope {
    const params = this.params(request);
    if (request.kind === 'notify') {
      if (!/application\/x-www-form-urlencoded/i.test(request.contentType)) {
        throw ValidationError.field('content-type', 'must be application/x-www-form-urlencoded');
      }
      if (!params.notify_id) throw ValidationError.field('notify_id', 'is missing');
      // A missing sign is a verification failure ("failure", kept for audit), not unreadable input.
    }
    return { dedupeKey: request.kind === 'notify' ? params.notify_id! : null, headers: { 'content-type': request.contentType } };
  }

  /**
   * Notify: checkNotifySignV2 over the decoded form without empty values (never checkNotifySign:
   * §1.9), then app_id and seller_id. Return: the same signature check, then a fresh trade.query,
   * since a return carries no trade_status (§4). Core checks the order and the amount.
   */
  async verifyCallback(request: CallbackRequest): Promise<CallbackVerification> {
    let params: Record<string, string>;
    try {
      params = withoutEmpty(this.params(request));
    } catch (err) {
      // A field named twice: no signature can cover both values, and nothing changes.
      if (err instanceof ValidationError) return { verified: false, reason: err.message };
      throw err;
    }
    if (!params.sign || !this.signatureHolds(params)) return { verified: false, reason: 'bad signature' };
    if (params.app_id !== this.settings.appId) return { verified: false, reason: `app_id ${params.app_id} is not this app` };
    if (this.settings.sellerId && params.seller_id !== this.settings.sellerId) {
      return { verified: false, reason: `seller_id ${params.seller_id ?? '(none)'} is not this account's seller` };
    }
    const currency = this.currencies[0]!;
    if (request.kind === 'return') {
      const fresh = await this.query({ order: { orderNo: params.out_trade_no ?? '' } as QueryInput['order'] }).catch((err) => {
        this.logger.warn({ err: (err as Error).message }, 'alipay trade.query for a return failed');
        return null;
      });
      if (fresh?.found) return { verified: true, facts: fresh.facts };
      const facts = notifyFacts({ ...params, trade_status: 'WAIT_BUYER_PAY' }, currency);
      return 'error' in facts ? { verified: false, reason: facts.error } : { verified: true, facts };
    }
    const facts = notifyFacts(params, currency);
    if ('error' in facts) return { verified: false, reason: facts.error };
    return { verified: true, facts };
  }

  /**
   * Alipay's trade notifications are signed over every field but `sign` and `sign_type`
   * (docs/protocols/alipay.md#notify-and-return-signature): checked so, with one RSA verification,
   * through the SDK's own rsaCheck. checkNotifySignV2 tries `sign_type` included first, so a real
   * notify cost it two; it still gets what fails here (the other convention, or a forgery).
   */
  private signatureHolds(params: Record<string, string>): boolean {
    const type = params.sign_type || 'RSA2';
    if (type === 'RSA2') {
      const content = Object.keys(params)
        .filter((k) => k !== 'sign' && k !== 'sign_type')
        .sort()
        .map((k) => `${k}=${params[k]}`)
        .join('&');
      if (this.sdk.rsaCheck(content, params.sign!, 'RSA2')) return true;
    }
    return this.sdk.checkNotifySignV2(params);
  }

  reply(kind: ReplyKind): CallbackReply {
    // §3.6: exactly "success"; anything else makes Alipay send it again.
    return { status: 200, contentType: 'text/plain', body: kind === 'ack' ? 'success' : 'failure' };
  }

  private async exec(method: string, bizContent: Record<string, unknown>): Promise<SdkAnswer> {
    let answer: unknown;
    try {
      answer = await this.sdk.exec(method, { bizContent }, { validateSign: true });
    } catch (err) {
      // Transport errors, HTTP ≠ 200, a bad response signature (§1.11): the outcome is unknown. The
      // SDK's messages can quote the response (buyer ids, amounts): only their first words are kept.
      const message = String((err as Error).message ?? '');
      const short = message.split(/[,，:：{]/)[0]!.slice(0, 80);
      const credentialsRejected = CREDENTIAL_SDK_ERRORS.some((re) => re.test(message));
      throw new ProviderUnavailableError(`Alipay ${method}: ${(err as Error).name} ${short}`.trim(), undefined, { credentialsRejected });
    }
    return parseProviderResponse(sdkAnswer, answer, { provider: 'Alipay', operation: method });
  }

  /** A code-10000 answer as `schema`'s struct (providers/kit/responses.ts). */
  private read<S extends z.ZodType>(schema: S, answer: SdkAnswer, method: string): z.output<S> {
    return parseProviderResponse(schema, answer, { provider: 'Alipay', operation: method });
  }

  /** §1.11: 20000 / isp.unknow-error / ACQ.SYSTEM_ERROR mean "unknown": a fault to retry, not an answer. */
  private unknown(method: string, r: SdkAnswer): never {
    // sub_msg of isv.invalid-signature quotes the signed string, never a key; the code alone says enough.
    const refused = CREDENTIAL_SUB_CODES_UNVERIFIED.has(r.subCode ?? '');
    const detail = refused ? `${r.code} ${r.subCode}: the gateway refuses this app's credentials` : `${r.code} ${r.subCode ?? ''} ${r.subMsg ?? r.msg ?? ''}`;
    throw new ProviderUnavailableError(`Alipay ${method} answered ${detail}`.trim(), undefined, { credentialsRejected: refused });
  }

  /**
   * trade.query for a made-up out_trade_no (§5.1). ACQ.TRADE_NOT_EXIST, or any signed business answer,
   * proves the app id and both keys; an answer refusing the app, or one that fails our
   * alipayPublicKey, proves them wrong; a transport fault or 20000 says nothing about them.
   */
  async probe(): Promise<ProbeResult> {
    let r: SdkAnswer;
    try {
      r = await this.exec('alipay.trade.query', { out_trade_no: probeOrderNo() });
    } catch (err) {
      if (isCredentialsRejection(err)) return { status: 'rejected', reason: err.message };
      return { status: 'unreachable', reason: (err as Error).message };
    }
    if (CREDENTIAL_SUB_CODES_UNVERIFIED.has(r.subCode ?? '')) return { status: 'rejected', reason: `alipay.trade.query answered ${r.code} ${r.subCode}: the gateway refuses this app's credentials` };
    if (this.isUnknown(r)) return { status: 'unreachable', reason: `alipay.trade.query answered ${r.code} ${r.subCode ?? ''}`.trim() };
    return { status: 'ok' };
  }

  private isUnknown(r: SdkAnswer): boolean {
    return r.code === '20000' || r.subCode === 'ACQ.SYSTEM_ERROR' || r.subCode === 'isp.unknow-error' || r.subCode === 'aop.unknow-error';
  }

  async query({ order }: QueryInput): Promise<QueryResult> {
    const r = await this.exec('alipay.trade.query', { out_trade_no: order.orderNo });
    if (r.code === '10000') return { found: true, facts: queryFacts(this.read(tradeQueryAnswer, r, 'alipay.trade.query'), this.currencies[0]!) };
    // The buyer has not reached the cashier yet: no trade exists, which is "pending", not an error.
    if (r.subCode === 'ACQ.TRADE_NOT_EXIST') return { found: false };
    return this.unknown('alipay.trade.query', r);
  }

  /** out_request_no = our refund number: Alipay's own idempotency key for each refund (§5.2). */
  async refund({ order, refundNo, amount, reason }: RefundInput): Promise<RefundResult> {
    const r = await this.exec('alipay.trade.refund', {
      out_trade_no: order.orderNo,
      refund_amount: toTotalAmount(amount, order.currency),
      out_request_no: refundNo,
      ...(reason ? { refund_reason: reason.slice(0, 256) } : {}),
    });
    if (r.code === '10000') {
      if (this.read(tradeRefundAnswer, r, 'alipay.trade.refund').fundChange === 'Y') return { outcome: 'succeeded', providerRefundNo: refundNo };
      // fund_change N: a repeat, or still in progress — ask (§5.2: code 10000 alone proves nothing).
      const q = await this.exec('alipay.trade.fastpay.refund.query', { out_trade_no: order.orderNo, out_request_no: refundNo });
      if (q.code === '10000' && this.read(refundQueryAnswer, q, 'alipay.trade.fastpay.refund.query').refundStatus === 'REFUND_SUCCESS') {
        return { outcome: 'succeeded', providerRefundNo: refundNo };
      }
      return { outcome: 'pending', providerRefundNo: refundNo };
    }
    if (this.isUnknown(r)) return this.unknown('alipay.trade.refund', r);
    return { outcome: 'failed', code: r.subCode ?? r.code ?? 'refund_failed', message: r.subMsg ?? r.msg ?? '' };
  }

  async cancel({ order }: { order: QueryInput['order'] }): Promise<CancelResult> {
    const r = await this.exec('alipay.trade.close', { out_trade_no: order.orderNo });
    if (r.code === '10000') return { outcome: 'cancelled' };
    if (r.subCode === 'ACQ.TRADE_NOT_EXIST') {
      // The buyer never reached the cashier: nothing to close. The hand-off stays valid until
      // time_expire, so a payment that still lands becomes paid + attention.
      return { outcome: 'unsupported', message: 'no trade exists at Alipay yet' };
    }
    if (this.isUnknown(r)) return this.unknown('alipay.trade.close', r);
    return { outcome: 'not_cancellable', code: r.subCode ?? r.code ?? 'close_failed', message: r.subMsg ?? r.msg ?? '' };
  }
}
