import type { CoreDeps } from './deps.ts';
import { targetStatus } from './facts.ts';
import { errorSummary, isConnectionError } from './db.ts';
import { GatewayError, IllegalTransitionError, StorageUnavailableError } from './errors.ts';
import {
  REJECTED_OUTCOMES,
  awaitFinished,
  claimRow,
  finishFields,
  finishRow,
  inlineLease,
  rowToRequest,
  scheduleRetry,
  storeRaw,
  storeReturn,
  type CallbackRow,
} from './inbox.ts';
import { findOrder, findOrderByNo, type Order } from './orders.ts';
import { recordEvent } from './outbox.ts';
import type { CallbackEnvelope, CallbackReply, CallbackRequest, PaymentFacts, PaymentOutcome, PaymentProvider, ReplyKind } from './payment-provider.ts';
import type { OrderStatus } from './state-machine.ts';
import { transition } from './transition.ts';

/**
 * The callback pipeline of DESIGN §5: store the raw request, then verify, then apply, then answer
 * in the provider's words. Nothing here knows a provider by name.
 */

export interface NotifyResult {
  reply: CallbackReply;
  rowId: number | null;
  /** Work that goes on after the answer (providers acknowledged on store); tests may await it. */
  background?: Promise<void>;
  /**
   * Whether the request proved to come from the provider: true once it verified, false once it
   * failed verification, null when that was not learned (a fault, a duplicate someone else holds).
   * The callback endpoints charge or trust the sender's address by it (core/callback-guard.ts).
   */
  judged: Promise<boolean | null>;
}

/** How long a duplicate waits for the delivery processing the same row (under providers' ~10 s timeouts). */
const DUPLICATE_WAIT_MS = 5_000;

/**
 * After the database fails to store a callback, the next ones are answered "try again" at once
 * for a moment, without touching it: a locked SQLite file makes each attempt block the process
 * (the driver waits synchronously), and providers must hear back before their own timeouts. One
 * request a second probes whether it is back.
 */
const STORAGE_BACKOFF_MS = 1_000;
const storageDownUntil = new WeakMap<object, number>();


const SETTLED_PAID: readonly OrderStatus[] = ['paid', 'partially_refunded', 'refunded'];

function causeFor(facts: PaymentFacts): string {
  const detail = [facts.code, facts.message].filter(Boolean).join(' ');
  return `provider reported ${facts.outcome}${detail ? `: ${detail}` : ''}`;
}

async function raiseAttention(deps: CoreDeps, order: Order, reason: string): Promise<void> {
  await deps.db.transaction(async (trx) => {
    await trx('orders')
      .where({ id: order.id })
      .update({ attention: true, attention_reason: reason.slice(0, 500), version: trx.raw('version + 1'), updated_at: deps.now().getTime() });
    const flagged = (await findOrder(trx, order.id))!;
    await recordEvent(trx, flagged, 'payment.attention', deps.now(), { reason: flagged.attentionReason });
  });
}

/** Facts from a provider are checked before they touch a row: a bad date or an oversized id never loops. */
function sanitise(facts: PaymentFacts): { paidAt: Date | null; providerTradeNo: string | null } {
  const paidAt = facts.paidAt && !Number.isNaN(facts.paidAt.getTime()) ? facts.paidAt : null;
  const tradeNo = typeof facts.providerTradeNo === 'string' && facts.providerTradeNo !== '' ? facts.providerTradeNo.slice(0, 128) : null;
  return { paidAt, providerTradeNo: tradeNo };
}

/**
 * Checks verified facts against the order they name, then moves the order (or records why not).
 * Facts that do not fit the order (unknown order, other account, other amount) are recorded and
 * answered as not accepted: providers' own docs treat such a notify as abnormal,
 * and a provider that retries it only adds audit rows.
 */
