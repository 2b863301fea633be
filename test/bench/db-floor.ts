import { isLockConflict } from '../../core/db.ts';
/**
 * The database's own floor, in this process while the gateway is idle: the rows one applied
 * callback writes, in the fewest commits the design allows, with no reads (what the gateway reads
 * is its overhead).
 *
 * - `notify-tx`: ONE transaction (a provider acknowledged after apply hears "success" only after
 *   the commit): the inbox row (leased to its request), the order moved under its version check,
 *   the transition row, the outbox event, and the inbox row finished (`applied`).
 * - `inbox-insert`: the inbox row alone, committed on its own (what a provider acknowledged on
 *   store, SinoPac, waits for: the row durable before the answer).
 *
 * Each is measured two ways:
 * - `driver`: the machine's floor. The driver's prepared statements directly: better-sqlite3
 *   `prepare().run()` on the gateway's SQLite file with the gateway's pragmas (read from core's
 *   openDb connection and set on a fresh one), or mysql2 `execute()` on MariaDB with a pool the
 *   size of the gateway's (PAYGATE_DB_POOL_MAX) and, on a Galera URL, its `wsrep_sync_wait`.
 * - `knex`: the same statements in the same commits through knex (core's openDb: the gateway's
 *   pool, pragmas and statement cache), so the report shows what the query builder costs.
 */
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { newId } from '../../core/ids.ts';
import { rowToOrder, type OrderRow } from '../../core/orders.ts';
import { toPaymentView } from '../../core/payment-view.ts';
import type { Database as BenchDatabase } from './context.ts';
import type { PendingOrder } from './fixtures.ts';
import { cpuMs } from './processes.ts';
import { summarize, type Summary } from './stats.ts';

export type DbFloorKind = 'notify-tx' | 'inbox-insert';
export type DbFloorVia = 'driver' | 'knex';

/** The floor's name in the report: `db-notify-tx`, `db-notify-tx-knex`, `db-inbox-insert`, `db-inbox-insert-knex`. */
export const dbFloorName = (kind: DbFloorKind, via: DbFloorVia): string => `db-${kind}${via === 'knex' ? '-knex' : ''}`;

/** The inbox's own timings (core/inbox.ts): a fresh row waits this long before the retry job may take it, and a lease lasts this long. */
const INLINE_GRACE_MS = 30_000;
const PROCESSING_LEASE_MS = 5 * 60_000;

const INBOX_COLUMNS = [
  'provider', 'account', 'kind', 'dedupe_key', 'http_method', 'content_type', 'raw_body', 'raw_query', 'headers_json', 'received_at',
  'verified', 'processed_at', 'outcome', 'error', 'order_id', 'attempts', 'next_attempt_at', 'lease_owner', 'lease_until',
] as const;
const SQL = {
  inbox: `INSERT INTO provider_callbacks (${INBOX_COLUMNS.join(', ')}) VALUES (${INBOX_COLUMNS.map(() => '?').join(', ')})`,
  order: 'UPDATE orders SET status = ?, version = ?, updated_at = ?, paid_at = ?, provider_trade_no = ? WHERE id = ? AND version = ?',
  transition: 'INSERT INTO order_transitions (order_id, from_status, to_status, cause, source, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  event:
    'INSERT INTO events (public_id, merchant_id, order_id, type, payload_json, created_at, delivery_status, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  finish:
    'UPDATE provider_callbacks SET verified = ?, processed_at = ?, outcome = ?, error = ?, order_id = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND processed_at IS NULL AND lease_owner = ?',
};

/** What one operation writes; built before the statements run, the same for every writer. */
interface InboxRow {
  provider: string;
  account: string;
  kind: string;
  dedupe_key: string;
  http_method: string;
  content_type: string;
  raw_body: string;
  raw_query: string;
  headers_json: string;
  received_at: number;
  verified: null;
  processed_at: null;
  outcome: null;
  error: null;
  order_id: null;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
}

