import { TRADE_STATUS } from './codec.ts';

/**
 * Which card calls give back `amount` of a card payment, given its state in QueryTradeInfo (§6
 * CloseStatus / BackStatus, §7 rules; docs/protocols/newebpay.md#refunds):
 *   not captured (CloseStatus 0) — all: Cancel (void); part: capture only the rest (Close 1);
 *   capture queued (CloseStatus 1) — withdraw it (Close 1, Cancel=1), then void, or capture less;
 *   captured (CloseStatus 3) — refund (Close 2), within BackBalance;
 *   capturing (CloseStatus 2) — nothing can be done until NewebPay's batch has run.
 * Amounts are whole TWD.
 */

export interface CardState {
  tradeStatus: string;
  /** Authorised amount. */
  amount: number;
  closeStatus: string;
  /** Amount queued for or already captured (CloseAmt); NaN when NewebPay gives none. */
  closeAmount: number;
  /** What can still be refunded once captured (BackBalance); NaN when NewebPay gives none. */
  backBalance: number;
}

export type Step =
  | { call: 'void'; amount: number }
  | { call: 'capture'; amount: number }
  | { call: 'withdrawCapture'; amount: number }
  | { call: 'refund'; amount: number };

export type RefundPlan = { steps: Step[] } | { refused: { code: string; message: string } };

export function refundPlan(card: CardState, amount: number): RefundPlan {
  const refuse = (code: string, message: string): RefundPlan => ({ refused: { code, message } });
  if (!(amount > 0)) return refuse('invalid_amount', 'A refund is at least NT$1');
  if (card.tradeStatus === TRADE_STATUS.cancelled || card.tradeStatus === TRADE_STATUS.refunded) {
    return refuse('refund_exceeds_payment', 'NewebPay has given all of this payment back already');
  }
  if (card.tradeStatus !== TRADE_STATUS.paid) return refuse('not_paid', `NewebPay reports TradeStatus ${card.tradeStatus.slice(0, 4)}`);
  switch (card.closeStatus) {
    case '0':
      if (amount > card.amount) return refuse('refund_exceeds_payment', `At most NT$${card.amount} is authorised`);
      if (amount === card.amount) return { steps: [{ call: 'void', amount: card.amount }] };
      return { steps: [{ call: 'capture', amount: card.amount - amount }] };
    case '1': {
      const held = card.closeAmount;
      if (!(held > 0)) return refuse('not_refundable', 'NewebPay reports a queued capture without its amount');
      if (amount > held) return refuse('refund_exceeds_payment', `At most NT$${held} is left to refund`);
      if (amount === held) return { steps: [{ call: 'withdrawCapture', amount: held }, { call: 'void', amount: card.amount }] };
      return { steps: [{ call: 'withdrawCapture', amount: held }, { call: 'capture', amount: held - amount }] };
    }
    case '3': {
      const left = Number.isNaN(card.backBalance) ? card.closeAmount : card.backBalance;
      if (!(left > 0) || amount > left) return refuse('refund_exceeds_payment', `At most NT$${Math.max(0, left || 0)} is left to refund`);
      return { steps: [{ call: 'refund', amount }] };
    }
    case '2':
      return refuse('capture_in_progress', 'NewebPay is capturing this payment now; refund after its batch has run');
    default:
      return refuse('not_refundable', `NewebPay reports CloseStatus ${card.closeStatus.slice(0, 4)}`);
  }
}