async function applyFacts(deps: CoreDeps, provider: PaymentProvider, row: CallbackRow, lease: string, facts: PaymentFacts): Promise<ReplyKind> {
  const finish = (fields: Parameters<typeof finishRow>[3]) => finishRow(deps, row, lease, fields);
  const order = await findOrderByNo(deps.db, facts.orderNo);
  if (!order || order.provider !== provider.id) {
    await finish({ verified: true, outcome: 'unknown_order', error: `no ${provider.id} order ${facts.orderNo}` });
    deps.logger.warn({ callbackId: row.id, orderNo: facts.orderNo }, 'verified callback for an unknown order');
    return 'reject';
  }
  if (order.account !== provider.account) {
    await finish({ verified: true, outcome: 'account_mismatch', error: `order ${order.orderNo} belongs to account ${order.account}, not ${provider.account}` });
    deps.logger.warn({ callbackId: row.id, orderId: order.id }, 'callback from another account than the order');
    return 'reject';
  }
  if (facts.currency !== order.currency || facts.amount !== order.amount) {
    const reason = `provider reported ${facts.outcome} for ${facts.amount} ${facts.currency}; the order is ${order.amount} ${order.currency}`;
    await finish({ verified: true, outcome: 'amount_mismatch', error: reason, orderId: order.id });
    if (facts.outcome === 'paid') await raiseAttention(deps, order, `Amount mismatch: ${reason}`);
    deps.logger.error({ callbackId: row.id, orderId: order.id, reported: facts.amount, expected: order.amount }, 'callback amount mismatch');
    return 'reject';
  }
  if (facts.simulated && facts.outcome === 'paid') {
    await finish({ verified: true, outcome: 'simulated', error: 'a simulated payment never counts as paid', orderId: order.id });
    return 'ack';
  }
  const { paidAt, providerTradeNo } = sanitise(facts);
  // A second, different payment for an order already paid: real money twice, never a "duplicate".
  if (facts.outcome === 'paid' && SETTLED_PAID.includes(order.status) && providerTradeNo && order.providerTradeNo && providerTradeNo !== order.providerTradeNo.slice(0, 128)) {
    const reason = `Second payment ${providerTradeNo} for an order already paid by ${order.providerTradeNo}: refund one of them`;
    await finish({ verified: true, outcome: 'double_payment', error: reason, orderId: order.id });
    await raiseAttention(deps, order, reason);
    deps.logger.error({ callbackId: row.id, orderId: order.id }, 'double payment');
    return 'ack';
  }
  // Instructions handed out after create (an issued account) become the order's next action.
  if (facts.outcome === 'pending' && facts.action && order.status === 'pending') {
    return applyInstructions(deps, row, lease, order, facts);
  }
  // "Still waiting" news never reopens an order: only the merchant's pay-again does (failed → pending).
  if (facts.outcome === 'pending' && order.status !== 'created') {
    await finish({ verified: true, outcome: order.status === 'pending' ? 'duplicate' : 'ignored', orderId: order.id });
    return 'ack';
  }
  // Counted once the transaction holding the row's finish has committed.
  const finished: { outcome: 'applied' | 'duplicate' | null } = { outcome: null };
  try {
    await transition(
      deps,
      order.id,
      {
        to: targetStatus(facts.outcome, order, deps.now()),
        cause: causeFor(facts),
        source: `callback:${row.id}`,
        providerTradeNo,
        paidAt,
        ...(facts.action ? { action: facts.action } : {}),
        ...(facts.outcome === 'failed' ? { failure: { code: facts.code ?? 'declined', message: facts.message ?? '' } } : {}),
      },
      async (trx, result) => {
        const outcome = result.result === 'applied' ? 'applied' : 'duplicate';
        const updated = await trx('provider_callbacks')
          .where({ id: row.id, lease_owner: lease })
          .whereNull('processed_at')
          .update(finishFields(deps, row, { verified: true, outcome, orderId: order.id }));
        finished.outcome = updated === 1 ? outcome : null;
      },
    );
    if (finished.outcome) deps.metrics?.callback(row.provider, row.account, finished.outcome);
  } catch (err) {
    if (!(err instanceof IllegalTransitionError)) throw err;
    // Out of order or stale news (a "failed" after "paid"): recorded, nothing moves.
    await finish({ verified: true, outcome: 'ignored', error: `order is ${err.from}; a ${facts.outcome} report cannot move it to ${err.to}`, orderId: order.id });
  }
  return 'ack';
}

/**
 * Stores the buyer's next action (and the provider's deadline for it) on a pending order, under a
 * version bump so a concurrent move wins or loses cleanly. A repeat of the same instructions is a
 * duplicate; an order that moved on meanwhile keeps its state.
 */