interface Apply {
  row: OrderRow;
  version: number;
  now: number;
  tradeNo: string;
  eventId: string;
  payload: string;
}

interface Writer {
  inbox(row: InboxRow): Promise<void> | void;
  notify(row: InboxRow, apply: Apply): Promise<void> | void;
  close(): Promise<void> | void;
}

const FORM = 'application/x-www-form-urlencoded; charset=utf-8';
const inboxValues = (row: InboxRow) => INBOX_COLUMNS.map((c) => row[c]);
const finishValues = (id: number, a: Apply, lease: string) => [1, a.now, 'applied', null, a.row.id, id, lease];
const orderValues = (a: Apply) => ['paid', a.version + 1, a.now, a.now, a.tradeNo, a.row.id, a.version];
const transitionValues = (a: Apply, inboxId: number) => [a.row.id, 'pending', 'paid', 'provider reported paid', `callback:${inboxId}`, a.now];
const eventValues = (a: Apply) => [a.eventId, a.row.merchant_id, a.row.id, 'payment.paid', a.payload, a.now, 'pending', 0, a.now];

function versionCheckFailed(id: string): Error {
  return new Error(`version check failed on ${id}`);
}

/** better-sqlite3 on the gateway's file, with the pragmas core's openDb sets (read back from its connection). */
async function sqliteDriver(dbase: BenchDatabase): Promise<{ writer: Writer; pragmas: string[] }> {
  const file = dbase.url.slice('sqlite:'.length).replace(/^\/\//, '');
  const pragmas: string[] = [];
  for (const name of ['journal_mode', 'synchronous', 'foreign_keys', 'busy_timeout', 'wal_autocheckpoint', 'cache_size', 'temp_store', 'mmap_size']) {
    const rows = (await dbase.db.raw(`PRAGMA ${name}`)) as Record<string, unknown>[];
    const value = rows[0] ? Object.values(rows[0])[0] : undefined;
    if (value !== undefined && value !== null) pragmas.push(`${name} = ${String(value)}`);
  }
  const conn = new Database(file);
  for (const p of pragmas) conn.pragma(p);
  const st = {
    inbox: conn.prepare(SQL.inbox),
    order: conn.prepare(SQL.order),
    transition: conn.prepare(SQL.transition),
    event: conn.prepare(SQL.event),
    finish: conn.prepare(SQL.finish),
  };
  const notify = conn.transaction((row: InboxRow, a: Apply) => {
    const id = Number(st.inbox.run(...inboxValues(row)).lastInsertRowid);
    if (st.order.run(...orderValues(a)).changes !== 1) throw versionCheckFailed(a.row.id);
    st.transition.run(...transitionValues(a, id));
    st.event.run(...eventValues(a));
    if (st.finish.run(...finishValues(id, a, row.lease_owner!)).changes !== 1) throw new Error('inbox finish matched no row');
  });
  const writer: Writer = {
    inbox: (row) => void st.inbox.run(...inboxValues(row)),
    notify: (row, a) => notify(row, a),
    close: () => void conn.close(),
  };
  return { writer, pragmas };
}

/** mysql2's pool and `execute()` (server-side prepared statements, cached per connection). */
function mysqlDriver(dbase: BenchDatabase): Writer {
  const url = new URL(dbase.url.replace(/^mariadb:/, 'mysql:'));
  const pool = mysql.createPool({
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, ''),
    charset: 'utf8mb4',
    timezone: 'Z',
    supportBigNumbers: true,
    connectionLimit: Number(process.env.PAYGATE_DB_POOL_MAX ?? 16),
  });
  // A Galera URL's read-your-writes setting, as core's openDb applies it to each connection.
  const wait = url.searchParams.get('wsrep_sync_wait');
  if (wait !== null && /^\d{1,2}$/.test(wait)) {
    pool.pool.on('connection', (conn) => conn.query(`SET SESSION wsrep_sync_wait = ${Number(wait)}`));
  }
  type Header = mysql.ResultSetHeader;
  return {
    async inbox(row) {
      await pool.execute(SQL.inbox, inboxValues(row));
    },
    async notify(row, a) {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        try {
          const [inserted] = await conn.execute<Header>(SQL.inbox, inboxValues(row));
          const id = inserted.insertId;
          const [moved] = await conn.execute<Header>(SQL.order, orderValues(a));
          if (moved.affectedRows !== 1) throw versionCheckFailed(a.row.id);
          await conn.execute(SQL.transition, transitionValues(a, id));
          await conn.execute(SQL.event, eventValues(a));
          const [finished] = await conn.execute<Header>(SQL.finish, finishValues(id, a, row.lease_owner!));
          if (finished.affectedRows !== 1) throw new Error('inbox finish matched no row');
          await conn.commit();
        } catch (err) {
          await conn.rollback().catch(() => undefined);
          throw err;
        }
      } finally {
        conn.release();
      }
    },
    close: () => pool.end(),
  };
}

