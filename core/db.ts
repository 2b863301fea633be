import type BetterSqlite3 from 'better-sqlite3';
import knexFactory, { type Knex } from 'knex';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from './errors.ts';

export type Db = Knex;
export type DbKind = 'sqlite' | 'mysql';

/**
 * How long opening a MariaDB connection may take before it counts as unreachable
 * (PAYGATE_DB_CONNECT_TIMEOUT_MS, 1–60 s, default 5 s). The test suite raises it: its processes block
 * their own event loop for seconds (simulators generating RSA keys), which a handshake timer counts.
 */
const MYSQL_CONNECT_TIMEOUT_MS = Math.max(1_000, Math.min(60_000, Number(process.env.PAYGATE_DB_CONNECT_TIMEOUT_MS ?? 5_000) || 5_000));

/** How long one SQLite write may wait for another process's lock (PAYGATE_SQLITE_BUSY_TIMEOUT_MS). */
const SQLITE_BUSY_TIMEOUT_MS = Math.max(0, Math.min(10_000, Number(process.env.PAYGATE_SQLITE_BUSY_TIMEOUT_MS ?? 250) || 0));

/** Prepared statements kept per SQLite connection (a few dozen fixed texts, plus whereIn lists). */
const SQLITE_STATEMENT_CACHE = 500;

/**
 * knex's better-sqlite3 client prepares every statement afresh (`conn.prepare(sql)` per query);
 * compiling the same SQL again is a real part of our small statements' cost (about a seventh of a
 * notify's database time, measured in process). The same text gets the same statement back, which
 * is safe the way knex uses it: each is run to completion at once (.all or .run, which reset it and
 * clear its bindings, even on error) on this one connection. The only state knex changes on a
 * statement is its integer mode (`.safeIntegers()`, when a query asks for it); a statement whose
 * mode or bindings are changed (safeIntegers, raw, pluck, expand, bind) leaves the cache, so a later
 * query gets a fresh one with the connection's defaults. Least recently used texts go first (a Map
 * keeps insertion order; a hit moves to the end).
 */
function cacheStatements(conn: BetterSqlite3.Database, size: number): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, BetterSqlite3.Statement>();
  conn.prepare = ((sql: string) => {
    const hit = cache.get(sql);
    if (hit) {
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const statement = prepare(sql);
    const own = statement as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of ['safeIntegers', 'raw', 'pluck', 'expand', 'bind']) {
      const original = own[method]!;
      own[method] = (...args: unknown[]) => {
        if (cache.get(sql) === statement) cache.delete(sql);
        return original.apply(statement, args);
      };
    }
    cache.set(sql, statement);
    if (cache.size > size) cache.delete(cache.keys().next().value!);
    return statement;
  }) as typeof conn.prepare;
}

export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

/**
 * `?wsrep_sync_wait=N` on a MySQL URL: every connection runs `SET SESSION wsrep_sync_wait = N`, so
 * on a Galera cluster its reads first wait until the node has applied everything committed
 * cluster-wide (1 = reads; docs/high-availability.md#reads-after-writes). 0-15, as MariaDB takes it.
 */
function syncWait(url: URL): number | undefined {
  const raw = url.searchParams.get('wsrep_sync_wait');
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!/^\d{1,2}$/.test(raw) || n > 15) {
    throw new ConfigError('DATABASE_URL: wsrep_sync_wait must be a whole number from 0 to 15', [{ path: 'DATABASE_URL', message: 'wsrep_sync_wait must be 0-15' }]);
  }
  return n;
}