async function applyInstructions(deps: CoreDeps, row: CallbackRow, lease: string, order: Order, facts: PaymentFacts): Promise<ReplyKind> {
  const actionJson = JSON.stringify(facts.action);
  const expiresAt = facts.expiresAt && !Number.isNaN(facts.expiresAt.getTime()) ? facts.expiresAt.getTime() : order.expiresAt.getTime();
  const same = JSON.stringify(order.action) === actionJson && order.expiresAt.getTime() === expiresAt;
  const outcome = await deps.db.transaction(async (trx) => {
    let updated = 0;
    if (!same) {
      updated = await trx('orders')
        .where({ id: order.id, version: order.version, status: 'pending' })
        .update({ action_json: actionJson, expires_at: expiresAt, version: order.version + 1, updated_at: deps.now().getTime() });
      // The order moved meanwhile: still waiting means try again (the inbox retries the row).
      if (updated === 0 && (await findOrder(trx, order.id))?.status === 'pending') throw new Error('order changed while its instructions were stored');
    }
    const outcome = updated === 1 ? 'instructions' : 'duplicate';
    const finished = await trx('provider_callbacks')
      .where({ id: row.id, lease_owner: lease })
      .whereNull('processed_at')
      .update(finishFields(deps, row, { verified: true, outcome, orderId: order.id }));
    return finished === 1 ? outcome : null;
  });
  if (outcome) deps.metrics?.callback(row.provider, row.account, outcome);
  return 'ack';
}

/**
 * Verifies one stored notify and applies it, holding the row's lease so no two processors (two
 * deliveries, or a delivery and the worker) ever work on it at once. Returns the provider's answer,
 * or 'busy' when someone else holds the row. `held`: the row was inserted already leased to
 * `lease` (storeRaw), so there is nothing to claim.
 */
export async function processInboxRow(
  deps: CoreDeps,
  provider: PaymentProvider,
  row: CallbackRow,
  options: { lease?: string; held?: boolean; onVerified?: (verified: boolean) => void } = {},
): Promise<ReplyKind | 'busy'> {
  const lease = options.held && options.lease ? options.lease : await claimRow(deps, row.id, options.lease);
  if (!lease) return 'busy';
  let verification;
  try {
    verification = await provider.verifyCallback(rowToRequest(row));
  } catch (err) {
    deps.logger.warn({ callbackId: row.id, err: errorSummary(err) }, 'callback verification fault; will retry');
    await scheduleRetry(deps, row, err);
    return 'retry';
  }
  options.onVerified?.(verification.verified);
  if (!verification.verified) {
    if (verification.cached) deps.metrics?.callback(row.provider, row.account, 'rejected_cached');
    await finishRow(deps, row, lease, { verified: false, outcome: 'rejected', error: verification.reason });
    deps.logger.warn({ callbackId: row.id, provider: row.provider, reason: verification.reason }, 'callback failed verification');
    return 'reject';
  }
  try {
    return await applyFacts(deps, provider, row, lease, verification.facts);
  } catch (err) {
    await scheduleRetry(deps, row, err).catch(() => undefined);
    throw err;
  }
}

function replyForFinished(row: CallbackRow): ReplyKind {
  return REJECTED_OUTCOMES.has(row.outcome ?? '') ? 'reject' : 'ack';
}

