import { hostname } from 'node:os';
import type { AppConfig } from '../../core/config.ts';
import { toNumber } from '../../core/db.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { replayEvent, type EventRow } from '../../core/events.ts';
import { claimRows } from '../../core/jobs/lease.ts';
import { findOrder, findOrderByNo } from '../../core/orders.ts';
import { EVENT_TYPES, type EventType } from '../../core/outbox.ts';
import { deliverEvent, WEBHOOK_LEASE_MS, WEBHOOK_TIMEOUT_MS, type DeliveryOutcome } from '../../core/webhooks.ts';
import { parseInstant, parseIntFlag, str, UsageError, type FlagValues, type Flags } from './args.ts';
import { openCliRuntime } from './runtime.ts';

export const webhookReplayFlags: Flags = {
  event: { type: 'string' },
  order: { type: 'string' },
  type: { type: 'string' },
  'all-failed': { type: 'boolean' },
  since: { type: 'string' },
  merchant: { type: 'string' },
  limit: { type: 'string' },
  yes: { type: 'boolean' },
};

export const WEBHOOK_REPLAY_USAGE = `  webhook:replay --event <evt_...>
  webhook:replay --order <id|orderNo> [--type <event type>]
  webhook:replay --all-failed --since <ISO> [--merchant <id>] [--limit <n, default 1000>] [--yes]
                                  queue events for delivery again (as POST /v1/events/:id/replay) and
                                  deliver them now; prints each outcome and HTTP status. --all-failed
                                  takes events given up on with an attempt since --since: without
                                  --yes it only counts them. Exits 1 unless every one was delivered.
`;

const LEASE_MS = Math.max(WEBHOOK_LEASE_MS, WEBHOOK_TIMEOUT_MS + 30_000);
const CONCURRENCY = 4;

type Outcome = DeliveryOutcome | 'busy';

/** The URL without path, query or credentials: a merchant's URL may carry a token of theirs. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Replays one event (its merchant is the event's own) and delivers it at once under a lease, as the
 * delivery job would. When a worker holds the event right now it is left to that worker ('busy').
 */
async function replayAndDeliver(deps: CoreDeps, row: EventRow, owner: string): Promise<{ outcome: Outcome; line: string }> {
  await replayEvent(deps, row.merchant_id, row.public_id);
  const now = deps.now();
  const [claimed] = await claimRows<EventRow>(deps.db, {
    table: 'events',
    where: (q) => q.where('id', row.id).andWhere('delivery_status', 'pending').andWhere('next_attempt_at', '<=', now.getTime()),
    orderBy: 'id',
    limit: 1,
    leaseMs: LEASE_MS,
    owner,
    now,
  });
  const head = `${row.public_id}  ${row.type}  merchant ${row.merchant_id}${row.order_id ? `  order ${row.order_id}` : ''}`;
  if (!claimed) return { outcome: 'busy', line: `${head}  -> queued; a worker is delivering it now` };
  const outcome = await deliverEvent(deps, claimed, { timeoutMs: WEBHOOK_TIMEOUT_MS, leaseMs: LEASE_MS });
  if (outcome === 'skipped') return { outcome, line: `${head}  -> skipped: the merchant has no webhook URL` };
  if (outcome === 'error' || outcome === 'lost_lease' || outcome === 'changed') {
    return { outcome, line: `${head}  -> ${outcome}: left queued for the worker` };
  }
  const attempt = (await deps.db('webhook_attempts').where({ event_id: row.id }).orderBy('id', 'desc').first()) as
    | { url: string; response_status: number | null; error: string | null; duration_ms: number }
    | undefined;
  const http = attempt?.response_status != null ? `HTTP ${attempt.response_status}` : 'no HTTP answer';
  const error = attempt?.error ? `: ${attempt.error.replaceAll(attempt.url, origin(attempt.url))}` : '';
  let line = `${head}  -> ${outcome}, ${http}${error} (${attempt?.duration_ms ?? '?'} ms, ${attempt ? origin(attempt.url) : '?'})`;
  if (outcome === 'retry') {
    const next = (await deps.db('events').where({ id: row.id }).first('next_attempt_at')) as { next_attempt_at: unknown } | undefined;
    if (next) line += `; the worker tries again from ${new Date(toNumber(next.next_attempt_at)).toISOString()}`;
  }
  return { outcome, line };
}

