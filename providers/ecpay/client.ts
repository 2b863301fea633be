import { ProviderUnavailableError } from '../../core/errors.ts';
import { z } from 'zod';
import { parseJsonObjectStrict } from '../kit/fields.ts';
import { type HttpAnswer, httpRequest, type HttpTransport } from '../kit/http.ts';
import { parseProviderResponse } from '../kit/responses.ts';
import { parseRaw, TRADE_NOT_FOUND } from './codec.ts';
import type { EcpaySettings } from './config.ts';
import { checkMacMatches, withCheckMac } from './crypto.ts';

/**
 * The server-to-server half of ECPay AIO (§8, §9, §10): form POSTs signed with CheckMacValue. Faults
 * are ProviderUnavailableErrors (core retries later) and never carry HashKey, HashIV or the check code.
 */

export type EcpayFaultKind = 'transport' | 'throttled' | 'bad_mac' | 'rejected' | 'protocol';

/**
 * `rejected`: ECPay refused our request's CheckMacValue (or does not know the MerchantID), which only
 * a wrong HashKey / HashIV / MerchantID explains for requests as plain as ours: core marks the
 * account rejected. `bad_mac` (an answer whose MAC fails) is left out for calls: one order's answer
 * may trip over ECPay's URL-encoding quirks (§4.4); a probe counts it.
 */
export class EcpayFault extends ProviderUnavailableError {
  constructor(
    readonly kind: EcpayFaultKind,
    readonly service: string,
    message: string,
    cause?: unknown,
  ) {
    super(`ECPay ${service}: ${message}`, cause, { credentialsRejected: kind === 'rejected' });
  }
}

/**
 * How ECPay answers a query whose CheckMacValue fails is UNVERIFIED (§8.2, §16): its AioCheckOut
 * error page says `10200073` "CheckMacValue Error." (§3.6), so an unsigned answer carrying that code
 * or text is read as "credentials refused".
 */
export const CHECK_MAC_ERROR_CODE_UNVERIFIED = '10200073';
export const CHECK_MAC_ERROR_TEXT_UNVERIFIED = /CheckMacValue\s*Error/i;

function refusesMac(fields: Record<string, string>): boolean {
  return (
    fields.TradeStatus === CHECK_MAC_ERROR_CODE_UNVERIFIED ||
    fields.RtnCode === CHECK_MAC_ERROR_CODE_UNVERIFIED ||
    CHECK_MAC_ERROR_TEXT_UNVERIFIED.test(fields.RtnMsg ?? '')
  );
}

export const PATHS = {
  checkout: '/Cashier/AioCheckOut/V5',
  queryTradeInfo: '/Cashier/QueryTradeInfo/V5',
  queryCardTrade: '/CreditDetail/QueryTrade/V2',
  doAction: '/CreditDetail/DoAction',
} as const;

/**
 * §8.2: whether ECPay signs its answer for an order it does not know is UNVERIFIED. Such an answer
 * is accepted unsigned only when it says TradeStatus=10200047: "not found" moves no order, and
 * anything that claims a payment must carry a MAC that checks.
 */
export const UNSIGNED_NOT_FOUND_ACCEPTED_UNVERIFIED = true;

/** §10.2: whether DoAction answers carry a CheckMacValue is UNVERIFIED; one that does must check. */
export const DO_ACTION_MAC_OPTIONAL_UNVERIFIED = true;

/** §9 RtnValue.status: a card's authorisation and close state. */
export type CardStatus = '已授權' | '要關帳' | '已關帳' | '已取消' | '操作取消' | '未授權' | string;

export interface CardTrade {
  status: CardStatus;
  /** Authorised amount, whole TWD. */
  amount: number;
  /** Amount closed (to be settled or settled), whole TWD. */
  closedAmount: number;
}

export interface DoActionAnswer {
  rtnCode: string;
  rtnMsg: string;
}

const FORM = 'application/x-www-form-urlencoded';

/** Whole TWD, as a JSON number or digits (§9). */
const wholeTwd = z.union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,12}$/).transform(Number)]);

/** §9: a refusal says why in RtnMsg (a non-string RtnMsg is malformed). */
const queryTradeRefusal = z.looseObject({ RtnMsg: z.string().nullish() });

/** §9: the card's state, in RtnValue. */
const queryTradeAnswer = z.looseObject({
  RtnValue: z.looseObject({ status: z.string().min(1), amount: wholeTwd, clsamt: wholeTwd }),
});

export class EcpayClient {
  constructor(
    private readonly settings: EcpaySettings,
    private readonly now: () => Date = () => new Date(),
    /** node:http through keep-alive agents (providers/kit/http.ts); tests hand in fetchTransport(…). */
    private readonly transport: HttpTransport = httpRequest,
  ) {}

