import { checkCode, checkValue, decryptText, hexEquals } from '../crypto.ts';
import { parseFormStrict } from '../../kit/index.ts';
import { MSG_QUERY_OK, queryResult } from './messages.ts';
import type { Book, SimMerchant, SimTrade } from './store.ts';

/** The server-to-server endpoints (§6 QueryTradeInfo, §7 CreditCard/Cancel and Close), answering JSON. */

export interface ApiContext {
  book: Book;
  now(): Date;
  /** §6 / §7 TimeStamp window, seconds. */
  timestampToleranceSec: number;
  /** §6 TRA10071: unknown-order lookups per shop and hour before the 4-hour lock (the real number is UNVERIFIED). */
  queryMissLimit: number;
  /** §7.2 TRA20001: voids are accepted and done by the next batch instead of at once. */
  voidInBatch: boolean;
}

export interface ApiAnswer {
  status: number;
  contentType: string;
  body: string;
}

const HOUR = 3_600_000;
const json = (value: unknown): ApiAnswer => ({ status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) });
const error = (code: string, message: string, result: unknown = []) => json({ Status: code, Message: message, Result: result });

function fresh(ctx: ApiContext, timestamp: string | undefined): boolean {
  return /^\d{1,12}$/.test(timestamp ?? '') && Math.abs(ctx.now().getTime() / 1000 - Number(timestamp)) <= ctx.timestampToleranceSec;
}

const signed = (trade: SimTrade, result: Record<string, unknown>) => ({
  ...result,
  CheckCode: checkCode({ Amt: String(trade.amt), MerchantID: trade.merchant.merchantId, MerchantOrderNo: trade.merchantOrderNo, TradeNo: trade.tradeNo }, trade.merchant),
});

/** POST /API/QueryTradeInfo (§6): CheckValue, TimeStamp, then the trade by MerchantOrderNo and Amt. */
export function queryTradeInfo(ctx: ApiContext, form: Record<string, string>): ApiAnswer {
  if (!form.MerchantID || !form.MerchantOrderNo || !form.Amt || !form.CheckValue || !form.TimeStamp) return error('MEM40013', '必填欄位不可空白 (a required field is missing)');
  const merchant = ctx.book.merchants.get(form.MerchantID);
  if (!merchant) return error('TRA10001', '商店代號錯誤 (unknown MerchantID)');
  if (!hexEquals(form.CheckValue, checkValue({ Amt: form.Amt, MerchantID: form.MerchantID, MerchantOrderNo: form.MerchantOrderNo }, merchant))) return error('TRA10054', '檢查碼錯誤 (CheckValue)');
  if (!fresh(ctx, form.TimeStamp)) return error('TRA40014', '時間戳記錯誤 (TimeStamp)');
  const now = ctx.now().getTime();
  if ((ctx.book.lockedUntil.get(merchant.merchantId) ?? 0) > now) return error('TRA10071', '查詢功能已鎖定 (query locked for 4 hours)');
  const trade = ctx.book.find(merchant.merchantId, form.MerchantOrderNo);
  // §6: another Amt is answered like an unknown order (the real code for it is UNVERIFIED).
  if (!trade || String(trade.amt) !== form.Amt) {
    const misses = (ctx.book.misses.get(merchant.merchantId) ?? []).filter((t) => t > now - HOUR);
    misses.push(now);
    ctx.book.misses.set(merchant.merchantId, misses);
    if (misses.length > ctx.queryMissLimit) ctx.book.lockedUntil.set(merchant.merchantId, now + 4 * HOUR);
    return error('TRA10021', '查無此筆交易 (no such trade)');
  }
  return json({ Status: 'SUCCESS', Message: MSG_QUERY_OK, Result: signed(trade, queryResult(trade)) });
}

/** §7.1: MerchantID_ and PostData_ (hex AES of the form string); the trade named by IndexType. */
function cardRequest(ctx: ApiContext, form: Record<string, string>): { merchant: SimMerchant; p: Record<string, string>; trade: SimTrade } | ApiAnswer {
  const merchant = ctx.book.merchants.get(form.MerchantID_ ?? '');
  if (!merchant) return error('TRA10001', '商店代號錯誤 (unknown MerchantID_)');
  const plain = decryptText(form.PostData_ ?? '', merchant);
  let p: Record<string, string>;
  try {
    if (plain === null) throw new Error('undecryptable');
    p = parseFormStrict(plain);
  } catch {
    return error('TRA10008', 'PostData_ 解密失敗');
  }
  if (p.IndexType !== '1' && p.IndexType !== '2') return error('TRA10032', 'IndexType 錯誤');
  if (!fresh(ctx, p.TimeStamp)) return error('TRA40014', '時間戳記錯誤 (TimeStamp)');
  if (!/^[1-9][0-9]{0,9}$/.test(p.Amt ?? '')) return error('TRA10013', '金額格式錯誤 (Amt)');
  const trade = p.IndexType === '1' ? ctx.book.find(merchant.merchantId, p.MerchantOrderNo ?? '') : ctx.book.trades.find((t) => t.merchant === merchant && t.tradeNo === p.TradeNo);
  if (!trade || !trade.card) return error('TRA10021', '查無此筆交易或非信用卡交易 (no such card trade)');
  return { merchant, p, trade };
}

