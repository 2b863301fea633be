/**
 * The simulator's LINE Pay payment page (docs/protocols/linepay.md#the-simulator): what the buyer sees
 * at paymentUrl.web: the order and three buttons (approve, cancel, fail), each a form post back to
 * the simulator, which then sends the browser to confirmUrl or cancelUrl.
 */
import { html, type SafeHtml } from '../../kit/index.ts';
import type { Txn } from './books.ts';

export function paymentPage(txn: Txn): SafeHtml {
  const button = (action: string, label: string) =>
    html`<form method="post" action="act"><input type="hidden" name="transactionReserveId" value="${txn.reserveToken}"><input type="hidden" name="action" value="${action}"><button type="submit" name="go" value="${action}">${label}</button></form>`;
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>LINE Pay (simulator)</title></head>
<body><h1>LINE Pay (simulator)</h1>
<p>Order <span id="order">${txn.orderId}</span>: NT$<span id="amount">${String(txn.amount)}</span> (${txn.productName})</p>
<p>Nothing here is real: no money moves.</p>
${button('approve', 'Pay with LINE Pay')}${button('cancel', 'Cancel')}${button('fail', 'Fail the payment')}
</body></html>`;
}

export function messagePage(title: string, text: string): SafeHtml {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;
}
