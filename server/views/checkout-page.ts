import type { MerchantDisplay } from '../../core/merchants.ts';
import type { Order } from '../../core/orders.ts';
import type { AtmInstructions, CvsInstructions, OrderItemSnapshot } from '../../core/payment-provider.ts';
import { cvsText } from './cvs-text.ts';
import { DEFAULT_TIME_ZONE, formatDateTime, formatMoney } from './format.ts';
import { html, joinHtml, safeHref, unsafeRaw, type SafeHtml } from '../../core/html.ts';
import { fill, methodName, t, type Locale, type MessageKey } from './i18n.ts';
import { pageShell } from './page.ts';

/** What every buyer page is drawn with besides its own facts. */
export interface PageContext {
  locale: Locale;
  /** PAYGATE_TIME_ZONE; Asia/Taipei when not given. */
  timeZone?: string;
  /** The shop; left out where the page cannot know it. */
  merchant?: MerchantDisplay | null;
}

export interface ChoiceView {
  /** provider/account/method, the value the form posts back. */
  value: string;
  providerName: string;
  method: string;
}

function money(locale: Locale, order: Pick<Order, 'currency'>, amount: number): string {
  return formatMoney(amount, order.currency, locale);
}

function itemsTable(locale: Locale, order: Order, items: readonly OrderItemSnapshot[]): SafeHtml {
  const rows = items.map(
      (item) =>
        html`<tr><td>${item.name}</td><td class="num">${item.quantity}</td><td class="num">${money(locale, order, item.amount)}</td></tr>`,
    );
  return html`<table class="items">
  <caption class="hint" style="text-align:left">${t(locale, 'orderNo')} <span data-testid="order-no">${order.orderNo}</span></caption>
  <thead><tr><th scope="col">${t(locale, 'items')}</th><th scope="col" class="num">${t(locale, 'quantity')}</th><th scope="col" class="num">${t(locale, 'amount')}</th></tr></thead>
  <tbody>${rows}</tbody>
  <tfoot><tr><td colspan="2">${t(locale, 'total')}</td><td class="num" data-testid="total">${money(locale, order, order.amount)}</td></tr></tfoot>
</table>`;
}

/** The hosted checkout: the order, then one radio per way to pay, then one button. */
export function renderChoosePage(input: PageContext & {
  order: Order;
  items: readonly OrderItemSnapshot[];
  choices: readonly ChoiceView[];
  formAction: string;
  error?: MessageKey;
}): SafeHtml {
  const { locale, order } = input;
  const options = joinHtml(
    input.choices.map(
      (c, i) => html`<label class="choice"><input type="radio" name="choice" value="${c.value}"${i === 0 ? html` checked` : ''} required>
      <span>${methodName(locale, c.method)}</span><span class="provider">${c.providerName}</span></label>`,
    ),
    '\n',
  );
  const form = input.choices.length
    ? html`<form method="post" action="${input.formAction}">
  <fieldset><legend>${t(locale, 'chooseHeading')}</legend>
  ${options}
  </fieldset>
  <p class="hint">${t(locale, 'choiceFinalHint')}</p>
  <button type="submit" class="button primary wide">${t(locale, 'payButton')}</button>
</form>`
    : html`<p class="notice error" role="alert">${t(locale, 'noChoices')}</p>`;
  return pageShell({
    locale,
    title: t(locale, 'checkoutTitle'),
    merchant: input.merchant,
    body: html`<h1>${order.subject}</h1>
${input.error ? html`<p class="notice error" role="alert">${t(locale, input.error)}</p>` : ''}
${itemsTable(locale, order, input.items)}
${form}
${backLinks(locale, order)}`,
  });
}

/** What an instructions page shows: an ATM transfer or a convenience-store payment (core/payment-provider.ts NextAction). */
export type Instructions = { atm: AtmInstructions } | { cvs: CvsInstructions };

/**
 * The buyer's instructions: an ATM account, or a convenience-store code and barcodes, in large type
 * with a copy button, the amount and the deadline.
 */
