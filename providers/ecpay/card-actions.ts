import type { CardTrade } from './client.ts';

/**
 * Which DoAction calls give back `amount` of a card payment, given its state at the acquirer
 * (§9 status, §10.1 recipes, D10/T4 CONFIRMED):
 *   full refund    — 已授權: N; 要關帳: E then N; 已關帳: R of the whole amount;
 *   partial refund — 已授權: C then R; 要關帳 or 已關帳: R.
 * "Full" means everything still held: after earlier partial refunds that is what is left closed.
 * Amounts are whole TWD. E carries the closed amount and N the authorised one (UNVERIFIED: §10.1
 * names no amount for either).
 */

export interface Step {
  action: 'C' | 'R' | 'E' | 'N';
  amount: number;
}

export type RefundPlan = { steps: Step[] } | { refused: { code: string; message: string } };

export function refundPlan(card: CardTrade, amount: number): RefundPlan {
  const refuse = (code: string, message: string): RefundPlan => ({ refused: { code, message } });
  if (!(amount > 0)) return refuse('invalid_amount', 'A refund is at least NT$1');
  switch (card.status) {
    case '已授權': {
      // Nothing closed yet: the whole authorisation is what can go back.
      if (amount > card.amount) return refuse('refund_exceeds_payment', `At most NT$${card.amount} is authorised`);
      if (amount === card.amount) return { steps: [{ action: 'N', amount: card.amount }] };
      return { steps: [{ action: 'C', amount: card.amount }, { action: 'R', amount }] };
    }
    case '要關帳': {
      if (amount > card.closedAmount) return refuse('refund_exceeds_payment', `At most NT$${card.closedAmount} is left to refund`);
      // §10.1: R in 要關帳 is for part of the amount; all of it goes back by undoing the close and abandoning.
      if (amount === card.closedAmount) return { steps: [{ action: 'E', amount: card.closedAmount }, { action: 'N', amount: card.amount }] };
      return { steps: [{ action: 'R', amount }] };
    }
    case '已關帳':
      if (amount > card.closedAmount) return refuse('refund_exceeds_payment', `At most NT$${card.closedAmount} is left to refund`);
      return { steps: [{ action: 'R', amount }] };
    case '已取消':
    case '操作取消':
      return refuse('refund_exceeds_payment', 'The authorisation was already released: nothing is left to refund');
    default:
      // 未授權, error_nopay (the bank has not answered yet), or a state we do not know.
      return refuse('not_refundable', `The card is in state ${card.status.slice(0, 40)}; try again later`);
  }
}
