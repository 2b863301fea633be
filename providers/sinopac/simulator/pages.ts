import { href, html, joinHtml, unsafeRaw, type SafeHtml } from '../../../core/html.ts';
import { payStatus, type SimOrder } from './bank.ts';
import { ntd, taipeiText } from './util.ts';

/** The bank's hosted pages (§1, §11), simplified: plain HTML forms a person or Playwright can use. */

const STYLE = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{color:#666}dd{margin:0}
label{display:block;margin:.8rem 0 .2rem}input{font:inherit;padding:.3rem}
button{font:inherit;padding:.5rem 1.2rem;margin:1rem .5rem 0 0}.error{color:#b00020}.note{color:#666;font-size:.9rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;font-size:.9rem}`;

export function layout(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${unsafeRaw(STYLE, 'constant CSS of the simulator pages')}</style></head><body>
<p class="note">Bank SinoPac 豐收款 — local simulator, no real money moves.</p>
${body}</body></html>`;
}

function summary(order: SimOrder): SafeHtml {
  return html`<dl>
<dt>Shop</dt><dd id="shop-no">${order.shopNo}</dd>
<dt>Order number</dt><dd id="order-no">${order.orderNo}</dd>
<dt>Transaction</dt><dd id="ts-no">${order.tsNo}</dd>
<dt>Product</dt><dd>${order.prdtName}</dd>
<dt>Amount</dt><dd id="amount">${ntd(order.amount)}</dd>
</dl>`;
}

export interface CardForm {
  cardNo?: string;
  expireMM?: string;
  expireYY?: string;
  error?: string;
}

/**
 * The credit-card page at CardPayURL. One card-number box (the sandbox splits it into CardNo1..4, §11; the POST
 * accepts both) so that a person or Playwright can fill it with one call; ExpireMM, ExpireYY, CVV2 and #send as there.
 */
export function cardPage(order: SimOrder, form: CardForm = {}): SafeHtml {
  const year = String((new Date().getUTCFullYear() + 3) % 100).padStart(2, '0');
  const failed = order.attempts.filter((a) => a.status === 'F').length;
  return layout(
    `Credit card payment ${order.orderNo}`,
    html`<h1>Credit card payment</h1>
${summary(order)}
${failed ? html`<p class="note" id="previous-failures">${failed} earlier attempt(s) failed; you can try again.</p>` : ''}
${form.error ? html`<p class="error" role="alert">${form.error}</p>` : ''}
<form method="post" action="${order.card!.cardPayUrl}">
<label for="CardNo">Card number</label>
<input id="CardNo" name="CardNo" inputmode="numeric" autocomplete="cc-number" maxlength="23" pattern="[0-9 ]{12,23}" required value="${form.cardNo ?? '4111 1111 1111 1111'}">
<label for="ExpireMM">Expiry month (MM)</label>
<input id="ExpireMM" name="ExpireMM" inputmode="numeric" maxlength="2" pattern="\\d{2}" required value="${form.expireMM ?? '12'}">
<label for="ExpireYY">Expiry year (YY)</label>
<input id="ExpireYY" name="ExpireYY" inputmode="numeric" maxlength="2" pattern="\\d{2}" required value="${form.expireYY ?? year}">
<label for="CVV2">CVV</label>
<input id="CVV2" name="CVV2" inputmode="numeric" maxlength="4" pattern="\\d{3,4}" required autocomplete="off" value="">
<div><button type="submit" id="send" name="action" value="pay">Pay</button><button type="submit" id="decline" name="action" value="decline" formnovalidate>Decline</button></div>
</form>
<p class="note">Test cards: 4111 1111 1111 1111 is approved; 4000 0000 0000 0002 is declined. Any CVV of 3 digits.
This link is valid until ${taipeiText(order.deadline)} (Taipei).</p>`,
  );
}

/** WebATM / OTP transfer page (§11): one button books the transfer. */
export function atmPage(order: SimOrder, kind: 'PayWebATM' | 'PayOTP', action: string): SafeHtml {
  const title = kind === 'PayWebATM' ? 'WebATM transfer' : 'Transfer with one-time password';
  return layout(
    `${title} ${order.orderNo}`,
    html`<h1>${title}</h1>
${summary(order)}
<dl><dt>Bank code</dt><dd>807</dd><dt>Virtual account</dt><dd id="atm-pay-no">${order.atm!.atmPayNo}</dd>
<dt>Pay by</dt><dd>${order.atm!.expireDate} 23:59 (Taipei)</dd></dl>
<form method="post" action="${action}">
${kind === 'PayOTP' ? html`<label for="OTP">One-time password (any 6 digits)</label><input id="OTP" name="OTP" inputmode="numeric" maxlength="6" pattern="\\d{6}" required value="123456">` : ''}
<div><button type="submit" id="send" name="action" value="pay">Transfer</button><button type="submit" id="decline" name="action" value="decline" formnovalidate>Fail transfer</button></div>
</form>`,
  );
}

/** §8.2: the browser goes back to ReturnURL by an auto-submitted urlencoded form with ShopNo and PayToken. */
export function returnForm(returnUrl: string, shopNo: string, payToken: string, heading: string): SafeHtml {
  return layout(
    heading,
    html`<h1>${heading}</h1>
<form id="return" method="post" action="${href(returnUrl)}" enctype="application/x-www-form-urlencoded">
<input type="hidden" name="ShopNo" value="${shopNo}">
<input type="hidden" name="PayToken" value="${payToken}">
<p>Returning to the shop… <button type="submit">Continue</button></p>
</form>
<script>document.getElementById('return').submit();</script>`,
  );
}

/** ATM result: the sandbox has no documented ReturnURL hop for ATM (§8.2 UNVERIFIED), so it is a button. */
export function atmDonePage(order: SimOrder, payToken: string, ok: boolean): SafeHtml {
  return layout(
    ok ? 'Transfer complete' : 'Transfer failed',
    html`<h1 id="result">${ok ? 'Transfer complete' : 'Transfer failed'}</h1>
${summary(order)}
<form method="post" action="${href(order.returnUrl)}" enctype="application/x-www-form-urlencoded">
<input type="hidden" name="ShopNo" value="${order.shopNo}"><input type="hidden" name="PayToken" value="${payToken}">
<button type="submit">Back to the shop</button></form>`,
  );
}

export function messagePage(title: string, text: string): SafeHtml {
  return layout(title, html`<h1>${title}</h1><p id="message">${text}</p>`);
}

/** GET / : every order with a link to its page, for a person poking at the demo. */
export function indexPage(orders: readonly SimOrder[]): SafeHtml {
  const now = new Date();
  const rows = orders
    .slice(-200)
    .reverse()
    .map((o) => {
      const link = o.card ? o.card.cardPayUrl : o.atm!.webAtmUrl;
      return html`<tr><td>${o.shopNo}</td><td><a href="${link}">${o.orderNo}</a></td><td>${o.payType}</td><td>${ntd(o.amount)}</td><td>${o.status}</td><td>${payStatus(o, now)}</td></tr>`;
    });
  return layout(
    'SinoPac simulator',
    html`<h1>SinoPac simulator — orders</h1>
<table><thead><tr><th>Shop</th><th>Order</th><th>Type</th><th>Amount</th><th>Status</th><th>PayStatus</th></tr></thead>
<tbody>${rows.length ? joinHtml(rows, '\n') : html`<tr><td colspan="6">No orders yet.</td></tr>`}</tbody></table>`,
  );
}
