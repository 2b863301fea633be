import { toDecimalString } from '../../core/money.ts';
import type { Order } from '../../core/orders.ts';
import type { AtmInstructions, OrderItemSnapshot } from '../../core/payment-provider.ts';
import { escapeHtml, safeHref } from './html.ts';
import { formatTime, methodName, t, type Locale, type MessageKey } from './i18n.ts';
import { pageShell } from './page.ts';

export interface ChoiceView {
  /** provider/account/method, the value the form posts back. */
  value: string;
  providerName: string;
  method: string;
}

function money(order: Pick<Order, 'currency'>, amount: number): string {
  return `${escapeHtml(order.currency)} ${escapeHtml(toDecimalString(amount, order.currency))}`;
}

function itemsTable(locale: Locale, order: Order, items: readonly OrderItemSnapshot[]): string {
  const rows = items
    .map(
      (item) =>
        `<tr><td>${escapeHtml(item.name)}</td><td class="num">${item.quantity}</td><td class="num">${money(order, item.amount)}</td></tr>`,
    )
    .join('');
  return `<table class="items">
  <caption class="hint" style="text-align:left">${escapeHtml(t(locale, 'orderNo'))} <span data-testid="order-no">${escapeHtml(order.orderNo)}</span></caption>
  <thead><tr><th scope="col">${escapeHtml(t(locale, 'items'))}</th><th scope="col" class="num">${escapeHtml(t(locale, 'quantity'))}</th><th scope="col" class="num">${escapeHtml(t(locale, 'amount'))}</th></tr></thead>
  <tbody>${rows}</tbody>
  <tfoot><tr><td colspan="2">${escapeHtml(t(locale, 'total'))}</td><td class="num" data-testid="total">${money(order, order.amount)}</td></tr></tfoot>
</table>`;
}

/** The hosted checkout: the order, then one radio per way to pay, then one button. */
export function renderChoosePage(input: {
  locale: Locale;
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
    body: `<h1>${escapeHtml(order.subject)}</h1>
${input.error ? `<p class="notice error" role="alert">${escapeHtml(t(locale, input.error))}</p>` : ''}
${itemsTable(locale, order, input.items)}
${form}
${backLinks(locale, order)}`,
  });
}

/** ATM instructions: the account in large type with a copy button, the amount and the deadline. */
export function renderInstructionsPage(input: { locale: Locale; order: Order; atm: AtmInstructions; refreshUrl: string; nonce: string }): string {
  const { locale, order, atm } = input;
  const webAtm = safeHref(atm.webAtmUrl);
  const body = `<h1>${escapeHtml(t(locale, 'atmHeading'))}</h1>
<dl class="facts">
  <dt>${escapeHtml(t(locale, 'orderNo'))}</dt><dd data-testid="order-no">${escapeHtml(order.orderNo)}</dd>
  <dt>${escapeHtml(t(locale, 'bankCode'))}</dt><dd data-testid="bank-code">${escapeHtml(atm.bankCode)}</dd>
  <dt>${escapeHtml(t(locale, 'accountNo'))}</dt><dd><span class="account" id="account" data-testid="atm-account">${escapeHtml(atm.account)}</span><button type="button" class="button copy" id="copy" data-copied="${escapeHtml(t(locale, 'copied'))}" hidden>${escapeHtml(t(locale, 'copy'))}</button></dd>
  <dt>${escapeHtml(t(locale, 'amount'))}</dt><dd data-testid="atm-amount">${money(order, atm.amount)}</dd>
  <dt>${escapeHtml(t(locale, 'deadline'))}</dt><dd><time datetime="${escapeHtml(atm.deadline)}" data-testid="deadline">${escapeHtml(formatTime(new Date(atm.deadline), locale, order.currency))}</time></dd>
</dl>
<p class="hint">${escapeHtml(t(locale, 'atmHint'))}</p>
<nav class="actions">
  ${webAtm ? `<a class="button primary" href="${escapeHtml(webAtm)}">${escapeHtml(t(locale, 'webAtm'))}</a>` : ''}
  <a class="button" href="${escapeHtml(input.refreshUrl)}">${escapeHtml(t(locale, 'refresh'))}</a>
</nav>
${backLinks(locale, order)}`;
  // The copy button exists only where a script can work it; the number stays selectable text.
  const code = `(function(){var b=document.getElementById('copy');if(!b||!navigator.clipboard)return;b.hidden=false;b.addEventListener('click',function(){navigator.clipboard.writeText(document.getElementById('account').textContent.trim()).then(function(){b.textContent=b.getAttribute('data-copied');});});})();`;
  return pageShell({ locale, title: t(locale, 'atmHeading'), body, script: { nonce: input.nonce, code } });
}

/** A provider that takes a form POST: submitted by script at once, by the buyer without one. */
export function renderFormPostPage(input: { locale: Locale; method: 'POST' | 'GET'; url: string; fields: Record<string, string>; nonce: string }): string {
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
    body,
    script: { nonce: input.nonce, code: `document.getElementById('provider-form').submit();` },
  });
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
