import type { Knex } from 'knex';
import { errorSummary, isLockConflict, noteStorageFault, retryingTransaction, toNumber } from './db.ts';
import type { CoreDeps } from './deps.ts';
import type { EventRow } from './events.ts';
import { claimRows } from './jobs/lease.ts';
import { signingSecrets, type WebhookSecretColumns } from './webhook-secrets.ts';
import { signWebhook } from './webhook-signature.ts';
import { postWebhook } from './webhook-target.ts';

/**
 * Delivery of merchant events to their webhook URL (docs/architecture.md#webhook-delivery): signed, retried with backoff for
 * about a day, every attempt kept in webhook_attempts. Delivery is at least once (a worker that dies
 * after the merchant answered but before the outcome is written delivers again after the lease), so
 * merchants dedupe on Paygate-Event-Id; leases make sure two deliveries of one event never overlap.
 */

/**
 * Wait after the 1st, 2nd, … failed attempt. 11 retries after the first attempt, the last one about
 * 23.8 hours after it; when the last retry fails too the event is 'failed' (it can be replayed).
 */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [
  30_000, // 30 s
  60_000, // 1 min
  2 * 60_000, // 2 min
  5 * 60_000, // 5 min
  10 * 60_000, // 10 min
  30 * 60_000, // 30 min
  60 * 60_000, // 1 h
  2 * 3_600_000, // 2 h
  4 * 3_600_000, // 4 h
  6 * 3_600_000, // 6 h
  10 * 3_600_000, // 10 h
];

/** Attempts in all before an event is given up on: the first one and one per schedule step. */
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_SCHEDULE_MS.length + 1;

/** How long one merchant's endpoint may take to answer. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** A claimed event is this worker's for this long; renewed right before each POST. */
export const WEBHOOK_LEASE_MS = 60_000;

export const WEBHOOK_USER_AGENT = 'paygate-webhooks/1';

/** Wait before the next attempt once `attempts` have failed, or null when the schedule is spent. */
export function retryDelayMs(attempts: number): number | null {
  return attempts >= 1 && attempts <= WEBHOOK_RETRY_SCHEDULE_MS.length ? WEBHOOK_RETRY_SCHEDULE_MS[attempts - 1]! : null;
}