/** `sqlite:./data/paygate.sqlite`, `sqlite::memory:` or `mysql://user:pass@host:port/db[?wsrep_sync_wait=1]`. */
export function knexConfig(databaseUrl: string): Knex.Config {
  if (databaseUrl.startsWith('sqlite:')) {
    const filename = databaseUrl.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!filename) throw new ConfigError('DATABASE_URL: sqlite: needs a file name');
    if (filename !== ':memory:') mkdirSync(dirname(resolve(filename)), { recursive: true });
    return {
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      // SQLite has one writer; one connection per process serialises our transactions. busy_timeout
      // makes a write wait briefly for another process's lock, but better-sqlite3 waits
      // synchronously (the whole event loop stops), so the wait is short: past it the write fails
      // with SQLITE_BUSY, transitions retry with backoff, and a provider gets its "try again" in
      // time instead of a frozen gateway.
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: BetterSqlite3.Database, done: (err: Error | null, conn: unknown) => void) {
          try {
            conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            conn.pragma('foreign_keys = ON');
            conn.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
            cacheStatements(conn, SQLITE_STATEMENT_CACHE);
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
      acquireConnectionTimeout: 30_000,
      migrations: migrationsConfig(),
    };
  }
  if (databaseUrl.startsWith('mysql:') || databaseUrl.startsWith('mariadb:')) {
    const url = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
    const wait = syncWait(url);
    return {
      client: 'mysql2',
      connection: {
        host: url.hostname,
        port: url.port ? Number(url.port) : 3306,
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: url.pathname.replace(/^\//, '') || undefined,
        charset: 'utf8mb4',
        timezone: 'Z',
        supportBigNumbers: true,
        bigNumberStrings: false,
        connectTimeout: MYSQL_CONNECT_TIMEOUT_MS,
      },
      pool: {
        min: 0,
        max: Number(process.env.PAYGATE_DB_POOL_MAX ?? 16),
        ...(wait === undefined
          ? {}
          : {
              afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
                conn.query(`SET SESSION wsrep_sync_wait = ${wait}`, (err) => done(err, conn));
              },
            }),
      },
      acquireConnectionTimeout: 10_000,
      migrations: migrationsConfig(),
    };
  }
  throw new ConfigError('DATABASE_URL must start with sqlite: or mysql://', [
    { path: 'DATABASE_URL', message: 'unsupported scheme' },
  ]);
}

/**
 * The migrations as knex runs them, from the sources (`.ts`, under tsx) or from the build
 * (`dist/migrations/*.js`). Each is named by its source file (`…_create_orders.ts`) either way, so a
 * database migrated by one is up to date for the other.
 */
export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    const compiled = import.meta.url.endsWith('.js');
    return readdirSync(MIGRATIONS_DIR)
      .filter((f) => (compiled ? f.endsWith('.js') : f.endsWith('.ts') && !f.endsWith('.d.ts')))
      .sort();
  },
  getMigrationName(file) {
    return file.replace(/\.js$/, '.ts');
  },
  async getMigration(file) {
    return (await import(pathToFileURL(resolve(MIGRATIONS_DIR, file)).href)) as Knex.Migration;
  },
};

/**
 * Options for undoing migrations. On SQLite, knex drops a column by rebuilding the table; inside the
 * migration's transaction it cannot turn foreign keys off for that, so the rebuild of a table other
 * rows point at (merchants, orders) fails. Without the outer transaction knex turns them off around
 * the rebuild and checks them after. MariaDB's DDL is not transactional either way.
 */
export function rollbackConfig(db: Db): Knex.MigratorConfig {
  return dbKind(db) === 'sqlite' ? { disableTransactions: true } : {};
}

function migrationsConfig(): Knex.MigratorConfig {
  return { migrationSource, tableName: 'knex_migrations' };
}

/**
 * `acquireTimeoutMs`: how long a query waits for a free pooled connection before it fails (10 s on
 * MySQL, 30 s on SQLite by default: a request fails fast rather than queue behind a stalled pool).
 */
export function openDb(databaseUrl: string, options: { acquireTimeoutMs?: number } = {}): Db {
  const config = knexConfig(databaseUrl);
  return knexFactory(options.acquireTimeoutMs === undefined ? config : { ...config, acquireConnectionTimeout: options.acquireTimeoutMs });
}

export function dbKind(db: Db): DbKind {
  return db.client.config.client === 'mysql2' ? 'mysql' : 'sqlite';
}

/** How long migrateLatest keeps trying while another process holds the migration lock. */
export const MIGRATE_WAIT_MS = 120_000;

/**
 * Applies every pending migration; safe when several processes do it at the same moment, on one
 * server or on different Galera nodes (every gateway and worker migrates at boot).
 *
 * knex alone is not (measured on test/helpers/galera.ts's cluster, two processes migrating one
 * fresh database through node 1 and node 2; test/cluster/galera.test.ts): both create its
 * bookkeeping tables and one fails with "table already exists" (1050); or both find the lock table
 * empty and each inserts a lock row, after which knex's lock (`UPDATE … WHERE is_locked = 0` must
 * change exactly one row) can never be taken again and every boot fails with "Migration table is
 * already locked"; and on a database already up to date the lock updates of two nodes conflict at
 * commit (1213), so one boot fails. Worse, in knex's default mode the lock is taken inside the
 * migrations' transaction, which on MariaDB the first DDL commits implicitly: a loser of
 * certification there then runs knex's clean-up, which sets the lock free under the winner.
 *
 * So, on MariaDB:
 *   - the lock row is inserted as row 1 only when the table is empty: two inserters write the same
 *     key, and one loses (a duplicate or a certification conflict) instead of both succeeding;
 *   - `disableTransactions`: knex then takes its lock in a transaction of its own, committed (and
 *     certified cluster-wide) before any migration runs, so only one process can hold it; it frees
 *     it only after failing while holding it (MariaDB's DDL is not transactional either way, and
 *     the migrations are DDL only);
 *   - with the lock held, `beforeAll` checks that none of the migrations it is about to run was
 *     recorded meanwhile (the list is read before the lock is taken): if one was, it gives the lock
 *     back and everything starts again;
 * and on both engines the whole migrate is run again, after a jittered pause, when it failed for
 * one of those reasons or because another process holds the lock (a finished migration is recorded,
 * so a second run skips it), for up to MIGRATE_WAIT_MS; then the last error is the caller's.
 */
