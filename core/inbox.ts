import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { errorSummary, isUniqueViolation, retryingTransaction, toNumber } from './db.ts';
import type { CoreDeps } from './deps.ts';
import { randomString } from './ids.ts';
import { insertRow, selectFirst } from './statements.ts';
import type { CallbackEnvelope, CallbackRequest, PaymentProvider } from './payment-provider.ts';

/**
 * The callback inbox (`provider_callbacks`, docs/architecture.md#the-inbox): raw rows stored before anything else,
 * claimed by one processor at a time, finished with an outcome, or retried with backoff.
 */

/** The worker leaves a fresh row to the request that stored it for this long before retrying it. */
export const INLINE_GRACE_MS = 30_000;
/** How long one processor may hold a row (verification may call the provider, with its timeouts). */
export const PROCESSING_LEASE_MS = 5 * 60_000;
export const MAX_ATTEMPTS = 30;
const MAX_BACKOFF_MS = 60 * 60_000;
/** A row given up on is parked here; a redelivery by the provider still reprocesses it. */
const NEVER = 8_640_000_000_000_000;

export interface CallbackRow {
  id: number;
  provider: string;
  account: string;
  kind: string;
  dedupe_key: string | null;
  http_method: string;
  content_type: string;
  raw_body: string;
  raw_query: string;
  headers_json: string;
  received_at: number | string;
  verified: number | boolean | null;
  processed_at: number | string | null;
  outcome: string | null;
  error: string | null;
  order_id: string | null;
  attempts: number;
  next_attempt_at: number | string;
  lease_owner: string | null;
  lease_until: number | string | null;
}

/** Final outcomes recorded on an inbox row. */
export type InboxOutcome =
  | 'applied'
  | 'duplicate'
  | 'rejected'
  | 'malformed'
  | 'unknown_order'
  | 'account_mismatch'
  | 'amount_mismatch'
  | 'double_payment'
  | 'simulated'
  | 'ignored'
  | 'displayed'
  | 'instructions'
  /** Attention raised (a refund total above the payment, news that contradicts the order). */
  | 'flagged'
  /** A refund the provider made on its own was recorded. */
  | 'refunded';

/** Outcomes the provider hears as "not accepted". */
export const REJECTED_OUTCOMES: ReadonlySet<string> = new Set(['rejected', 'malformed', 'unknown_order', 'account_mismatch', 'amount_mismatch']);

export function rowToRequest(row: CallbackRow): CallbackRequest {
  return {
    kind: row.kind === 'return' ? 'return' : 'notify',
    httpMethod: row.http_method,
    contentType: row.content_type,
    rawBody: row.raw_body,
    rawQuery: row.raw_query,
    headers: JSON.parse(row.headers_json) as Record<string, string>,
  };
}

function fingerprint(request: CallbackRequest): string {
  return createHash('sha256').update(`${request.rawQuery}\n${request.rawBody}`).digest('hex').slice(0, 16);
}

function normaliseKey(key: string | null | undefined): string | null {
  if (key === null || key === undefined || key === '') return null;
  return key.length > 170 ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
}

/** The lease token of a processor working inside the request that brought the callback. */
export function inlineLease(): string {
  return `inline:${randomString(16)}`;
}

type RawRow = Omit<CallbackRow, 'id' | 'verified'> & { verified: boolean | null };

function rawRow(
  deps: Pick<CoreDeps, 'now'>,
  provider: PaymentProvider,
  request: CallbackRequest,
  envelope: CallbackEnvelope | null,
  key: string | null,
  options: { lease?: string; finished?: Finish; dueNow?: boolean },
): RawRow {
  const now = deps.now().getTime();
  const row: RawRow = {
    provider: provider.id,
    account: provider.account,
    kind: request.kind,
    dedupe_key: key,
    http_method: request.httpMethod.slice(0, 8),
    content_type: request.contentType.slice(0, 200),
    raw_body: request.rawBody,
    raw_query: request.rawQuery,
    headers_json: JSON.stringify({ ...request.headers, ...envelope?.headers }),
    received_at: now,
    verified: null,
    processed_at: null,
    outcome: null,
    error: null,
    order_id: null,
    attempts: 0,
    // Left to the job runner at once (handed off), or after the grace the request has to process it.
    next_attempt_at: options.dueNow ? now : now + INLINE_GRACE_MS,
    lease_owner: options.lease ?? null,
    lease_until: options.lease ? now + PROCESSING_LEASE_MS : null,
  };
  // Inserted already finished (a notify verified, or refused, before it was stored): one statement.
  if (options.finished) Object.assign(row, finishFields(deps, row, options.finished), { next_attempt_at: now });
  return row;
}

/**
 * Inserts a verified notify's raw row, already finished, inside the transaction that applies it
 * (core/callbacks.ts, one commit per applied notify), under its own dedupe key only: a key on
 * record throws the driver's unique violation (isUniqueViolation) and the caller's transaction
 * rolls back; the caller then stores it the durable-first way, which sorts out duplicates and variants.
 */
