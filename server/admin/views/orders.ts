import type { ErrorDetail } from '../../../core/errors.ts';
import type { AdminOrderPage } from '../queries/orders.ts';
import { attentionFlag, badge, dash, escapeHtml, moneyHtml, timeHtml } from './format.ts';

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

function options(values: readonly { value: string; label: string }[], selected: string, any: string): string {
  const list = [{ value: '', label: any }, ...values];
  // A value in the URL that is not offered (an old provider) stays selectable, so the filter shows truthfully.
  if (selected && !values.some((v) => v.value === selected)) list.push({ value: selected, label: selected });
  return list.map((o) => `<option value="${escapeHtml(o.value)}"${o.value === selected ? ' selected' : ''}>${escapeHtml(o.label)}</option>`).join('');
}

function field(input: OrdersViewInput, name: string, label: string, control: string): string {
  const error = input.errors.find((e) => e.path === name);
  const errorHtml = error ? `<span class="field-error" id="${name}-error">${escapeHtml(error.message)}</span>` : '';
  const described = error ? ` aria-describedby="${name}-error" aria-invalid="true"` : '';
  return `<div class="field"><label for="f-${name}">${label}</label>${control.replace('<CONTROL_ATTRS>', `id="f-${name}" name="${name}"${described}`)}${errorHtml}</div>`;
}

export function renderOrders(input: OrdersViewInput): string {
  const v = input.values;
  const filters = `<form class="filters card" method="get" action="/admin/orders" aria-label="Filter orders">
  ${field(input, 'find', 'Find order', `<input type="search" <CONTROL_ATTRS> value="${escapeHtml(v.find)}" placeholder="order no, pay_… or the shop's own id" autocomplete="off" spellcheck="false">`)}
  ${field(input, 'status', 'Status', `<select <CONTROL_ATTRS>>${options(input.statuses.map((s) => ({ value: s, label: s.replace(/_/g, ' ') })), v.status, 'Any status')}</select>`)}
  ${field(input, 'provider', 'Provider', `<select <CONTROL_ATTRS>>${options(input.providers.map((p) => ({ value: p, label: p })), v.provider, 'Any provider')}</select>`)}
  ${field(input, 'merchant', 'Merchant', `<select <CONTROL_ATTRS>>${options(input.merchants.map((m) => ({ value: m.id, label: `${m.name} (${m.id})` })), v.merchant, 'Any merchant')}</select>`)}
  ${field(input, 'from', `Created from (${escapeHtml(input.zone)})`, `<input type="date" <CONTROL_ATTRS> value="${escapeHtml(v.from)}">`)}
  ${field(input, 'to', `Created to (${escapeHtml(input.zone)}, inclusive)`, `<input type="date" <CONTROL_ATTRS> value="${escapeHtml(v.to)}">`)}
  ${field(input, 'size', 'Per page', `<select <CONTROL_ATTRS>>${input.pageSizes.map((n) => `<option value="${n}"${n === v.size ? ' selected' : ''}>${n}</option>`).join('')}</select>`)}
  <div class="check"><input type="checkbox" id="f-attention" name="attention" value="1"${v.attention ? ' checked' : ''}><label for="f-attention">Needs attention only</label></div>
  <div class="actions"><button class="button primary" type="submit">Apply filters</button><a class="button" href="/admin/orders">Reset</a></div>
</form>`;

  const errors = input.errors.length
    ? `<div class="flash flash-error" role="alert" data-testid="error">These filters cannot be used: ${input.errors.map((e) => `<strong>${escapeHtml(e.path)}</strong> ${escapeHtml(e.message)}`).join('; ')}</div>`
    : '';

  const r = input.result;
  const rows = r?.orders.length
    ? r.orders
        .map(
          (o) => `<tr data-order-no="${escapeHtml(o.orderNo)}">
  <td class="mono" data-label="Order no"><a href="/admin/orders/${encodeURIComponent(o.id)}">${escapeHtml(o.orderNo)}</a></td>
  <td data-label="Merchant">${dash(o.merchantName)}<div class="muted small">${escapeHtml(o.merchantOrderId)}</div></td>
  <td data-label="Provider">${o.provider ? `${escapeHtml(o.provider)}<div class="muted small">${escapeHtml(o.account ?? '')} · ${escapeHtml(o.method ?? '')}</div>` : '<span class="muted">not chosen yet</span>'}</td>
  <td class="num" data-label="Amount">${moneyHtml(o.amount, o.currency)}${o.refundedAmount > 0 ? `<div class="muted small">refunded ${moneyHtml(o.refundedAmount, o.currency)}</div>` : ''}</td>
  <td data-label="Status">${badge(o.status)}</td>
  <td class="when-flagged" data-label="Attention">${attentionFlag(o.attention, o.attentionReason)}</td>
  <td data-label="Created">${timeHtml(o.createdAt, input.zone)}</td>
</tr>`,
        )
        .join('\n')
    : `<tr><td colspan="7" class="muted">${r ? 'No orders match these filters.' : 'Fix the filters above to see orders.'}</td></tr>`;

  const pager = r
    ? `<nav class="pager" aria-label="Pages">
  <span class="muted" data-testid="total">${r.total.toLocaleString('en')} order${r.total === 1 ? '' : 's'} match</span>
  <span class="actions">
    ${input.links.first ? `<a class="button small" href="${escapeHtml(input.links.first)}">Newest</a>` : ''}
    ${input.links.newer ? `<a class="button small" href="${escapeHtml(input.links.newer)}" rel="prev">← Newer</a>` : ''}
    ${input.links.older ? `<a class="button small" href="${escapeHtml(input.links.older)}" rel="next">Older →</a>` : ''}
  </span>
</nav>`
    : '';

  return `<h1>Orders</h1>
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