export function renderInstructionsPage(input: PageContext & { order: Order; instructions: Instructions; refreshUrl: string; nonce: string }): SafeHtml {
  const { locale, order } = input;
  const deadline = (iso: string) => html`<time datetime="${iso}" data-testid="deadline">${formatDateTime(new Date(iso), locale, input.timeZone ?? DEFAULT_TIME_ZONE)}</time>`;
  const copyButton = html`<button type="button" class="button copy" id="copy" data-copied="${t(locale, 'copied')}" hidden>${t(locale, 'copy')}</button>`;
  let heading: string;
  let body: SafeHtml;
  if ('atm' in input.instructions) {
    const atm = input.instructions.atm;
    const webAtm = safeHref(atm.webAtmUrl);
    heading = t(locale, 'atmHeading');
    body = html`<h1>${heading}</h1>
<dl class="facts">
  <dt>${t(locale, 'orderNo')}</dt><dd data-testid="order-no">${order.orderNo}</dd>
  <dt>${t(locale, 'bankCode')}</dt><dd data-testid="bank-code">${atm.bankCode}</dd>
  <dt>${t(locale, 'accountNo')}</dt><dd><span class="account" id="account" data-testid="atm-account">${atm.account}</span>${copyButton}</dd>
  <dt>${t(locale, 'amount')}</dt><dd data-testid="atm-amount">${money(locale, order, atm.amount)}</dd>
  <dt>${t(locale, 'deadline')}</dt><dd>${deadline(atm.deadline)}</dd>
</dl>
<p class="hint">${t(locale, 'atmHint')}</p>
<nav class="actions">
  ${webAtm ? html`<a class="button primary" href="${webAtm}">${t(locale, 'webAtm')}</a>` : ''}
  <a class="button" href="${input.refreshUrl}">${t(locale, 'refresh')}</a>
</nav>
${backLinks(locale, order)}`;
  } else {
    const cvs = input.instructions.cvs;
    heading = cvsText(locale, 'cvsHeading');
    const barcodes = cvs.barcodes?.length
      ? html`<dt>${cvsText(locale, 'cvsBarcodes')}</dt><dd><ol class="barcodes" data-testid="cvs-barcodes">${joinHtml(
          cvs.barcodes.map((b) => html`<li class="account">${b}</li>`),
          '',
        )}</ol></dd>`
      : '';
    body = html`<h1>${heading}</h1>
<dl class="facts">
  <dt>${t(locale, 'orderNo')}</dt><dd data-testid="order-no">${order.orderNo}</dd>
  ${cvs.code ? html`<dt>${cvsText(locale, 'cvsCode')}</dt><dd><span class="account" id="account" data-testid="cvs-code">${cvs.code}</span>${copyButton}</dd>` : ''}
  ${barcodes}
  ${cvs.stores?.length ? html`<dt>${cvsText(locale, 'cvsStores')}</dt><dd data-testid="cvs-stores">${cvs.stores.join('、')}</dd>` : ''}
  <dt>${t(locale, 'amount')}</dt><dd data-testid="cvs-amount">${money(locale, order, cvs.amount)}</dd>
  <dt>${t(locale, 'deadline')}</dt><dd>${deadline(cvs.deadline)}</dd>
</dl>
<p class="hint">${cvsText(locale, 'cvsHint')}</p>
<nav class="actions">
  <a class="button" href="${input.refreshUrl}">${t(locale, 'refresh')}</a>
</nav>
${backLinks(locale, order)}`;
  }
  // The copy button exists only where a script can work it; the number stays selectable text.
  const code = unsafeRaw(`(function(){var b=document.getElementById('copy');if(!b||!navigator.clipboard)return;b.hidden=false;b.addEventListener('click',function(){navigator.clipboard.writeText(document.getElementById('account').textContent.trim()).then(function(){b.textContent=b.getAttribute('data-copied');});});})();`, 'constant script of the instructions page');
  return pageShell({ locale, title: heading, body, merchant: input.merchant, script: { nonce: input.nonce, code } });
}

/** A provider that takes a form POST: submitted by script at once, by the buyer without one. */
export function renderFormPostPage(input: PageContext & { method: 'POST' | 'GET'; url: string; fields: Record<string, string>; nonce: string }): SafeHtml {
  const hidden = joinHtml(
    Object.entries(input.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`),
    '\n  ',
  );
  const body = html`<h1>${t(input.locale, 'redirecting')}</h1>
<form id="provider-form" method="${input.method.toLowerCase()}" action="${input.url}">
  ${hidden}
  <button type="submit" class="button primary">${t(input.locale, 'continueToPay')}</button>
</form>`;
  return pageShell({
    locale: input.locale,
    title: t(input.locale, 'redirecting'),
    merchant: input.merchant,
    body,
    script: { nonce: input.nonce, code: unsafeRaw(`document.getElementById('provider-form').submit();`, 'constant script that submits the form') },
  });
}

/**
 * A second tab (or a stale page) chose after a way to pay was already chosen: say so, say which, in
 * the page's language, and offer the way on to that payment (this link, which carries the buyer to
 * it). The earlier choice stands; nothing new was asked of any provider.
 */
export function renderChosenAlreadyPage(input: PageContext & { order: Order; providerName: string; method: string; continueUrl: string }): SafeHtml {
  const { locale, order } = input;
  const detail = fill(t(locale, 'chosenAlreadyDetail'), { method: methodName(locale, input.method), provider: input.providerName });
  const body = html`<h1>${t(locale, 'chosenAlready')}</h1>
<p class="notice" role="alert" data-testid="chosen-already">${detail}</p>
<dl class="facts">
  <dt>${t(locale, 'orderNo')}</dt><dd data-testid="order-no">${order.orderNo}</dd>
  <dt>${t(locale, 'amount')}</dt><dd data-testid="total">${money(locale, order, order.amount)}</dd>
</dl>
<nav class="actions"><a class="button primary" href="${input.continueUrl}" data-testid="go-to-payment">${t(locale, 'goToPayment')}</a></nav>
${backLinks(locale, order)}`;
  return pageShell({ locale, title: t(locale, 'chosenAlready'), body, merchant: input.merchant });
}

export function renderLinkErrorPage(locale: Locale, kind: 'invalid' | 'expired'): SafeHtml {
  const title = t(locale, kind === 'invalid' ? 'linkInvalid' : 'linkExpired');
  return pageShell({ locale, title, body: html`<h1>${title}</h1><p class="hint">${t(locale, 'linkInvalidHint')}</p>` });
}

/**
 * Seed 002's way back: "continue shopping" to the shop's front page and "my order" to the page the
 * merchant named (its returnUrl), both only as http(s) links.
 */
export function backLinks(locale: Locale, order: Pick<Order, 'returnUrl'>): SafeHtml | '' {
  const orderPage = safeHref(order.returnUrl);
  if (!orderPage) return '';
  const shop = new URL(orderPage).origin + '/';
  return html`<nav class="actions" aria-label="${t(locale, 'backToShop')}">
  <a class="button" href="${shop}" data-testid="continue-shopping">${t(locale, 'continueShopping')}</a>
  <a class="button" href="${orderPage}" data-testid="view-order">${t(locale, 'viewOrder')}</a>
</nav>`;
}
