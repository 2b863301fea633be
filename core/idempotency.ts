import { createHash } from 'node:crypto';
import type { Db } from './db.ts';
import { isUniqueViolation, toNumber } from './db.ts';
import { ConflictError, ValidationError } from './errors.ts';

/**
 * Idempotency-Key on merchant POSTs (docs/architecture.md#idempotency; the rules as merchants read them are in
 * docs/webhooks.md, "Idempotency keys"): a key belongs to one merchant and covers every endpoint.
 * The same key with the same request (method, path and JSON body) gets the first response again;
 * the same key with another request is a 409; a key whose first request is still running is a 409
 * the caller may retry. The same request replays for ever; after IDEMPOTENCY_RETENTION_MS a
 * different request may take the key over.
 */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** How long a request may hold its key before another attempt may take over (a crashed process). */
export const IDEMPOTENCY_LOCK_MS = 5 * 60_000;

/**
 * How long a key is remembered after its first use. Past that it starts afresh: a retry a day
 * later is a new request, and a merchant that reuses keys (an order number, say) is not held to a
 * stale answer forever.
 */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000;

/** JSON with object keys sorted at every depth: the same body hashes the same whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method}\n${path}\n${canonical(body)}`).digest('hex');
}

export type IdempotencyStart =
  | { kind: 'started'; id: number }
  | { kind: 'replay'; status: number; body: string };

interface KeyRow {
  id: number;
  request_hash: string;
  response_status: number | null;
  response_body: string | null;
  locked_until: number | string;
  created_at: number | string;
}

export async function beginIdempotent(
  db: Db,
  merchantId: string,
  key: string,
  hash: string,
  now: Date = new Date(),
): Promise<IdempotencyStart> {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw ValidationError.field('Idempotency-Key', 'must be 1-255 printable ASCII characters', 'invalid_idempotency_key');
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const [id] = await db('idempotency_keys').insert({
        merchant_id: merchantId,
        key,
        request_hash: hash,
        response_status: null,
        response_body: null,
        locked_until: now.getTime() + IDEMPOTENCY_LOCK_MS,
        created_at: now.getTime(),
      });
      return { kind: 'started', id: Number(id) };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const row = (await db('idempotency_keys').where({ merchant_id: merchantId, key }).first()) as KeyRow | undefined;
    if (!row) continue; // released in between: try to take it again
    const expired = toNumber(row.created_at) + IDEMPOTENCY_RETENTION_MS <= now.getTime();
    // The same request under its key is answered the same forever: a refund retried after a long
    // outage must replay, never refund twice. Past the retention only a *different* request may
    // take the key over, as a new one.
    if (expired && row.request_hash !== hash && (row.response_status !== null || toNumber(row.locked_until) <= now.getTime())) {
      // A new request under an old key (compare-and-set on the old row).
      const renewed = await db('idempotency_keys')
        .where({ id: row.id, created_at: row.created_at })
        .update({ request_hash: hash, response_status: null, response_body: null, locked_until: now.getTime() + IDEMPOTENCY_LOCK_MS, created_at: now.getTime() });
      if (renewed === 1) return { kind: 'started', id: row.id };
      continue;
    }
    if (row.request_hash !== hash) {
      throw new ConflictError('idempotency_key_reused', 'This Idempotency-Key was used with a different request', [
        { path: 'Idempotency-Key', message: 'already used with another method, path or body' },
      ]);
    }
    if (row.response_status !== null) {
      return { kind: 'replay', status: row.response_status, body: row.response_body ?? '' };
    }
    if (toNumber(row.locked_until) > now.getTime()) {
      throw new ConflictError('idempotency_in_progress', 'A request with this Idempotency-Key is still in progress; retry shortly');
    }
    // The first attempt died without an answer: take the key over if nobody else did meanwhile.
    const taken = await db('idempotency_keys')
      .where({ id: row.id, locked_until: row.locked_until })
      .whereNull('response_status')
      .update({ locked_until: now.getTime() + IDEMPOTENCY_LOCK_MS });
    if (taken === 1) return { kind: 'started', id: row.id };
  }
  throw new ConflictError('idempotency_in_progress', 'A request with this Idempotency-Key is still in progress; retry shortly');
}

export async function completeIdempotent(db: Db, id: number, status: number, body: string): Promise<void> {
  // Only the first answer counts: a takeover that raced a slow original cannot overwrite it.
  await db('idempotency_keys').where({ id }).whereNull('response_status').update({ response_status: status, response_body: body });
}

/** Forgets a key whose request ended in a state that must not be replayed (server fault, DB down). */
export async function releaseIdempotent(db: Db, id: number): Promise<void> {
  await db('idempotency_keys').where({ id }).whereNull('response_status').delete();
}
