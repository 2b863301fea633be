import type { ErrorDetail } from '../../../core/errors.ts';
import type { Order } from '../../../core/orders.ts';
import { badge, escapeHtml, moneyHtml } from './format.ts';
import { csrfField } from './layout.ts';

/**
 * The confirmation step every action goes through (no JavaScript needed): a page that says what is
 * about to happen, and a form whose POST does it. Errors come back on the same page, fields named.
 */
export interface ConfirmInput {
  order: Order;
  heading: string;
  /** What will happen, in a sentence or two (HTML, already escaped). */
  explain: string;
  /** Where the form posts. */
  action: string;
  csrf: string;
  /** Inputs and hidden fields (HTML, already escaped). */
  fields?: string;
  submit: { label: string; danger?: boolean };
  error?: { message: string; details: readonly ErrorDetail[] } | null;
  /** A second way back besides the order (the refund form's "Change"). */
  secondary?: { href: string; label: string };
}

export function renderConfirm(input: ConfirmInput): string {
  const o = input.order;
  const back = `/admin/orders/${encodeURIComponent(o.id)}`;
  const error = input.error
    ? `<div class="flash flash-error" role="alert" data-testid="error">${escapeHtml(input.error.message)}${
        input.error.details.length ? `<ul>${input.error.details.map((d) => `<li><strong>${escapeHtml(d.path)}</strong>: ${escapeHtml(d.message)}</li>`).join('')}</ul>` : ''
      }</div>`
    : '';
  return `<p class="small"><a href="${back}">← Back to order ${escapeHtml(o.orderNo)}</a></p>
<section class="card confirm" aria-labelledby="confirm-title">
  <h1 id="confirm-title">${escapeHtml(input.heading)}</h1>
  <p>Order <span class="mono">${escapeHtml(o.orderNo)}</span> ${badge(o.status)} — ${moneyHtml(o.amount, o.currency)}${o.refundedAmount ? `, refunded ${moneyHtml(o.refundedAmount, o.currency)}` : ''}</p>
  ${error}
  <p>${input.explain}</p>
  <form method="post" action="${escapeHtml(input.action)}">
    ${csrfField(input.csrf)}
    ${input.fields ?? ''}
    <div class="actions">
      <button class="button ${input.submit.danger ? 'danger' : 'primary'}" type="submit">${escapeHtml(input.submit.label)}</button>
      ${input.secondary ? `<a class="button" href="${escapeHtml(input.secondary.href)}">${escapeHtml(input.secondary.label)}</a>` : ''}
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
  attrs?: string;
}): string {
  const id = `f-${input.name}`;
  const describedBy = [input.hint ? `${id}-hint` : '', input.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const aria = `${describedBy ? ` aria-describedby="${describedBy}"` : ''}${input.error ? ' aria-invalid="true"' : ''}`;
  const control =
    input.type === 'textarea'
      ? `<textarea id="${id}" name="${input.name}"${aria} ${input.attrs ?? ''}>${escapeHtml(input.value)}</textarea>`
      : `<input type="text" id="${id}" name="${input.name}" value="${escapeHtml(input.value)}"${aria} ${input.attrs ?? ''}>`;
  return `<div class="field">
  <label for="${id}">${escapeHtml(input.label)}</label>
  ${control}
  ${input.hint ? `<span class="muted small" id="${id}-hint">${escapeHtml(input.hint)}</span>` : ''}
  ${input.error ? `<span class="field-error" id="${id}-error">${escapeHtml(input.error.message)}</span>` : ''}
</div>`;
}

export function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}