/** The same statements through knex (the gateway's pool and pragmas). */
function knexWriter(db: Knex): Writer {
  const finishPatch = (id: number, a: Apply) => ({ verified: true, processed_at: a.now, outcome: 'applied', error: null, order_id: a.row.id, lease_owner: null, lease_until: null, _id: id });
  return {
    async inbox(row) {
      await db('provider_callbacks').insert(row);
    },
    async notify(row, a) {
      await db.transaction(async (trx) => {
        const [rawId] = await trx('provider_callbacks').insert(row);
        const id = Number(rawId);
        const updated = await trx('orders')
          .where({ id: a.row.id, version: a.version })
          .update({ status: 'paid', version: a.version + 1, updated_at: a.now, paid_at: a.now, provider_trade_no: a.tradeNo });
        if (updated !== 1) throw versionCheckFailed(a.row.id);
        await trx('order_transitions').insert({ order_id: a.row.id, from_status: 'pending', to_status: 'paid', cause: 'provider reported paid', source: `callback:${id}`, created_at: a.now });
        await trx('events').insert({
          public_id: a.eventId, merchant_id: a.row.merchant_id, order_id: a.row.id, type: 'payment.paid', payload_json: a.payload,
          created_at: a.now, delivery_status: 'pending', attempts: 0, next_attempt_at: a.now,
        });
        const { _id, ...patch } = finishPatch(id, a);
        const done = await trx('provider_callbacks').where({ id: _id }).whereNull('processed_at').andWhere({ lease_owner: row.lease_owner }).update(patch);
        if (done !== 1) throw new Error('inbox finish matched no row');
      });
    },
    close: () => undefined,
  };
}

/** The writers of one database: its driver's (opened once) and knex's. */
export class DbFloorWriters {
  private constructor(
    private readonly dbase: BenchDatabase,
    private readonly driver: Writer,
    /** The pragmas the driver's SQLite connection was given (the gateway's), for the report. */
    readonly settings: string,
  ) {}

  static async open(dbase: BenchDatabase): Promise<DbFloorWriters> {
    if (dbase.kind === 'sqlite') {
      const { writer, pragmas } = await sqliteDriver(dbase);
      return new DbFloorWriters(dbase, writer, `better-sqlite3 prepare().run(), pragmas ${pragmas.join(', ')}`);
    }
    return new DbFloorWriters(dbase, mysqlDriver(dbase), `mysql2 execute(), pool of ${Number(process.env.PAYGATE_DB_POOL_MAX ?? 16)}`);
  }

  writer(via: DbFloorVia): Writer {
    return via === 'driver' ? this.driver : knexWriter(this.dbase.db);
  }

  close(): Promise<void> | void {
    return this.driver.close();
  }
}

let serial = 0;

/**
 * Runs `concurrency` loops of `kind` for warmupSec + durationSec; counts the completions in the
 * measured window. `orders` are reused round robin (the version check follows each one's version).
 */
