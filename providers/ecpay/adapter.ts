import { ConfigError, ValidationError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { toWholeUnits } from '../../core/money.ts';
import type {
  CallbackEnvelope,
  CallbackReply,
  CallbackRequest,
  CallbackUrls,
  CallbackVerification,
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
import { probeOrderNo } from '../../core/provider-health.ts';
import { parseFormStrict } from '../kit/fields.ts';
import { fetchTransport, httpRequest } from '../kit/http.ts';
import { refundPlan } from './card-actions.ts';
import { EcpayClient, EcpayFault, PATHS } from './client.ts';
import { AMOUNT_LIMITS, atmDeadline, callbackFacts, checkoutFields, queryFacts, TRADE_PAID, URL_MAX } from './codec.ts';
import type { EcpaySettings } from './config.ts';
import { checkMacMatches, withCheckMac } from './crypto.ts';
import { taipeiMinuteOfDay } from './time.ts';

/** §10.1: ECPay's daily auto-close runs at 20:15 Taipei; DoAction is off limits until 20:30. */
const AUTO_CLOSE_WINDOW = { from: 20 * 60 + 15, to: 20 * 60 + 30 };
const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

export interface EcpayProviderOptions {
  now?: () => Date;
  /** Tests rewrite or refuse the calls through a fetch of their own; production uses providers/kit/http.ts. */
  fetchImpl?: typeof fetch;
}

/**
 * ECPay AIO (docs/protocols/ecpay.md): card and ATM through the AioCheckOut form, CheckMacValue
 * both ways. Only a MAC-checked server notice (ReturnURL, PaymentInfoURL) changes an order; the
 * browser's OrderResultURL / ClientRedirectURL posts are shown on the result page and nothing more.
 */
export class EcpayProvider implements PaymentProvider {
  readonly id = 'ecpay';
  readonly capabilities: ReadonlySet<ProviderCapability>;
  readonly methods: readonly string[];
  /** Only card authorisations can be given back (CreditCardAction); an ATM transfer cannot. */
  readonly refundMethods = ['card'] as const;
  readonly currencies = ['TWD'] as const;
  // §5.1: ECPay re-sends until it reads `1|OK` (at most 4 more times), so `1|OK` is said only once
  // the notice is recorded and applied; before that, it is better heard again than lost.
  readonly ackAfter = 'applied' as const;
  /** A notify is checked by its signature alone: core may verify it before storing (one commit). */
  readonly verifiesOffline = true;
  /** ReturnURL / PaymentInfoURL / OrderResultURL posts are forms of at most ~25 short fields: ~1 KB. */
  readonly maxCallbackBytes = 8 * 1024;
  // DoAction has no refund number of ours to key on (§10.1): a repeat would refund twice.
  readonly refundIdempotent = false;
  private readonly client: EcpayClient;
  private readonly now: () => Date;

  constructor(
    readonly account: string,
    private readonly settings: EcpaySettings,
    urls: CallbackUrls,
    private readonly logger: Logger,
    options: EcpayProviderOptions = {},
  ) {
    // §3.2: ReturnURL, OrderResultURL and the ATM URLs are String(200); a longer base is a config error, at boot.
    for (const url of [urls.notifyUrl, urls.returnUrl]) {
      if (url.length > URL_MAX) throw new ConfigError('callback URLs too long', [{ path: 'callbackBaseUrl', message: `ECPay takes callback URLs of at most ${URL_MAX} characters; ${url.length} here` }]);
    }
    this.now = options.now ?? (() => new Date());
    this.client = new EcpayClient(settings, this.now, options.fetchImpl ? fetchTransport(options.fetchImpl) : httpRequest);
    this.methods = settings.methods;
    // DoAction (§10) is for cards only and needs the card check code to read the card's state (§9).
    this.capabilities = new Set<ProviderCapability>(settings.methods.includes('card') && settings.creditCheckCode ? ['refund'] : []);
  }

  /** §11.1 per-method maximum (whole TWD in AMOUNT_LIMITS, here in minor units). */
  maxAmount(currency: string, method: string): number | undefined {
    if (currency !== 'TWD' || (method !== 'card' && method !== 'atm')) return undefined;
    return AMOUNT_LIMITS[method].max * 100;
  }

  /** §3: every field and its CheckMacValue, for the buyer's browser to POST to AioCheckOut. */
  async create({ order, urls }: CreatePaymentInput): Promise<CreatePaymentResult> {
    const now = this.now();
    const fields = checkoutFields({ order, merchantId: this.settings.MerchantID, urls, now });
    const action = { type: 'form' as const, method: 'POST' as const, url: `${this.settings.baseUrl}${PATHS.checkout}`, fields: withCheckMac(fields, this.settings) };
    if (order.method !== 'atm') return { outcome: 'pending', providerTradeNo: null, action };
    // The account will run to the end of the Taipei day ExpireDate days on (§7); the PaymentInfoURL
    // notice later names the exact date, counted from when the buyer actually reached ECPay.
    const deadline = atmDeadline(now, Number(fields.ExpireDate));
    return { outcome: 'pending', providerTradeNo: null, action, ...(deadline.getTime() !== order.expiresAt.getTime() ? { expiresAt: deadline } : {}) };
  }

  /** The request's fields: a form body, or the query string of a GET. Throws for what cannot be read. */
  private fields(request: CallbackRequest): Record<string, string> {
    const get = request.httpMethod === 'GET' || request.httpMethod === 'HEAD';
    if (!get && request.rawBody !== '' && !FORM_TYPE.test(request.contentType)) {
      throw ValidationError.field('content-type', 'must be application/x-www-form-urlencoded');
    }
    // A field named twice is refused, naming it (providers/kit/fields.ts).
    return parseFormStrict(get ? request.rawQuery : request.rawBody);
  }

  /** §5/§7: TradeNo + RtnCode tells one notice (paid, account issued, failed) and its re-sends apart from another. */
  inspectCallback(request: CallbackRequest): CallbackEnvelope {
    const fields = this.fields(request);
    if (request.kind !== 'notify') return { dedupeKey: null, headers: { 'content-type': request.contentType } };
    if (!fields.TradeNo || !/^[0-9A-Za-z]{1,20}$/.test(fields.TradeNo)) throw ValidationError.field('TradeNo', 'is missing or malformed');
    if (!fields.RtnCode || !/^\d{1,10}$/.test(fields.RtnCode)) throw ValidationError.field('RtnCode', 'is missing or malformed');
    // A missing or wrong CheckMacValue is a verification failure, kept for audit: not unreadable input.
    return { dedupeKey: `${fields.TradeNo}:${fields.RtnCode}`, headers: { 'content-type': request.contentType } };
  }

  /**
   * §4.4 over every field received, then MerchantID (§5.4). Core checks the order, the account and
   * the amount; `simulated` keeps a back-office "模擬付款" from ever counting as paid.
   */
  async verifyCallback(request: CallbackRequest): Promise<CallbackVerification> {
    let fields: Record<string, string>;
    try {
      fields = this.fields(request);
    } catch (err) {
      return { verified: false, reason: (err as Error).message };
    }
    if (fields.CheckMacValue === undefined) return { verified: false, reason: 'CheckMacValue is missing' };
    if (!checkMacMatches(fields, this.settings)) return { verified: false, reason: 'CheckMacValue does not match' };
    if (fields.MerchantID !== this.settings.MerchantID) {
      return { verified: false, reason: `MerchantID ${JSON.stringify(fields.MerchantID ?? null).slice(0, 24)} is not this account's` };
    }
    const facts = callbackFacts(fields);
    if ('error' in facts) return { verified: false, reason: facts.error };
    // A browser page never says "paid" for a simulated payment, even as a hint.
    if (request.kind === 'return' && facts.simulated) return { verified: true, facts: { ...facts, outcome: 'pending' } };
    return { verified: true, facts };
  }

  reply(kind: ReplyKind): CallbackReply {
    // §5.1: exactly `1|OK`; anything else makes ECPay send the notice again.
    if (kind === 'ack') return { status: 200, contentType: 'text/plain; charset=utf-8', body: '1|OK' };
    if (kind === 'retry') return { status: 503, contentType: 'text/plain; charset=utf-8', body: '0|TryAgainLater' };
    return { status: 400, contentType: 'text/plain; charset=utf-8', body: '0|Rejected' };
  }

  /**
   * QueryTradeInfo for a made-up MerchantTradeNo (§8): "not found" proves nothing is wrong (signed,
   * it proves the keys; unsigned, see UNSIGNED_NOT_FOUND_ACCEPTED_UNVERIFIED); ECPay refusing our
   * CheckMacValue, or an answer whose MAC fails under our keys, proves them wrong.
   */
  async probe(): Promise<ProbeResult> {
    try {
      await this.client.queryTradeInfo(probeOrderNo());
      return { status: 'ok' };
    } catch (err) {
      if (err instanceof EcpayFault && (err.kind === 'rejected' || err.kind === 'bad_mac')) return { status: 'rejected', reason: err.message };
      return { status: 'unreachable', reason: (err as Error).message };
    }
  }

  async query({ order }: QueryInput): Promise<QueryResult> {
    const fields = await this.client.queryTradeInfo(order.orderNo);
    if (!fields) return { found: false };
    let facts;
    try {
      facts = queryFacts(fields, order.orderNo);
    } catch (err) {
      throw new EcpayFault('protocol', 'QueryTradeInfo', (err as Error).message);
    }
    if (!facts) return { found: false };
    if (Number.isNaN(facts.amount)) throw new EcpayFault('protocol', 'QueryTradeInfo', 'TradeAmt is not a whole amount');
    return { found: true, facts };
  }

  /**
   * §9 then §10: the card's state decides which DoAction calls give `amount` back. Reading the
   * state changes nothing, so a fault there is a clean failure; a fault once DoAction was called is
   * thrown, and the refund stays pending for a person (DoAction cannot be repeated safely).
   */
  async refund({ order, amount }: RefundInput): Promise<RefundResult> {
    const failed = (code: string, message: string): RefundResult => ({ outcome: 'failed', code, message });
    if (order.method !== 'card') return failed('unsupported', 'ECPay refunds cards only; an ATM transfer is returned outside ECPay');
    const checkCode = this.settings.creditCheckCode;
    if (!checkCode) return failed('unsupported', 'This ECPay account has no creditCheckCode configured');
    let whole: number;
    try {
      whole = toWholeUnits(amount, order.currency, 'amount');
    } catch (err) {
      return failed('amount_not_representable', (err as Error).message);
    }
    const minute = taipeiMinuteOfDay(this.now());
    if (this.settings.autoCloseGuard && minute >= AUTO_CLOSE_WINDOW.from && minute < AUTO_CLOSE_WINDOW.to) {
      return failed('ecpay_auto_close_window', 'ECPay closes card payments between 20:15 and 20:30 Taipei time; refund after 20:30');
    }

    let tradeNo: string;
    let plan: ReturnType<typeof refundPlan>;
    try {
      const info = await this.client.queryTradeInfo(order.orderNo);
      if (!info) return failed('not_found', 'ECPay has no such order');
      if (info.TradeStatus !== TRADE_PAID) return failed('not_paid', `ECPay reports TradeStatus ${info.TradeStatus ?? ''}`);
      if (!info.gwsr || !info.TradeNo) return failed('not_refundable', 'ECPay did not report the card authorisation (gwsr)');
      tradeNo = info.TradeNo;
      plan = refundPlan(await this.client.queryCardTrade(info.gwsr, Number(info.TradeAmt), checkCode), whole);
    } catch (err) {
      return failed('provider_unavailable', (err as Error).message.slice(0, 200));
    }
    if ('refused' in plan) return failed(plan.refused.code, plan.refused.message);

    for (const step of plan.steps) {
      const answer = await this.client.doAction(order.orderNo, tradeNo, step.action, step.amount);
      this.logger.info({ orderNo: order.orderNo, action: step.action, amount: step.amount, rtnCode: answer.rtnCode }, 'ECPay DoAction');
      // A refused first step moved nothing; a refused second step follows a C or an E, which moves
      // no money either, and the next attempt reads the new state and plans from there.
      if (answer.rtnCode !== '1') return failed(`DoAction_${step.action}_${answer.rtnCode}`.slice(0, 64), answer.rtnMsg.slice(0, 200) || 'ECPay refused the card action');
    }
    return { outcome: 'succeeded', providerRefundNo: null };
  }
}