export async function migrateLatest(db: Db): Promise<string[]> {
  const mysql = dbKind(db) === 'mysql';
  const raced = 'paygate: another process applied migrations while this one waited for the lock';
  const config: Knex.MigratorConfigWithLifecycleHooks = mysql
    ? {
        disableTransactions: true,
        async beforeAll(knex, migrations) {
          const names = migrations.map((m) => migrationSource.getMigrationName(m as string));
          if (await knex('knex_migrations').whereIn('name', names).first('id')) throw new Error(raced);
        },
      }
    : {};
  const deadline = Date.now() + MIGRATE_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      if (mysql && !(await db.schema.hasTable('knex_migrations_lock'))) {
        // As knex creates it (another process creating it meanwhile: 1050, retried below).
        await db.schema.createTable('knex_migrations_lock', (t) => {
          t.increments('index').primary();
          t.integer('is_locked');
        });
      }
      if (mysql) {
        await db.raw('INSERT INTO knex_migrations_lock (`index`, is_locked) SELECT 1, 0 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM knex_migrations_lock)');
      }
      const [, applied] = (await db.migrate.latest(config)) as [number, string[]];
      return applied;
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string };
      const again =
        e.name === 'MigrationLocked' || // knex could not take its lock (held, or lost at commit)
        transactionRetryReason(err) !== null ||
        // knex's tables or the lock row, made by another process at the same moment:
        ((e.code === 'ER_TABLE_EXISTS_ERROR' || e.code === 'ER_DUP_ENTRY') && /knex_migrations/.test(e.message ?? '')) ||
        e.message === raced;
      if (!again || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2)));
    }
  }
}

/** Unique-key violations on both engines, so callers can treat "already there" as a result. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number } | undefined;
  return (
    e?.code === 'ER_DUP_ENTRY' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/**
 * MariaDB gave up on the transaction so another could go on: InnoDB picked it as a deadlock's victim
 * (on Galera a certification conflict reads the same), or a lock wait ran out. The whole transaction
 * was rolled back, so trying it again from the start is safe.
 */
export function isLockConflict(err: unknown): boolean {
  const e = err as { code?: string; errno?: number } | undefined;
  return e?.code === 'ER_LOCK_DEADLOCK' || e?.code === 'ER_LOCK_WAIT_TIMEOUT' || e?.errno === 1213 || e?.errno === 1205;
}

/** Why the database rolled a transaction back as a whole, so that running it again is safe. */
export type RetryReason = 'deadlock' | 'lock_wait' | 'busy' | 'not_ready';

/**
 * The reason to run a failed transaction again from the start, or null when it must not be:
 * `deadlock` is InnoDB's deadlock victim and, on Galera, a transaction that lost certification to
 * a conflicting one committed on another node (both are error 1213); `lock_wait` a lock wait that
 * ran out (1205); `busy` SQLite's write lock held past busy_timeout or a stale read snapshot;
 * `not_ready` a Galera node that is not part of the primary component (1047: it ran nothing).
 */
export function transactionRetryReason(err: unknown): RetryReason | null {
  const e = err as { code?: string; errno?: number } | undefined;
  if (e?.code === 'ER_LOCK_DEADLOCK' || e?.errno === 1213) return 'deadlock';
  if (e?.code === 'ER_LOCK_WAIT_TIMEOUT' || e?.errno === 1205) return 'lock_wait';
  if (e?.code === 'SQLITE_BUSY' || e?.code === 'SQLITE_BUSY_SNAPSHOT') return 'busy';
  if (e?.code === 'ER_UNKNOWN_COM_ERROR' || e?.errno === 1047) return 'not_ready';
  return null;
}

/** How many times a transaction is run before its last error is the caller's. */
export const TRANSACTION_ATTEMPTS = 6;

/**
 * The pause before attempt `attempt + 1`: exponential from 10 ms, capped at 250 ms, with the upper
 * half jittered so the transactions that collided do not collide again in step.
 */
