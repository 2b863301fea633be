import { createHash } from 'node:crypto';
import type { CoreDeps } from './deps.ts';
import { isConnectionError, isUniqueViolation, toNumber } from './db.ts';
import { GatewayError, IllegalTransitionError, StorageUnavailableError } from './errors.ts';
import { findOrderByNo, type Order } from './orders.ts';
import type {
  CallbackEnvelope,
  CallbackReply,
  CallbackRequest,
  PaymentFacts,
  PaymentOutcome,
  PaymentProvider,
  ReplyKind,
} from './payment-provider.ts';
import type { OrderStatus } from './state-machine.ts';
import { transition } from './transition.ts';

/**
 * The callback pipeline of DESIGN §5: store the raw request, then verify, then apply, then answer
 * in the provider's words. Nothing here knows a provider by name.
 */

/** The worker leaves a fresh row to the request that stored it for this long before retrying it. */
export const INLINE_GRACE_MS = 30_000;
export const MAX_ATTEMPTS = 30;
const MAX_BACKOFF_MS = 60 * 60_000;

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
  | 'simulated'
  | 'ignored'
  | 'displayed'
  | 'gave_up';

export interface NotifyResult {
  reply: CallbackReply;
  rowId: number | null;
  /** Work that goes on after the answer (providers acknowledged on store); tests may await it. */
  background?: Promise<void>;
}

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

function normaliseKey(key: string | null): string | null {
  if (key === null || key === '') return null;
  return key.length > 170 ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
}

/**
 * Inserts the raw request. A second delivery of the same bytes under the same dedupe key returns
 * the first row; a different body under a known key (a forgery or a changed retry) is kept as its
 * own row under a derived key, so every request stays on record.
 */