async function deliverAll(deps: CoreDeps, rows: EventRow[], concurrency: number): Promise<number> {
  const owner = `${hostname()}:${process.pid}:cli`;
  const outcomes: Outcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      const { outcome, line } = await replayAndDeliver(deps, row, owner);
      outcomes.push(outcome);
      console.log(line);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, lane));
  const delivered = outcomes.filter((o) => o === 'delivered').length;
  if (rows.length > 1) {
    const others = new Map<string, number>();
    for (const o of outcomes) if (o !== 'delivered') others.set(o, (others.get(o) ?? 0) + 1);
    const rest = [...others].map(([o, n]) => `${o} ${n}`).join(', ');
    console.log(`replayed ${rows.length}: delivered ${delivered}${rest ? `, ${rest}` : ''}`);
  }
  return delivered === rows.length ? 0 : 1;
}

/** `npm run paygate -- webhook:replay ...`; returns the exit code. */
export async function runWebhookReplay(values: FlagValues, config: AppConfig): Promise<number> {
  const event = str(values, 'event');
  const order = str(values, 'order');
  const allFailed = values['all-failed'] === true;
  const modes = [event !== undefined, order !== undefined, allFailed].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('give one of --event <evt_...>, --order <id|orderNo> or --all-failed --since <ISO>');
  const type = str(values, 'type');
  if (type !== undefined && order === undefined) throw new UsageError('--type goes with --order');
  if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type)) throw new UsageError(`--type must be one of ${EVENT_TYPES.join(', ')}`);
  if (!allFailed) {
    const stray = ['since', 'merchant', 'limit', 'yes'].filter((f) => values[f] !== undefined);
    if (stray.length > 0) throw new UsageError(`${stray.map((f) => `--${f}`).join(', ')} go${stray.length === 1 ? 'es' : ''} with --all-failed`);
  }
  const sinceFlag = str(values, 'since');
  if (allFailed && sinceFlag === undefined) throw new UsageError('--all-failed needs --since <ISO>');
  const since = sinceFlag !== undefined ? parseInstant('since', sinceFlag) : undefined;
  const limit = parseIntFlag('limit', str(values, 'limit'), 1000, 1, 10_000);

  const runtime = await openCliRuntime(config, { providers: false });
  try {
    const { deps } = runtime;
    if (event !== undefined) {
      const row = (await deps.db('events').where({ public_id: event }).first()) as EventRow | undefined;
      if (!row) {
        console.error(`paygate: no event ${event}`);
        return 1;
      }
      return await deliverAll(deps, [row], 1);
    }
    if (order !== undefined) {
      const found = (await findOrder(deps.db, order)) ?? (await findOrderByNo(deps.db, order));
      if (!found) {
        console.error(`paygate: no order ${order} (give its id, pay_..., or its orderNo)`);
        return 1;
      }
      const q = deps.db('events').where({ order_id: found.id });
      if (type !== undefined) q.andWhere({ type: type as EventType });
      const rows = (await q.orderBy([{ column: 'created_at' }, { column: 'id' }])) as EventRow[];
      if (rows.length === 0) {
        console.error(`paygate: order ${found.id} has no ${type ?? ''}${type ? ' ' : ''}events`);
        return 1;
      }
      // One after another, oldest first: the merchant hears them in the order they happened.
      return await deliverAll(deps, rows, 1);
    }

    const failed = () => {
      const q = deps
        .db('events')
        .where('events.delivery_status', 'failed')
        .whereExists((sub) => {
          sub.select(deps.db.raw('1')).from('webhook_attempts').whereRaw('webhook_attempts.event_id = events.id').andWhere('webhook_attempts.attempted_at', '>=', since!.getTime());
        });
      const merchant = str(values, 'merchant');
      if (merchant !== undefined) q.andWhere('events.merchant_id', merchant);
      return q;
    };
    const total = toNumber(((await failed().count({ n: '*' }).first()) as { n: unknown } | undefined)?.n);
    const scope = `failed event${total === 1 ? '' : 's'} with a delivery attempt since ${since!.toISOString()}${values.merchant ? ` for merchant ${String(values.merchant)}` : ''}`;
    if (total === 0) {
      console.log(`no ${scope}`);
      return 0;
    }
    const rows = (await failed().select('events.*').orderBy('events.id', 'asc').limit(limit)) as EventRow[];
    const bound = rows.length < total ? ` (the first ${rows.length}, --limit ${limit})` : '';
    if (values.yes !== true) {
      console.log(`${total} ${scope}; replaying would send ${rows.length}${bound}:`);
      for (const r of rows.slice(0, 10)) console.log(`  ${r.public_id}  ${r.type}  merchant ${r.merchant_id}  created ${new Date(toNumber(r.created_at)).toISOString()}`);
      if (rows.length > 10) console.log(`  … and ${rows.length - 10} more`);
      console.log('Nothing was replayed: add --yes to replay them.');
      return 0;
    }
    console.log(`replaying ${rows.length} of ${total} ${scope}${bound}`);
    return await deliverAll(deps, rows, CONCURRENCY);
  } finally {
    await runtime.close();
  }
}