export async function insertFinishedRow(
  trx: Knex.Transaction,
  deps: Pick<CoreDeps, 'now'>,
  provider: PaymentProvider,
  request: CallbackRequest,
  envelope: CallbackEnvelope | null,
  finished: Finish,
): Promise<number> {
  const row = rawRow(deps, provider, request, envelope, normaliseKey(envelope?.dedupeKey), { finished });
  return insertRow(trx, 'provider_callbacks', row);
}

/** The row on record under the request's own dedupe key, if any (none without a key). */
export async function findByKey(deps: CoreDeps, provider: PaymentProvider, request: CallbackRequest, envelope: CallbackEnvelope | null): Promise<CallbackRow | undefined> {
  const key = normaliseKey(envelope?.dedupeKey);
  if (key === null) return undefined;
  return selectFirst<CallbackRow>(deps.db, 'provider_callbacks', { provider: provider.id, account: provider.account, kind: request.kind, dedupe_key: key });
}

/**
 * Inserts the raw request. A second delivery of the same bytes under the same dedupe key returns
 * the first row; a different body under a known key (a forgery or a changed retry) is kept as its
 * own row under a derived key, so every request stays on record and none can block another.
 *
 * With `lease`, a fresh row is inserted already leased to it, as claimRow would lease it: the
 * request that stores a row processes it next, and a separate claim would cost one more UPDATE and
 * commit. Should the request die, the lease runs out and the inbox-retry job takes the row as it
 * takes any expired lease. A row that already existed is returned as it is: its lease is not touched.
 */
