import { ProviderUnavailableError } from '../../core/errors.ts';
import { type HttpAnswer, httpRequest, type HttpTransport } from '../kit/http.ts';
import { CANCEL_VERSION, CLOSE_VERSION_UNVERIFIED, describeCode, parseMessage, PATHS, QUERY_VERSION, treatmentOf, type CodeTreatment, type NewebpayMessage } from './codec.ts';
import type { NewebpaySettings } from './config.ts';
import { checkCode, checkValue, encryptParams, hexEquals } from './crypto.ts';

/**
 * The server-to-server half of NewebPay (§6 QueryTradeInfo, §7 CreditCard/Cancel and Close): form
 * POSTs answered in JSON. Faults are ProviderUnavailableErrors (core retries later) and never carry
 * HashKey or HashIV, nor a raw answer.
 */

export type NewebpayFaultKind = 'transport' | 'throttled' | 'locked' | 'protocol' | 'rejected' | 'bad_check_code' | 'refused';

export class NewebpayFault extends ProviderUnavailableError {
  constructor(
    readonly kind: NewebpayFaultKind,
    readonly service: string,
    message: string,
    readonly providerCode?: string,
    cause?: unknown,
  ) {
    super(`NewebPay ${service}: ${message}`, cause, { credentialsRejected: kind === 'rejected' });
  }
}

/** §6: NewebPay's edge answers 403 to some default client user agents; ours names itself. */
export const USER_AGENT = 'paygate-newebpay/1.0';
const FORM = 'application/x-www-form-urlencoded';
/** §6, §7: an answer is one trade's fields, well under 16 KiB. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** What Cancel or Close answered: done, accepted for later (TRA20001), or refused with NewebPay's code. */
export type CardActionAnswer = { outcome: 'done' } | { outcome: 'queued'; code: string } | { outcome: 'refused'; code: string; message: string; treatment: CodeTreatment };

export class NewebpayClient {
  constructor(
    private readonly settings: NewebpaySettings,
    private readonly now: () => Date = () => new Date(),
    /** node:http through keep-alive agents (providers/kit/http.ts); tests hand in fetchTransport(…). */
    private readonly transport: HttpTransport = httpRequest,
  ) {}

  private timestamp(): string {
    return String(Math.floor(this.now().getTime() / 1000));
  }

  /** One form POST; the answer parsed as `{Status, Message, Result}`. `idempotent`: a read, safe to send again. */
  private async post(service: string, path: string, fields: Record<string, string>, idempotent: boolean): Promise<NewebpayMessage> {
    let response: HttpAnswer;
    try {
      response = await this.transport({
        method: 'POST',
        url: `${this.settings.baseUrl}${path}`,
        headers: { 'content-type': FORM, 'user-agent': USER_AGENT, accept: 'application/json' },
        body: new URLSearchParams(fields).toString(),
        timeoutMs: this.settings.timeoutMs,
        idempotent,
        maxBytes: MAX_ANSWER_BYTES,
      });
    } catch (err) {
      const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${this.settings.timeoutMs} ms` : (err as Error).message;
      throw new NewebpayFault('transport', service, reason, undefined, err);
    }
    if (response.status === 403) throw new NewebpayFault('throttled', service, 'HTTP 403 from NewebPay\'s edge');
    if (response.status !== 200) throw new NewebpayFault('transport', service, `HTTP ${response.status}`);
    try {
      return parseMessage(response.text.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new NewebpayFault('protocol', service, `the answer is not NewebPay's {Status, Message, Result} (${(err as Error).message})`);
    }
  }

  /** A Status other than SUCCESS that no caller can act on: a fault naming its code (§8). */
  private fault(service: string, message: NewebpayMessage): NewebpayFault {
    const treatment = treatmentOf(message.Status);
    const kind: NewebpayFaultKind = treatment === 'credentials' ? 'rejected' : treatment === 'locked' ? 'locked' : 'refused';
    return new NewebpayFault(kind, service, `${message.Status.slice(0, 16)}: ${describeCode(message.Status)}`, message.Status);
  }