export function transactionBackoffMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(250, 10 * 2 ** attempt);
  return cap / 2 + random() * (cap / 2);
}

export interface RetryingTransactionOptions {
  /** Names the transaction in the retry counter (paygate_db_retries_total{operation}). */
  operation: string;
  /** Counts each retry; core/metrics.ts. */
  metrics?: { dbRetry?(operation: string, reason: string): void };
  attempts?: number;
  isolationLevel?: Knex.IsolationLevels;
  /**
   * Another error that means "read again and retry" (an optimistic version race lost): returns its
   * reason for the counter, or null. Retried at once, without a pause: the winner has committed.
   */
  retryAlso?: (err: unknown) => string | null;
}

/**
 * `fn` in a transaction, run again from the start when the database rolled it back as a whole
 * (transactionRetryReason), with a bounded, jittered backoff. `fn` must therefore be safe to run
 * more than once: everything it does is in `trx` (nothing outside the database), and it decides
 * from what it reads in `trx`, never from a value read before. Every transaction paygate runs on
 * MariaDB goes through here (docs/architecture.md#galera): on a Galera cluster row locks are
 * local to a node, so conflicts between nodes surface at commit as deadlocks.
 */
export async function retryingTransaction<T>(db: Db, fn: (trx: Knex.Transaction) => Promise<T>, options: RetryingTransactionOptions): Promise<T> {
  const attempts = options.attempts ?? TRANSACTION_ATTEMPTS;
  const config = options.isolationLevel ? { isolationLevel: options.isolationLevel } : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn, config);
    } catch (err) {
      if (attempt >= attempts) throw err;
      const again = options.retryAlso?.(err) ?? null;
      const reason = again ?? transactionRetryReason(err);
      if (reason === null) throw err;
      options.metrics?.dbRetry?.(options.operation, reason);
      if (again === null) await new Promise((resolve) => setTimeout(resolve, transactionBackoffMs(attempt)));
    }
  }
}

/** Errors that mean the database itself is unreachable (as opposed to a bad query). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.name === 'KnexTimeoutError') return true;
  return [
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'PROTOCOL_CONNECTION_LOST',
    'ER_CON_COUNT_ERROR',
    'SQLITE_BUSY',
    'SQLITE_CANTOPEN',
    'SQLITE_IOERR',
  ].includes(e.code ?? '');
}

/**
 * After the database fails with a connection or lock error, callers stay off it for a moment: a
 * locked SQLite file makes every attempt block the process for the busy timeout (the driver waits
 * synchronously), so a job that tried each of its rows in turn would freeze the gateway. One try
 * a second finds out whether it is back.
 */
export const STORAGE_BACKOFF_MS = 1_000;
const storageDownUntil = new WeakMap<object, number>();

/** Records `err` when it says the database is unreachable; returns whether it did. */
export function noteStorageFault(db: object, err: unknown): boolean {
  if (!isConnectionError(err)) return false;
  storageDownUntil.set(db, Date.now() + STORAGE_BACKOFF_MS);
  return true;
}

/** Whether the database failed so recently that callers should not try it yet. */
export function storageDown(db: object): boolean {
  return Date.now() < (storageDownUntil.get(db) ?? 0);
}

/** BIGINT and COUNT/SUM come back as numbers or strings depending on driver and expression. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value !== '') return Number(value);
  return 0;
}

/**
 * A database error in words safe for logs and audit columns: the driver's code and message without
 * the SQL statement, whose inlined values can carry callback bodies, tokens or buyer data.
 */
export function errorSummary(err: unknown): string {
  const e = err as { code?: string; sqlMessage?: string; message?: string; name?: string } | undefined;
  if (!e) return String(err);
  if (e.sqlMessage) return `${e.code ?? 'db_error'}: ${e.sqlMessage}`;
  if (typeof e.code === 'string' && e.code.startsWith('SQLITE')) {
    const message = e.message ?? '';
    const i = message.lastIndexOf(' - ');
    return `${e.code}: ${i >= 0 ? message.slice(i + 3) : message}`;
  }
  if (e.name === 'KnexTimeoutError') return 'KnexTimeoutError: no database connection available';
  const message = e.message ?? String(err);
  // knex prefixes a failed query's message with the statement: "<sql> - <driver message>".
  if (/^\s*(insert|update|select|delete|with|replace)\b/i.test(message)) {
    const i = message.lastIndexOf(' - ');
    return `${e.code ?? 'db_error'}: ${i >= 0 ? message.slice(i + 3) : 'query failed'}`;
  }
  return message;
}
