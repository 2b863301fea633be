import { href, html, joinHtml, unsafeRaw, type SafeHtml } from '../../../core/html.ts';
import type { SimTrade } from './trades.ts';
import { beijing, yuan } from './util.ts';

/** The cashier (收银台) and the gateway's error pages, simplified: plain HTML forms, no JavaScript needed. */

const STYLE = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{color:#666}dd{margin:0}
label{display:block;margin:.8rem 0 .2rem}input{font:inherit;padding:.3rem;width:100%;box-sizing:border-box}
button{font:inherit;padding:.5rem 1.2rem;margin:1rem .5rem 0 0}.error{color:#b00020}.note{color:#666;font-size:.9rem}
.amount{font-size:1.6rem;font-weight:600}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;font-size:.9rem}`;

export function layout(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${unsafeRaw(STYLE, 'constant CSS of the simulator pages')}</style></head><body>
<p class="note">支付宝 Alipay — local simulator, no real money moves.</p>
${body}</body></html>`;
}

function summary(trade: SimTrade): SafeHtml {
  return html`<dl>
<dt>商品 Subject</dt><dd id="subject">${trade.subject}</dd>
<dt>金额 Amount</dt><dd id="amount" class="amount">¥${yuan(trade.fen)}</dd>
<dt>商户订单号 Order number</dt><dd id="out-trade-no">${trade.outTradeNo}</dd>
<dt>收款方 Seller</dt><dd>${trade.app.sellerEmail}</dd>
</dl>`;
}

/** The cashier: one form, two submit buttons (`action=pay` / `action=cancel`). */
export function cashierPage(trade: SimTrade, action: string, error?: string): SafeHtml {
  const kind = trade.method === 'alipay.trade.wap.pay' ? '手机网站支付 WAP' : '电脑网站支付 PC';
  return layout(
    `支付宝收银台 ${trade.outTradeNo}`,
    html`<h1>支付宝收银台 · Cashier <span class="note">(${kind})</span></h1>
${summary(trade)}
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="${action}">
<label for="buyer">支付宝账号 Alipay account (any email or 11-digit phone)</label>
<input id="buyer" name="buyer" autocomplete="username" maxlength="100" required value="buyer@example.com">
<label for="password">支付密码 Payment password (any 6 digits)</label>
<input id="password" name="password" type="password" inputmode="numeric" maxlength="6" pattern="\\d{6}" required value="111111" autocomplete="off">
<div><button type="submit" id="pay" name="action" value="pay">确认付款 Pay</button><button type="submit" id="cancel" name="action" value="cancel" formnovalidate>取消 Cancel</button></div>
</form>
<p class="note">订单有效期至 Pay before ${beijing(trade.expiresAt)} (Beijing time).</p>`,
  );
}

/** What the gateway shows the buyer when a hand-off fails (§5.5, §9 step 3). */
export function errorPage(subCode: string, subMsg: string): SafeHtml {
  return layout(
    '支付宝 - 错误',
    html`<h1>抱歉，出错了 · Something went wrong</h1>
<dl><dt>错误代码 Error code</dt><dd id="sub-code">${subCode}</dd><dt>错误原因 Reason</dt><dd id="sub-msg">${subMsg}</dd></dl>`,
  );
}

/** The cashier of a trade that can no longer be paid. */
export function closedPage(trade: SimTrade, why: string): SafeHtml {
  return layout(`支付宝 ${trade.outTradeNo}`, html`<h1 id="result">${why}</h1>\n${summary(trade)}`);
}

/** The buyer cancelled: back to the merchant (quit_url or return_url host), without payment parameters. */
export function cancelledPage(trade: SimTrade, backUrl: string | null): SafeHtml {
  return layout(
    '支付已取消',
    html`<h1 id="result">支付已取消 · Payment cancelled</h1>
${summary(trade)}
${backUrl ? html`<p><a id="back" href="${href(backUrl)}">返回商户 Back to the shop</a></p>` : ''}`,
  );
}

/** Paid, and the merchant gave no return_url. */
export function paidPage(trade: SimTrade): SafeHtml {
  return layout('支付成功', html`<h1 id="result">支付成功 · Payment complete</h1>\n${summary(trade)}\n<p>支付宝交易号 Trade number: <span id="trade-no">${trade.tradeNo}</span></p>`);
}

/** GET / : every trade with a link to its cashier, for a person poking at the demo. */
export function indexPage(trades: readonly SimTrade[], cashierUrl: (t: SimTrade) => string): SafeHtml {
  const rows = trades
    .slice(-200)
    .reverse()
    .map(
      (t) =>
        html`<tr><td>${t.app.appId}</td><td><a href="${cashierUrl(t)}">${t.outTradeNo}</a></td><td>¥${yuan(t.fen)}</td><td>${t.status}${t.createdAt ? '' : ' (not created)'}</td><td>${t.subject}</td></tr>`,
    );
  return layout(
    'Alipay simulator',
    html`<h1>Alipay simulator — trades</h1>
<table><thead><tr><th>App</th><th>Order</th><th>Amount</th><th>Status</th><th>Subject</th></tr></thead>
<tbody>${rows.length ? joinHtml(rows, '\n') : html`<tr><td colspan="5">No trades yet.</td></tr>`}</tbody></table>`,
  );
}
