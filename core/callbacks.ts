import type { CoreDeps } from './deps.ts';
import { errorSummary, isConnectionError, isUniqueViolation, noteStorageFault, storageDown } from './db.ts';
import { GatewayError, StorageUnavailableError } from './errors.ts';
import {
  REJECTED_OUTCOMES,
  awaitFinished,
  claimRow,
  finishFields,
  finishRow,
  findByKey,
  inlineLease,
  insertFinishedRow,
  rowToRequest,
  scheduleRetry,
  storeRaw,
  storeReturn,
  type CallbackRow,
  type InboxOutcome,
} from './inbox.ts';
import { findOrderByNo, loadSnapshot, type Order } from './orders.ts';
import type { CallbackEnvelope, CallbackReply, CallbackRequest, CallbackVerification, PaymentFacts, PaymentOutcome, PaymentProvider, ReplyKind, VerifyContext } from './payment-provider.ts';
import type { Plan } from './decide.ts';
import { applyNews } from './order-writer.ts';

/**
 * The callback pipeline of docs/architecture.md#callbacks-durable-first-then-verify-then-answer: store the raw request, then verify, then apply, then answer
 * in the provider's words. Nothing here knows a provider by name.
 */

export interface NotifyResult {
  reply: CallbackReply;
  rowId: number | null;
  /** Work that goes on after the answer (providers acknowledged on store); tests may await it. */
  background?: Promise<void>;
  /**
   * What the request proved (core/callback-guard.ts gives back its sender's token or trusts the
   * address by it): `news` a fresh row, first under its dedupe key, that verified (the provider's
   * own new message); `verified` a verified row that is not news (a redelivery, other bytes under a
   * known key: anyone holding a signed notify can replay it); `rejected` it failed verification or
   * could not be read; null when that was not learned (a fault, a duplicate someone else holds).
   * `proved`: news that the buyer's browser brought (PaymentProvider.notifyFrom, or an envelope
   * marked `fromBrowser`): its sender gets its token back but is not trusted, since the sender is a
   * buyer, not the provider.
   */
  judged: Promise<Verdict>;
}

export type Verdict = 'news' | 'proved' | 'verified' | 'rejected' | null;

/** News from this request trusts its sender's address only when the provider's server sent it. */
function newsVerdict(provider: PaymentProvider, envelope: CallbackEnvelope | null, verification: CallbackVerification): 'news' | 'proved' {
  const browser = provider.notifyFrom === 'browser' || envelope?.fromBrowser || (verification.verified && verification.fromBrowser);
  return browser ? 'proved' : 'news';
}

/** How long a duplicate waits for the delivery processing the same row (under providers' ~10 s timeouts). */
const DUPLICATE_WAIT_MS = 5_000;

// After the database fails to store a callback, the next ones are answered "try again" at once
// for a moment (core/db.ts storageDown): providers must hear back before their own timeouts.


/** What a callback's inbox row records for a plan of the one decision (core/decide.ts). */
function rowOutcome(plan: Plan, changed: boolean): InboxOutcome {
  switch (plan.kind) {
    case 'move':
      return changed ? 'applied' : 'duplicate';
    case 'refund':
      return 'refunded';
    case 'instructions':
      return 'instructions';
    case 'reject':
      return plan.outcome;
    case 'flag':
      return plan.outcome === 'double_payment' ? 'double_payment' : 'flagged';
    case 'none':
      return plan.outcome === 'refund_pending' ? 'duplicate' : plan.outcome;
    case 'refuse':
      return 'ignored';
  }
}

/** Why a row records what it records, for the audit column. */
function rowError(plan: Plan): string | null {
  switch (plan.kind) {
    case 'reject':
      return plan.reason;
    case 'flag':
      return plan.reason;
    case 'none':
      return plan.note;
    case 'refuse':
      return plan.reason;
    default:
      return null;
  }
}

/**
 * Hands verified facts to the one decision (core/decide.ts) and its writer, and finishes the inbox
 * row in the same transaction. Facts that do not fit the order (unknown order, other account,
 * other amount) are recorded and answered as not accepted: providers' own docs treat such a notify
 * as abnormal, and a provider that retries it only adds audit rows.
 */
