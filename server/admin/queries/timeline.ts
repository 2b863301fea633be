import type { Knex } from 'knex';
import { toNumber, type Db } from '../../../core/db.ts';
import type { DeliveryStatus, EventRow } from '../../../core/events.ts';
import { findOrder, loadItems, type Order } from '../../../core/orders.ts';
import type { OrderItemSnapshot } from '../../../core/payment-provider.ts';
import type { RefundStatus } from '../../../core/refunds.ts';

/** Everything recorded about one order, oldest first, for the dashboard's timeline. Display-free. */


export interface AdminTransition { id: number; from: string; to: string; cause: string; source: string; at: Date }

export interface AdminCallback {
  id: number;
  provider: string;
  account: string;
  kind: string;
  dedupeKey: string | null;
  httpMethod: string;
  contentType: string;
  /** The first RAW_PREVIEW_CHARS characters of the stored body; `rawTruncated` when there is more. */
  rawBody: string;
  rawTruncated: boolean;
  rawQuery: string;
  verified: boolean | null;
  outcome: string | null;
  error: string | null;
  attempts: number;
  receivedAt: Date;
  processedAt: Date | null;
}

export interface AdminRefund {
  id: string;
  refundNo: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: string | null;
  providerRefundNo: string | null;
  failure: { code: string; message: string } | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AdminWebhookAttempt { id: number; url: string; attemptedAt: Date; durationMs: number; responseStatus: number | null; error: string | null }

export interface AdminEvent {
  publicId: string;
  type: string;
  createdAt: Date;
  deliveryStatus: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  webhookAttempts: AdminWebhookAttempt[];
}

export interface AdminTimeline {
  order: Order;
  merchant: { id: string; name: string; webhookUrl: string | null } | null;
  items: OrderItemSnapshot[];
  transitions: AdminTransition[];
  callbacks: AdminCallback[];
  refunds: AdminRefund[];
  events: AdminEvent[];
  /** Rows left out past the limits below (a runaway provider or a merchant endpoint down for days). */
  omitted: { callbacks: number; events: number; attempts: number };
}

/** Characters of a raw callback body read for display; the page shows fewer. */
export const RAW_PREVIEW_CHARS = 8192;
const LIMITS = { callbacks: 200, events: 200, attempts: 1000 };

const date = (v: unknown): Date => new Date(toNumber(v));
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));

async function countWhere(q: Knex.QueryBuilder): Promise<number> {
  const row = (await q.count({ n: '*' }).first()) as { n: unknown } | undefined;
  return toNumber(row?.n);
}

export async function loadTimeline(db: Db, orderId: string): Promise<AdminTimeline | undefined> {
  const order = await findOrder(db, orderId);
  if (!order) return undefined;
  const merchant = (await db('merchants').where({ id: order.merchantId }).first('id', 'name', 'webhook_url')) as { id: string; name: string; webhook_url: string | null } | undefined;
  // In time order, ids breaking ties: ids alone interleave across the nodes of a Galera cluster.
  const transitions = (await db('order_transitions').where({ order_id: order.id }).orderBy([{ column: 'created_at' }, { column: 'id' }])) as Record<string, unknown>[];
  // SUBSTR is the same function on both engines; bodies can be megabytes, the page needs a glimpse.
  const callbacks = (await db('provider_callbacks')
    .where({ order_id: order.id })
    .select('id', 'provider', 'account', 'kind', 'dedupe_key', 'http_method', 'content_type', 'raw_query', 'verified', 'outcome', 'error', 'attempts', 'received_at', 'processed_at')
    .select(db.raw('SUBSTR(raw_body, 1, ?) as raw_preview', [RAW_PREVIEW_CHARS + 1]))
    .orderBy([{ column: 'received_at' }, { column: 'id' }])
    .limit(LIMITS.callbacks)) as Record<string, unknown>[];
  const refunds = (await db('refunds').where({ order_id: order.id }).orderBy([{ column: 'created_at' }, { column: 'id' }])) as Record<string, unknown>[];
  const events = (await db('events').where({ order_id: order.id }).orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(LIMITS.events)) as EventRow[];
  const eventIds = events.map((e) => e.id);
  const attempts = eventIds.length
    ? ((await db('webhook_attempts').whereIn('event_id', eventIds).orderBy([{ column: 'attempted_at' }, { column: 'id' }]).limit(LIMITS.attempts)) as Record<string, unknown>[])
    : [];
  const [allCallbacks, allEvents, allAttempts] = await Promise.all([
    callbacks.length < LIMITS.callbacks ? callbacks.length : countWhere(db('provider_callbacks').where({ order_id: order.id })),
    events.length < LIMITS.events ? events.length : countWhere(db('events').where({ order_id: order.id })),
    attempts.length < LIMITS.attempts ? attempts.length : countWhere(db('webhook_attempts').whereIn('event_id', eventIds)),
  ]);

  return {
    order,
    merchant: merchant ? { id: merchant.id, name: merchant.name, webhookUrl: merchant.webhook_url } : null,
    items: await loadItems(db, order.id),
    transitions: transitions.map((r) => ({ id: toNumber(r.id), from: String(r.from_status), to: String(r.to_status), cause: String(r.cause), source: String(r.source), at: date(r.created_at) })),
    callbacks: callbacks.map((r) => {
      const preview = String(r.raw_preview ?? '');
      return {
        id: toNumber(r.id),
        provider: String(r.provider),
        account: String(r.account),
        kind: String(r.kind),
        dedupeKey: (r.dedupe_key as string | null) ?? null,
        httpMethod: String(r.http_method),
        contentType: String(r.content_type),
        rawBody: preview.slice(0, RAW_PREVIEW_CHARS),
        rawTruncated: preview.length > RAW_PREVIEW_CHARS,
        rawQuery: String(r.raw_query ?? ''),
        verified: r.verified === null || r.verified === undefined ? null : Boolean(toNumber(r.verified)),
        outcome: (r.outcome as string | null) ?? null,
        error: (r.error as string | null) ?? null,
        attempts: toNumber(r.attempts),
        receivedAt: date(r.received_at),
        processedAt: dateOrNull(r.processed_at),
      };
    }),
    refunds: refunds.map((r) => ({
      id: String(r.id),
      refundNo: String(r.refund_no),
      amount: toNumber(r.amount_minor),
      currency: String(r.currency),
      status: r.status as RefundStatus,
      reason: (r.reason as string | null) ?? null,
      providerRefundNo: (r.provider_refund_no as string | null) ?? null,
      failure: r.failure_code ? { code: String(r.failure_code), message: String(r.failure_message ?? '') } : null,
      createdAt: date(r.created_at),
      updatedAt: date(r.updated_at),
    })),
    events: events.map((e) => ({
      publicId: e.public_id,
      type: e.type,
      createdAt: date(e.created_at),
      deliveryStatus: e.delivery_status,
      attempts: toNumber(e.attempts),
      nextAttemptAt: e.delivery_status === 'pending' ? date(e.next_attempt_at) : null,
      deliveredAt: dateOrNull(e.delivered_at),
      webhookAttempts: attempts
        .filter((a) => toNumber(a.event_id) === toNumber(e.id))
        .map((a) => ({
          id: toNumber(a.id),
          url: String(a.url),
          attemptedAt: date(a.attempted_at),
          durationMs: toNumber(a.duration_ms),
          responseStatus: a.response_status === null || a.response_status === undefined ? null : toNumber(a.response_status),
          error: (a.error as string | null) ?? null,
        })),
    })),
    omitted: { callbacks: allCallbacks - callbacks.length, events: allEvents - events.length, attempts: allAttempts - attempts.length },
  };
}
