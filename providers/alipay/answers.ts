import { z } from 'zod';

/**
 * alipay-sdk's answers (signature already checked, keys camelCased by the SDK;
 * docs/protocols/alipay.md#services), as zod schemas parsed once in the adapter before anything reads
 * them. Only the fields paygate reads are described; the rest pass through. An answer that does not
 * fit is a malformed answer: a ProviderUnavailableError, retried later.
 */

const text = z.string().nullish();

/** Every answer: the gateway's code (10000 = done) and, on a business error, sub_code and messages (§5). */
export const sdkAnswer = z.looseObject({ code: text, msg: text, subCode: text, subMsg: text });
export type SdkAnswer = z.output<typeof sdkAnswer>;

/** §5.1 alipay.trade.query, code 10000. */
export const tradeQueryAnswer = z.looseObject({
  outTradeNo: z.string().min(1),
  tradeStatus: z.string(),
  totalAmount: z.string(),
  tradeNo: text,
  sendPayDate: text,
});
export type TradeQueryAnswer = z.output<typeof tradeQueryAnswer>;

/** §5.2 alipay.trade.refund, code 10000: whether money moved. */
export const tradeRefundAnswer = z.looseObject({ fundChange: text });

/** §5.4 alipay.trade.fastpay.refund.query, code 10000. */
export const refundQueryAnswer = z.looseObject({ refundStatus: text });
