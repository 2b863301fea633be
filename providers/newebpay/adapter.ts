import { createHash } from 'node:crypto';
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
import { href } from '../../core/html.ts';
import { fetchTransport, html, httpRequest, joinHtml, parseFormStrict } from '../kit/index.ts';
import { refundPlan, type Step } from './card-actions.ts';
import { NewebpayClient, NewebpayFault, type CardActionAnswer } from './client.ts';
import { AMOUNT_LIMITS, callbackFacts, CODE_PAYMENT_TYPES, CUSTOMER_MARK, customerUrl, fromAmt, merchantOrderNo, MPG_VERSION, mpgParams, parseMessage, PATHS, queryFacts, URL_MAX } from './codec.ts';
import type { NewebpayMethod, NewebpaySettings } from './config.ts';
import { decryptText, encryptParams, tradeSha, tradeShaMatches } from './crypto.ts';

const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

export interface NewebpayProviderOptions {
  now?: () => Date;
  /** Tests rewrite or refuse the calls through a fetch of their own; production uses providers/kit/http.ts. */
  fetchImpl?: typeof fetch;
}

/**
 * NewebPay MPG (docs/protocols/newebpay.md): card, ATM and convenience-store code through the MPG
 * form, TradeInfo encrypted and TradeSha-signed both ways. The NotifyURL changes an order; the CustomerURL (a code issued,
 * brought by the buyer's browser but signed like a notify) gives the buyer's instructions; the
 * ReturnURL is displayed only.
 */
export class NewebpayProvider implements PaymentProvider {
  readonly id = 'newebpay';
  readonly capabilities: ReadonlySet<ProviderCapability>;
  readonly methods: readonly string[];
  /** §7: only a card authorisation can be voided, captured for less, or refunded; a transfer or a store payment cannot. */
  readonly refundMethods = ['card'] as const;
  readonly currencies = ['TWD'] as const;
  // §5.1: NewebPay re-sends a notify until it gets HTTP 200, so 200 is said only once the notify is
  // recorded and applied; TradeSha proves it without a call back to NewebPay.
  readonly ackAfter = 'applied' as const;
  readonly verifiesOffline = true;
  /** §9: a MerchantOrderNo is taken once, even after a failure: paying again is a new trade (codec.ts merchantOrderNo). */
  readonly payAgain = 'new-attempt' as const;
  /** §5: five form fields, TradeInfo the hex of ~500-1,000 bytes of JSON: about 3 KB at most. */
  readonly maxCallbackBytes = 16 * 1024;
  /** §7.3: Close has no refund number of ours to key on; a repeat would refund twice. */
  readonly refundIdempotent = false;
  /** Set only with `probe: true` in the account's config (see config.ts). */
  readonly probe?: () => Promise<ProbeResult>;
  private readonly client: NewebpayClient;
  private readonly now: () => Date;

  constructor(
    readonly account: string,
    private readonly settings: NewebpaySettings,
    private readonly urls: CallbackUrls,
    private readonly logger: Logger,
    options: NewebpayProviderOptions = {},
  ) {
    // §4.2: ReturnURL, NotifyURL and CustomerURL are String(200); a longer base is a config error, at boot.
    for (const url of [urls.returnUrl, customerUrl(urls.notifyUrl)]) {
      if (url.length > URL_MAX) throw new ConfigError('callback URLs too long', [{ path: 'callbackBaseUrl', message: `NewebPay takes callback URLs of at most ${URL_MAX} characters; ${url.length} here` }]);
    }
    this.now = options.now ?? (() => new Date());
    this.client = new NewebpayClient(settings, this.now, options.fetchImpl ? fetchTransport(options.fetchImpl) : httpRequest);
    this.methods = settings.methods;
    this.capabilities = new Set<ProviderCapability>(settings.methods.includes('card') ? ['refund'] : []);
    if (settings.probe) this.probe = () => this.probeOnce();
  }