export async function storeRaw(
  deps: CoreDeps,
  provider: PaymentProvider,
  request: CallbackRequest,
  envelope: CallbackEnvelope | null,
  options: { lease?: string; finished?: Finish; dueNow?: boolean } = {},
): Promise<{ row: CallbackRow; fresh: boolean; variant: boolean }> {
  const base = normaliseKey(envelope?.dedupeKey);
  const keys = base === null ? [null] : [base, `${base.slice(0, 170)}~${fingerprint(request)}`];
  for (const key of keys) {
    const row = rawRow(deps, provider, request, envelope, key, options);
    try {
      const id = await insertRow(deps.db, 'provider_callbacks', row);
      // variant: other bytes under a key already on record (a forgery, a changed retry), not news.
      return { row: { ...row, id: Number(id) }, fresh: true, variant: key !== base };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const existing = await selectFirst<CallbackRow>(deps.db, 'provider_callbacks', { provider: provider.id, account: provider.account, kind: request.kind, dedupe_key: key });
    if (existing && existing.raw_body === request.rawBody && existing.raw_query === request.rawQuery) {
      return { row: existing, fresh: false, variant: key !== base };
    }
  }
  throw new Error('could not store the callback under its dedupe key');
}

/** How much of an unverified browser return is kept for audit (the rest is summarised by a digest). */
export const UNVERIFIED_RETURN_KEPT_CHARS = 256;

function summarise(text: string): string {
  if (text.length <= UNVERIFIED_RETURN_KEPT_CHARS) return text;
  const digest = createHash('sha256').update(text, 'utf8').digest('hex');
  return `${text.slice(0, UNVERIFIED_RETURN_KEPT_CHARS)}…[${Buffer.byteLength(text, 'utf8')} bytes, sha256 ${digest}]`;
}

/**
 * Records a browser return already verified and displayed, in one statement (returns change no
 * state, so nothing is lost if the process dies before this). A return that verified is kept byte
 * for byte; one that did not (anyone can send those, as often as they like) keeps only its first
 * UNVERIFIED_RETURN_KEPT_CHARS characters and a digest of the rest, so it cannot fill the disk.
 *
 * Each content (query and body) is recorded once: its SHA-256 is the row's dedupe key, so a
 * refreshed page or a replayed signed return URL finds the row on record (`replayed`) instead of
 * adding one. A content on record unverified that verifies now (the provider could not be asked
 * the first time) completes that row.
 */
export async function storeReturn(
  deps: CoreDeps,
  provider: PaymentProvider,
  request: CallbackRequest,
  fields: Finish,
): Promise<{ id: number; replayed: boolean }> {
  const now = deps.now().getTime();
  const keep = fields.verified ? (text: string) => text : summarise;
  const key = createHash('sha256').update(`${request.rawQuery}\n${request.rawBody}`, 'utf8').digest('hex');
  const where = { provider: provider.id, account: provider.account, kind: 'return', dedupe_key: key };
  const kept = { raw_body: keep(request.rawBody), raw_query: keep(request.rawQuery) };
  try {
    const [id] = await deps.db('provider_callbacks').insert({
      ...where,
      http_method: request.httpMethod.slice(0, 8),
      content_type: request.contentType.slice(0, 200),
      ...kept,
      headers_json: JSON.stringify(request.headers),
      received_at: now,
      verified: fields.verified,
      processed_at: now,
      outcome: fields.outcome,
      error: fields.error?.slice(0, 1000) ?? null,
      order_id: fields.orderId ?? null,
      attempts: 0,
      next_attempt_at: now,
      lease_owner: null,
      lease_until: null,
    });
    deps.metrics?.callback(provider.id, provider.account, fields.outcome);
    return { id: Number(id), replayed: false };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const existing = (await deps.db('provider_callbacks').where(where).first()) as CallbackRow | undefined;
  if (!existing) throw new Error('could not store the return under its content digest');
  const wasVerified = existing.verified === true || Number(existing.verified) === 1;
  if (fields.verified && !wasVerified) {
    const completed = await deps.db('provider_callbacks')
      .where({ id: existing.id, verified: false })
      .update({ ...kept, verified: true, error: null, order_id: fields.orderId ?? existing.order_id ?? null });
    if (completed === 1) return { id: Number(existing.id), replayed: false };
  }
  deps.metrics?.callback(provider.id, provider.account, 'return_replayed');
  return { id: Number(existing.id), replayed: true };
}

/** Of `ids`, the rows still awaiting verification (not finished, not given up on). */
export async function awaitingVerification(deps: CoreDeps, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = (await deps.db('provider_callbacks').whereIn('id', ids).whereNull('processed_at').whereNull('outcome').select('id')) as { id: number | string }[];
  return new Set(rows.map((r) => Number(r.id)));
}

/**
 * Takes a row for one processor: unprocessed and not leased by anyone else (or leased by `token`
 * already). Returns the lease token, or null when another processor has it.
 */
export async function claimRow(deps: CoreDeps, rowId: number, token?: string): Promise<string | null> {
  const now = deps.now().getTime();
  const mine = token ?? inlineLease();
  const taken = await deps.db('provider_callbacks')
    .where({ id: rowId })
    .whereNull('processed_at')
    .andWhere((w) => w.whereNull('lease_until').orWhere('lease_until', '<', now).orWhere('lease_owner', mine))
    .update({ lease_owner: mine, lease_until: now + PROCESSING_LEASE_MS });
  return taken === 1 ? mine : null;
}

export interface Finish {
  verified: boolean;
  outcome: InboxOutcome;
  error?: string | null;
  orderId?: string | null;
}

/** The fields that finish a row; written only by the processor holding its lease. */
export function finishFields(deps: Pick<CoreDeps, 'now'>, row: Pick<CallbackRow, 'order_id'>, fields: Finish): Record<string, unknown> {
  return {
    verified: fields.verified,
    processed_at: deps.now().getTime(),
    outcome: fields.outcome,
    error: fields.error?.slice(0, 1000) ?? null,
    order_id: fields.orderId ?? row.order_id ?? null,
    lease_owner: null,
    lease_until: null,
  };
}

export async function finishRow(deps: CoreDeps, row: CallbackRow, lease: string | null, fields: Finish): Promise<void> {
  // One statement, but on MariaDB it can still lose a deadlock to concurrent inserts into the same
  // index (1213 rolls it back whole): run again rather than leave the row leased and unfinished.
  const updated = await retryingTransaction(
    deps.db,
    (trx) => {
      const q = trx('provider_callbacks').where({ id: row.id }).whereNull('processed_at');
      if (lease) q.andWhere({ lease_owner: lease });
      return q.update(finishFields(deps, row, fields));
    },
    { operation: 'finish_callback', metrics: deps.metrics },
  );
  if (updated === 1) deps.metrics?.callback(row.provider, row.account, fields.outcome);
}

/** A fault (the provider unreachable, the DB gone mid-way): try again later with backoff. */
export async function scheduleRetry(deps: CoreDeps, row: CallbackRow, err: unknown): Promise<void> {
  const attempts = toNumber(row.attempts) + 1;
  const message = errorSummary(err).slice(0, 1000);
  const givingUp = attempts >= MAX_ATTEMPTS;
  if (givingUp) deps.logger.error({ callbackId: row.id, attempts, err: message }, 'callback given up after repeated faults');
  await deps.db('provider_callbacks')
    .where({ id: row.id })
    .whereNull('processed_at')
    .update({
      attempts,
      next_attempt_at: givingUp ? NEVER : deps.now().getTime() + Math.min(MAX_BACKOFF_MS, 2 ** attempts * 15_000),
      outcome: givingUp ? 'gave_up' : null,
      error: message,
      lease_owner: null,
      lease_until: null,
    });
  deps.metrics?.callback(row.provider, row.account, givingUp ? 'gave_up' : 'fault');
}

/** Waits for another processor to finish a row (a concurrent duplicate), up to `ms`. */
export async function awaitFinished(deps: CoreDeps, rowId: number, ms: number): Promise<CallbackRow | null> {
  const deadline = Date.now() + ms;
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    const row = (await deps.db('provider_callbacks').where({ id: rowId }).first()) as CallbackRow | undefined;
    if (row?.processed_at !== null && row?.processed_at !== undefined) return row;
    if (Date.now() + pause > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