  /**
   * §6 QueryTradeInfo: the trade's Result with its CheckCode checked and naming our shop, order and
   * amount; null when NewebPay has no such trade (TRA10021, also its answer for another amount).
   */
  async queryTradeInfo(merchantOrderNo: string, amount: number): Promise<Record<string, string> | null> {
    const service = 'QueryTradeInfo';
    const Amt = String(amount);
    const { MerchantID } = this.settings;
    const message = await this.post(
      service,
      PATHS.query,
      {
        MerchantID,
        Version: QUERY_VERSION,
        RespondType: 'JSON',
        CheckValue: checkValue({ Amt, MerchantID, MerchantOrderNo: merchantOrderNo }, this.settings),
        TimeStamp: this.timestamp(),
        MerchantOrderNo: merchantOrderNo,
        Amt,
        // §2: composite shops (MS5…) must say so.
        Gateway: MerchantID.startsWith('MS5') ? 'Composite' : '',
      },
      true,
    );
    if (message.Status !== 'SUCCESS') {
      if (treatmentOf(message.Status) === 'not_found') return null;
      throw this.fault(service, message);
    }
    const r = message.Result;
    if (!hexEquals(r.CheckCode, checkCode({ Amt: r.Amt ?? '', MerchantID: r.MerchantID ?? '', MerchantOrderNo: r.MerchantOrderNo ?? '', TradeNo: r.TradeNo ?? '' }, this.settings))) {
      throw new NewebpayFault('bad_check_code', service, 'the answer failed its CheckCode check');
    }
    if (r.MerchantID !== MerchantID || r.MerchantOrderNo !== merchantOrderNo || r.Amt !== Amt) {
      throw new NewebpayFault('protocol', service, 'the answer names another shop, order or amount');
    }
    return r;
  }

  private async cardAction(service: string, path: string, params: Record<string, string>, expectCheckCode: boolean): Promise<CardActionAnswer> {
    const message = await this.post(service, path, { MerchantID_: this.settings.MerchantID, PostData_: encryptParams(params, this.settings) }, false);
    if (message.Status === 'SUCCESS') {
      const r = message.Result;
      // §7.2: Cancel's answer is signed with a CheckCode; §7.3: Close's carries none.
      if (expectCheckCode && !hexEquals(r.CheckCode, checkCode({ Amt: r.Amt ?? '', MerchantID: r.MerchantID ?? '', MerchantOrderNo: r.MerchantOrderNo ?? '', TradeNo: r.TradeNo ?? '' }, this.settings))) {
        throw new NewebpayFault('bad_check_code', service, 'the answer failed its CheckCode check');
      }
      if ((r.MerchantID && r.MerchantID !== this.settings.MerchantID) || (r.MerchantOrderNo && r.MerchantOrderNo !== params.MerchantOrderNo)) {
        throw new NewebpayFault('protocol', service, 'the answer names another shop or order');
      }
      return { outcome: 'done' };
    }
    const treatment = treatmentOf(message.Status);
    if (treatment === 'pending') return { outcome: 'queued', code: message.Status };
    if (treatment === 'credentials' || treatment === 'locked' || treatment === 'retry') throw this.fault(service, message);
    return { outcome: 'refused', code: message.Status.slice(0, 16), message: (message.Message || describeCode(message.Status)).slice(0, 200), treatment };
  }

  /** §7.2: void the authorisation of `amount` (the whole authorised amount). */
  cancelAuthorisation(merchantOrderNo: string, amount: number): Promise<CardActionAnswer> {
    return this.cardAction(
      'CreditCard/Cancel',
      PATHS.cancel,
      { RespondType: 'JSON', Version: CANCEL_VERSION, Amt: String(amount), MerchantOrderNo: merchantOrderNo, IndexType: '1', TimeStamp: this.timestamp() },
      true,
    );
  }

  /** §7.3: CloseType 1 capture (or, with `cancel`, withdraw a queued capture), 2 refund. */
  close(merchantOrderNo: string, tradeNo: string, amount: number, closeType: '1' | '2', cancel = false): Promise<CardActionAnswer> {
    return this.cardAction(
      cancel ? `CreditCard/Close ${closeType} cancel` : `CreditCard/Close ${closeType}`,
      PATHS.close,
      {
        RespondType: 'JSON',
        Version: CLOSE_VERSION_UNVERIFIED,
        Amt: String(amount),
        MerchantOrderNo: merchantOrderNo,
        TradeNo: tradeNo,
        IndexType: '1',
        TimeStamp: this.timestamp(),
        CloseType: closeType,
        ...(cancel ? { Cancel: '1' } : {}),
      },
      false,
    );
  }
}