  /** §4.2 per-method maximum (whole TWD in AMOUNT_LIMITS, here in minor units). */
  maxAmount(currency: string, method: string): number | undefined {
    if (currency !== 'TWD' || !Object.hasOwn(AMOUNT_LIMITS, method)) return undefined;
    const max = AMOUNT_LIMITS[method as NewebpayMethod].max;
    return max === undefined ? undefined : max * 100;
  }

  /** §3, §4: the MPG form, TradeInfo built now (its TimeStamp has a ±120 s window at NewebPay). */
  async create({ order, urls }: CreatePaymentInput): Promise<CreatePaymentResult> {
    const { params, deadline } = mpgParams({ order, merchantId: this.settings.MerchantID, urls, now: this.now() });
    const tradeInfo = encryptParams(params, this.settings);
    const action = {
      type: 'form' as const,
      method: 'POST' as const,
      url: `${this.settings.baseUrl}${PATHS.mpg}`,
      fields: { MerchantID: this.settings.MerchantID, TradeInfo: tradeInfo, TradeSha: tradeSha(tradeInfo, this.settings), Version: MPG_VERSION },
    };
    // A code takes payments until 23:59:59 Taipei on its ExpireDate (§4.2): the order keeps that deadline.
    const expiresAt = deadline && deadline.getTime() !== order.expiresAt.getTime() ? { expiresAt: deadline } : {};
    return { outcome: 'pending', providerTradeNo: null, action, ...expiresAt };
  }

  /** The request's form fields; a field named twice is refused, naming it (providers/kit/fields.ts). */
  private fields(request: CallbackRequest): Record<string, string> {
    if (!FORM_TYPE.test(request.contentType)) throw ValidationError.field('content-type', 'must be application/x-www-form-urlencoded');
    return parseFormStrict(request.rawBody);
  }

  /**
   * §5: the outer form, unverified. The key is the shop, the (unsigned) Status and a digest of the
   * ciphertext: NewebPay's re-sends of one message are the same bytes, another message is other bytes.
   */
  inspectCallback(request: CallbackRequest): CallbackEnvelope {
    const fields = this.fields(request);
    const headers = { 'content-type': request.contentType };
    if (request.kind !== 'notify') return { dedupeKey: null, headers };
    if (!fields.Status || !/^[A-Za-z0-9]{1,16}$/.test(fields.Status)) throw ValidationError.field('Status', 'is missing or malformed');
    if (!fields.MerchantID || !/^[A-Za-z0-9]{1,20}$/.test(fields.MerchantID)) throw ValidationError.field('MerchantID', 'is missing or malformed');
    if (!fields.TradeInfo || !/^(?:[0-9a-fA-F]{32})+$/.test(fields.TradeInfo)) throw ValidationError.field('TradeInfo', 'is missing or not whole AES blocks of hex');
    // A missing or wrong TradeSha is a verification failure, kept for audit: not unreadable input.
    const digest = createHash('sha256').update(fields.TradeInfo.toLowerCase(), 'ascii').digest('hex').slice(0, 40);
    // The CustomerURL post comes from the buyer's browser: proving it earns the buyer no trust (the
    // mark is unsigned; verifyCallback says the same from the signed message, which is what counts).
    const fromBrowser = request.rawQuery.split('&').includes(CUSTOMER_MARK);
    return { dedupeKey: `${fields.MerchantID}:${fields.Status}:${digest}`, headers, ...(fromBrowser ? { fromBrowser } : {}) };
  }