async function applyFacts(deps: CoreDeps, provider: PaymentProvider, row: CallbackRow, lease: string, facts: PaymentFacts): Promise<ReplyKind> {
  // Counted once the transaction holding the row's finish has committed.
  const finished: { outcome: InboxOutcome | null } = { outcome: null };
  const result = await applyNews(
    deps,
    { orderNo: facts.orderNo },
    { kind: 'facts', facts, reporter: { provider: provider.id, account: provider.account } },
    'callback',
    {
      sourceLabel: `callback:${row.id}`,
      inside: async (trx, news) => {
        const outcome = rowOutcome(news.plan, news.after?.version !== news.before?.version);
        const updated = await trx('provider_callbacks')
          .where({ id: row.id, lease_owner: lease })
          .whereNull('processed_at')
          .update(finishFields(deps, row, { verified: true, outcome, error: rowError(news.plan), orderId: news.before?.provider === provider.id ? news.before.id : null }));
        finished.outcome = updated === 1 ? outcome : null;
      },
    },
  );
  if (finished.outcome) deps.metrics?.callback(row.provider, row.account, finished.outcome);
  return replyForPlan(deps, result, row.id, facts.orderNo);
}

/**
 * Verifies one stored notify and applies it, holding the row's lease so no two processors (two
 * deliveries, or a delivery and the worker) ever work on it at once. Returns the provider's answer,
 * or 'busy' when someone else holds the row. `held`: the row was inserted already leased to
 * `lease` (storeRaw), so there is nothing to claim.
 */
/**
 * For a notify the browser brings, the order the request names, when it is this account's
 * (VerifyContext); nothing for a provider whose server sends its notify. A request that cannot be
 * read names none (verification then refuses it).
 */
async function verifyContext(deps: CoreDeps, provider: PaymentProvider, request: CallbackRequest): Promise<VerifyContext | undefined> {
  if (provider.notifyFrom !== 'browser') return undefined;
  let orderNo: string | null | undefined;
  try {
    orderNo = provider.inspectCallback(request).orderNo;
  } catch {
    return { order: null };
  }
  const order = orderNo ? await findOrderByNo(deps.db, orderNo) : undefined;
  if (!order || order.provider !== provider.id || order.account !== provider.account || order.method === null) return { order: null };
  return { order: await loadSnapshot(deps.db, order) };
}

export async function processInboxRow(
  deps: CoreDeps,
  provider: PaymentProvider,
  row: CallbackRow,
  options: { lease?: string; held?: boolean; onVerified?: (verification: CallbackVerification) => void } = {},
): Promise<ReplyKind | 'busy'> {
  const lease = options.held && options.lease ? options.lease : await claimRow(deps, row.id, options.lease);
  if (!lease) return 'busy';
  let verification;
  try {
    const request = rowToRequest(row);
    verification = await provider.verifyCallback(request, await verifyContext(deps, provider, request));
  } catch (err) {
    deps.logger.warn({ callbackId: row.id, err: errorSummary(err) }, 'callback verification fault; will retry');
    await scheduleRetry(deps, row, err).catch((again: unknown) => {
      releaseLater(deps, row, err, again);
      throw again;
    });
    return 'retry';
  }
  options.onVerified?.(verification);
  if (!verification.verified) {
    if (verification.cached) deps.metrics?.callback(row.provider, row.account, 'rejected_cached');
    await finishRow(deps, row, lease, { verified: false, outcome: 'rejected', error: verification.reason });
    deps.logger.warn({ callbackId: row.id, provider: row.provider, reason: verification.reason }, 'callback failed verification');
    return 'reject';
  }
  try {
    return await applyFacts(deps, provider, row, lease, verification.facts);
  } catch (err) {
    await scheduleRetry(deps, row, err).catch((again: unknown) => releaseLater(deps, row, err, again));
    throw err;
  }
}

/** Pauses before each further try to give a row back when the database refused it: about 30 s in all. */
export const RELEASE_RETRY_MS = [1_000, 2_000, 4_000, 8_000, 15_000];

