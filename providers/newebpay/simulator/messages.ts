import { formatWallClock, TAIPEI } from '../../kit/index.ts';
import { encryptText, tradeSha } from '../crypto.ts';
import type { SimTrade } from './store.ts';

/** The messages NewebPay sends (§5.1-§5.3) and answers (§6, §7), built from a trade as it stands. */

export const MSG_AUTHORISED = '授權成功';
export const MSG_PAID = '付款成功';
export const MSG_CODE_ISSUED = '取號成功';
export const MSG_CVS_ISSUED = '代碼取號成功';
export const MSG_BARCODE_ISSUED = '條碼取號成功';
export const MSG_QUERY_OK = '查詢成功';

/** §10: the simulator's own declining card numbers (NewebPay publishes none) and what each answers. */
export const DECLINE_CARDS: Readonly<Record<string, { code: string; message: string }>> = Object.freeze({
  '4000221111111112': { code: 'MPG03009', message: '交易失敗 (card declined by the issuer)' },
  '4000221111110000': { code: 'MPG05005', message: '警示交易 (card flagged by the issuer)' },
});
/** §2: the sandbox's test cards, all approved. */
export const APPROVED_CARDS = ['4000221111111111', '4003551111111111', '3760000000000006'] as const;
/** What a control-API decline answers, and a code that could not be issued (which code NewebPay uses there is UNVERIFIED). */
export const DECLINE_DEFAULT = DECLINE_CARDS['4000221111111112']!;
export const CODE_NOT_ISSUED_UNVERIFIED = { code: 'MPG03009', message: '取號失敗 (the code could not be issued)' };

const time = (d: Date | null) => (d ? formatWallClock(d, TAIPEI, 'yyyy-MM-dd HH:mm:ss') : '');

/** §5.1: the Result of a payment's outcome (Notify and Return), JSON-typed as NewebPay writes it. */
export function resultMessage(trade: SimTrade): { Status: string; Message: string; Result: Record<string, unknown> } {
  const base: Record<string, unknown> = {
    MerchantID: trade.merchant.merchantId,
    Amt: trade.amt,
    TradeNo: trade.tradeNo,
    MerchantOrderNo: trade.merchantOrderNo,
    RespondType: 'JSON',
    IP: '203.0.113.10',
    EscrowBank: 'HNCB',
    PaymentType: trade.paymentType,
    PayTime: time(trade.payTime),
  };
  if (trade.failure) return { Status: trade.failure.code, Message: trade.failure.message, Result: { ...base, PayTime: '' } };
  if (trade.paymentType === 'CREDIT') {
    const card = trade.card!;
    return {
      Status: 'SUCCESS',
      Message: MSG_AUTHORISED,
      Result: { ...base, RespondCode: '00', Auth: card.auth, Card6No: card.card6, Card4No: card.card4, Exp: '3012', AuthBank: 'KGI', TokenUseStatus: 0, InstFirst: 0, InstEach: 0, Inst: 0, ECI: '', PaymentMethod: 'CREDIT' },
    };
  }
  if (trade.paymentType === 'BARCODE') {
    const [b1, b2, b3] = trade.payCode?.barcodes ?? [];
    return { Status: 'SUCCESS', Message: MSG_PAID, Result: { ...base, Barcode_1: b1 ?? '', Barcode_2: b2 ?? '', Barcode_3: b3 ?? '', RepayTimes: '0', PayStore: 'SEVEN' } };
  }
  if (trade.paymentType === 'CVS') return { Status: 'SUCCESS', Message: MSG_PAID, Result: { ...base, CodeNo: trade.payCode?.codeNo ?? '', StoreType: '1', StoreID: 'TEST711' } };
  return { Status: 'SUCCESS', Message: MSG_PAID, Result: { ...base, PayBankCode: '812', PayerAccount5Code: '12345' } };
}

