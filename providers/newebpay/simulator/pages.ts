import { href, html, joinHtml, type SafeHtml } from '../../../core/html.ts';
import { simulatorPage, type SimulatorBrand } from '../../kit/sim-page.ts';
import { formatWallClock, TAIPEI } from '../../kit/index.ts';
import type { SimTrade } from './store.ts';

/**
 * The buyer's pages (§10 "Pay page"): plain HTML forms that work without JavaScript (a hand-off to
 * the shop submits itself when scripts run and has a button when they do not). Every button has a
 * visible bilingual name and a data-testid, for people and Playwright alike.
 */

const BRAND: SimulatorBrand = { name: '藍新金流 NewebPay', accent: '#1f4e9c', background: '#f2f4f8', focus: '#c75b00' };

export function layout(title: string, body: SafeHtml, script: SafeHtml | '' = ''): SafeHtml {
  return simulatorPage(BRAND, title, body, script);
}

const money = (n: number) => `NT$${n.toLocaleString('en-US')}`;
const taipei = (d: Date) => formatWallClock(d, TAIPEI, 'yyyy-MM-dd HH:mm:ss');

function summary(trade: SimTrade): SafeHtml {
  return html`<dl>
<dt>商店 Shop</dt><dd>${trade.merchant.merchantId}</dd>
<dt>訂單編號 Order</dt><dd data-testid="newebpay-order-no">${trade.merchantOrderNo}</dd>
<dt>商品 Item</dt><dd>${trade.itemDesc}</dd>
<dt>金額 Amount</dt><dd class="amount" data-testid="newebpay-amount">${money(trade.amt)}</dd>
</dl>`;
}

const button = (value: string, label: string, testId: string, primary = false) =>
  html`<button type="submit" name="action" value="${value}" data-testid="${testId}"${primary ? html` class="primary"` : ''}>${label}</button>`;

function backButton(trade: SimTrade): SafeHtml | '' {
  return trade.urls.clientBack ? html`<p><a href="${href(trade.urls.clientBack)}" data-testid="newebpay-back">返回商店 Back to the shop</a></p>` : '';
}

/** The page of a trade as it stands. */
export function tradePage(trade: SimTrade, self: string, notice: SafeHtml | '' = ''): SafeHtml {
  if (trade.tradeStatus === '1' || trade.tradeStatus === '6' || trade.tradeStatus === '3') {
    return outcomePage(trade, 'good', '付款完成 Payment complete', `TradeNo ${trade.tradeNo}. NewebPay told the shop.`);
  }
  if (trade.tradeStatus === '2') return outcomePage(trade, 'bad', '付款失敗 Payment failed', `${trade.failure?.code ?? ''} ${trade.failure?.message ?? ''}`);
  if (trade.paymentType === 'CREDIT') {
    return layout(
      `信用卡付款 ${trade.merchantOrderNo}`,
      html`<h1>信用卡一次付清 · Card payment</h1>
${notice}${summary(trade)}
<form method="post" action="${self}">
<label for="card-number">卡號 Card number</label>
<input id="card-number" name="cardNumber" inputmode="numeric" autocomplete="cc-number" value="4000-2211-1111-1111">
<label for="card-expiry">有效期限 Expiry (MM/YY)</label>
<input id="card-expiry" name="cardExpiry" autocomplete="cc-exp" value="12/30">
<label for="card-cvc">背面末三碼 CVC</label>
<input id="card-cvc" name="cardCvc" inputmode="numeric" autocomplete="cc-csc" value="123">
<div class="actions">
${button('pay', '付款 Pay', 'newebpay-pay', true)}
${button('decline', '模擬失敗 Decline', 'newebpay-decline')}
</div>
</form>
<p class="note">Test cards: 4000-2211-1111-1111 approves; 4000-2211-1111-1112 is declined (MPG03009); 4000-2211-1111-0000 is flagged (MPG05005).</p>
${backButton(trade)}`,
    );
  }
  const cvs = trade.paymentType === 'CVS' || trade.paymentType === 'BARCODE';
  const barcode = trade.paymentType === 'BARCODE';
  if (!trade.payCode) {
    const title = barcode ? '超商條碼繳費 · Convenience-store barcode' : cvs ? '超商代碼繳費 · Convenience-store code' : 'ATM 轉帳 · ATM transfer';
    return layout(
      `${title} ${trade.merchantOrderNo}`,
      html`<h1>${title}</h1>
${notice}${summary(trade)}
<form method="post" action="${self}"><div class="actions">
${button('issue', barcode ? '取得繳費條碼 Get the barcodes' : cvs ? '取得繳費代碼 Get the payment code' : '取得繳費帳號 Get the account number', 'newebpay-issue', true)}
${button('decline', '模擬取號失敗 Fail to issue', 'newebpay-decline')}
</div></form>
${backButton(trade)}`,
    );
  }
  const code = trade.payCode;
  return layout(
    `繳費資訊 ${trade.merchantOrderNo}`,
    html`<h1>${cvs ? '超商繳費資訊 · Pay at a convenience store' : 'ATM 繳費資訊 · Transfer details'}</h1>
${notice}${summary(trade)}
<dl>
${code.bankCode === null ? '' : html`<dt>銀行代碼 Bank</dt><dd data-testid="newebpay-bank-code">${code.bankCode}</dd>`}
${code.barcodes ? html`<dt>繳費條碼 Barcodes</dt><dd data-testid="newebpay-barcodes">${joinHtml(code.barcodes.map((b) => html`<div class="code">${b}</div>`), '')}</dd>` : html`<dt>${cvs ? '繳費代碼 Payment code' : '繳費帳號 Account'}</dt><dd class="code" data-testid="newebpay-code-no">${code.codeNo}</dd>`}
<dt>繳費期限 Pay by</dt><dd>${trade.expireAt ? `${taipei(trade.expireAt)} (Taipei)` : ''}</dd>
</dl>
<form method="post" action="${self}"><div class="actions">
${button('transfer', cvs ? '模擬觸發 Simulate the store payment' : '模擬觸發 Simulate the transfer', 'newebpay-transfer', true)}
</div></form>
<p class="note">模擬觸發 plays the ${cvs ? 'store' : "bank"}'s settlement, as NewebPay's portal does: the shop's NotifyURL is told it was paid.</p>`,
  );
}