/** The notify endpoint's whole job (DESIGN §5.1–5.3). */
export async function receiveNotify(deps: CoreDeps, providerId: string, account: string, request: CallbackRequest): Promise<NotifyResult> {
  const provider = deps.registry.resolveForCallback(providerId, account);
  let envelope: CallbackEnvelope | null = null;
  let unreadable: unknown = null;
  try {
    envelope = provider.inspectCallback(request);
  } catch (err) {
    unreadable = err;
  }

  let judge: (verified: boolean | null) => void = () => undefined;
  const judged = new Promise<boolean | null>((resolve) => (judge = resolve));
  const onVerified = (verified: boolean) => judge(verified);

  const downUntil = storageDownUntil.get(deps.db) ?? 0;
  if (Date.now() < downUntil) {
    deps.metrics?.callback(providerId, account, 'unstored');
    judge(null);
    return { reply: provider.reply('retry', request), rowId: null, judged };
  }
  // A readable fresh row is stored leased to this request, which processes it next (inline or, for
  // providers acknowledged on store, in the background). An unreadable one is finished unleased.
  const lease = unreadable ? undefined : inlineLease();
  let stored: { row: CallbackRow; fresh: boolean };
  try {
    stored = await storeRaw(deps, provider, request, envelope, { lease });
  } catch (err) {
    // Not stored means not acknowledged: the provider's own "try again" keeps the callback alive.
    if (isConnectionError(err)) storageDownUntil.set(deps.db, Date.now() + STORAGE_BACKOFF_MS);
    deps.logger.error({ provider: providerId, account, err: errorSummary(err) }, 'callback could not be stored');
    deps.metrics?.callback(providerId, account, 'unstored');
    judge(null);
    return { reply: provider.reply('retry', request), rowId: null, judged };
  }
  const { row } = stored;

  if (unreadable) {
    const message = unreadable instanceof Error ? unreadable.message : String(unreadable);
    await finishRow(deps, row, null, { verified: false, outcome: 'malformed', error: message });
    // Bad input is the sender's 4xx, naming the field; anything else is our fault: "try again".
    if (unreadable instanceof GatewayError && unreadable.httpStatus < 500) throw unreadable;
    deps.logger.error({ callbackId: row.id, err: message }, 'callback could not be read');
    judge(null);
    return { reply: provider.reply('retry', request), rowId: row.id, judged };
  }
  if (!stored.fresh && row.processed_at !== null) {
    deps.metrics?.callback(providerId, account, 'redelivered');
    const verified = row.verified === null ? null : row.verified === true || Number(row.verified) === 1;
    judge(verified);
    return { reply: provider.reply(replyForFinished(row), request), rowId: row.id, judged };
  }
  if (provider.ackAfter === 'stored') {
    // Acknowledged on store. A redelivery of an unfinished row processes it now if nobody holds it
    // (one waiting on its backoff, or given up on: the provider's retry is news worth acting on);
    // if the first delivery or the worker holds it, the claim fails and they finish it.
    const background = processInboxRow(deps, provider, row, stored.fresh ? { lease, held: true, onVerified } : { onVerified }).then(
      () => judge(null),
      (err) => {
        judge(null);
        deps.logger.warn({ callbackId: row.id, err: errorSummary(err) }, 'background callback processing failed; worker will retry');
      },
    );
    return { reply: provider.reply('ack', request), rowId: row.id, background, judged };
  }
  try {
    const kind = await processInboxRow(deps, provider, row, stored.fresh ? { lease, held: true, onVerified } : { onVerified });
    if (kind !== 'busy') return { reply: provider.reply(kind, request), rowId: row.id, judged: settle(judge, judged) };
    // Another delivery of the same notify is being processed: answer what it concludes.
    const done = await awaitFinished(deps, row.id, DUPLICATE_WAIT_MS);
    return { reply: provider.reply(done ? replyForFinished(done) : 'retry', request), rowId: row.id, judged: settle(judge, judged) };
  } catch (err) {
    deps.logger.error({ callbackId: row.id, err: errorSummary(err) }, 'callback processing failed; provider will retry');
    return { reply: provider.reply('retry', request), rowId: row.id, judged: settle(judge, judged) };
  }
}

/** Resolves `judged` with null unless a verification already resolved it (a promise settles once). */
function settle(judge: (verified: boolean | null) => void, judged: Promise<boolean | null>): Promise<boolean | null> {
  judge(null);
  return judged;
}

export interface ReturnOutcome {
  order: Order | null;
  verified: boolean;
  /** What the provider's return says happened; display only, never applied. */
  reported: PaymentOutcome | null;
  rowId: number;
}

/**
 * The buyer's browser coming back (DESIGN §5.4): verified, displayed, recorded; never applied.
 * Verification comes first here (a return changes nothing, so there is nothing to make durable
 * before it), and the record is one insert: a flood of returns costs one write each, and an
 * unverified one is kept only in part (storeReturn).
 */
export async function receiveReturn(deps: CoreDeps, providerId: string, account: string, request: CallbackRequest): Promise<ReturnOutcome> {
  const provider = deps.registry.resolveForCallback(providerId, account);
  let verification: Awaited<ReturnType<PaymentProvider['verifyCallback']>>;
  try {
    verification = await provider.verifyCallback(request);
  } catch (err) {
    verification = { verified: false, reason: errorSummary(err) };
  }
  let order: Order | null = null;
  if (verification.verified) {
    const found = await findOrderByNo(deps.db, verification.facts.orderNo);
    if (found && found.provider === provider.id && found.account === provider.account) order = found;
  }
  let rowId: number;
  try {
    rowId = await storeReturn(deps, provider, request, {
      verified: verification.verified,
      outcome: 'displayed',
      error: verification.verified ? null : verification.reason,
      orderId: order?.id ?? null,
    });
  } catch (err) {
    if (isConnectionError(err)) throw new StorageUnavailableError(err);
    throw err;
  }
  return {
    order,
    verified: verification.verified,
    reported: verification.verified ? verification.facts.outcome : null,
    rowId,
  };
}
