import { href, html, joinHtml, type SafeHtml } from '../../../core/html.ts';
import { simulatorPage, type SimulatorBrand } from '../../kit/sim-page.ts';
import { taipeiDateTime } from '../time.ts';
import { ATM_BANKS, DEFAULT_ATM_BANK, type SimOrder } from './store.ts';

/**
 * The buyer's pages (§14): plain HTML forms that work without JavaScript (the result hand-off to
 * OrderResultURL submits itself when scripts run, and has a button when they do not). Every button
 * has a visible bilingual name and a data-testid, for people and for Playwright alike.
 */

const BRAND: SimulatorBrand = { name: '綠界科技 ECPay', accent: '#0a7d3b', background: '#f3f5f4', focus: '#1a5fd0' };

export function layout(title: string, body: SafeHtml, script: SafeHtml | '' = ''): SafeHtml {
  return simulatorPage(BRAND, title, body, script);
}

const money = (n: number) => `NT$${n.toLocaleString('en-US')}`;

function summary(order: SimOrder): SafeHtml {
  const items = order.itemName
    .split('#')
    .map((line) => html`<li>${line}</li>`);
  return html`<dl>
<dt>商店 Merchant</dt><dd>${order.merchant.merchantId}</dd>
<dt>訂單編號 Order</dt><dd data-testid="ecpay-merchant-trade-no">${order.merchantTradeNo}</dd>
<dt>商品 Items</dt><dd><ul class="items">${items}</ul></dd>
<dt>金額 Amount</dt><dd class="amount" data-testid="ecpay-amount">${money(order.totalAmount)}</dd>
</dl>`;
}

const button = (value: string, label: string, testId: string, primary = false) =>
  html`<button type="submit" name="action" value="${value}" data-testid="${testId}"${primary ? html` class="primary"` : ''}>${label}</button>`;

/** The card form: the stage test card is filled in (§1.3); any other number is declined, as on stage. */
export function cardPage(order: SimOrder, action: string): SafeHtml {
  return layout(
    `信用卡付款 ${order.merchantTradeNo}`,
    html`<h1>信用卡付款 · Credit card payment</h1>
${summary(order)}
<form method="post" action="${action}">
<fieldset><legend>卡片資料 Card details (stage test card)</legend>
<label for="card-number">卡號 Card number</label>
<input id="card-number" name="cardNumber" inputmode="numeric" autocomplete="cc-number" value="4311-9522-2222-2222">
<label for="card-expiry">有效期限 Expiry (MM/YY)</label>
<input id="card-expiry" name="cardExpiry" autocomplete="cc-exp" value="12/39">
<label for="card-cvc">安全碼 Security code</label>
<input id="card-cvc" name="cardCvc" inputmode="numeric" autocomplete="cc-csc" value="222">
</fieldset>
<div class="actions">
${button('pay', '確認付款 Pay', 'ecpay-pay', true)}
${button('decline', '模擬交易失敗 Decline', 'ecpay-decline')}
${button('simulate', '模擬付款 SimulatePaid', 'ecpay-simulate-paid')}
${button('abandon', '放棄付款 Abandon', 'ecpay-abandon')}
</div>
</form>
<p class="note">模擬付款 sends a signed ReturnURL notice with SimulatePaid=1, as ECPay's back office does: no money moves.</p>`,
  );
}

/** ATM, before an account exists: the buyer picks a bank (§3.4 ChooseSubPayment when the shop did not). */
export function atmChoosePage(order: SimOrder, action: string): SafeHtml {
  const chosen = order.chooseSubPayment || DEFAULT_ATM_BANK;
  const options = Object.entries(ATM_BANKS)
    .filter(([sub]) => !order.chooseSubPayment || sub === order.chooseSubPayment)
    .map(([sub, bank]) => html`<option value="${sub}"${sub === chosen ? html` selected` : ''}>${`${bank.code} ${bank.name}`}</option>`);
  return layout(
    `ATM 轉帳 ${order.merchantTradeNo}`,
    html`<h1>ATM 櫃員機轉帳 · ATM transfer</h1>
${summary(order)}
<form method="post" action="${action}">
<label for="bank">轉帳銀行 Bank</label>
<select id="bank" name="bank">${options}</select>
<div class="actions">
${button('issue', '取得繳費帳號 Get account number', 'ecpay-issue-account', true)}
${button('abandon', '放棄付款 Abandon', 'ecpay-abandon')}
</div>
</form>`,
  );
}

