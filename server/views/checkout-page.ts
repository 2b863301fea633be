import type { MerchantDisplay } from '../../core/merchants.ts';
import type { Order } from '../../core/orders.ts';
import type { AtmInstructions, OrderItemSnapshot } from '../../core/payment-provider.ts';
import { DEFAULT_TIME_ZONE, formatDateTime, formatMoney } from './format.ts';
import { escapeHtml, safeHref } from './html.ts';
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
  return escapeHtml(formatMoney(amount, order.currency, locale));
}

function itemsTable(locale: Locale, order: Order, items: readonly OrderItemSnapshot[]): string {
  const rows = items
    .map(
      (item) =>
        `<tr><td>${escapeHtml(item.name)}</td><td class="num">${item.quantity}</td><td class="num">${money(locale, order, item.amount)}</td></tr>`,
    )
    .join('');
  return `<table class="items">
  <caption class="hint" style="text-align:left">${escapeHtml(t(locale, 'orderNo'))} <span data-testid="order-no">${escapeHtml(order.orderNo)}</span></caption>
  <thead><tr><th scope="col">${escapeHtml(t(locale, 'items'))}</th><th scope="col" class="num">${escapeHtml(t(locale, 'quantity'))}</th><th scope="col" class="num">${escapeHtml(t(locale, 'amount'))}</th></tr></thead>
  <tbody>${rows}</tbody>
  <tfoot><tr><td colspan="2">${escapeHtml(t(locale, 'total'))}</td><td class="num" data-testid="total">${money(locale, order, order.amount)}</td></tr></tfoot>
</table>`;
}

/** The hosted checkout: the order, then one radio per way to pay, then one button. */
export function renderChoosePage(input: PageContext & {
  order: Order;
  items: readonly OrderItemSnapshot[];
  choices: readonly ChoiceView[];
  formAction: string;
  error?: MessageKey;
}): string {
  const { locale, order } = input;
  const options = input.choices
    .map(
      (c, i) => `<label class="choice"><input type="radio" name="choice" value="${escapeHtml(c.value)}"${i === 0 ? ' checked' : ''} required>
      <span>${escapeHtml(methodName(locale, c.method))}</span><span class="provider">${escapeHtml(c.providerName)}</span></label>`,
    )
    .join('\n');
  const form = input.choices.length
    ? `<form method="post" action="${escapeHtml(input.formAction)}">
  <fieldset><legend>${escapeHtml(t(locale, 'chooseHeading'))}</legend>
  ${options}
  </fieldset>
  <p class="hint">${escapeHtml(t(locale, 'choiceFinalHint'))}</p>
  <button type="submit" class="button primary wide">${escapeHtml(t(locale, 'payButton'))}</button>
</form>`
    : `<p class="notice error" role="alert">${escapeHtml(t(locale, 'noChoices'))}</p>`;
  return pageShell({
    locale,
    title: t(locale, 'checkoutTitle'),
    merchant: input.merchant,
    body: `<h1>${escapeHtml(order.subject)}</h1>
${input.error ? `<p class="notice error" role="alert">${escapeHtml(t(locale, input.error))}</p>` : ''}
${itemsTable(locale, order, input.items)}
${form}
${backLinks(locale, order)}`,
  });
}

/** ATM instructions: the account in large type with a copy button, the amount and the deadline. */
export function renderInstructionsPage(input: PageContext & { order: Order; atm: AtmInstructions; refreshUrl: string; nonce: string }): string {
  const { locale, order, atm } = input;
  const webAtm = safeHref(atm.webAtmUrl);
  const body = `<h1>${escapeHtml(t(locale, 'atmHeading'))}</h1>
<dl class="facts">
  <dt>${escapeHtml(t(locale, 'orderNo'))}</dt><dd data-testid="order-no">${escapeHtml(order.orderNo)}</dd>
  <dt>${escapeHtml(t(locale, 'bankCode'))}</dt><dd data-testid="bank-code">${escapeHtml(atm.bankCode)}</dd>
  <dt>${escapeHtml(t(locale, 'accountNo'))}</dt><dd><span class="account" id="account" data-testid="atm-account">${escapeHtml(atm.account)}</span><button type="button" class="button copy" id="copy" data-copied="${escapeHtml(t(locale, 'copied'))}" hidden>${escapeHtml(t(locale, 'copy'))}</button></dd>
  <dt>${escapeHtml(t(locale, 'amount'))}</dt><dd data-testid="atm-amount">${money(locale, order, atm.amount)}</dd>
  <dt>${escapeHtml(t(locale, 'deadline'))}</dt><dd><time datetime="${escapeHtml(atm.deadline)}" data-testid="deadline">${escapeHtml(formatDateTime(new Date(atm.deadline), locale, input.timeZone ?? DEFAULT_TIME_ZONE))}</time></dd>
</dl>
<p class="hint">${escapeHtml(t(locale, 'atmHint'))}</p>
<nav class="actions">
  ${webAtm ? `<a class="button primary" href="${escapeHtml(webAtm)}">${escapeHtml(t(locale, 'webAtm'))}</a>` : ''}
  <a class="button" href="${escapeHtml(input.refreshUrl)}">${escapeHtml(t(locale, 'refresh'))}</a>
</nav>
${backLinks(locale, order)}`;
  // The copy button exists only where a script can work it; the number stays selectable text.
  const code = `(function(){var b=document.getElementById('copy');if(!b||!navigator.clipboard)return;b.hidden=false;b.addEventListener('click',function(){navigator.clipboard.writeText(document.getElementById('account').textContent.trim()).then(function(){b.textContent=b.getAttribute('data-copied');});});})();`;
  return pageShell({ locale, title: t(locale, 'atmHeading'), body, merchant: input.merchant, script: { nonce: input.nonce, code } });
}

