import type { Knex } from 'knex';
import { dbKind, isLockConflict, retryingTransaction, type Db } from '../db.ts';
import { randomString } from '../ids.ts';

export interface ClaimOptions {
  table: string;
  /** Narrows the candidates (e.g. unprocessed rows that are due). */
  where: (q: Knex.QueryBuilder) => void;
  orderBy: string;
  limit: number;
  leaseMs: number;
  owner: string;
  now: Date;
  /** Counts claims run again after losing a deadlock or, on Galera, certification (core/db.ts). */
  metrics?: { dbRetry?(operation: string, reason: string): void };
}

/**
 * Takes up to `limit` rows for this worker for `leaseMs`. A row is free when its lease is empty or
 * has run out, so a worker killed mid-job hands its rows to the next one once the lease expires.
 *
 * MariaDB: candidates are read with SELECT … FOR UPDATE SKIP LOCKED, so concurrent workers pass over
 * each other's rows instead of queueing. SQLite has a single writer, which serialises claims. The
 * UPDATE repeats the "free" condition and stamps a unique token, and only rows carrying that token
 * are returned: two workers can never both hold one row.
 */
export async function claimRows<Row extends { id: number | string }>(db: Db, options: ClaimOptions): Promise<Row[]> {
  const token = `${options.owner.slice(0, 60)}:${randomString(12)}`;
  const now = options.now.getTime();
  const free = (q: Knex.QueryBuilder) => q.where((w) => w.whereNull('lease_until').orWhere('lease_until', '<', now));

  if (dbKind(db) === 'sqlite') {
    // One statement: SQLite takes the write lock up front (waiting out busy_timeout), where a
    // read-then-write transaction could fail with SQLITE_BUSY_SNAPSHOT against another process.
    const candidates = db(options.table).select('id').where(options.where).where(free).orderBy(options.orderBy).limit(options.limit);
    await db(options.table).whereIn('id', candidates).update({ lease_owner: token, lease_until: now + options.leaseMs });
  } else {
    // READ COMMITTED: InnoDB then keeps locks only on the rows that match, not on every row
    // scanned, so claims for different work do not hide rows from each other. A claim can still
    // lose a deadlock against a writer touching the same index pages; its transaction is rolled
    // back whole, so it is tried again, and after CLAIM_ATTEMPTS losses it has claimed nothing
    // this run (the next run tries again) rather than failing the job. On Galera the row locks
    // are the node's own: two nodes may pick one row, and the second to commit loses
    // certification (a deadlock error) and runs again, when the row is no longer free.
    try {
      await retryingTransaction(db, (trx) => claimInTransaction(trx, options, token, free), {
        operation: `claim:${options.table}`,
        metrics: options.metrics,
        attempts: CLAIM_ATTEMPTS,
        isolationLevel: 'read committed',
      });
    } catch (err) {
      if (isLockConflict(err)) return [];
      throw err;
    }
  }
  return (await db(options.table).where({ lease_owner: token })) as Row[];
}

/** How many times a claim that lost a deadlock is tried before the run gives up on it. */
export const CLAIM_ATTEMPTS = 3;

async function claimInTransaction(trx: Knex.Transaction, options: ClaimOptions, token: string, free: (q: Knex.QueryBuilder) => void): Promise<void> {
  const candidates = trx(options.table).select('id').where(options.where).where(free).orderBy(options.orderBy).limit(options.limit).forUpdate().skipLocked();
  const ids = ((await candidates) as { id: number | string }[]).map((r) => r.id);
  if (ids.length === 0) return;
  await trx(options.table)
    .whereIn('id', ids)
    .where(options.where)
    .where(free)
    .update({ lease_owner: token, lease_until: options.now.getTime() + options.leaseMs });
}

/** Gives rows back early (the work is done or failed in a way that sets its own schedule). */
export async function releaseRows(db: Db, table: string, ids: readonly (number | string)[]): Promise<void> {
  if (ids.length === 0) return;
  await db(table).whereIn('id', ids).update({ lease_owner: null, lease_until: null });
}