/** A form that hands fields to the shop in the buyer's browser (§6, §7), with its own visible button. */
export function handOff(url: string, fields: Record<string, string>, id: string, primary = true): SafeHtml {
  const inputs = joinHtml(
    Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`),
    '\n',
  );
  return html`<form id="${id}" method="post" action="${href(url)}">
${inputs}
<div class="actions"><button type="submit" data-testid="ecpay-return-to-shop"${primary ? html` class="primary"` : ''}>返回商店 Back to the shop</button></div>
</form>`;
}

/**
 * ATM, account issued: the numbers to transfer to, and the buttons a tester needs (§1.3: stage cannot
 * really be paid; a transfer is marked paid here, or 模擬付款 sends a SimulatePaid=1 notice).
 * ECPay would post the numbers to ClientRedirectURL at once; here that is a button, so the page
 * stays reachable for marking the transfer paid.
 */
export function atmIssuedPage(order: SimOrder, action: string, clientRedirect: Record<string, string> | null, notice: SafeHtml | '' = ''): SafeHtml {
  const atm = order.atm!;
  return layout(
    `繳費資訊 ${order.merchantTradeNo}`,
    html`<h1>繳費資訊 · Transfer details</h1>
${notice}
<dl>
<dt>訂單編號 Order</dt><dd data-testid="ecpay-merchant-trade-no">${order.merchantTradeNo}</dd>
<dt>銀行代碼 Bank code</dt><dd class="account" data-testid="ecpay-bank-code">${atm.bankCode}</dd>
<dt>繳費帳號 Account</dt><dd class="account" data-testid="ecpay-v-account">${atm.vAccount}</dd>
<dt>金額 Amount</dt><dd class="amount">${money(order.totalAmount)}</dd>
<dt>繳費期限 Pay by</dt><dd data-testid="ecpay-expire-date">${atm.expireDate} 23:59:59 (Taipei)</dd>
</dl>
<form method="post" action="${action}">
<div class="actions">
${button('pay', '模擬轉帳入帳 Mark transfer paid', 'ecpay-atm-paid', true)}
${button('simulate', '模擬付款 SimulatePaid', 'ecpay-simulate-paid')}
</div>
</form>
${clientRedirect && order.urls.clientRedirect ? handOff(order.urls.clientRedirect, clientRedirect, 'client-redirect', false) : ''}`,
  );
}

/** After a card result: to OrderResultURL in the browser (§6), submitted at once when scripts run. */
export function resultHandOffPage(order: SimOrder, fields: Record<string, string>, paid: boolean): SafeHtml {
  return layout(
    paid ? '付款完成 Payment complete' : '付款失敗 Payment failed',
    html`<h1>${paid ? '付款完成 · Payment complete' : '付款失敗 · Payment failed'}</h1>
<p class="notice ${paid ? 'good' : 'bad'}" role="status">${paid ? '正在返回商店… Returning to the shop…' : '交易未成功，正在返回商店… The payment did not go through; returning to the shop…'}</p>
${summary(order)}
${handOff(order.urls.orderResult, fields, 'order-result')}`,
    html`<script>document.getElementById('order-result').submit();</script>`,
  );
}

/** A page that ends the buyer's visit here: paid without OrderResultURL, declined, abandoned, simulated… */
export function outcomePage(order: SimOrder, tone: 'good' | 'bad' | 'info', title: string, message: string, action?: string, extra: SafeHtml | '' = ''): SafeHtml {
  const back = order.urls.clientBack ? html`<p><a href="${href(order.urls.clientBack)}" data-testid="ecpay-client-back">返回商店 Back to the shop</a></p>` : '';
  const again = action ? html`<p><a href="${action}" data-testid="ecpay-order-page">回到訂單 Back to this order</a></p>` : '';
  return layout(
    title,
    html`<h1>${title}</h1>
<p class="notice ${tone}" role="status" data-testid="ecpay-outcome">${message}</p>
${summary(order)}
${again}${back}${extra}`,
  );
}

/** §3.6: ECPay's error page shows 訊息代碼 and 訊息說明. */
export function errorPage(code: string, message: string): SafeHtml {
  return layout(
    `ECPay ${code}`,
    html`<h1>交易失敗 · Transaction failed</h1>
<p class="notice bad" role="alert">此筆交易無法建立 · This order could not be created.</p>
<dl><dt>訊息代碼 Message code</dt><dd data-testid="ecpay-error-code">${code}</dd>
<dt>訊息說明 Note for message</dt><dd data-testid="ecpay-error-message">${message}</dd></dl>`,
  );
}

/** GET / : every order, newest first, with a link to its page. */
export function indexPage(orders: readonly SimOrder[], payUrl: (o: SimOrder) => string): SafeHtml {
  const rows = orders
    .slice(-200)
    .reverse()
    .map(
      (o) =>
        html`<tr><td>${o.merchant.merchantId}</td><td><a href="${payUrl(o)}">${o.merchantTradeNo}</a></td><td>${o.choosePayment}</td><td>${money(o.totalAmount)}</td><td>${o.status}${o.simulatePaid ? ' (simulated)' : ''}</td><td>${taipeiDateTime(o.tradeDate)}</td></tr>`,
    );
  return layout(
    'ECPay simulator',
    html`<h1>ECPay simulator — orders</h1>
<table><thead><tr><th scope="col">Merchant</th><th scope="col">Order</th><th scope="col">Method</th><th scope="col">Amount</th><th scope="col">TradeStatus</th><th scope="col">Created (Taipei)</th></tr></thead>
<tbody>${rows.length ? joinHtml(rows, '\n') : html`<tr><td colspan="6">No orders yet.</td></tr>`}</tbody></table>`,
  );
}
