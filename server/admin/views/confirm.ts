import type { ErrorDetail } from '../../../core/errors.ts';
import type { Order } from '../../../core/orders.ts';
import { html, type SafeHtml } from '../../../core/html.ts';
import { badge, moneyHtml } from './format.ts';
import { csrfField } from './layout.ts';

/**
 * The confirmation step every action goes through (no JavaScript needed): a page that says what is
 * about to happen, and a form whose POST does it. Errors come back on the same page, fields named.
 */
export interface ConfirmInput {
  order: Order;
  heading: string;
  /** What will happen, in a sentence or two. */
  explain: SafeHtml;
  /** Where the form posts. */
  action: string;
  csrf: string;
  /** Inputs and hidden fields. */
  fields?: SafeHtml;
  submit: { label: string; danger?: boolean };
  error?: { message: string; details: readonly ErrorDetail[] } | null;
  /** A second way back besides the order (the refund form's "Change"). */
  secondary?: { href: string; label: string };
}

export function renderConfirm(input: ConfirmInput): SafeHtml {
  const o = input.order;
  const back = `/admin/orders/${encodeURIComponent(o.id)}`;
  const error = input.error
    ? html`<div class="flash flash-error" role="alert" data-testid="error">${input.error.message}${
        input.error.details.length ? html`<ul>${input.error.details.map((d) => html`<li><strong>${d.path}</strong>: ${d.message}</li>`)}</ul>` : ''
      }</div>`
    : '';
  return html`<p class="small"><a href="${back}">← Back to order ${o.orderNo}</a></p>
<section class="card confirm" aria-labelledby="confirm-title">
  <h1 id="confirm-title">${input.heading}</h1>
  <p>Order <span class="mono">${o.orderNo}</span> ${badge(o.status)} — ${moneyHtml(o.amount, o.currency)}${o.refundedAmount ? html`, refunded ${moneyHtml(o.refundedAmount, o.currency)}` : ''}</p>
  ${error}
  <p>${input.explain}</p>
  <form method="post" action="${input.action}">
    ${csrfField(input.csrf)}
    ${input.fields ?? ''}
    <div class="actions">
      <button class="button ${input.submit.danger ? 'danger' : 'primary'}" type="submit">${input.submit.label}</button>
      ${input.secondary ? html`<a class="button" href="${input.secondary.href}">${input.secondary.label}</a>` : ''}
      <a class="button" href="${back}">Back to the order</a>
    </div>
  </form>
</section>`;
}

/** A labelled input whose error (if any) is tied to it for screen readers. */
export function inputField(input: {
  name: string;
  label: string;
  value: string;
  hint?: string;
  error?: ErrorDetail;
  type?: 'text' | 'textarea';
  attrs?: SafeHtml;
}): SafeHtml {
  const id = `f-${input.name}`;
  const describedBy = [input.hint ? `${id}-hint` : '', input.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const aria = html`${describedBy ? html` aria-describedby="${describedBy}"` : ''}${input.error ? html` aria-invalid="true"` : ''}`;
  const control =
    input.type === 'textarea'
      ? html`<textarea id="${id}" name="${input.name}"${aria} ${input.attrs ?? ''}>${input.value}</textarea>`
      : html`<input type="text" id="${id}" name="${input.name}" value="${input.value}"${aria} ${input.attrs ?? ''}>`;
  return html`<div class="field">
  <label for="${id}">${input.label}</label>
  ${control}
  ${input.hint ? html`<span class="muted small" id="${id}-hint">${input.hint}</span>` : ''}
  ${input.error ? html`<span class="field-error" id="${id}-error">${input.error.message}</span>` : ''}
</div>`;
}

export function hidden(name: string, value: string): SafeHtml {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}