  /**
   * §3.2 TradeSha over the hex, the shop (outer and inner MerchantID), then §3.3 decryption. Only the
   * encrypted Status counts: the outer one is not covered by TradeSha. Core checks order and amount.
   */
  async verifyCallback(request: CallbackRequest): Promise<CallbackVerification> {
    let fields: Record<string, string>;
    try {
      fields = this.fields(request);
    } catch (err) {
      return { verified: false, reason: (err as Error).message };
    }
    if (!fields.TradeInfo || fields.TradeSha === undefined) return { verified: false, reason: 'TradeInfo or TradeSha is missing' };
    if (!tradeShaMatches(fields.TradeInfo, fields.TradeSha, this.settings)) return { verified: false, reason: 'TradeSha does not match' };
    if (fields.MerchantID !== this.settings.MerchantID) return { verified: false, reason: 'MerchantID is not this account\'s' };
    const plain = decryptText(fields.TradeInfo, this.settings);
    if (plain === null) return { verified: false, reason: 'TradeInfo does not decrypt under this account\'s keys' };
    let facts;
    let codeStep = false;
    try {
      const message = parseMessage(plain);
      // §5.1/§5.3: a code's issue (or its failure to issue) is never notified by NewebPay's server;
      // only the CustomerURL post through the buyer's browser carries it.
      codeStep = CODE_PAYMENT_TYPES.has(message.Result.PaymentType ?? '') && !message.Result.PayTime;
      if (message.Result.MerchantID !== undefined && message.Result.MerchantID !== this.settings.MerchantID) {
        return { verified: false, reason: 'Result.MerchantID is not this account\'s' };
      }
      facts = callbackFacts(message);
    } catch (err) {
      return { verified: false, reason: `TradeInfo is not a NewebPay message (${(err as Error).message.slice(0, 80)})` };
    }
    if ('error' in facts) return { verified: false, reason: facts.error };
    // Said from the signed message, whatever the (unsigned) URL mark says.
    return { verified: true, facts, ...(codeStep && facts.outcome !== 'paid' ? { fromBrowser: true } : {}) };
  }