export function outcomePage(trade: SimTrade | null, tone: 'good' | 'bad' | 'info', heading: string, detail: string): SafeHtml {
  return layout(heading, html`<h1>${heading}</h1><p class="notice ${tone}" role="status" data-testid="newebpay-outcome">${detail}</p>${trade ? summary(trade) : ''}`);
}

/** NewebPay's error page for a refused MPG form (its HTTP status is UNVERIFIED). */
export function errorPage(code: string, message: string): SafeHtml {
  return layout(`NewebPay ${code}`, html`<h1>交易失敗 · Payment could not start</h1><p class="notice bad" role="alert" data-testid="newebpay-error"><strong>${code}</strong> ${message}</p>`);
}

/** A form that hands signed fields to the shop in the buyer's browser (ReturnURL §5.2, CustomerURL §5.3). */
export function handOffPage(heading: string, url: string, fields: Record<string, string>): SafeHtml {
  const inputs = joinHtml(
    Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`),
    '\n',
  );
  return layout(
    heading,
    html`<h1>${heading}</h1><form id="handoff" method="post" action="${href(url)}">
${inputs}
<button type="submit" class="primary" data-testid="newebpay-continue">返回商店 Continue to the shop</button>
</form>`,
    html`<script>document.getElementById('handoff').submit()</script>`,
  );
}

export function indexPage(trades: readonly SimTrade[], payUrl: (t: SimTrade) => string): SafeHtml {
  const rows = trades
    .slice(-50)
    .reverse()
    .map((t) => html`<tr><td><a href="${payUrl(t)}">${t.merchantOrderNo}</a></td><td>${t.merchant.merchantId}</td><td>${t.paymentType}</td><td>${money(t.amt)}</td><td>${t.tradeStatus}</td><td>${taipei(t.createdAt)}</td></tr>`);
  return layout(
    'NewebPay simulator',
    html`<h1>Trades</h1><table><thead><tr><th scope="col">Order</th><th scope="col">Shop</th><th scope="col">Type</th><th scope="col">Amount</th><th scope="col">TradeStatus</th><th scope="col">Created (Taipei)</th></tr></thead>
<tbody>${rows.length ? joinHtml(rows, '\n') : html`<tr><td colspan="6">No trades yet.</td></tr>`}</tbody></table>`,
  );
}