/**
 * The row could not be given back (scheduleRetry failed): the connection that failed the work
 * failed again. Left alone, the row stays leased until PROCESSING_LEASE_MS runs out, so a provider
 * acknowledged on store waits five minutes for a payment that could be applied now. Behind a proxy
 * (HAProxy in front of a Galera cluster, a failover) the database is often back within seconds on
 * another node: a few more tries in the background give the row back to the inbox-retry job then.
 */
function releaseLater(deps: CoreDeps, row: CallbackRow, cause: unknown, err: unknown): void {
  if (!isConnectionError(err) && !isConnectionError(cause)) return;
  let attempt = 0;
  const next = (): void => {
    const delay = RELEASE_RETRY_MS[attempt++];
    if (delay === undefined) {
      deps.logger.warn({ callbackId: row.id }, 'callback row stays leased until its lease runs out; the database did not come back in time');
      return;
    }
    setTimeout(() => {
      scheduleRetry(deps, row, cause).catch(next);
    }, delay).unref();
  };
  next();
}

function replyForFinished(row: CallbackRow): ReplyKind {
  return REJECTED_OUTCOMES.has(row.outcome ?? '') ? 'reject' : 'ack';
}

/** The notify endpoint's whole job (docs/architecture.md#callbacks-durable-first-then-verify-then-answer). */
export async function receiveNotify(deps: CoreDeps, providerId: string, account: string, request: CallbackRequest): Promise<NotifyResult> {
  const provider = deps.registry.resolveForCallback(providerId, account);
  let envelope: CallbackEnvelope | null = null;
  let unreadable: unknown = null;
  try {
    envelope = provider.inspectCallback(request);
  } catch (err) {
    unreadable = err;
  }

  let judge: (verdict: Verdict) => void = () => undefined;
  const judged = new Promise<Verdict>((resolve) => (judge = resolve));

  if (storageDown(deps.db)) {
    deps.metrics?.callback(providerId, account, 'unstored');
    judge(null);
    return { reply: provider.reply('retry', request), rowId: null, judged };
  }
  if (!unreadable && provider.ackAfter === 'applied' && provider.verifiesOffline) {
    const done = await applyInOneCommit(deps, provider, request, envelope, judge);
    if (done === 'unstored') {
      judge(null);
      deps.metrics?.callback(providerId, account, 'unstored');
      return { reply: provider.reply('retry', request), rowId: null, judged };
    }
    if (done) return { reply: provider.reply(done.kind, request), rowId: done.rowId, judged };
  }
  // A readable fresh row is stored leased to this request, which processes it next (inline or, for
  // providers acknowledged on store, in the background). An unreadable one is finished unleased.
  // Acknowledged on store, with a job runner in another process: the row is left to it, due now.
  const handOff = provider.ackAfter === 'stored' && deps.storedCallbacks === 'worker';
  const lease = unreadable || handOff ? undefined : inlineLease();
  let stored: Awaited<ReturnType<typeof storeRaw>>;
  try {
    stored = await storeRaw(deps, provider, request, envelope, { lease, dueNow: handOff });
  } catch (err) {
    // Not stored means not acknowledged: the provider's own "try again" keeps the callback alive.
    noteStorageFault(deps.db, err);
    deps.logger.error({ provider: providerId, account, err: errorSummary(err) }, 'callback could not be stored');
    deps.metrics?.callback(providerId, account, 'unstored');
    judge(null);
    return { reply: provider.reply('retry', request), rowId: null, judged };
  }
  const { row } = stored;
  const news = stored.fresh && !stored.variant;
  const onVerified = (verification: CallbackVerification) => judge(verification.verified ? (news ? newsVerdict(provider, envelope, verification) : 'verified') : 'rejected');

  if (unreadable) {
    const message = unreadable instanceof Error ? unreadable.message : String(unreadable);
    await finishRow(deps, row, null, { verified: false, outcome: 'malformed', error: message });
    judge('rejected');
    // Bad input is the sender's 4xx, naming the field; anything else is our fault: "try again".
    if (unreadable instanceof GatewayError && unreadable.httpStatus < 500) throw unreadable;
    deps.logger.error({ callbackId: row.id, err: message }, 'callback could not be read');
    return { reply: provider.reply('retry', request), rowId: row.id, judged };
  }
  if (!stored.fresh && row.processed_at !== null) {
    deps.metrics?.callback(providerId, account, 'redelivered');
    // Not news, whatever it proved the first time: a replay must not buy trust or a token back.
    judge(row.verified === true || Number(row.verified) === 1 ? 'verified' : 'rejected');
    return { reply: provider.reply(replyForFinished(row), request), rowId: row.id, judged };
  }
  if (handOff) {
    // The job runner's inbox-retry job takes it (INBOX_HANDOFF_POLL_MS); a redelivery of a row not
    // finished yet is left to it too. Nothing was verified here, so nothing is judged.
    judge(null);
    deps.metrics?.callback(providerId, account, stored.fresh ? 'handed_off' : 'redelivered');
    return { reply: provider.reply('ack', request), rowId: row.id, judged };
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

/**
 * One commit per applied notify (docs/architecture.md#one-commit-per-applied-notify), for a provider
 * acknowledged after apply whose verification is pure CPU: verify first, then insert the raw row,
 * already finished, in the transaction that carries out the decision. Nothing can be lost: the
 * provider hears its acknowledgement only after that commit, and sends the notify again otherwise.
 * A notify that fails verification is stored alone, finished as rejected.
 *
 * Returns null where the durable-first way must take over: the dedupe key is on record already (a
 * duplicate, or other bytes under a known key), verification threw (a fault), or the transaction
 * failed (it rolled back: nothing of it was written, and the durable-first way stores the raw row
 * before trying again, or answers "try again" if the database is gone).
 */
async function applyInOneCommit(
  deps: CoreDeps,
  provider: PaymentProvider,
  request: CallbackRequest,
  envelope: CallbackEnvelope | null,
  judge: (verdict: Verdict) => void,
): Promise<{ kind: ReplyKind; rowId: number } | 'unstored' | null> {
  // A redelivery (providers send the same notify again and again) is answered from its row: one
  // indexed read, no verification, no transaction. Anything else on record under the key (other
  // bytes, a row not finished) goes the durable-first way.
  let known: Awaited<ReturnType<typeof findByKey>>;
  try {
    known = await findByKey(deps, provider, request, envelope);
  } catch (err) {
    return noteStorageFault(deps.db, err) ? 'unstored' : null;
  }
  if (known) {
    if (known.processed_at === null || known.raw_body !== request.rawBody || known.raw_query !== request.rawQuery) return null;
    deps.metrics?.callback(provider.id, provider.account, 'redelivered');
    judge(known.verified === true || Number(known.verified) === 1 ? 'verified' : 'rejected');
    return { kind: replyForFinished(known), rowId: known.id };
  }
  let verification: Awaited<ReturnType<PaymentProvider['verifyCallback']>>;
  try {
    verification = await provider.verifyCallback(request, await verifyContext(deps, provider, request));
  } catch {
    return null;
  }
  if (!verification.verified) {
    if (verification.cached) deps.metrics?.callback(provider.id, provider.account, 'rejected_cached');
    const stored = await storeRaw(deps, provider, request, envelope, { finished: { verified: false, outcome: 'rejected', error: verification.reason } }).catch(() => null);
    if (!stored) return null;
    // The same bytes on record: their verdict was the same (verification is pure), whatever became of the row.
    judge(stored.fresh ? 'rejected' : null);
    if (stored.fresh) {
      deps.metrics?.callback(provider.id, provider.account, 'rejected');
      deps.logger.warn({ callbackId: stored.row.id, provider: provider.id, reason: verification.reason }, 'callback failed verification');
    }
    return { kind: 'reject', rowId: stored.row.id };
  }
  const { facts } = verification;
  let rowId = 0;
  let recorded: InboxOutcome | null = null;
  let result: Awaited<ReturnType<typeof applyNews>>;
  try {
    result = await applyNews(
      deps,
      { orderNo: facts.orderNo },
      { kind: 'facts', facts, reporter: { provider: provider.id, account: provider.account } },
      'callback',
      {
        label: async (trx, plan, order) => {
          // What the row records, known once the plan is: a move is 'applied' unless it turns out a no-op (fixed below).
          recorded = rowOutcome(plan, true);
          const orderId = order?.provider === provider.id ? order.id : null;
          rowId = await insertFinishedRow(trx, deps, provider, request, envelope, { verified: true, outcome: recorded, error: rowError(plan), orderId });
          return `callback:${rowId}`;
        },
        inside: async (trx, news) => {
          const outcome = rowOutcome(news.plan, news.after?.version !== news.before?.version);
          if (outcome !== recorded) {
            await trx('provider_callbacks').where({ id: rowId }).update({ outcome });
            recorded = outcome;
          }
        },
        // Once more for a lost race; past that the durable-first way (and its retries) takes over.
        attempts: 2,
      },
    );
  } catch (err) {
    if (isUniqueViolation(err)) return null;
    // The database is gone (or SQLite's lock held past busy_timeout): storing the raw row now would
    // wait the same way, on the event loop. Nothing was acknowledged: the provider's "try again".
    if (noteStorageFault(deps.db, err)) {
      deps.logger.error({ provider: provider.id, account: provider.account, err: errorSummary(err) }, 'callback could not be stored');
      return 'unstored';
    }
    deps.logger.warn({ provider: provider.id, orderNo: facts.orderNo, err: errorSummary(err) }, 'one-commit apply failed; storing the callback first');
    return null;
  }
  judge(newsVerdict(provider, envelope, verification));
  if (recorded) deps.metrics?.callback(provider.id, provider.account, recorded);
  return { kind: replyForPlan(deps, result, rowId, facts.orderNo), rowId };
}

/** The provider's answer for a carried-out plan, with the log lines an operator needs. */
function replyForPlan(deps: CoreDeps, result: Awaited<ReturnType<typeof applyNews>>, rowId: number, orderNo: string): ReplyKind {
  const { plan } = result;
  if (plan.kind === 'reject') {
    const log = plan.outcome === 'amount_mismatch' ? deps.logger.error.bind(deps.logger) : deps.logger.warn.bind(deps.logger);
    log({ callbackId: rowId, orderNo, outcome: plan.outcome }, `verified callback rejected: ${plan.outcome}`);
    return 'reject';
  }
  if (plan.kind === 'flag') deps.logger.error({ callbackId: rowId, orderId: result.before?.id, outcome: plan.outcome }, 'callback raised attention');
  return 'ack';
}

/** Resolves `judged` with null unless a verification already resolved it (a promise settles once). */
function settle(judge: (verdict: Verdict) => void, judged: Promise<Verdict>): Promise<Verdict> {
  judge(null);
  return judged;
}

export interface ReturnOutcome {
  order: Order | null;
  verified: boolean;
  /** What the provider's return says happened; display only, never applied. */
  reported: PaymentOutcome | null;
  rowId: number;
  /** The same return (query and body) was on record already: a refreshed page or a replay, not news. */
  replayed: boolean;
}

/**
 * The buyer's browser coming back (docs/architecture.md#the-browser-return): verified, displayed, recorded; never applied.
 * Verification comes first here (a return changes nothing, so there is nothing to make durable
 * before it), and the record is one insert, once per content: a flood of returns costs one write
 * each, a replay none, and an unverified one is kept only in part (storeReturn).
 */
export async function receiveReturn(deps: CoreDeps, providerId: string, account: string, request: CallbackRequest): Promise<ReturnOutcome> {
  const provider = deps.registry.resolveForCallback(providerId, account);
  let verification: Awaited<ReturnType<PaymentProvider['verifyCallback']>>;
  try {
    verification = await provider.verifyCallback(request, await verifyContext(deps, provider, request));
  } catch (err) {
    verification = { verified: false, reason: errorSummary(err) };
  }
  let order: Order | null = null;
  if (verification.verified) {
    const found = await findOrderByNo(deps.db, verification.facts.orderNo);
    if (found && found.provider === provider.id && found.account === provider.account) order = found;
  }
  let stored: { id: number; replayed: boolean };
  try {
    stored = await storeReturn(deps, provider, request, {
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
    rowId: stored.id,
    replayed: stored.replayed,
  };
}
