import type { AdminCallback, AdminEvent, AdminTimeline } from '../queries/timeline.ts';
import { html, joinHtml, unsafeRaw, type SafeHtml } from '../../../core/html.ts';
import { attentionFlag, badge, dash, moneyHtml, rawHtml, timeHtml } from './format.ts';

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
function labelled(row: SafeHtml, head: string[]): SafeHtml {
  let i = 0;
  const markup = row.toString().replace(/<td(?=[\s>])/g, (td) => {
    const label = (head[i++] ?? '').replace(/^#(?=.)/, '');
    return label ? `${td} data-label="${html`${label}`}"` : td;
  });
  return unsafeRaw(markup, 'SafeHtml row with data-label attributes added to its <td> tags (escaped text never holds a "<")');
}

/** Header cells; a `#` prefix right-aligns a numeric column. */
function table(caption: string, id: string, head: string[], rows: SafeHtml[], empty: string): SafeHtml {
  return html`<section class="card" aria-labelledby="${id}">
<h2 id="${id}">${caption}</h2>
<div class="table-wrap"><table class="cards" data-testid="${id}">
  <thead><tr>${head.map((h) => (h.startsWith('#') && h.length > 1 ? html`<th scope="col" class="num">${h.slice(1)}</th>` : html`<th scope="col">${h}</th>`))}</tr></thead>
  <tbody>${rows.length ? joinHtml(rows.map((r) => labelled(r, head)), '\n') : html`<tr><td colspan="${head.length}" class="muted">${empty}</td></tr>`}</tbody>
</table></div>
</section>`;
}

function verifiedBadge(v: boolean | null): SafeHtml {
  return v === null ? badge('pending', 'not checked') : v ? badge('yes', 'verified') : badge('no', 'not verified');
}

/** What the buyer was told to do, when it is instructions: the ATM account, or the convenience-store code and barcodes. */
function buyerInstructions(order: AdminTimeline['order'], zone: string): SafeHtml | '' {
  const action = order.action;
  if (action?.type !== 'instructions') return '';
  if ('atm' in action) {
    return html`<dt>Buyer instructions</dt><dd data-testid="instructions">ATM: bank <span class="mono">${action.atm.bankCode}</span>, account <span class="mono">${action.atm.account}</span>, ${moneyHtml(action.atm.amount, order.currency)} by ${timeHtml(new Date(action.atm.deadline), zone)}</dd>`;
  }
  const cvs = action.cvs;
  return html`<dt>Buyer instructions</dt><dd data-testid="instructions">Convenience store${cvs.code ? html`: code <span class="mono">${cvs.code}</span>` : ''}${cvs.barcodes?.length ? html`, barcodes ${joinHtml(cvs.barcodes.map((b: string) => html`<span class="mono">${b}</span>`), ' ')}` : ''}${cvs.stores?.length ? `, at ${cvs.stores.join(', ')}` : ''}, ${moneyHtml(cvs.amount, order.currency)} by ${timeHtml(new Date(cvs.deadline), zone)}</dd>`;
}

const GOOD_OUTCOMES = ['applied', 'instructions', 'displayed'];
const BAD_OUTCOMES = ['rejected', 'malformed', 'amount_mismatch', 'account_mismatch', 'double_payment', 'unknown_order', 'gave_up'];

function outcomeBadge(outcome: string): SafeHtml {
  return badge(GOOD_OUTCOMES.includes(outcome) ? 'yes' : BAD_OUTCOMES.includes(outcome) ? 'no' : 'unknown', outcome);
}

function callbackRow(c: AdminCallback, zone: string): SafeHtml {
  const raw = html`${c.rawQuery ? html`<div class="small muted">query</div>${rawHtml(c.rawQuery)}` : ''}${c.rawBody ? html`<div class="small muted">body (${c.contentType || 'no content type'})</div>${rawHtml(c.rawBody, c.rawTruncated)}` : ''}`;
  return html`<tr>
  <td class="mono">#${c.id}</td>
  <td>${c.kind} <span class="muted small">${c.httpMethod}</span><div class="muted small">${c.provider}/${c.account}</div></td>
  <td class="mono">${dash(c.dedupeKey)}</td>
  <td>${verifiedBadge(c.verified)}</td>
  <td>${c.outcome ? outcomeBadge(c.outcome) : html`<span class="muted">not processed</span>`}${c.attempts > 1 ? html`<div class="muted small">${c.attempts} tries</div>` : ''}</td>
  <td>${dash(c.error)}</td>
  <td>${timeHtml(c.receivedAt, zone)}<div class="small muted">processed ${timeHtml(c.processedAt, zone)}</div></td>
  <td><details class="raw"><summary>Raw request</summary>${raw.toString() ? raw : html`<p class="muted">empty</p>`}</details></td>
</tr>`;
}

function eventRows(orderId: string, e: AdminEvent, canReplay: boolean, zone: string): SafeHtml {
  const attempts = e.webhookAttempts.length
    ? html`<ul class="small">${e.webhookAttempts.map(
        (a) => html`<li>${timeHtml(a.attemptedAt, zone)} — ${a.responseStatus === null ? html`<span class="muted">no answer</span>` : `HTTP ${a.responseStatus}`}${a.error ? ` — ${a.error}` : ''} <span class="muted">(${a.durationMs} ms)</span></li>`,
      )}</ul>`
    : html`<span class="muted small">no attempts</span>`;
  const replay = canReplay
    ? html`<a class="button small" href="${base(orderId)}/events/${encodeURIComponent(e.publicId)}/replay">Replay…</a>`
    : '';
  return html`<tr data-event-id="${e.publicId}">
  <td class="mono">${e.publicId}</td>
  <td>${e.type}</td>
  <td>${timeHtml(e.createdAt, zone)}</td>
  <td>${badge(e.deliveryStatus)}${e.nextAttemptAt ? html`<div class="muted small">next try ${timeHtml(e.nextAttemptAt, zone)}</div>` : ''}${e.deliveredAt ? html`<div class="muted small">delivered ${timeHtml(e.deliveredAt, zone)}</div>` : ''}</td>
  <td>${attempts}</td>
  <td>${replay}</td>
</tr>`;
}

export function renderOrder(input: OrderViewInput): SafeHtml {
  const { order, merchant, items } = input.timeline;
  const t = input.timeline;
  const zone = input.zone;
  const b = base(order.id);
  const actions = [
    input.can.reconcile ? html`<a class="button" href="${b}/reconcile">Reconcile now…</a>` : '',
    input.can.refund ? html`<a class="button" href="${b}/refund">Refund…</a>` : '',
    input.can.cancel ? html`<a class="button" href="${b}/cancel">Cancel payment…</a>` : '',
  ].filter(Boolean);

  const attention = order.attention
    ? html`<div class="flash flash-error attention" role="note"><strong>Needs attention.</strong> ${order.attentionReason ?? ''}</div>`
    : '';

  const details = html`<section class="card" aria-labelledby="details-title">
<h2 id="details-title">Details</h2>
<dl class="details">
  <dt>Payment id</dt><dd class="mono">${order.id}</dd>
  <dt>Merchant</dt><dd>${merchant ? html`${merchant.name} <span class="muted mono">${merchant.id}</span>` : order.merchantId}</dd>
  <dt>Merchant order id</dt><dd class="mono">${order.merchantOrderId}</dd>
  <dt>Subject</dt><dd>${dash(order.subject)}</dd>
  <dt>Amount</dt><dd data-testid="amount">${moneyHtml(order.amount, order.currency)}</dd>
  <dt>Refunded</dt><dd data-testid="refunded">${moneyHtml(order.refundedAmount, order.currency)}</dd>
  <dt>Provider</dt><dd>${order.provider ? `${order.provider} / ${order.account} · ${order.method}` : html`<span class="muted">not chosen yet</span>`}</dd>
  <dt>Provider trade no</dt><dd class="mono">${dash(order.providerTradeNo)}</dd>
  <dt>Created</dt><dd>${timeHtml(order.createdAt, zone)}</dd>
  <dt>Updated</dt><dd>${timeHtml(order.updatedAt, zone)}</dd>
  <dt>Paid</dt><dd>${timeHtml(order.paidAt, zone)}</dd>
  <dt>Expires</dt><dd>${timeHtml(order.expiresAt, zone)}</dd>
  ${order.failure ? html`<dt>Failure</dt><dd>${order.failure.code}: ${order.failure.message}</dd>` : ''}
  ${buyerInstructions(order, zone)}
  <dt>Return URL</dt><dd class="small">${dash(order.returnUrl)}</dd>
  <dt>Webhook URL</dt><dd class="small">${dash(merchant?.webhookUrl)}</dd>
  <dt>Version</dt><dd>${order.version}</dd>
</dl>
</section>`;

  const itemsTable = table(
    'Items',
    'items',
    ['SKU', 'Name', '#Unit price', '#Qty', '#Amount'],
    items.map((i) => html`<tr><td class="mono">${i.sku}</td><td>${i.name}</td><td class="num">${moneyHtml(i.unitAmount, order.currency)}</td><td class="num">${i.quantity}</td><td class="num">${moneyHtml(i.amount, order.currency)}</td></tr>`),
    'No items recorded.',
  );

  const transitions = table(
    'Transitions',
    'transitions',
    ['From', 'To', 'Cause', 'Source', 'Time'],
    t.transitions.map((x) => html`<tr><td>${badge(x.from)}</td><td>${badge(x.to)}</td><td>${x.cause}</td><td class="mono">${x.source}</td><td>${timeHtml(x.at, zone)}</td></tr>`),
    'No transitions yet.',
  );

  const omitted = (n: number, what: string) => (n > 0 ? html`<p class="muted small">${n} more ${what} not shown.</p>` : '');
  const callbacks = joinHtml([table('Provider callbacks', 'callbacks', ['#', 'Kind', 'Dedupe key', 'Verified', 'Outcome', 'Error', 'Received', 'Raw'], t.callbacks.map((c) => callbackRow(c, zone)), 'No callbacks for this order.'), omitted(t.omitted.callbacks, 'callbacks')]);

  const refunds = table(
    'Refunds',
    'refunds',
    ['Refund no', '#Amount', 'Status', 'Provider refund no', 'Reason', 'Created', 'Updated'],
    t.refunds.map(
      (r) =>
        html`<tr><td class="mono">${r.refundNo}</td><td class="num">${moneyHtml(r.amount, r.currency)}</td><td>${badge(r.status)}${r.failure ? html`<div class="small">${r.failure.code}: ${r.failure.message}</div>` : ''}</td><td class="mono">${dash(r.providerRefundNo)}</td><td>${dash(r.reason)}</td><td>${timeHtml(r.createdAt, zone)}</td><td>${timeHtml(r.updatedAt, zone)}</td></tr>`,
    ),
    'No refunds.',
  );

  const events = joinHtml([
    table('Merchant events and webhook attempts', 'events', ['Event', 'Type', 'Created', 'Delivery', 'Attempts', ''], t.events.map((e) => eventRows(order.id, e, input.can.replay, zone)), 'No events.'),
    omitted(t.omitted.events, 'events'),
    omitted(t.omitted.attempts, 'webhook attempts'),
  ]);

  return html`<p class="small"><a href="/admin/orders">← All orders</a></p>
<h1><span class="mono" data-testid="order-no">${order.orderNo}</span> ${badge(order.status)} ${order.simulated ? badge('simulated') : ''} ${attentionFlag(order.attention, order.attentionReason)}</h1>
${attention}
<section class="card" aria-labelledby="actions-title">
  <h2 id="actions-title">Actions</h2>
  ${actions.length ? html`<div class="actions">${actions}</div>` : html`<p class="muted">No action applies to this order now.</p>`}
  ${input.can.refund ? html`<p class="muted small">Refundable now: ${moneyHtml(input.refundable, order.currency)}</p>` : ''}
</section>
<div class="grid2">${details}${itemsTable}</div>
${transitions}
${callbacks}
${refunds}
${events}`;
}