/** A provider that takes a form POST: submitted by script at once, by the buyer without one. */
export function renderFormPostPage(input: PageContext & { method: 'POST' | 'GET'; url: string; fields: Record<string, string>; nonce: string }): string {
  const hidden = Object.entries(input.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n  ');
  const body = `<h1>${escapeHtml(t(input.locale, 'redirecting'))}</h1>
<form id="provider-form" method="${input.method.toLowerCase()}" action="${escapeHtml(input.url)}">
  ${hidden}
  <button type="submit" class="button primary">${escapeHtml(t(input.locale, 'continueToPay'))}</button>
</form>`;
  return pageShell({
    locale: input.locale,
    title: t(input.locale, 'redirecting'),
    merchant: input.merchant,
    body,
    script: { nonce: input.nonce, code: `document.getElementById('provider-form').submit();` },
  });
}

/**
 * A second tab (or a stale page) chose after a way to pay was already chosen: say so, say which, in
 * the page's language, and offer the way on to that payment (this link, which carries the buyer to
 * it). The earlier choice stands; nothing new was asked of any provider.
 */
export function renderChosenAlreadyPage(input: PageContext & { order: Order; providerName: string; method: string; continueUrl: string }): string {
  const { locale, order } = input;
  const detail = fill(t(locale, 'chosenAlreadyDetail'), { method: methodName(locale, input.method), provider: input.providerName });
  const body = `<h1>${escapeHtml(t(locale, 'chosenAlready'))}</h1>
<p class="notice" role="alert" data-testid="chosen-already">${escapeHtml(detail)}</p>
<dl class="facts">
  <dt>${escapeHtml(t(locale, 'orderNo'))}</dt><dd data-testid="order-no">${escapeHtml(order.orderNo)}</dd>
  <dt>${escapeHtml(t(locale, 'amount'))}</dt><dd data-testid="total">${money(locale, order, order.amount)}</dd>
</dl>
<nav class="actions"><a class="button primary" href="${escapeHtml(input.continueUrl)}" data-testid="go-to-payment">${escapeHtml(t(locale, 'goToPayment'))}</a></nav>
${backLinks(locale, order)}`;
  return pageShell({ locale, title: t(locale, 'chosenAlready'), body, merchant: input.merchant });
}

export function renderLinkErrorPage(locale: Locale, kind: 'invalid' | 'expired'): string {
  const title = t(locale, kind === 'invalid' ? 'linkInvalid' : 'linkExpired');
  return pageShell({ locale, title, body: `<h1>${escapeHtml(title)}</h1><p class="hint">${escapeHtml(t(locale, 'linkInvalidHint'))}</p>` });
}

/**
 * Seed 002's way back: "continue shopping" to the shop's front page and "my order" to the page the
 * merchant named (its returnUrl), both only as http(s) links.
 */
export function backLinks(locale: Locale, order: Pick<Order, 'returnUrl'>): string {
  const orderPage = safeHref(order.returnUrl);
  if (!orderPage) return '';
  const shop = new URL(orderPage).origin + '/';
  return `<nav class="actions" aria-label="${escapeHtml(t(locale, 'backToShop'))}">
  <a class="button" href="${escapeHtml(shop)}" data-testid="continue-shopping">${escapeHtml(t(locale, 'continueShopping'))}</a>
  <a class="button" href="${escapeHtml(orderPage)}" data-testid="view-order">${escapeHtml(t(locale, 'viewOrder'))}</a>
</nav>`;
}