async function storeRaw(
  deps: CoreDeps,
  provider: PaymentProvider,
  request: CallbackRequest,
  envelope: CallbackEnvelope | null,
): Promise<{ row: CallbackRow; fresh: boolean }> {
  const now = deps.now().getTime();
  const base = normaliseKey(envelope?.dedupeKey ?? null);
  const keys = base === null ? [null] : [base, `${base.slice(0, 170)}~${fingerprint(request)}`];
  for (const key of keys) {
    const row = {
      provider: provider.id,
      account: provider.account,
      kind: request.kind,
      dedupe_key: key,
      http_method: request.httpMethod.slice(0, 8),
      content_type: request.contentType.slice(0, 200),
      raw_body: request.rawBody,
      raw_query: request.rawQuery,
      headers_json: JSON.stringify(envelope?.headers ?? {}),
      received_at: now,
      verified: null,
      processed_at: null,
      outcome: null,
      error: null,
      order_id: null,
      attempts: 0,
      next_attempt_at: now + INLINE_GRACE_MS,
    };
    try {
      const [id] = await deps.db('provider_callbacks').insert(row);
      return { row: { ...row, id: Number(id) } as CallbackRow, fresh: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const existing = (await deps.db('provider_callbacks')
      .where({ provider: provider.id, account: provider.account, kind: request.kind, dedupe_key: key })
      .first()) as CallbackRow | undefined;
    if (existing && existing.raw_body === request.rawBody && existing.raw_query === request.rawQuery) {
      return { row: existing, fresh: false };
    }
  }
  throw new Error('could not store the callback under its dedupe key');
}

async function finish(
  deps: CoreDeps,
  row: CallbackRow,
  fields: { verified: boolean; outcome: InboxOutcome; error?: string | null; orderId?: string | null },
): Promise<void> {
  await deps.db('provider_callbacks')
    .where({ id: row.id })
    .update({
      verified: fields.verified,
      processed_at: deps.now().getTime(),
      outcome: fields.outcome,
      error: fields.error?.slice(0, 1000) ?? null,
      order_id: fields.orderId ?? row.order_id ?? null,
      lease_owner: null,
      lease_until: null,
    });
}

/** A fault (the provider unreachable, the DB gone mid-way): try again later with backoff. */
async function scheduleRetry(deps: CoreDeps, row: CallbackRow, err: unknown): Promise<void> {
  const attempts = toNumber(row.attempts) + 1;
  const message = err instanceof Error ? err.message : String(err);
  if (attempts >= MAX_ATTEMPTS) {
    deps.logger.error({ callbackId: row.id, attempts, err: message }, 'callback given up after repeated faults');
    await finish(deps, row, { verified: false, outcome: 'gave_up', error: message });
    return;
  }
  const delay = Math.min(MAX_BACKOFF_MS, 2 ** attempts * 15_000);
  await deps.db('provider_callbacks')
    .where({ id: row.id })
    .whereNull('processed_at')
    .update({
      attempts,
      next_attempt_at: deps.now().getTime() + delay,
      error: message.slice(0, 1000),
      lease_owner: null,
      lease_until: null,
    });
}

const TARGET: Record<PaymentOutcome, OrderStatus> = {
  pending: 'pending',
  paid: 'paid',
  failed: 'failed',
  closed: 'cancelled',
  refunded: 'refunded',
};

function causeFor(facts: PaymentFacts): string {
  const detail = [facts.code, facts.message].filter(Boolean).join(' ');
  return `provider reported ${facts.outcome}${detail ? `: ${detail}` : ''}`;
}

async function raiseAttention(deps: CoreDeps, order: Order, reason: string): Promise<void> {
  await deps.db('orders')
    .where({ id: order.id })
    .update({ attention: true, attention_reason: reason.slice(0, 500), version: deps.db.raw('version + 1'), updated_at: deps.now().getTime() });
}

/**
 * Checks verified facts against the order they name, then moves the order (or records why not).
 * Facts that do not fit the order (unknown order, other account, other amount) are recorded and
 * answered as rejected: the provider's own docs treat such a notify as abnormal (Alipay §3.5), and
 * a provider that retries it only adds audit rows.
 */
async function applyFacts(deps: CoreDeps, provider: PaymentProvider, row: CallbackRow, facts: PaymentFacts): Promise<ReplyKind> {
  const order = await findOrderByNo(deps.db, facts.orderNo);
  if (!order || order.provider !== provider.id) {
    await finish(deps, row, { verified: true, outcome: 'unknown_order', error: `no ${provider.id} order ${facts.orderNo}` });
    deps.logger.warn({ callbackId: row.id, orderNo: facts.orderNo }, 'verified callback for an unknown order');
    return 'reject';
  }
  if (order.account !== provider.account) {
    await finish(deps, row, {
      verified: true,
      outcome: 'account_mismatch',
      error: `order ${order.orderNo} belongs to account ${order.account}, not ${provider.account}`,
    });
    deps.logger.warn({ callbackId: row.id, orderId: order.id }, 'callback from another account than the order');
    return 'reject';
  }
  if (facts.currency !== order.currency || facts.amount !== order.amount) {
    const reason = `provider reported ${facts.outcome} for ${facts.amount} ${facts.currency}; the order is ${order.amount} ${order.currency}`;
    await finish(deps, row, { verified: true, outcome: 'amount_mismatch', error: reason, orderId: order.id });
    if (facts.outcome === 'paid') await raiseAttention(deps, order, `Amount mismatch: ${reason}`);
    deps.logger.error({ callbackId: row.id, orderId: order.id, reported: facts.amount, expected: order.amount }, 'callback amount mismatch');
    return 'reject';
  }
  if (facts.simulated && facts.outcome === 'paid') {
    await finish(deps, row, { verified: true, outcome: 'simulated', error: 'a simulated payment never counts as paid', orderId: order.id });
    return 'ack';
  }
  try {
    await transition(
      deps,
      order.id,
      {
        to: TARGET[facts.outcome],
        cause: causeFor(facts),
        source: `callback:${row.id}`,
        providerTradeNo: facts.providerTradeNo ?? null,
        paidAt: facts.paidAt ?? null,
        ...(facts.outcome === 'failed' ? { failure: { code: facts.code ?? 'declined', message: facts.message ?? '' } } : {}),
      },
      async (trx, result) => {
        await trx('provider_callbacks')
          .where({ id: row.id })
          .update({
            verified: true,
            processed_at: deps.now().getTime(),
            outcome: result.result === 'applied' ? 'applied' : 'duplicate',
            error: null,
            order_id: order.id,
            lease_owner: null,
            lease_until: null,
          });
      },
    );
  } catch (err) {
    if (!(err instanceof IllegalTransitionError)) throw err;
    // Out of order or stale news (a "waiting" after "paid"): recorded, nothing moves.
    await finish(deps, row, {
      verified: true,
      outcome: 'ignored',
      error: `order is ${err.from}; a ${facts.outcome} report cannot move it to ${err.to}`,
      orderId: order.id,
    });
  }
  return 'ack';
}

/**
 * Verifies one stored notify and applies it. Returns the answer the provider should get.
 * Used inline by the endpoint and by the worker for rows left unprocessed.
 */
export async function processInboxRow(deps: CoreDeps, provider: PaymentProvider, row: CallbackRow): Promise<ReplyKind> {
  let verification;
  try {
    verification = await provider.verifyCallback(rowToRequest(row));
  } catch (err) {
    deps.logger.warn({ callbackId: row.id, err: err instanceof Error ? err.message : String(err) }, 'callback verification fault; will retry');
    await scheduleRetry(deps, row, err);
    return 'retry';
  }
  if (!verification.verified) {
    await finish(deps, row, { verified: false, outcome: 'rejected', error: verification.reason });
    deps.logger.warn({ callbackId: row.id, provider: row.provider, reason: verification.reason }, 'callback failed verification');
    return 'reject';
  }
  try {
    return await applyFacts(deps, provider, row, verification.facts);
  } catch (err) {
    await scheduleRetry(deps, row, err).catch(() => undefined);
    throw err;
  }
}

const REJECTED_OUTCOMES = new Set(['rejected', 'malformed', 'unknown_order', 'account_mismatch', 'amount_mismatch']);

function replyForFinished(row: CallbackRow): ReplyKind {
  return REJECTED_OUTCOMES.has(row.outcome ?? '') ? 'reject' : 'ack';
}

/** The notify endpoint's whole job (DESIGN §5.1–5.3). */
export async function receiveNotify(deps: CoreDeps, providerId: string, account: string, request: CallbackRequest): Promise<NotifyResult> {
  const provider = deps.registry.resolveForCallback(providerId, account);
  let envelope: CallbackEnvelope | null = null;
  let malformed: GatewayError | null = null;
  try {
    envelope = provider.inspectCallback(request);
  } catch (err) {
    if (!(err instanceof GatewayError) || err.httpStatus >= 500) throw err;
    malformed = err;
  }

  let stored: { row: CallbackRow; fresh: boolean };
  try {
    stored = await storeRaw(deps, provider, request, envelope);
  } catch (err) {
    // Not stored means not acknowledged: the provider's own "try again" keeps the callback alive.
    deps.logger.error({ provider: providerId, account, err: err instanceof Error ? err.message : String(err) }, 'callback could not be stored');
    return { reply: provider.reply('retry', request), rowId: null };
  }
  const { row } = stored;

  if (malformed) {
    await finish(deps, row, { verified: false, outcome: 'malformed', error: malformed.message });
    throw malformed;
  }
  if (!stored.fresh && row.processed_at !== null) {
    return { reply: provider.reply(replyForFinished(row), request), rowId: row.id };
  }
  if (provider.ackAfter === 'stored') {
    // Acknowledged on store; a duplicate of an unfinished row leaves it to the first delivery or the worker.
    const background = stored.fresh
      ? processInboxRow(deps, provider, row).then(
          () => undefined,
          (err) => deps.logger.warn({ callbackId: row.id, err: String(err) }, 'background callback processing failed; worker will retry'),
        )
      : undefined;
    return { reply: provider.reply('ack', request), rowId: row.id, background };
  }
  try {
    const kind = await processInboxRow(deps, provider, row);
    return { reply: provider.reply(kind, request), rowId: row.id };
  } catch (err) {
    deps.logger.error({ callbackId: row.id, err: err instanceof Error ? err.message : String(err) }, 'callback processing failed; provider will retry');
    return { reply: provider.reply('retry', request), rowId: row.id };
  }
}

export interface ReturnOutcome {
  order: Order | null;
  verified: boolean;
  /** What the provider's return says happened; display only, never applied. */
  reported: PaymentOutcome | null;
  rowId: number;
}

/** The buyer's browser coming back (DESIGN §5.4): stored, verified, displayed; never applied. */
export async function receiveReturn(deps: CoreDeps, providerId: string, account: string, request: CallbackRequest): Promise<ReturnOutcome> {
  const provider = deps.registry.resolveForCallback(providerId, account);
  let stored: { row: CallbackRow };
  try {
    stored = await storeRaw(deps, provider, request, null);
  } catch (err) {
    if (isConnectionError(err)) throw new StorageUnavailableError(err);
    throw err;
  }
  let verification: Awaited<ReturnType<PaymentProvider['verifyCallback']>>;
  try {
    verification = await provider.verifyCallback(request);
  } catch (err) {
    verification = { verified: false, reason: err instanceof Error ? err.message : String(err) };
  }
  let order: Order | null = null;
  if (verification.verified) {
    const found = await findOrderByNo(deps.db, verification.facts.orderNo);
    if (found && found.provider === provider.id && found.account === provider.account) order = found;
  }
  await finish(deps, stored.row, {
    verified: verification.verified,
    outcome: 'displayed',
    error: verification.verified ? null : verification.reason,
    orderId: order?.id ?? null,
  });
  return {
    order,
    verified: verification.verified,
    reported: verification.verified ? verification.facts.outcome : null,
    rowId: stored.row.id,
  };
}
