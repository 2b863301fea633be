import type { Logger } from '../../../core/logger.ts';
import { HttpError } from '../../simulator-kit/http.ts';
import { endOfTaipeiDay, taipeiDatePlusDays } from '../time.ts';
import { atmInfoFields, CARD_DECLINED_RTNCODE_UNVERIFIED, CARD_DECLINED_RTNMSG, resultFields, RTN_MSG_FIRST, RTN_MSG_RESEND, RTN_MSG_SIMULATED, STAGE_CARD } from './messages.ts';
import type { DeliveryResult, Notifier } from './notifier.ts';
import { ATM_BANKS, DEFAULT_ATM_BANK, type Book, type SimOrder } from './store.ts';

/** §7 / §16: whether PaymentInfoURL notices are re-sent like ReturnURL's is UNVERIFIED; the simulator does. */
export const PAYMENT_INFO_RETRIED_UNVERIFIED = true;
/** §14 names 10200095 for an abandoned order; that a declined card's order reads the same in queries is UNVERIFIED. */
export const DECLINED_TRADE_STATUS_UNVERIFIED = '10200095';

/**
 * What the buyer (or ECPay's back office) does to an order, and the notice each act sends. The pay
 * page and the control API both come here.
 */
export class Buyer {
  constructor(
    private readonly notifier: Notifier,
    private readonly now: () => Date,
    private readonly logger: Logger,
    private readonly book: Book,
  ) {}

  /** Card: authorised (§14 step 3) and ReturnURL told. A card number other than stage's is declined, as on stage (§1.3). */
  async payCard(order: SimOrder, cardNumber?: string): Promise<DeliveryResult> {
    unpaid(order, 'Credit');
    if (cardNumber !== undefined && cardNumber.replace(/[\s-]/g, '') !== STAGE_CARD.number) return this.declineCard(order);
    const now = this.now();
    order.status = '1';
    order.paymentDate = now;
    order.chargeFee = Math.max(1, Math.round((order.totalAmount * 2) / 100));
    order.card = {
      gwsr: this.book.mintGwsr(),
      authCode: STAGE_CARD.authCode,
      card6: STAGE_CARD.card6,
      card4: STAGE_CARD.card4,
      state: '已授權',
      authorisedAmount: order.totalAmount,
      closedAmount: 0,
      actions: [],
    };
    this.logger.info({ merchantTradeNo: order.merchantTradeNo }, 'ecpay simulator: card paid');
    return this.notifier.notify(order, 'ReturnURL', order.urls.return, resultFields(order, { code: '1', msg: RTN_MSG_FIRST }), resultFields(order, { code: '1', msg: RTN_MSG_RESEND }));
  }

  /** Card: declined. ReturnURL hears a non-1 RtnCode (§14 "Failure"); the order is not established. */
  async declineCard(order: SimOrder): Promise<DeliveryResult> {
    unpaid(order, 'Credit');
    order.status = DECLINED_TRADE_STATUS_UNVERIFIED;
    order.failure = { code: CARD_DECLINED_RTNCODE_UNVERIFIED, message: CARD_DECLINED_RTNMSG };
    const fields = resultFields(order, { code: CARD_DECLINED_RTNCODE_UNVERIFIED, msg: CARD_DECLINED_RTNMSG });
    return this.notifier.notify(order, 'ReturnURL', order.urls.return, fields);
  }

  /** ATM: an account is issued (§7) and PaymentInfoURL told with RtnCode 2. */
  async issueAtm(order: SimOrder, bank?: string): Promise<DeliveryResult> {
    unpaid(order, 'ATM');
    if (order.atm) throw new HttpError(409, `order ${order.merchantTradeNo} already has an account`);
    const sub = order.chooseSubPayment || bank || DEFAULT_ATM_BANK;
    const info = ATM_BANKS[sub];
    if (!info) throw new HttpError(400, `unknown ATM bank ${sub}`);
    // §7: ExpireDate = TradeDate + ExpireDate days (observed exactly).
    order.atm = { subPayment: sub, bankCode: info.code, vAccount: this.book.mintVAccount(), expireDate: taipeiDatePlusDays(order.tradeDate, order.expireDays) };
    order.paymentType = `ATM_${sub}`;
    this.logger.info({ merchantTradeNo: order.merchantTradeNo, bank: sub }, 'ecpay simulator: ATM account issued');
    return this.notifier.notify(order, 'PaymentInfoURL', order.urls.paymentInfo, atmInfoFields(order, true), undefined, PAYMENT_INFO_RETRIED_UNVERIFIED);
  }

  /** ATM: no account could be issued; PaymentInfoURL hears a code other than 2 (§7). */
  async failAtm(order: SimOrder): Promise<DeliveryResult> {
    unpaid(order, 'ATM');
    if (order.atm) throw new HttpError(409, `order ${order.merchantTradeNo} has an account already; it can only run out`);
    order.status = '10200095';
    const fields = atmInfoFields(order, false);
    order.failure = { code: fields.RtnCode!, message: fields.RtnMsg! };
    return this.notifier.notify(order, 'PaymentInfoURL', order.urls.paymentInfo, fields, undefined, PAYMENT_INFO_RETRIED_UNVERIFIED);
  }

  /** ATM: the transfer arrived; ReturnURL hears RtnCode 1. */
  async payAtm(order: SimOrder): Promise<DeliveryResult> {
    unpaid(order, 'ATM');
    const atm = order.atm;
    if (!atm) throw new HttpError(409, `order ${order.merchantTradeNo} has no account yet`);
    if (this.now().getTime() > endOfTaipeiDay(atm.expireDate)!.getTime()) throw new HttpError(409, `the account of ${order.merchantTradeNo} expired on ${atm.expireDate}`);
    order.status = '1';
    order.paymentDate = this.now();
    order.chargeFee = 10;
    this.logger.info({ merchantTradeNo: order.merchantTradeNo }, 'ecpay simulator: ATM transfer booked');
    return this.notifier.notify(order, 'ReturnURL', order.urls.return, resultFields(order, { code: '1', msg: RTN_MSG_FIRST }), resultFields(order, { code: '1', msg: RTN_MSG_RESEND }));
  }

  /** The back office's 模擬付款 (§1.3, §14): ReturnURL hears RtnCode 1 with SimulatePaid=1; no money moves. */
  async simulatePaid(order: SimOrder): Promise<DeliveryResult> {
    unpaid(order);
    order.simulatePaid = true;
    this.logger.info({ merchantTradeNo: order.merchantTradeNo }, 'ecpay simulator: simulated payment');
    return this.notifier.notify(order, 'ReturnURL', order.urls.return, resultFields(order, { code: '1', msg: RTN_MSG_SIMULATED, simulated: true }, this.now()));
  }

  /** The buyer leaves without paying: nothing is sent; queries then say 10200095 (§14). */
  abandon(order: SimOrder): void {
    unpaid(order);
    if (order.atm) throw new HttpError(409, `order ${order.merchantTradeNo} has an account already; it can only run out`);
    order.status = '10200095';
  }
}

/** Only an order that is still open (and of the given method) can be paid, declined or simulated. */
function unpaid(order: SimOrder, method?: SimOrder['choosePayment']): void {
  if (method && order.choosePayment !== method) throw new HttpError(409, `order ${order.merchantTradeNo} is ${order.choosePayment}, not ${method}`);
  if (order.status !== '0') throw new HttpError(409, `order ${order.merchantTradeNo} is no longer open (TradeStatus ${order.status})`);
}