const tradeResult = (trade: SimTrade, amt: number) => ({ MerchantID: trade.merchant.merchantId, Amt: amt, TradeNo: trade.tradeNo, MerchantOrderNo: trade.merchantOrderNo });

/** POST /API/CreditCard/Cancel (§7.2): voids an authorisation not yet captured, for its whole amount. */
export function cancelAuthorisation(ctx: ApiContext, form: Record<string, string>): ApiAnswer {
  const req = cardRequest(ctx, form);
  if ('status' in req) return req;
  const { p, trade } = req;
  const card = trade.card!;
  if (trade.tradeStatus !== '1' || card.closeStatus !== '0' || card.voidQueued) return error('TRA10047', '該交易不為授權成功狀態，不可放棄授權', signed(trade, tradeResult(trade, trade.amt)));
  if (Number(p.Amt) !== trade.amt) return error('TRA10050', '放棄授權金額與授權金額不符 (Amt must be the authorised amount)');
  if (ctx.voidInBatch) {
    card.voidQueued = true;
    return error('TRA20001', '放棄授權已受理，待銀行批次處理', signed(trade, tradeResult(trade, trade.amt)));
  }
  trade.tradeStatus = '3';
  card.backBalance = 0;
  return json({ Status: 'SUCCESS', Message: '放棄授權成功', Result: signed(trade, tradeResult(trade, trade.amt)) });
}

/**
 * POST /API/CreditCard/Close (§7.3): CloseType 1 queues a capture (Cancel=1 withdraws a queued one),
 * CloseType 2 queues a refund of a captured payment (Cancel=1 withdraws it). Answers carry no CheckCode.
 */
export function close(ctx: ApiContext, form: Record<string, string>): ApiAnswer {
  const req = cardRequest(ctx, form);
  if ('status' in req) return req;
  const { p, trade } = req;
  const card = trade.card!;
  const amt = Number(p.Amt);
  const ok = (message: string) => json({ Status: 'SUCCESS', Message: message, Result: tradeResult(trade, amt) });
  if (trade.tradeStatus !== '1' && trade.tradeStatus !== '6') return error('TRA10026', '該交易非授權成功狀態 (not authorised)');
  if (p.CloseType === '1') {
    if (p.Cancel === '1') {
      if (card.closeStatus !== '1') return error('TRA10048', '請款狀態不可取消 (no queued capture to withdraw)');
      card.closeStatus = '0';
      card.closeAmt = 0;
      card.backBalance = trade.amt;
      return ok('取消請款成功');
    }
    if (card.voidQueued) return error('TRA10047', '該交易不為授權成功狀態');
    if (card.closeStatus !== '0') return error('TRA10027', '已申請過請款 (already captured or queued)');
    if (amt > trade.amt) return error('TRA10028', '請款金額超過授權金額');
    card.closeStatus = '1';
    card.closeAmt = amt;
    card.backBalance = amt;
    return ok('請款資料新增成功_模擬信用卡請款成功');
  }
  if (p.CloseType === '2') {
    if (p.Cancel === '1') {
      if (card.backStatus !== '1') return error('TRA10049', '退款狀態不可取消 (no queued refund to withdraw)');
      card.backBalance += card.refundQueued;
      card.refundQueued = 0;
      card.backStatus = card.backBalance < card.closeAmt ? '3' : '0';
      return ok('取消退款成功');
    }
    if (card.closeStatus !== '3') return error('TRA10035', '該交易尚未請款完成，不可退款 (not captured yet)');
    if (card.backStatus === '1' || card.backStatus === '2') return error('TRA10045', '退款處理中 (a refund is in progress)');
    if (amt > card.backBalance) return error('TRA10036', '退款金額超過可退款金額');
    card.backStatus = '1';
    card.refundQueued = amt;
    card.backBalance -= amt;
    return ok('退款資料新增成功_模擬信用卡退款成功');
  }
  return error('TRA10033', 'CloseType 錯誤');
}

/** NewebPay's batch (§10): queued captures and refunds are done, queued voids too. Returns how many moved. */
export function runBatch(book: Book): number {
  let moved = 0;
  for (const trade of book.trades) {
    const card = trade.card;
    if (!card) continue;
    if (card.voidQueued && trade.tradeStatus === '1') {
      card.voidQueued = false;
      trade.tradeStatus = '3';
      card.backBalance = 0;
      moved++;
    }
    if (card.closeStatus === '1' || card.closeStatus === '2') {
      card.closeStatus = '3';
      moved++;
    }
    if (card.backStatus === '1' || card.backStatus === '2') {
      card.backStatus = '3';
      card.refundQueued = 0;
      // §7.3: TradeStatus 6 once nothing is left (what a partial refund leaves it at is UNVERIFIED: 1 here).
      if (card.backBalance === 0) trade.tradeStatus = '6';
      moved++;
    }
  }
  return moved;
}