export interface DeliveryOptions {
  timeoutMs: number;
  leaseMs: number;
  /**
   * Replaces the transport, for tests of what happens around it. It bypasses the address check of
   * core/webhook-target.ts: without it, deliveries go through postWebhook, which refuses
   * loopback, private, link-local and metadata addresses after DNS unless
   * `deps.webhookAllowPrivate` (PAYGATE_WEBHOOK_ALLOW_PRIVATE) is set.
   */
  fetchImpl?: typeof fetch;
  /**
   * A URL the caller started a receiver at itself (`paygate listen`, server/cli/listen.ts): a
   * delivery to exactly this URL may go to loopback even when `deps.webhookAllowPrivate` is off.
   * Every other URL is checked as usual, so the server's guard is never widened.
   */
  ownReceiverUrl?: string;
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'skipped' | 'lost_lease' | 'changed' | 'error';

interface MerchantWebhook extends WebhookSecretColumns {
  webhook_url: string | null;
}

/** Claims up to `limit` pending events that are due; each comes back leased to this worker. */
export function claimDueEvents(deps: CoreDeps, owner: string, limit: number, leaseMs: number): Promise<EventRow[]> {
  const now = deps.now();
  return claimRows<EventRow>(deps.db, {
    table: 'events',
    where: (q) => q.where('delivery_status', 'pending').andWhere('next_attempt_at', '<=', now.getTime()),
    orderBy: 'next_attempt_at',
    limit,
    leaseMs,
    owner,
    now,
    metrics: deps.metrics,
  });
}

/**
 * Due events of merchants with no webhook URL, skipped in bulk: one read and one write for up to
 * `limit` of them, where delivering each would cost a read and a write of its own (deliverEvent
 * skips them the same way, one at a time). A shop that takes no webhooks still has an event for
 * every change; one by one, at a thousand payments a second, the worker's writes would contend for
 * SQLite's single write lock with the gateway's. Only events still pending, free and of a merchant
 * still without a URL are written; a lost race (a Galera conflict) leaves them to deliverEvent.
 */
export async function skipUnaddressedEvents(deps: CoreDeps, limit: number): Promise<number> {
  const now = deps.now().getTime();
  const free = (q: Knex.QueryBuilder, column: string) => q.where((w) => w.whereNull(column).orWhere(column, '<', now));
  const noUrl = (q: Knex.QueryBuilder, column: string) => q.where((w) => w.whereNull(column).orWhere(column, ''));
  const rows = (await deps
    .db('events as e')
    .join('merchants as m', 'm.id', 'e.merchant_id')
    .where('e.delivery_status', 'pending')
    .andWhere('e.next_attempt_at', '<=', now)
    .modify((q) => free(q, 'e.lease_until'))
    .modify((q) => noUrl(q, 'm.webhook_url'))
    .orderBy('e.next_attempt_at')
    .limit(limit)
    .select('e.id')) as { id: number | string }[];
  if (rows.length === 0) return 0;
  try {
    return await deps
      .db('events')
      .whereIn(
        'id',
        rows.map((r) => r.id),
      )
      .andWhere('delivery_status', 'pending')
      .modify((q) => free(q, 'lease_until'))
      .whereIn('merchant_id', deps.db('merchants').select('id').modify((q) => noUrl(q, 'webhook_url')))
      .update({ delivery_status: 'skipped', lease_owner: null, lease_until: null });
  } catch (err) {
    if (isLockConflict(err)) return 0;
    throw err;
  }
}

/** The URL without path, query or credentials: enough to tell endpoints apart in logs. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(unparsable URL)';
  }
}

function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  if (e?.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (e?.cause?.code) return `${e.cause.code}: ${e.cause.message ?? ''}`.trim();
  if (e?.cause?.message) return e.cause.message;
  return e?.message ?? String(err);
}

/**
 * Delivers one claimed event (its lease is held by `row.lease_owner`) and writes the outcome. The
 * lease is always given back: with the outcome, or on any fault with the next attempt pushed back
 * by the first retry step, so a fault of our own cannot make the worker hammer the merchant.
 */
export async function deliverEvent(deps: CoreDeps, row: EventRow, options: DeliveryOptions): Promise<DeliveryOutcome> {
  const token = row.lease_owner;
  if (!token) throw new Error('deliverEvent needs a claimed (leased) event');
  const log = deps.logger.child({ eventId: row.public_id, merchantId: row.merchant_id, type: row.type });
  const mine = () => deps.db('events').where({ id: row.id, lease_owner: token });
  // The claim's snapshot: a replay while we deliver changes these, and then the replay wins.
  const unchanged = { delivery_status: 'pending', attempts: row.attempts, next_attempt_at: row.next_attempt_at };

  try {
    const merchant = (await deps.db('merchants').where({ id: row.merchant_id }).first('webhook_url', 'webhook_secret', 'webhook_secret_previous', 'webhook_secret_previous_until')) as
      | MerchantWebhook
      | undefined;
    if (!merchant?.webhook_url) {
      const n = await mine().andWhere(unchanged).update({ delivery_status: 'skipped', lease_owner: null, lease_until: null });
      if (n === 0) await mine().update({ lease_owner: null, lease_until: null });
      log.debug({}, 'no webhook URL; event skipped');
      return n === 1 ? 'skipped' : 'changed';
    }

    // Renew right before the POST so a long batch never runs an event past its lease.
    const renewed = await mine()
      .andWhere('delivery_status', 'pending')
      .update({ lease_until: deps.now().getTime() + options.leaseMs });
    if (renewed === 0) {
      log.warn({}, 'webhook lease lost before delivery; left to its new holder');
      return 'lost_lease';
    }

    const url = merchant.webhook_url;
    const sentAt = deps.now();
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      // fetch also speaks data: and blob:; a webhook is only ever an HTTP request.
      if (!/^https?:\/\//i.test(url)) throw new Error('the webhook URL is not an http(s) URL');
      const headers = {
        'content-type': 'application/json',
        'user-agent': WEBHOOK_USER_AGENT,
        // `t` is this attempt's time; during a rotation's overlap both secrets sign, the new one first.
        'paygate-signature': signWebhook(row.payload_json, signingSecrets(merchant, sentAt), Math.floor(sentAt.getTime() / 1000)),
        'paygate-event-id': row.public_id,
        'paygate-event-type': row.type,
      };
      // The stored text, byte for byte: it is what was signed.
      const body = row.payload_json;
      if (options.fetchImpl) {
        const response = await options.fetchImpl(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
        status = response.status;
        await response.body?.cancel().catch(() => {});
      } else {
        // Checked after DNS and connected to the checked address (core/webhook-target.ts).
        const allowPrivate = deps.webhookAllowPrivate === true || (options.ownReceiverUrl !== undefined && url === options.ownReceiverUrl);
        status = (await postWebhook({ url, headers, body, timeoutMs: options.timeoutMs, allowPrivate })).status;
      }
      if (status >= 300 && status < 400) error = 'redirect not followed';
    } catch (err) {
      error = describeFailure(err, options.timeoutMs).slice(0, 500);
    }
    const durationMs = Math.round(performance.now() - started);
    const ok = status !== null && status >= 200 && status < 300;
    const attempts = toNumber(row.attempts) + 1;
    const finishedAt = deps.now().getTime();
    const delay = retryDelayMs(attempts);
    const outcome: DeliveryOutcome = ok ? 'delivered' : delay === null ? 'failed' : 'retry';
    const update =
      outcome === 'delivered'
        ? { delivery_status: 'delivered', attempts, delivered_at: finishedAt }
        : outcome === 'failed'
          ? { delivery_status: 'failed', attempts }
          : { attempts, next_attempt_at: finishedAt + delay! };

    // The attempt and the event's new state together: every attempt is on record.
    const written = await retryingTransaction(deps.db, async (trx): Promise<number> => {
      await trx('webhook_attempts').insert({
        event_id: row.id,
        url: url.slice(0, 2000),
        attempted_at: sentAt.getTime(),
        duration_ms: durationMs,
        response_status: status,
        error,
      });
      return await trx('events')
        .where({ id: row.id, lease_owner: token })
        .andWhere(unchanged)
        .update({ ...update, lease_owner: null, lease_until: null });
    }, { operation: 'webhook_attempt', metrics: deps.metrics });

    // The full URL may carry a token of the merchant's; logs get its origin only.
    const fields = { attempts, status, error: error?.replaceAll(url, origin(url)) ?? null, durationMs, endpoint: origin(url) };
    if (written === 0) {
      // Replayed meanwhile (it stays pending, due now) or, after a very long stall, no longer ours.
      await mine().update({ lease_owner: null, lease_until: null });
      log.info(fields, 'event changed during delivery; its new state stands');
      return 'changed';
    }
    if (outcome === 'delivered') log.debug(fields, 'webhook delivered');
    else if (outcome === 'retry') log.warn({ ...fields, nextAttemptInMs: delay }, 'webhook attempt failed; will retry');
    else log.error(fields, 'webhook delivery failed for good after the last retry');
    return outcome;
  } catch (err) {
    log.warn({ err: errorSummary(err) }, 'webhook delivery could not be completed; retrying later');
    // The database is away: the lease runs out by itself; trying to release it would only block again.
    if (noteStorageFault(deps.db, err)) return 'error';
    const retryAt = deps.now().getTime() + WEBHOOK_RETRY_SCHEDULE_MS[0]!;
    await mine()
      .update({ lease_owner: null, lease_until: null, next_attempt_at: retryAt })
      .catch((releaseErr: unknown) => log.warn({ err: errorSummary(releaseErr) }, 'could not release webhook lease; it runs out by itself'));
    return 'error';
  }
}
