import { z } from 'zod';
import { toNumber } from './db.ts';
import type { CoreDeps } from './deps.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import { EVENT_TYPES, type EventPayload } from './outbox.ts';

/**
 * The merchant's view of their events (docs/architecture.md#events): `GET /v1/events` for merchants that missed some,
 * `GET /v1/events/:id`, and `POST /v1/events/:id/replay`. Delivery itself is in webhooks.ts.
 */

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'skipped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A row of `events` (migrations/20261122000008_create_events.ts). BIGINTs may come back as strings. */
export interface EventRow {
  id: number | string;
  public_id: string;
  merchant_id: string;
  order_id: string | null;
  type: string;
  payload_json: string;
  created_at: number | string;
  delivery_status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | string;
  delivered_at: number | string | null;
  lease_owner: string | null;
  lease_until: number | string | null;
}

export const listEventsQuery = z.strictObject({
  type: z.enum(EVENT_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().max(200).optional(),
});
export type ListEventsQuery = z.infer<typeof listEventsQuery>;

/** The event exactly as its webhook carries it, plus where its delivery stands. */
export type EventView = EventPayload & {
  delivery: {
    status: DeliveryStatus;
    /** Attempts since the event was created or last replayed; every one is in webhook_attempts. */
    attempts: number;
    deliveredAt: string | null;
    /** When the next attempt is due; null unless the event is pending. */
    nextAttemptAt: string | null;
  };
};

const PUBLIC_ID = /^evt_[A-Za-z0-9]{1,40}$/;

export function toEventView(row: EventRow): EventView {
  const payload = JSON.parse(row.payload_json) as EventPayload;
  return {
    ...payload,
    delivery: {
      status: row.delivery_status,
      attempts: toNumber(row.attempts),
      deliveredAt: row.delivered_at === null ? null : new Date(toNumber(row.delivered_at)).toISOString(),
      nextAttemptAt: row.delivery_status === 'pending' ? new Date(toNumber(row.next_attempt_at)).toISOString() : null,
    },
  };
}

async function findMerchantEvent(deps: CoreDeps, merchantId: string, publicId: string): Promise<EventRow | undefined> {
  if (!PUBLIC_ID.test(publicId)) return undefined;
  return (await deps.db('events').where({ public_id: publicId, merchant_id: merchantId }).first()) as EventRow | undefined;
}

export async function getEvent(deps: CoreDeps, merchantId: string, publicId: string): Promise<EventView> {
  const row = await findMerchantEvent(deps, merchantId, publicId);
  // Another merchant's event is indistinguishable from one that does not exist.
  if (!row) throw new NotFoundError('Event');
  return toEventView(row);
}

// The cursor names the last event of a page by its public id, so no internal id leaves the API.
function encodeCursor(publicId: string): string {
  return Buffer.from(JSON.stringify({ e: publicId })).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { e?: unknown };
    if (typeof value.e === 'string' && PUBLIC_ID.test(value.e)) return value.e;
  } catch {
    // fall through
  }
  throw ValidationError.field('cursor', 'is not a cursor this API returned');
}

/** Newest first, keyset-paged on the row id (creation order), so pages stay stable while events arrive. */
export async function listEvents(
  deps: CoreDeps,
  merchantId: string,
  query: ListEventsQuery,
): Promise<{ data: EventView[]; nextCursor: string | null }> {
  const limit = query.limit ?? 20;
  const q = deps.db('events').where({ merchant_id: merchantId });
  if (query.type) q.andWhere({ type: query.type });
  if (query.cursor) {
    const after = await findMerchantEvent(deps, merchantId, decodeCursor(query.cursor));
    if (!after) throw ValidationError.field('cursor', 'is not a cursor this API returned');
    // Newest first by creation time, then id: ids alone are not in time order on a Galera cluster,
    // whose nodes interleave auto-increment values (docs/high-availability.md).
    const at = toNumber(after.created_at);
    q.andWhere((w) => w.where('created_at', '<', at).orWhere((x) => x.where('created_at', '=', at).andWhere('id', '<', after.id)));
  }
  const rows = (await q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit + 1)) as EventRow[];
  const page = rows.slice(0, limit);
  return {
    data: page.map(toEventView),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.public_id) : null,
  };
}

/**
 * Queues the event for delivery again, due now, whatever its state; the retry schedule starts over.
 * The lease is left alone: a worker delivering it right now finishes, sees the event changed, and
 * leaves it pending, so no two deliveries of one event ever overlap.
 */
export async function replayEvent(deps: CoreDeps, merchantId: string, publicId: string): Promise<EventView> {
  const row = await findMerchantEvent(deps, merchantId, publicId);
  if (!row) throw new NotFoundError('Event');
  await deps.db('events')
    .where({ id: row.id, merchant_id: merchantId })
    .update({ delivery_status: 'pending', attempts: 0, next_attempt_at: deps.now().getTime(), delivered_at: null });
  deps.logger.info({ eventId: row.public_id, merchantId, was: row.delivery_status }, 'event replay requested');
  return getEvent(deps, merchantId, publicId);
}
