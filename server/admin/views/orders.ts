import type { ErrorDetail } from '../../../core/errors.ts';
import type { AdminOrderPage } from '../queries/orders.ts';
import { html, joinHtml, type SafeHtml } from '../../../core/html.ts';
import { attentionFlag, badge, dash, moneyHtml, timeHtml } from './format.ts';

export interface OrderFilterValues {
  find: string;
  status: string;
  provider: string;
  merchant: string;
  from: string;
  to: string;
  attention: boolean;
  size: number;
}

export interface OrdersViewInput {
  values: OrderFilterValues;
  statuses: readonly string[];
  providers: readonly string[];
  merchants: readonly { id: string; name: string }[];
  pageSizes: readonly number[];
  result: AdminOrderPage | null;
  errors: readonly ErrorDetail[];
  links: { newer: string | null; older: string | null; first: string | null };
  /** The dashboard's zone: dates shown and the date filters' days. */
  zone: string;
}

function options(values: readonly { value: string; label: string }[], selected: string, any: string): SafeHtml[] {
  const list = [{ value: '', label: any }, ...values];
  // A value in the URL that is not offered (an old provider) stays selectable, so the filter shows truthfully.
  if (selected && !values.some((v) => v.value === selected)) list.push({ value: selected, label: selected });
  return list.map((o) => html`<option value="${o.value}"${o.value === selected ? html` selected` : ''}>${o.label}</option>`);
}

/** A labelled control; `control` gets the id, name and error wiring to put in its tag. */
function field(input: OrdersViewInput, name: string, label: string, control: (attrs: SafeHtml) => SafeHtml): SafeHtml {
  const error = input.errors.find((e) => e.path === name);
  const errorHtml = error ? html`<span class="field-error" id="${name}-error">${error.message}</span>` : '';
  const described = error ? html` aria-describedby="${name}-error" aria-invalid="true"` : '';
  return html`<div class="field"><label for="f-${name}">${label}</label>${control(html`id="f-${name}" name="${name}"${described}`)}${errorHtml}</div>`;
}

export function renderOrders(input: OrdersViewInput): SafeHtml {
  const v = input.values;
  const filters = html`<form class="filters card" method="get" action="/admin/orders" aria-label="Filter orders">
  ${field(input, 'find', 'Find order', (a) => html`<input type="search" ${a} value="${v.find}" placeholder="order no, pay_… or the shop's own id" autocomplete="off" spellcheck="false">`)}
  ${field(input, 'status', 'Status', (a) => html`<select ${a}>${options(input.statuses.map((s) => ({ value: s, label: s.replace(/_/g, ' ') })), v.status, 'Any status')}</select>`)}
  ${field(input, 'provider', 'Provider', (a) => html`<select ${a}>${options(input.providers.map((p) => ({ value: p, label: p })), v.provider, 'Any provider')}</select>`)}
  ${field(input, 'merchant', 'Merchant', (a) => html`<select ${a}>${options(input.merchants.map((m) => ({ value: m.id, label: `${m.name} (${m.id})` })), v.merchant, 'Any merchant')}</select>`)}
  ${field(input, 'from', `Created from (${input.zone})`, (a) => html`<input type="date" ${a} value="${v.from}">`)}
  ${field(input, 'to', `Created to (${input.zone}, inclusive)`, (a) => html`<input type="date" ${a} value="${v.to}">`)}
  ${field(input, 'size', 'Per page', (a) => html`<select ${a}>${input.pageSizes.map((n) => html`<option value="${n}"${n === v.size ? html` selected` : ''}>${n}</option>`)}</select>`)}
  <div class="check"><input type="checkbox" id="f-attention" name="attention" value="1"${v.attention ? html` checked` : ''}><label for="f-attention">Needs attention only</label></div>
  <div class="actions"><button class="button primary" type="submit">Apply filters</button><a class="button" href="/admin/orders">Reset</a></div>
</form>`;

  const errors = input.errors.length
    ? html`<div class="flash flash-error" role="alert" data-testid="error">These filters cannot be used: ${joinHtml(input.errors.map((e) => html`<strong>${e.path}</strong> ${e.message}`), '; ')}</div>`
    : '';

  const r = input.result;
  const rows = r?.orders.length
    ? joinHtml(
        r.orders.map(
          (o) => html`<tr data-order-no="${o.orderNo}">
  <td class="mono" data-label="Order no"><a href="/admin/orders/${encodeURIComponent(o.id)}">${o.orderNo}</a></td>
  <td data-label="Merchant">${dash(o.merchantName)}<div class="muted small">${o.merchantOrderId}</div></td>
  <td data-label="Provider">${o.provider ? html`${o.provider}<div class="muted small">${o.account ?? ''} · ${o.method ?? ''}</div>` : html`<span class="muted">not chosen yet</span>`}</td>
  <td class="num" data-label="Amount">${moneyHtml(o.amount, o.currency)}${o.refundedAmount > 0 ? html`<div class="muted small">refunded ${moneyHtml(o.refundedAmount, o.currency)}</div>` : ''}</td>
  <td data-label="Status">${badge(o.status)}</td>
  <td class="when-flagged" data-label="Attention">${attentionFlag(o.attention, o.attentionReason)}</td>
  <td data-label="Created">${timeHtml(o.createdAt, input.zone)}</td>
</tr>`,
        ),
        '\n',
      )
    : html`<tr><td colspan="7" class="muted">${r ? 'No orders match these filters.' : 'Fix the filters above to see orders.'}</td></tr>`;

  const pager = r
    ? html`<nav class="pager" aria-label="Pages">
  <span class="muted" data-testid="total">${r.total.toLocaleString('en')} order${r.total === 1 ? '' : 's'} match</span>
  <span class="actions">
    ${input.links.first ? html`<a class="button small" href="${input.links.first}">Newest</a>` : ''}
    ${input.links.newer ? html`<a class="button small" href="${input.links.newer}" rel="prev">← Newer</a>` : ''}
    ${input.links.older ? html`<a class="button small" href="${input.links.older}" rel="next">Older →</a>` : ''}
  </span>
</nav>`
    : '';

  return html`<h1>Orders</h1>
${errors}
${filters}
<section class="card" aria-labelledby="orders-caption">
<div class="table-wrap">
<table class="cards">
  <caption id="orders-caption">Orders, newest first</caption>
  <thead><tr><th scope="col">Order no</th><th scope="col">Merchant</th><th scope="col">Provider / account · method</th><th scope="col" class="num">Amount</th><th scope="col">Status</th><th scope="col"><span aria-hidden="true">⚑</span><span class="visually-hidden">Needs attention</span></th><th scope="col">Created</th></tr></thead>
  <tbody>
${rows}
  </tbody>
</table>
</div>
${pager}
</section>`;
}
