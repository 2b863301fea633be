import { parseWallClock, TAIPEI, wallClockDay } from '../../kit/index.ts';
import { AMOUNT_LIMITS, EXPIRE_DAYS_MAX, ITEM_DESC_MAX, MERCHANT_ORDER_NO, parseMessage, URL_MAX } from '../codec.ts';
import { decryptText, tradeShaMatches } from '../crypto.ts';
import type { Book, SimTrade } from './store.ts';

/** POST /MPG/mpg_gateway (§4, §10 "MPG entry checks", in their order): a new trade, or the code of NewebPay's error page. */

export interface MpgError {
  code: string;
  message: string;
}

/** §4.2 ExpireDate default: 7 days (§10). */
const DEFAULT_EXPIRE_DAYS = 7;
const VERSIONS = new Set(['1.5', '1.6', '2.0', '2.1', '2.2', '2.3']);

const fail = (code: string, message: string): MpgError => ({ code, message });

/** The TradeInfo parameters of a form, if this simulator can read them (for the control API's hand-offs too). */
export function readMpgForm(book: Book, form: Record<string, string>): { params: Record<string, string> } | MpgError {
  if (!form.MerchantID) return fail('MPG01009', '商店代號不可空白 (MerchantID is empty)');
  if (!form.TradeInfo) return fail('MPG01023', 'TradeInfo 不可空白');
  if (!form.TradeSha) return fail('MPG01024', 'TradeSha 不可空白');
  const merchant = book.merchants.get(form.MerchantID);
  if (!merchant) return fail('MPG03007', '查無此商店代號 (unknown MerchantID)');
  if (!tradeShaMatches(form.TradeInfo, form.TradeSha, merchant)) return fail('MPG03009', '交易失敗 (TradeSha does not match)');
  const plain = decryptText(form.TradeInfo, merchant);
  if (plain === null || plain.trimStart().startsWith('{')) return fail('MPG03001', 'FormPost 資料解密失敗 (TradeInfo does not decrypt)');
  try {
    const { Status: _s, Message: _m, Result } = parseMessage(`Status=x&${plain}`);
    return { params: Result };
  } catch {
    return fail('MPG03001', 'FormPost 資料解密失敗 (TradeInfo is not name=value pairs)');
  }
}

export interface MpgContext {
  book: Book;
  now: Date;
  /** §4.2 TimeStamp window, seconds (120 at NewebPay). */
  timestampToleranceSec: number;
}

export function acceptMpg(ctx: MpgContext, form: Record<string, string>): SimTrade | MpgError {
  const read = readMpgForm(ctx.book, form);
  if ('code' in read) return read;
  const p = read.params;
  const merchant = ctx.book.merchants.get(form.MerchantID!)!;
  if (p.MerchantID !== form.MerchantID) return fail('MPG03007', '商店代號不一致 (inner and outer MerchantID differ)');
  if (!VERSIONS.has(p.Version ?? '') || (form.Version && form.Version !== p.Version)) return fail('MPG01010', '串接版本不正確 (Version)');
  if (p.RespondType !== 'JSON' && p.RespondType !== 'String') return fail('MPG01011', 'RespondType 不正確');
  if (!/^\d{1,12}$/.test(p.TimeStamp ?? '')) return fail('MPG01002', '時間戳記不可空白 (TimeStamp)');
  if (Math.abs(ctx.now.getTime() / 1000 - Number(p.TimeStamp)) > ctx.timestampToleranceSec) return fail('MPG02004', '頁面已逾時 (TimeStamp outside the allowed window)');
  const no = p.MerchantOrderNo ?? '';
  if (!MERCHANT_ORDER_NO.test(no)) return fail('MPG01012', '商店訂單編號錯誤 (MerchantOrderNo)');
  if (ctx.book.spent(merchant.merchantId, no)) return fail('MPG03008', '已存在相同的商店訂單編號 (MerchantOrderNo was already used)');
  if (!/^[1-9][0-9]{0,9}$/.test(p.Amt ?? '')) return fail('MPG01015', '訂單金額錯誤 (Amt)');
  const amt = Number(p.Amt);
  if (!p.ItemDesc || [...p.ItemDesc].length > ITEM_DESC_MAX) return fail('MPG01017', '商品資訊錯誤 (ItemDesc)');
  for (const name of ['ReturnURL', 'NotifyURL', 'CustomerURL', 'ClientBackURL']) {
    const value = p[name];
    if (value === undefined || value === '') continue;
    let url: URL | null = null;
    try {
      url = new URL(value);
    } catch {
      // refused below
    }
    // §4.2: ports 80 and 443 only at NewebPay; the simulator also takes the loopback ports tests run on.
    if (!url || !/^https?:$/.test(url.protocol) || value.length > URL_MAX || (url.port !== '' && !/^(localhost|127\.0\.0\.1|\[::1\])$/.test(url.hostname))) {
      return fail('MPG01014', `網址格式錯誤 (${name})`);
    }
  }
  const flags = (['CREDIT', 'VACC', 'CVS', 'BARCODE'] as const).filter((f) => p[f] === '1');
  // This simulator offers the flags the adapter sends, one method per trade.
  if (flags.length !== 1) return fail('MPG02003', `支付方式未啟用 (one of CREDIT, VACC, CVS, BARCODE is offered here; got ${flags.join(',') || 'none'})`);
  const paymentType = flags[0]!;
  const limits = AMOUNT_LIMITS[({ CREDIT: 'card', VACC: 'atm', CVS: 'cvs', BARCODE: 'barcode' } as const)[paymentType]];
  if (amt < limits.min || (limits.max !== undefined && amt > limits.max)) return fail('MPG02003', `沒有可用的支付方式 (${paymentType} takes NT$${limits.min}${limits.max ? `-${limits.max}` : '+'})`);
  let expireAt: Date | null = null;
  if (paymentType !== 'CREDIT') {
    const today = wallClockDay(ctx.now, TAIPEI);
    let day = today + DEFAULT_EXPIRE_DAYS;
    if (p.ExpireDate) {
      const date = parseWallClock(p.ExpireDate, TAIPEI, 'yyyyMMdd');
      if (!date || wallClockDay(date, TAIPEI) < today || wallClockDay(date, TAIPEI) > today + EXPIRE_DAYS_MAX) return fail('MPG01018', '繳費有效期限錯誤 (ExpireDate)');
      day = wallClockDay(date, TAIPEI);
    }
    expireAt = new Date((day + 1) * 86_400_000 - TAIPEI.offsetMs - 1000);
  }
  return ctx.book.add({
    merchant,
    merchantOrderNo: no,
    amt,
    itemDesc: p.ItemDesc,
    version: p.Version!,
    paymentType,
    urls: { return: p.ReturnURL ?? '', notify: p.NotifyURL ?? '', customer: p.CustomerURL ?? '', clientBack: p.ClientBackURL ?? '' },
    tradeStatus: '0',
    createdAt: ctx.now,
    payTime: null,
    expireAt,
    payCode: null,
    card: null,
    failure: null,
  });
}