export async function dbFloor(
  writers: DbFloorWriters,
  db: Knex,
  kind: DbFloorKind,
  via: DbFloorVia,
  concurrency: number,
  orders: readonly PendingOrder[],
  sampleBody: string,
  warmupSec: number,
  durationSec: number,
  /** mariadbd's pid, when its CPU should count (MariaDB). */
  dbPid: number | null = null,
): Promise<Summary & { cpuMsPerOp: number; dbCpuMsPerOp: number | null }> {
  // The orders as they are now (earlier floors moved their versions), and each one's payment view
  // for the event's payload: read and built before the clock starts.
  const rows: { row: OrderRow; view: Record<string, unknown> }[] = [];
  for (let i = 0; i < orders.length; i += 500) {
    const ids = orders.slice(i, i + 500).map((o) => o.id);
    for (const row of (await db('orders').whereIn('id', ids)) as OrderRow[]) {
      const view = toPaymentView(rowToOrder(row), new Date()) as unknown as Record<string, unknown>;
      delete view.action;
      rows.push({ row, view });
    }
  }
  const writer = writers.writer(via);
  const headersJson = JSON.stringify({ 'content-type': FORM, 'remote-address': '127.0.0.1' });
  let next = 0;
  const one = async () => {
    const dedupe = `bench-floor-${process.pid}-${++serial}`;
    const now = Date.now();
    const lease = kind === 'notify-tx' ? `inline:${dedupe.slice(-16)}` : null;
    const inboxRow: InboxRow = {
      provider: 'alipay', account: 'default', kind: 'notify', dedupe_key: dedupe, http_method: 'POST', content_type: FORM,
      raw_body: `${sampleBody}&notify_id=${dedupe}`, raw_query: '', headers_json: headersJson, received_at: now,
      verified: null, processed_at: null, outcome: null, error: null, order_id: null, attempts: 0,
      next_attempt_at: now + INLINE_GRACE_MS, lease_owner: lease, lease_until: lease ? now + PROCESSING_LEASE_MS : null,
    };
    if (kind === 'inbox-insert') {
      await writer.inbox(inboxRow);
      return;
    }
    const entry = rows[next++ % rows.length]!;
    const version = Number(entry.row.version);
    const eventId = newId('evt');
    const at = new Date(now).toISOString();
    const payload = JSON.stringify({
      id: eventId, type: 'payment.paid', createdAt: at,
      data: { payment: { ...entry.view, status: 'paid', paidAt: at, updatedAt: at }, from: 'pending', cause: 'provider reported paid' },
    });
    await writer.notify(inboxRow, { row: entry.row, version, now, tradeNo: dedupe.slice(0, 64), eventId, payload });
    entry.row.version = version + 1;
  };

  const started = performance.now();
  const measureFrom = started + warmupSec * 1000;
  const end = measureFrom + durationSec * 1000;
  const latencies: number[] = [];
  let count = 0;
  // Read inline, not from a timer: on SQLite the loop never yields to the event loop.
  let cpu0: NodeJS.CpuUsage | null = null;
  let db0 = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        if (cpu0 === null && t0 >= measureFrom) {
          cpu0 = process.cpuUsage();
          db0 = dbPid ? cpuMs(dbPid) : 0;
        }
        // On a Galera cluster written through several nodes a transaction can lose certification
        // (a deadlock error): run again from the start, as the gateway's retryingTransaction does.
        for (let attempt = 1; ; attempt++) {
          try {
            await one();
            break;
          } catch (err) {
            if (!isLockConflict(err) || attempt >= 6) throw err;
          }
        }
        const t1 = performance.now();
        if (t0 >= measureFrom) {
          latencies.push(t1 - t0);
          count++;
        }
      }
    }),
  );
  const seconds = (performance.now() - measureFrom) / 1000;
  const used = process.cpuUsage(cpu0 ?? undefined);
  const ops = Math.max(1, count);
  return {
    ...summarize(count, seconds, latencies),
    cpuMsPerOp: (used.user + used.system) / 1000 / ops,
    dbCpuMsPerOp: dbPid ? (cpuMs(dbPid) - db0) / ops : null,
  };
}
