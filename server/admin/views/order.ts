import type { AdminCallback, AdminEvent, AdminTimeline } from '../queries/timeline.ts';
import { attentionFlag, badge, dash, escapeHtml, moneyHtml, rawHtml, timeHtml } from './format.ts';

export interface OrderViewInput {
  timeline: AdminTimeline;
  /** Which actions make sense for this order right now. */
  can: { reconcile: boolean; cancel: boolean; refund: boolean; replay: boolean };
  refundable: number;
  /** The dashboard's zone, for every date shown. */
  zone: string;
}

const base = (id: string) => `/admin/orders/${encodeURIComponent(id)}`;

/**
 * Each cell of a row is labelled with its column's header, which a phone shows beside the value
 * when the table becomes one card per row (styles.ts, table.cards). Rows have no nested tables.
 */
function labelled(row: string, head: string[]): string {
  let i = 0;
  return row.replace(/<td(?=[\s>])/g, (td) => {
    const label = (head[i++] ?? '').replace(/^#(?=.)/, '');
    return label ? `${td} data-label="${escapeHtml(label)}"` : td;
  });
}

/** Header cells; a `#` prefix right-aligns a numeric column. */
function table(caption: string, id: string, head: string[], rows: string[], empty: string): string {
  return `<section class="card" aria-labelledby="${id}">
<h2 id="${id}">${escapeHtml(caption)}</h2>
<div class="table-wrap"><table class="cards" data-testid="${id}">
  <thead><tr>${head.map((h) => (h.startsWith('#') && h.length > 1 ? `<th scope="col" class="num">${h.slice(1)}</th>` : `<th scope="col">${h}</th>`)).join('')}</tr></thead>
  <tbody>${rows.length ? rows.map((r) => labelled(r, head)).join('\n') : `<tr><td colspan="${head.length}" class="muted">${escapeHtml(empty)}</td></tr>`}</tbody>
</table></div>
</section>`;
}

function verifiedBadge(v: boolean | null): string {
  return v === null ? badge('pending', 'not checked') : v ? badge('yes', 'verified') : badge('no', 'not verified');
}

const GOOD_OUTCOMES = ['applied', 'instructions', 'displayed'];
const BAD_OUTCOMES = ['rejected', 'malformed', 'amount_mismatch', 'account_mismatch', 'double_payment', 'unknown_order', 'gave_up'];

function outcomeBadge(outcome: string): string {
  return badge(GOOD_OUTCOMES.includes(outcome) ? 'yes' : BAD_OUTCOMES.includes(outcome) ? 'no' : 'unknown', outcome);
}

function callbackRow(c: AdminCallback, zone: string): string {
  const raw = `${c.rawQuery ? `<div class="small muted">query</div>${rawHtml(c.rawQuery)}` : ''}${c.rawBody ? `<div class="small muted">body (${escapeHtml(c.contentType || 'no content type')})</div>${rawHtml(c.rawBody, c.rawTruncated)}` : ''}`;
  return `<tr>
  <td class="mono">#${c.id}</td>
  <td>${escapeHtml(c.kind)} <span class="muted small">${escapeHtml(c.httpMethod)}</span><div class="muted small">${escapeHtml(c.provider)}/${escapeHtml(c.account)}</div></td>
  <td class="mono">${dash(c.dedupeKey)}</td>
  <td>${verifiedBadge(c.verified)}</td>
  <td>${c.outcome ? outcomeBadge(c.outcome) : '<span class="muted">not processed</span>'}${c.attempts > 1 ? `<div class="muted small">${c.attempts} tries</div>` : ''}</td>
  <td>${dash(c.error)}</td>
  <td>${timeHtml(c.receivedAt, zone)}<div class="small muted">processed ${timeHtml(c.processedAt, zone)}</div></td>
  <td><details class="raw"><summary>Raw request</summary>${raw || '<p class="muted">empty</p>'}</details></td>
</tr>`;
}

function eventRows(orderId: string, e: AdminEvent, canReplay: boolean, zone: string): string {
  const attempts = e.webhookAttempts.length
    ? `<ul class="small">${e.webhookAttempts
        .map((a) => `<li>${timeHtml(a.attemptedAt, zone)} — ${a.responseStatus === null ? '<span class="muted">no answer</span>' : `HTTP ${a.responseStatus}`}${a.error ? ` — ${escapeHtml(a.error)}` : ''} <span class="muted">(${a.durationMs} ms)</span></li>`)
        .join('')}</ul>`
    : '<span class="muted small">no attempts</span>';
  const replay = canReplay
    ? `<a class="button small" href="${base(orderId)}/events/${encodeURIComponent(e.publicId)}/replay">Replay…</a>`
    : '';
  return `<tr data-event-id="${escapeHtml(e.publicId)}">
  <td class="mono">${escapeHtml(e.publicId)}</td>
  <td>${escapeHtml(e.type)}</td>
  <td>${timeHtml(e.createdAt, zone)}</td>
  <td>${badge(e.deliveryStatus)}${e.nextAttemptAt ? `<div class="muted small">next try ${timeHtml(e.nextAttemptAt, zone)}</div>` : ''}${e.deliveredAt ? `<div class="muted small">delivered ${timeHtml(e.deliveredAt, zone)}</div>` : ''}</td>
  <td>${attempts}</td>
  <td>${replay}</td>
</tr>`;
}

export function renderOrder(input: OrderViewInput): string {
  const { order, merchant, items } = input.timeline;
  const t = input.timeline;
  const zone = input.zone;
  const b = base(order.id);
  const actions = [
    input.can.reconcile ? `<a class="button" href="${b}/reconcile">Reconcile now…</a>` : '',
    input.can.refund ? `<a class="button" href="${b}/refund">Refund…</a>` : '',
    input.can.cancel ? `<a class="button" href="${b}/cancel">Cancel payment…</a>` : '',
  ].filter(Boolean);

  const attention = order.attention
    ? `<div class="flash flash-error attention" role="note"><strong>Needs attention.</strong> ${escapeHtml(order.attentionReason ?? '')}</div>`
    : '';

  const details = `<section class="card" aria-labelledby="details-title">
<h2 id="details-title">Details</h2>
<dl class="details">
  <dt>Payment id</dt><dd class="mono">${escapeHtml(order.id)}</dd>
  <dt>Merchant</dt><dd>${merchant ? `${escapeHtml(merchant.name)} <span class="muted mono">${escapeHtml(merchant.id)}</span>` : escapeHtml(order.merchantId)}</dd>
  <dt>Merchant order id</dt><dd class="mono">${escapeHtml(order.merchantOrderId)}</dd>
  <dt>Subject</dt><dd>${dash(order.subject)}</dd>
  <dt>Amount</dt><dd data-testid="amount">${moneyHtml(order.amount, order.currency)}</dd>
  <dt>Refunded</dt><dd data-testid="refunded">${moneyHtml(order.refundedAmount, order.currency)}</dd>
  <dt>Provider</dt><dd>${order.provider ? `${escapeHtml(order.provider)} / ${escapeHtml(order.account)} · ${escapeHtml(order.method)}` : '<span class="muted">not chosen yet</span>'}</dd>
  <dt>Provider trade no</dt><dd class="mono">${dash(order.providerTradeNo)}</dd>
  <dt>Created</dt><dd>${timeHtml(order.createdAt, zone)}</dd>
  <dt>Updated</dt><dd>${timeHtml(order.updatedAt, zone)}</dd>
  <dt>Paid</dt><dd>${timeHtml(order.paidAt, zone)}</dd>
  <dt>Expires</dt><dd>${timeHtml(order.expiresAt, zone)}</dd>
  ${order.failure ? `<dt>Failure</dt><dd>${escapeHtml(order.failure.code)}: ${escapeHtml(order.failure.message)}</dd>` : ''}
  <dt>Return URL</dt><dd class="small">${dash(order.returnUrl)}</dd>
  <dt>Webhook URL</dt><dd class="small">${dash(merchant?.webhookUrl)}</dd>
  <dt>Version</dt><dd>${order.version}</dd>
</dl>
</section>`;

  const itemsTable = table(
    'Items',
    'items',
    ['SKU', 'Name', '#Unit price', '#Qty', '#Amount'],
    items.map((i) => `<tr><td class="mono">${escapeHtml(i.sku)}</td><td>${escapeHtml(i.name)}</td><td class="num">${moneyHtml(i.unitAmount, order.currency)}</td><td class="num">${i.quantity}</td><td class="num">${moneyHtml(i.amount, order.currency)}</td></tr>`),
    'No items recorded.',
  );

  const transitions = table(
    'Transitions',
    'transitions',
    ['From', 'To', 'Cause', 'Source', 'Time'],
    t.transitions.map((x) => `<tr><td>${badge(x.from)}</td><td>${badge(x.to)}</td><td>${escapeHtml(x.cause)}</td><td class="mono">${escapeHtml(x.source)}</td><td>${timeHtml(x.at, zone)}</td></tr>`),
    'No transitions yet.',
  );

  const omitted = (n: number, what: string) => (n > 0 ? `<p class="muted small">${n} more ${what} not shown.</p>` : '');
  const callbacks = table('Provider callbacks', 'callbacks', ['#', 'Kind', 'Dedupe key', 'Verified', 'Outcome', 'Error', 'Received', 'Raw'], t.callbacks.map((c) => callbackRow(c, zone)), 'No callbacks for this order.') + omitted(t.omitted.callbacks, 'callbacks');

  const refunds = table(
    'Refunds',
    'refunds',
    ['Refund no', '#Amount', 'Status', 'Provider refund no', 'Reason', 'Created', 'Updated'],
    t.refunds.map(
      (r) =>
        `<tr><td class="mono">${escapeHtml(r.refundNo)}</td><td class="num">${moneyHtml(r.amount, r.currency)}</td><td>${badge(r.status)}${r.failure ? `<div class="small">${escapeHtml(r.failure.code)}: ${escapeHtml(r.failure.message)}</div>` : ''}</td><td class="mono">${dash(r.providerRefundNo)}</td><td>${dash(r.reason)}</td><td>${timeHtml(r.createdAt, zone)}</td><td>${timeHtml(r.updatedAt, zone)}</td></tr>`,
    ),
    'No refunds.',
  );

  const events =
    table('Merchant events and webhook attempts', 'events', ['Event', 'Type', 'Created', 'Delivery', 'Attempts', ''], t.events.map((e) => eventRows(order.id, e, input.can.replay, zone)), 'No events.') +
    omitted(t.omitted.events, 'events') +
    omitted(t.omitted.attempts, 'webhook attempts');

  return `<p class="small"><a href="/admin/orders">← All orders</a></p>
<h1><span class="mono" data-testid="order-no">${escapeHtml(order.orderNo)}</span> ${badge(order.status)} ${order.simulated ? badge('simulated') : ''} ${attentionFlag(order.attention, order.attentionReason)}</h1>
${attention}
<section class="card" aria-labelledby="actions-title">
  <h2 id="actions-title">Actions</h2>
  ${actions.length ? `<div class="actions">${actions.join('')}</div>` : '<p class="muted">No action applies to this order now.</p>'}
  ${input.can.refund ? `<p class="muted small">Refundable now: ${moneyHtml(input.refundable, order.currency)}</p>` : ''}
</section>
<div class="grid2">${details}${itemsTable}</div>
${transitions}
${callbacks}
${refunds}
${events}`;
}