  /**
   * §5.1: NewebPay wants HTTP 200 and reads nothing else. A CustomerURL post (§5.3) comes from the
   * buyer's browser: its acknowledgement carries the browser on to the return page, with the same
   * signed fields, where the instructions just recorded are shown.
   */
  reply(kind: ReplyKind, request: CallbackRequest): CallbackReply {
    if (kind === 'retry') return { status: 503, contentType: 'text/plain; charset=utf-8', body: 'RETRY' };
    if (kind === 'reject') return { status: 400, contentType: 'text/plain; charset=utf-8', body: 'REJECTED' };
    const fromBrowser = request.rawQuery.split('&').includes(CUSTOMER_MARK);
    if (!fromBrowser) return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'SUCCESS' };
    let fields: Record<string, string> = {};
    try {
      const all = this.fields(request);
      fields = Object.fromEntries(['Status', 'MerchantID', 'Version', 'TradeInfo', 'TradeSha'].filter((k) => all[k] !== undefined).map((k) => [k, all[k]!]));
    } catch {
      // Acknowledged means it was read; nothing to carry if it somehow is not.
    }
    return { status: 200, contentType: 'text/html; charset=utf-8', body: handOffPage(this.urls.returnUrl, fields) };
  }

  /** A QueryTradeInfo of a made-up order (§6): TRA10021 proves the keys; TRA10054 or a bad CheckCode proves them wrong. */
  private async probeOnce(): Promise<ProbeResult> {
    try {
      await this.client.queryTradeInfo(probeOrderNo(), 1);
      return { status: 'ok' };
    } catch (err) {
      if (err instanceof NewebpayFault && (err.kind === 'rejected' || err.kind === 'bad_check_code')) return { status: 'rejected', reason: err.message };
      return { status: 'unreachable', reason: (err as Error).message };
    }
  }

  async query({ order }: QueryInput): Promise<QueryResult> {
    // The order's attempt: the latest, or the one that paid (core moves the order to it).
    const result = await this.client.queryTradeInfo(merchantOrderNo(order), toWholeUnits(order.amount, order.currency, 'amount'));
    if (!result) return { found: false };
    try {
      return { found: true, facts: queryFacts(result) };
    } catch (err) {
      throw new NewebpayFault('protocol', 'QueryTradeInfo', (err as Error).message);
    }
  }

  /**
   * §6 then §7: the card's state decides which calls give `amount` back (card-actions.ts). Reading
   * the state changes nothing, so a fault there is a clean failure; a fault once a call that moves
   * money was sent is thrown, and the refund stays pending for a person (nothing can be repeated safely).
   */
  async refund({ order, amount }: RefundInput): Promise<RefundResult> {
    const failed = (code: string, message: string): RefundResult => ({ outcome: 'failed', code, message });
    if (order.method !== 'card') return failed('unsupported', 'NewebPay refunds cards only; an ATM transfer is returned outside NewebPay');
    let whole: number;
    let total: number;
    try {
      whole = toWholeUnits(amount, order.currency, 'amount');
      total = toWholeUnits(order.amount, order.currency, 'amount');
    } catch (err) {
      return failed('amount_not_representable', (err as Error).message);
    }
    let tradeNo: string;
    let plan: ReturnType<typeof refundPlan>;
    try {
      const r = await this.client.queryTradeInfo(merchantOrderNo(order), total);
      if (!r) return failed('not_found', 'NewebPay has no such trade');
      if (!r.TradeNo) return failed('not_refundable', 'NewebPay did not report the trade number');
      tradeNo = r.TradeNo;
      const dollars = (v: string | undefined) => (v === undefined || v === '' ? Number.NaN : fromAmt(v) / 100);
      plan = refundPlan({ tradeStatus: r.TradeStatus ?? '', amount: total, closeStatus: r.CloseStatus ?? '', closeAmount: dollars(r.CloseAmt), backBalance: dollars(r.BackBalance) }, whole);
    } catch (err) {
      return failed('provider_unavailable', (err as Error).message.slice(0, 200));
    }
    if ('refused' in plan) return failed(plan.refused.code, plan.refused.message);

    for (const [i, step] of plan.steps.entries()) {
      const answer = await this.step(merchantOrderNo(order), tradeNo, step);
      this.logger.info({ orderNo: order.orderNo, call: step.call, amount: step.amount, outcome: answer.outcome, code: 'code' in answer ? answer.code : undefined }, 'NewebPay card call');
      if (answer.outcome === 'refused') {
        // A first call refused moved nothing. A second one follows a withdrawn capture: the payment is
        // authorised and not captured now, and the next attempt reads that state and plans from there.
        const note = i > 0 ? ' (the queued capture was withdrawn first: the authorisation is not captured now)' : '';
        return failed(answer.code, `${answer.message}${note}`.slice(0, 200));
      }
      // TRA20001: the void is accepted and done by the bank's batch; the money goes back then.
      if (answer.outcome === 'queued') return { outcome: 'pending', providerRefundNo: null };
    }
    return { outcome: 'succeeded', providerRefundNo: null };
  }

  private step(orderNo: string, tradeNo: string, step: Step): Promise<CardActionAnswer> {
    switch (step.call) {
      case 'void':
        return this.client.cancelAuthorisation(orderNo, step.amount);
      case 'capture':
        return this.client.close(orderNo, tradeNo, step.amount, '1');
      case 'withdrawCapture':
        return this.client.close(orderNo, tradeNo, step.amount, '1', true);
      case 'refund':
        return this.client.close(orderNo, tradeNo, step.amount, '2');
    }
  }
}

/** The CustomerURL's acknowledgement (§5.3): a page that posts the signed fields on to our return page. */
function handOffPage(returnUrl: string, fields: Record<string, string>): string {
  const inputs = joinHtml(
    Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`),
    '\n',
  );
  return html`<!doctype html>
<html lang="zh-Hant"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>NewebPay</title></head>
<body><form id="next" method="post" action="${href(returnUrl)}">
${inputs}
<p>繳費資訊已取得 · Your payment details are ready.</p>
<button type="submit">繼續 Continue</button>
</form>
<script>document.getElementById('next').submit()</script>
</body></html>`.toString();
}
