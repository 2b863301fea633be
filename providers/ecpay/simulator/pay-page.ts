import type { IncomingMessage, ServerResponse } from 'node:http';
import { html, type SafeHtml } from '../../../core/html.ts';
import { HttpError, readBody, sendHtml } from '../../simulator-kit/http.ts';
import { parseForm } from '../codec.ts';
import { withCheckMac } from '../crypto.ts';
import type { EcpaySimulator } from './index.ts';
import { atmInfoFields, CARD_DECLINED_RTNMSG, resultFields, RTN_MSG_ORDER_RESULT, sortedFields } from './messages.ts';
import { atmChoosePage, atmIssuedPage, cardPage, handOff, outcomePage, resultHandOffPage } from './pages.ts';
import type { SimOrder } from './store.ts';

/**
 * /pay/<id>: the buyer's page of one order. A button press acts, then answers with a redirect back
 * to the page (so a reload never presses it twice), except where ECPay hands the browser on to the
 * shop (OrderResultURL after a card result).
 */

/** §6 documents what a success posts to OrderResultURL; that a failure is posted too, with its RtnCode, is UNVERIFIED. */
export const ORDER_RESULT_ON_FAILURE_UNVERIFIED = true;

type Done = 'issued' | 'simulated' | 'paid' | 'abandoned' | 'declined';
const DONE: readonly string[] = ['issued', 'simulated', 'paid', 'abandoned', 'declined'];

export async function payPage(sim: EcpaySimulator, order: SimOrder, method: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const self = sim.payUrl(order);
  if (method === 'GET') {
    const done = url.searchParams.get('done');
    return sendHtml(res, 200, orderPage(order, self, DONE.includes(done ?? '') ? (done as Done) : null));
  }
  if (method !== 'POST') return sendHtml(res, 405, outcomePage(order, 'bad', '405', 'Use GET or POST.'));
  const form = parseForm(await readBody(req)) ?? {};
  let result: { html: SafeHtml } | { done: Done };
  try {
    result = await act(sim, order, form);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return sendHtml(res, err.status, outcomePage(order, 'bad', '無法執行 Not possible', err.message, self));
  }
  if ('html' in result) return sendHtml(res, 200, result.html);
  res.writeHead(303, { location: `${self}?done=${result.done}`, 'cache-control': 'no-store' });
  res.end();
}

/** The page an order shows now; `done` only picks the words that say what just happened. */
function orderPage(order: SimOrder, self: string, done: Done | null): SafeHtml {
  const paidBy = `已付款 Paid (TradeNo ${order.tradeNo}). ECPay told the shop.`;
  if (order.status === '1') {
    // The way back to the shop for an ATM order is its ClientRedirectURL hand-off, which shows the order as it now stands.
    return order.atm ? outcomePage(order, 'good', '轉帳已入帳 Transfer received', paidBy, undefined, backToShop(order)) : outcomePage(order, 'good', '付款完成 Payment complete', paidBy);
  }
  if (order.status !== '0') {
    return order.failure
      ? outcomePage(order, 'bad', '付款失敗 Payment failed', `${order.failure.code} ${order.failure.message}`)
      : outcomePage(order, 'bad', '已放棄付款 Payment abandoned', '未付款，也不會通知商店 Nothing was paid; ECPay sends the shop nothing.');
  }
  const simulated = '已送出模擬付款通知 (SimulatePaid=1) · A simulated payment notice was sent. No money moved: the order stays unpaid.';
  if (order.choosePayment === 'Credit') {
    return done === 'simulated' ? outcomePage(order, 'info', '模擬付款 Simulated payment', simulated, self) : cardPage(order, self);
  }
  if (!order.atm) return atmChoosePage(order, self);
  const notice =
    done === 'issued'
      ? html`<p class="notice good" role="status">帳號已產生 · The account was issued and the shop was told.</p>`
      : done === 'simulated'
        ? html`<p class="notice info" role="status" data-testid="ecpay-outcome">${simulated}</p>`
        : '';
  return atmIssuedPage(order, self, clientRedirectFields(order), notice);
}

/** A button was pressed. The notice goes out first; the answer follows its first delivery. */
async function act(sim: EcpaySimulator, order: SimOrder, form: Record<string, string>): Promise<{ html: SafeHtml } | { done: Done }> {
  const card = order.choosePayment === 'Credit';
  switch (form.action) {
    case 'pay':
      if (!card) {
        await sim.buyer.payAtm(order);
        return { done: 'paid' };
      }
      await sim.buyer.payCard(order, form.cardNumber ?? undefined);
      return cardResult(order);
    case 'decline':
      if (!card) throw new HttpError(409, 'An ATM order is not declined at the bank; abandon it, or let its account run out.');
      await sim.buyer.declineCard(order);
      return cardResult(order);
    case 'issue':
      if (card) throw new HttpError(409, 'A card order has no account to issue.');
      await sim.buyer.issueAtm(order, form.bank || undefined);
      return { done: 'issued' };
    case 'simulate':
      if (!card && !order.atm) await sim.buyer.issueAtm(order, form.bank || undefined);
      await sim.buyer.simulatePaid(order);
      return { done: 'simulated' };
    case 'abandon':
      sim.buyer.abandon(order);
      return { done: 'abandoned' };
    default:
      throw new HttpError(400, 'Unknown action.');
  }
}

/** After a card result: on to OrderResultURL when the shop gave one (§6), else ECPay's own result page. */
function cardResult(order: SimOrder): { html: SafeHtml } | { done: Done } {
  const paid = order.status === '1';
  if (!order.urls.orderResult || !(paid || ORDER_RESULT_ON_FAILURE_UNVERIFIED)) return { done: paid ? 'paid' : 'declined' };
  const rtn = paid ? { code: '1', msg: RTN_MSG_ORDER_RESULT } : { code: order.failure!.code, msg: CARD_DECLINED_RTNMSG };
  return { html: resultHandOffPage(order, signed(order, resultFields(order, rtn)), paid) };
}

const signed = (order: SimOrder, fields: Record<string, string>) => withCheckMac(sortedFields(fields), order.merchant);

function clientRedirectFields(order: SimOrder): Record<string, string> | null {
  return order.urls.clientRedirect && order.atm ? signed(order, atmInfoFields(order, true)) : null;
}

function backToShop(order: SimOrder): SafeHtml | '' {
  const fields = clientRedirectFields(order);
  return fields ? handOff(order.urls.clientRedirect, fields, 'client-redirect') : '';
}