/** §5.3: the CustomerURL message of a code issued (or not). */
export function codeMessage(trade: SimTrade): { Status: string; Message: string; Result: Record<string, unknown> } {
  const base: Record<string, unknown> = {
    MerchantID: trade.merchant.merchantId,
    Amt: trade.amt,
    TradeNo: trade.tradeNo,
    MerchantOrderNo: trade.merchantOrderNo,
    PaymentType: trade.paymentType,
  };
  if (!trade.payCode || !trade.expireAt) {
    const failure = trade.failure ?? CODE_NOT_ISSUED_UNVERIFIED;
    const empty = trade.paymentType === 'BARCODE' ? { Barcode_1: '', Barcode_2: '', Barcode_3: '' } : { ...(trade.paymentType === 'VACC' ? { BankCode: '' } : {}), CodeNo: '' };
    return { Status: failure.code, Message: failure.message, Result: { ...base, ExpireDate: '', ExpireTime: '', ...empty } };
  }
  const at = time(trade.expireAt);
  const barcodes = trade.payCode.barcodes;
  const code = barcodes
    ? { Barcode_1: barcodes[0], Barcode_2: barcodes[1], Barcode_3: barcodes[2] }
    : trade.payCode.bankCode === null
      ? { CodeNo: trade.payCode.codeNo }
      : { BankCode: trade.payCode.bankCode, CodeNo: trade.payCode.codeNo };
  const message = barcodes ? MSG_BARCODE_ISSUED : trade.paymentType === 'CVS' ? MSG_CVS_ISSUED : MSG_CODE_ISSUED;
  return { Status: 'SUCCESS', Message: message, Result: { ...base, ExpireDate: at.slice(0, 10), ExpireTime: at.slice(11), ...code } };
}

/** §5: the outer form every callback carries: Status, MerchantID, Version, TradeInfo (JSON encrypted) and TradeSha. */
export function outerForm(trade: SimTrade, message: { Status: string }): Record<string, string> {
  const tradeInfo = encryptText(JSON.stringify(message), trade.merchant);
  return { Status: message.Status, MerchantID: trade.merchant.merchantId, Version: trade.version, TradeInfo: tradeInfo, TradeSha: tradeSha(tradeInfo, trade.merchant) };
}

/** §6: QueryTradeInfo's Result, typed as M1's example (Amt a number, the statuses strings, nulls). */
export function queryResult(trade: SimTrade): Record<string, unknown> {
  const r: Record<string, unknown> = {
    MerchantID: trade.merchant.merchantId,
    Amt: trade.amt,
    TradeNo: trade.tradeNo,
    MerchantOrderNo: trade.merchantOrderNo,
    TradeStatus: trade.tradeStatus,
    PaymentType: trade.paymentType,
    CreateTime: time(trade.createdAt),
    PayTime: trade.payTime ? time(trade.payTime) : '0000-00-00 00:00:00',
    FundTime: '0000-00-00',
  };
  if (trade.card) {
    const c = trade.card;
    Object.assign(r, {
      RespondCode: '00',
      Auth: c.auth,
      ECI: null,
      CloseAmt: c.closeStatus === '0' ? null : String(c.closeAmt),
      CloseStatus: c.closeStatus,
      BackBalance: String(c.backBalance),
      BackStatus: c.backStatus,
      RespondMsg: MSG_AUTHORISED,
      Inst: '0',
      InstFirst: '0',
      InstEach: '0',
      PaymentMethod: 'CREDIT',
      Card6No: c.card6,
      Card4No: c.card4,
      AuthBank: 'KGI',
    });
  } else if (trade.paymentType === 'CREDIT' && trade.failure) {
    Object.assign(r, { RespondCode: '', RespondMsg: trade.failure.message, CloseStatus: '0', BackStatus: '0', BackBalance: '0' });
  }
  if (trade.payCode && trade.expireAt) {
    const payInfo = trade.payCode.barcodes ? trade.payCode.barcodes.join(',') : trade.payCode.bankCode === null ? trade.payCode.codeNo : `(${trade.payCode.bankCode})${trade.payCode.codeNo}`;
    Object.assign(r, { PayInfo: payInfo, ExpireDate: time(trade.expireAt), OrderStatus: trade.tradeStatus, SourceBankId: '-', SourceAccountNo: '-' });
  }
  return r;
}