  /** `idempotent`: a query, safe to send again on a fresh socket if a kept-alive one was stale. */
  private async post(service: string, path: string, fields: Record<string, string>, idempotent: boolean): Promise<string> {
    const body = new URLSearchParams(withCheckMac(fields, this.settings)).toString();
    let response: HttpAnswer;
    try {
      // No redirect is followed (as fetch's redirect: 'manual'): a 3xx is an HTTP status like any other.
      response = await this.transport({
        method: 'POST',
        url: `${this.settings.baseUrl}${path}`,
        headers: { 'content-type': FORM },
        body,
        timeoutMs: this.settings.timeoutMs,
        idempotent,
        // §8, §9: answers are one order's fields (~1 KB); 1 MiB is no ECPay answer.
        maxBytes: 1024 * 1024,
      });
    } catch (err) {
      const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${this.settings.timeoutMs} ms` : (err as Error).message;
      throw new EcpayFault('transport', service, reason, err);
    }
    const text = response.text;
    // §1.4: 403 means "called too often"; ECPay wants about 30 minutes of quiet.
    if (response.status === 403) throw new EcpayFault('throttled', service, 'HTTP 403: rate limited, back off for about 30 minutes');
    if (response.status !== 200) throw new EcpayFault('transport', service, `HTTP ${response.status}`);
    return text;
  }

  /** §8: the order's fields, MAC-checked; null when ECPay has no such order (10200047). */
  async queryTradeInfo(merchantTradeNo: string): Promise<Record<string, string> | null> {
    const service = 'QueryTradeInfo';
    const text = await this.post(service, PATHS.queryTradeInfo, {
      MerchantID: this.settings.MerchantID,
      MerchantTradeNo: merchantTradeNo,
      TimeStamp: String(Math.floor(this.now().getTime() / 1000)),
    }, true);
    const fields = parseRaw(text);
    if (!fields) throw new EcpayFault('protocol', service, 'the answer is not name=value pairs');
    if (fields.CheckMacValue === undefined) {
      if (UNSIGNED_NOT_FOUND_ACCEPTED_UNVERIFIED && fields.TradeStatus === TRADE_NOT_FOUND) return null;
      if (refusesMac(fields)) throw new EcpayFault('rejected', service, 'ECPay refused the request\'s CheckMacValue: HashKey, HashIV or MerchantID do not match the account');
      throw new EcpayFault('protocol', service, 'the answer carries no CheckMacValue');
    }
    if (!checkMacMatches(fields, this.settings)) throw new EcpayFault('bad_mac', service, 'the answer failed its CheckMacValue check');
    if (fields.TradeStatus === TRADE_NOT_FOUND) return null;
    if (fields.MerchantID !== this.settings.MerchantID || fields.MerchantTradeNo !== merchantTradeNo) {
      throw new EcpayFault('protocol', service, 'the answer names another merchant or order');
    }
    return fields;
  }

  /** §9: a card's state at the acquirer, found by its gwsr and amount. */
  async queryCardTrade(gwsr: string, amount: number, checkCode: string): Promise<CardTrade> {
    const service = 'QueryTrade/V2';
    const text = await this.post(service, PATHS.queryCardTrade, {
      MerchantID: this.settings.MerchantID,
      CreditRefundId: gwsr,
      CreditAmount: String(amount),
      CreditCheckCode: checkCode,
    }, true);
    let parsed: Record<string, unknown>;
    try {
      parsed = parseJsonObjectStrict(text);
    } catch (err) {
      // Not JSON, not an object, or a key named twice (providers/kit/fields.ts).
      throw new EcpayFault('protocol', service, `the answer is not a JSON object (${(err as Error).message})`);
    }
    const fault = (detail: string) => new EcpayFault('protocol', service, detail);
    const { RtnMsg } = parseProviderResponse(queryTradeRefusal, parsed, { provider: 'ECPay', operation: service, fault });
    if (RtnMsg && CHECK_MAC_ERROR_TEXT_UNVERIFIED.test(RtnMsg)) {
      throw new EcpayFault('rejected', service, 'ECPay refused the request\'s CheckMacValue: HashKey, HashIV or MerchantID do not match the account');
    }
    if (RtnMsg) throw new EcpayFault('protocol', service, `refused: ${RtnMsg.slice(0, 100)}`);
    const { RtnValue: value } = parseProviderResponse(queryTradeAnswer, parsed, { provider: 'ECPay', operation: service, fault });
    return { status: value.status, amount: value.amount, closedAmount: value.clsamt };
  }

  /** §10: one card action (C close, R refund, E undo close, N abandon) of `amount` whole TWD. */
  async doAction(merchantTradeNo: string, tradeNo: string, action: 'C' | 'R' | 'E' | 'N', amount: number): Promise<DoActionAnswer> {
    const service = `DoAction ${action}`;
    const text = await this.post(service, PATHS.doAction, {
      MerchantID: this.settings.MerchantID,
      MerchantTradeNo: merchantTradeNo,
      TradeNo: tradeNo,
      Action: action,
      TotalAmount: String(amount),
    }, false);
    const fields = parseRaw(text);
    if (!fields || fields.RtnCode === undefined) throw new EcpayFault('protocol', service, 'the answer has no RtnCode');
    if (fields.CheckMacValue !== undefined || !DO_ACTION_MAC_OPTIONAL_UNVERIFIED) {
      if (!checkMacMatches(fields, this.settings)) throw new EcpayFault('bad_mac', service, 'the answer failed its CheckMacValue check');
    }
    return { rtnCode: fields.RtnCode, rtnMsg: fields.RtnMsg ?? '' };
  }
}
