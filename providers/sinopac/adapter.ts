import { ProviderUnavailableError, ValidationError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type {
  CallbackEnvelope,
  CallbackReply,
  CallbackRequest,
  CallbackUrls,
  CallbackVerification,
  CreatePaymentInput,
  CreatePaymentResult,
  ListTransactionsInput,
  PaymentFacts,
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
import { parseFormStrict, parseJsonObjectStrict } from '../kit/fields.ts';
import { fetchTransport, httpRequest } from '../kit/http.ts';
import { orderCreateAtmAnswer, orderCreateCardAnswer, orderMaintainAnswer, orderPayQueryAnswer, orderQueryAnswer, type OrderQueryRow } from './answers.ts';
import { SinopacClient, SinopacFault, SinopacStatusError } from './client.ts';
import {
  AMOUNT_MAX_UNVERIFIED,
  ATM_MAX_AMOUNT_UNVERIFIED,
  atmInstructions,
  cleanText,
  endOfTaipeiDay,
  orderCreateMessage,
  orderQueryFacts,
  payQueryFacts,
  taipeiMinute,
} from './codec.ts';
import type { SinopacSettings } from './config.ts';

/** §7.3: OrderQuery returns at most 300 rows; a full page means "ask again with a smaller window". */
export const ORDER_QUERY_CAP = 300;
const PAY_TOKEN = /^[A-Za-z0-9]{1,100}$/;
/** An OrderQuery "no data" answer (UNVERIFIED: the sandbox's exact text is unknown). */
const NO_DATA = /查無/;

/**
 * Bank SinoPac 豐收款 (docs/protocols/sinopac.md). Its callbacks carry only {ShopNo, PayToken}: the
 * token is stored, acknowledged, and exchanged through OrderPayQuery, whose signed answer alone says
 * what happened.
 */
/**
 * How long a PayToken the bank said it does not know is answered from memory. UNVERIFIED: the spec
 * does not say whether a token can be unknown to OrderPayQuery for a moment after the bank sends it;
 * 10 minutes bounds the damage if so (the row is kept and a redelivery after that is asked again).
 */
export const UNKNOWN_TOKEN_TTL_MS = 10 * 60_000;
/** At most this many unknown tokens are remembered per account (a few MB at worst). */
const UNKNOWN_TOKENS_KEPT = 10_000;

export class SinopacProvider implements PaymentProvider {
  readonly id = 'sinopac';
  // No 'cancel': nothing at the bank closes an unpaid order (an ATM account runs until its
  // ExpireDate, a card link until ExpMinutes; §7.4 has no such command). Core cancels locally and a
  // payment that still lands becomes paid + attention. Void (Command C) sits behind 'refund'.
  readonly capabilities: ReadonlySet<ProviderCapability> = new Set(['refund', 'listTransactions']);
  readonly methods = ['atm', 'card'] as const;
  /** Command R/C credit a card; an ATM transfer has no card to go back to. */
  readonly refundMethods = ['card'] as const;
  readonly currencies = ['TWD'] as const;
  // §8.1: the bank retries only 5 times, 10 minutes apart; the token is safe once stored.
  readonly ackAfter = 'stored' as const;
  private readonly client: SinopacClient;
  private readonly urls: CallbackUrls;

  constructor(
    readonly account: string,
    private readonly settings: SinopacSettings,
    urls: CallbackUrls,
    private readonly logger: Logger,
    /** Tests spy on the bank calls through a fetch of their own; production uses providers/kit/http.ts. */
    fetchImpl?: typeof fetch,
  ) {
    this.client = new SinopacClient(settings, fetchImpl ? fetchTransport(fetchImpl) : httpRequest);
    this.urls = urls;
  }

  /**
   * The bank's notify is `{"ShopNo","PayToken"}` and its browser return a short form (§6): a few
   * hundred bytes. 4 KB leaves room for fields the bank may add; anything larger is not the bank.
   */
  readonly maxCallbackBytes = 4 * 1024;

  /** §7.1: ATM ≤ NT$30,000; any order ≤ 9 digits of 1/100 NTD (both UNVERIFIED, see codec.ts). */
  maxAmount(currency: string, method: string): number | undefined {
    if (currency !== 'TWD') return undefined;
    return method === 'atm' ? ATM_MAX_AMOUNT_UNVERIFIED : AMOUNT_MAX_UNVERIFIED;
  }

  async create({ order, urls }: CreatePaymentInput): Promise<CreatePaymentResult> {
    // The return URL is this order's (it may carry the buyer's language); the notify URL the account's.
    const message = orderCreateMessage(order, this.settings, { returnUrl: urls.returnUrl, backendUrl: this.urls.notifyUrl });
    try {
      if (order.method === 'atm') {
        const response = await this.client.call('OrderCreate', message, orderCreateAtmAnswer);
        const deadline = endOfTaipeiDay((message.ATMParam as { ExpireDate: string }).ExpireDate);
        return {
          outcome: 'pending',
          providerTradeNo: response.TSNo || null,
          action: { type: 'instructions', atm: atmInstructions(response, order, deadline) },
          expiresAt: deadline,
        };
      }
      const response = await this.client.call('OrderCreate', message, orderCreateCardAnswer);
      // The card link lives ExpMinutes (OrderCreate CardParam, at most 30): the payment lives exactly as long, so
      // nobody is sent to a dead link and a link that ran out ends as expired, never cancelled.
      const minutes = (message.CardParam as { ExpMinutes: number }).ExpMinutes;
      const linkDies = new Date(Date.now() + minutes * 60_000);
      return {
        outcome: 'pending',
        providerTradeNo: response.TSNo || null,
        action: { type: 'redirect', url: response.CardParam.CardPayURL },
        ...(linkDies.getTime() < order.expiresAt.getTime() ? { expiresAt: linkDies } : {}),
      };
    } catch (err) {
      if (err instanceof SinopacStatusError) return { outcome: 'failed', code: err.code, message: err.detail || err.description };
      throw err;
    }
  }

  /** The callback's fields: JSON, a form or the query string; a field named twice is refused (providers/kit/fields.ts). */
  private fields(request: CallbackRequest): Record<string, string> {
    if (request.httpMethod === 'GET') return parseFormStrict(request.rawQuery);
    if (/json/i.test(request.contentType)) {
      const body = parseJsonObjectStrict(request.rawBody);
      return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : '']));
    }
    return parseFormStrict(request.rawBody);
  }

  /** §8: BackendURL is JSON {ShopNo, PayToken}; ReturnURL a form POST with the same two fields. */
  inspectCallback(request: CallbackRequest): CallbackEnvelope {
    const fields = this.fields(request);
    if (fields.ShopNo !== this.settings.ShopNo) throw ValidationError.field('ShopNo', 'is not this account\'s shop', 'unknown_shop');
    if (!fields.PayToken || !PAY_TOKEN.test(fields.PayToken)) throw ValidationError.field('PayToken', 'is missing or malformed');
    return { dedupeKey: fields.PayToken, headers: { 'content-type': request.contentType } };
  }

  /**
   * The callback proves nothing by itself: the facts come from the bank's signed OrderPayQuery answer.
   * A token the bank said it does not know is not asked about again for a while (a forger repeating
   * one made-up token in many bodies costs one bank call, not one each); a token that verified, or
   * one the bank could not be asked about, is never cached.
   */
  async verifyCallback(request: CallbackRequest): Promise<CallbackVerification> {
    let PayToken: string;
    try {
      PayToken = this.inspectCallback(request).dedupeKey!;
    } catch (err) {
      // Unreadable input (a field named twice, a foreign shop) proves nothing and changes nothing.
      if (err instanceof ValidationError) return { verified: false, reason: err.message };
      throw err;
    }
    const known = this.unknownTokens.get(PayToken);
    if (known !== undefined && known > Date.now()) return { verified: false, reason: 'OrderPayQuery: the bank did not know this PayToken when last asked', cached: true };
    try {
      const response = await this.client.call('OrderPayQuery', { ShopNo: this.settings.ShopNo, PayToken }, orderPayQueryAnswer);
      const facts = payQueryFacts(response);
      if (!facts.orderNo || Number.isNaN(facts.amount)) return { verified: false, reason: 'OrderPayQuery answer lacks OrderNo or Amount' };
      return { verified: true, facts };
    } catch (err) {
      // The bank answered, signed, that it does not know this token: nothing to apply.
      if (err instanceof SinopacStatusError) {
        this.rememberUnknown(PayToken);
        return { verified: false, reason: `OrderPayQuery: ${err.description}` };
      }
      throw err;
    }
  }

  /** Tokens the bank said it does not know, with when to forget them (oldest first, bounded). */
  private readonly unknownTokens = new Map<string, number>();

  private rememberUnknown(token: string): void {
    this.unknownTokens.delete(token);
    this.unknownTokens.set(token, Date.now() + UNKNOWN_TOKEN_TTL_MS);
    while (this.unknownTokens.size > UNKNOWN_TOKENS_KEPT) this.unknownTokens.delete(this.unknownTokens.keys().next().value!);
  }

  reply(kind: ReplyKind): CallbackReply {
    if (kind === 'ack') return { status: 200, contentType: 'application/json', body: '{"Status":"S"}' };
    return { status: kind === 'retry' ? 503 : 400, contentType: 'application/json', body: '{"Status":"F"}' };
  }

  /**
   * OrderQuery for a made-up OrderNo (§7.3). Any answer that decrypts and whose Sign checks, even
   * Status F ("no data"), proves both the KeyID and the four hash values; a refusal or an answer our
   * keys cannot read proves them wrong; anything else says nothing about them.
   */
  async probe(): Promise<ProbeResult> {
    try {
      await this.client.call('OrderQuery', { ShopNo: this.settings.ShopNo, OrderNo: probeOrderNo() });
      return { status: 'ok' };
    } catch (err) {
      if (err instanceof SinopacStatusError) return { status: 'ok' };
      if (err instanceof SinopacFault && (err.credentialsRejected || err.kind === 'bad_sign')) return { status: 'rejected', reason: err.message };
      return { status: 'unreachable', reason: (err as Error).message };
    }
  }

  async query({ order }: QueryInput): Promise<QueryResult> {
    const rows = await this.orderQuery({ OrderNo: order.orderNo });
    const row = rows.find((r) => r.OrderNo === order.orderNo);
    return row ? { found: true, facts: orderQueryFacts(row) } : { found: false };
  }

  /**
   * Every order created in [from, to). A full answer (§7.3's 300-row cap) is asked again in halves
   * of its time window, down to one minute (the finest the bank's dates go); a full minute is split
   * by PayType, then by PayFlag. Only a minute holding 300 orders of one type and one pay state can
   * still hide orders, and that is logged.
   */
  async listTransactions({ from, to, by = 'created' }: ListTransactionsInput): Promise<PaymentFacts[]> {
    const [startField, endField] = by === 'paid' ? ['PayDateTimeS', 'PayDateTimeE'] : ['OrderDateTimeS', 'OrderDateTimeE'];
    const seen = new Map<string, PaymentFacts>();
    const minute = 60_000;
    const start = Math.floor(from.getTime() / minute) * minute;
    const end = Math.max(start + minute, Math.ceil(to.getTime() / minute) * minute);
    type Slice = { s: number; e: number; extra: Record<string, string> };
    const refinements: Record<string, string>[][] = [
      [{ PayType: 'A' }, { PayType: 'C' }],
      [{ PayFlag: 'Y' }, { PayFlag: 'N' }, { PayFlag: 'O' }],
    ];
    const pending: Slice[] = [{ s: start, e: end, extra: {} }];
    while (pending.length > 0) {
      const { s, e, extra } = pending.pop()!;
      // OrderDateTimeE is inclusive to the minute: [s, e) is asked as s … e - 1 minute.
      const rows = await this.orderQuery({
        [startField]: taipeiMinute(new Date(s)),
        [endField]: taipeiMinute(new Date(e - minute)),
        ...extra,
      });
      if (rows.length >= ORDER_QUERY_CAP) {
        if (e - s > minute) {
          const mid = s + Math.floor((e - s) / 2 / minute) * minute;
          pending.push({ s, e: mid, extra }, { s: mid, e, extra });
          continue;
        }
        const next = refinements[Object.keys(extra).length];
        if (next) {
          for (const condition of next) pending.push({ s, e, extra: { ...extra, ...condition } });
          continue;
        }
        this.logger.warn({ minute: taipeiMinute(new Date(s)), ...extra }, 'SinoPac OrderQuery: 300 orders in one minute of one kind; some may be missing');
      }
      for (const row of rows) {
        const facts = orderQueryFacts(row);
        if (facts.orderNo) seen.set(facts.orderNo, facts);
      }
    }
    return [...seen.values()];
  }

  private async orderQuery(conditions: Record<string, string>): Promise<OrderQueryRow[]> {
    try {
      const response = await this.client.call('OrderQuery', { ShopNo: this.settings.ShopNo, ...conditions }, orderQueryAnswer);
      return response.OrderList ?? [];
    } catch (err) {
      // "No data" may come as Status F with 查無… (UNVERIFIED wording); any other F is a fault, so a
      // reconciler never mistakes a refusal for "the bank has no such order".
      if (err instanceof SinopacStatusError && NO_DATA.test(err.description)) return [];
      if (err instanceof SinopacStatusError) throw new ProviderUnavailableError(`SinoPac OrderQuery answered F: ${err.description}`);
      throw err;
    }
  }

  /**
   * OrderMaintain (§7.4), card orders only, built on UNVERIFIED field semantics. An authorised but
   * not yet captured card (PayStatus 1C300, AutoBilling N) is voided (Command C) when the whole
   * amount goes back; otherwise Command R refunds `amount` (partial refunds allowed). The bank keeps
   * no idempotency key for either, so callers must make sure one refund number reaches it once.
   */
  async refund({ order, amount, reason }: RefundInput): Promise<RefundResult> {
    if (order.method !== 'card') return { outcome: 'failed', code: 'unsupported', message: 'SinoPac cannot refund ATM transfers' };
    let row: OrderQueryRow | undefined;
    try {
      [row] = (await this.orderQuery({ OrderNo: order.orderNo })).filter((r) => r.OrderNo === order.orderNo);
    } catch (err) {
      // Nothing was sent to OrderMaintain yet: a clean failure the merchant may retry, not an unknown.
      return { outcome: 'failed', code: 'provider_unavailable', message: (err as Error).message.slice(0, 200) };
    }
    const authorisedOnly = row?.PayStatus === '1C300';
    if (authorisedOnly && amount !== order.amount) {
      return { outcome: 'failed', code: 'partial_void', message: 'An uncaptured authorisation can only be voided whole' };
    }
    try {
      const response = await this.client.call('OrderMaintain', {
        ShopNo: this.settings.ShopNo,
        OrderNo: order.orderNo,
        Command: authorisedOnly ? 'C' : 'R',
        ...(authorisedOnly ? {} : { Amount: amount }),
        ...(reason ? { Remark: cleanText(reason, 60) } : {}),
      }, orderMaintainAnswer);
      return { outcome: 'succeeded', providerRefundNo: response.TSNo || null };
    } catch (err) {
      if (err instanceof SinopacStatusError) return { outcome: 'failed', code: err.code, message: err.detail || err.description };
      throw err;
    }
  }
}
