import type { Knex } from 'knex';
import type BetterSqlite3 from 'better-sqlite3';
import { dbKind, type Db } from './db.ts';

/**
 * The hot paths' statements through the driver's own prepared statements (docs/architecture.md#storage).
 *
 * knex stays the database layer: migrations, the schema, transactions, every other query. A notify,
 * though, is a handful of small statements on one row each, and building each through knex's query
 * builder (builder objects, compilation to SQL, bindings formatting, its promise plumbing) cost
 * about three times what the database itself spends on them (the bench's floors: the same rows in
 * one transaction through the driver vs through knex). These helpers take the connection knex holds
 * for the transaction (or lend one from its pool), and run fixed SQL texts on it: on SQLite through
 * better-sqlite3's statements (core/db.ts keeps them prepared per connection), on MariaDB through
 * mysql2's `execute` (server-side prepared statements, cached per connection by mysql2).
 *
 * Only what both engines read the same way is written here: backquoted names, `?` placeholders,
 * `FOR UPDATE` on MariaDB only. Values are bound as knex binds them (booleans as 1/0, dates as
 * milliseconds). Errors are the drivers' own, with the codes core/db.ts tells apart (a unique
 * violation, a deadlock, a lost connection), exactly as they reach knex's callers.
 */

export type Runner = Db | Knex.Transaction;

interface MysqlConnection {
  execute(sql: string, values: unknown[], cb: (err: Error | null, result: unknown) => void): void;
}

function bind(values: readonly unknown[]): unknown[] {
  return values.map((v) => (v === undefined ? null : typeof v === 'boolean' ? Number(v) : v instanceof Date ? v.getTime() : v));
}

async function withConnection<T>(db: Runner, use: (conn: unknown) => T | Promise<T>): Promise<T> {
  const client = db.client as { acquireConnection(): Promise<unknown>; releaseConnection(conn: unknown): Promise<unknown> };
  const conn = await client.acquireConnection();
  try {
    return await use(conn);
  } finally {
    await client.releaseConnection(conn);
  }
}

function mysqlExecute(conn: unknown, sql: string, values: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (conn as MysqlConnection).execute(sql, values, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/** Runs a write; returns the rows it changed and, for an insert, the new row's id. */
export function run(db: Runner, sql: string, values: readonly unknown[]): Promise<{ changes: number; insertId: number }> {
  const bound = bind(values);
  if (dbKind(db as Db) === 'sqlite') {
    return withConnection(db, (conn) => {
      const result = (conn as BetterSqlite3.Database).prepare(sql).run(...bound);
      return { changes: result.changes, insertId: Number(result.lastInsertRowid) };
    });
  }
  return withConnection(db, async (conn) => {
    const result = (await mysqlExecute(conn, sql, bound)) as { affectedRows: number; insertId: number };
    return { changes: result.affectedRows, insertId: Number(result.insertId) };
  });
}

/** Runs a read; returns its first row, or undefined. */
export function first<T>(db: Runner, sql: string, values: readonly unknown[]): Promise<T | undefined> {
  const bound = bind(values);
  if (dbKind(db as Db) === 'sqlite') {
    return withConnection(db, (conn) => (conn as BetterSqlite3.Database).prepare(sql).get(...bound) as T | undefined);
  }
  return withConnection(db, async (conn) => ((await mysqlExecute(conn, sql, bound)) as T[])[0]);
}

// SQL texts are built from column names in code (never from input) and kept, so each shape is
// built once and the drivers find their prepared statement by the same text.
const texts = new Map<string, string>();

function text(key: string, build: () => string): string {
  let sql = texts.get(key);
  if (sql === undefined) {
    sql = build();
    if (texts.size < 1_000) texts.set(key, sql);
  }
  return sql;
}

/** `insert into <table> (<columns of row>) values (…)`; returns the new id. */
export async function insertRow(db: Runner, table: string, row: Record<string, unknown>): Promise<number> {
  const columns = Object.keys(row);
  const sql = text(`i|${table}|${columns.join(',')}`, () => `insert into \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
  return (await run(db, sql, Object.values(row))).insertId;
}

/** `a = ? and b is null …` for equal-to conditions (null as `is null`, as knex writes it), with its values. */
function conditions(where: Record<string, unknown>): { key: string; sql: string; values: unknown[] } {
  const keys = Object.keys(where);
  const values = keys.map((k) => where[k]).filter((v) => v !== null && v !== undefined);
  const parts = keys.map((c) => (where[c] === null || where[c] === undefined ? `\`${c}\` is null` : `\`${c}\` = ?`));
  return { key: parts.join(' and '), sql: parts.join(' and '), values };
}

/** `update <table> set <patch> where <where, all equal>`; returns the rows changed. */
export async function updateWhere(db: Runner, table: string, patch: Record<string, unknown>, where: Record<string, unknown>): Promise<number> {
  const set = Object.keys(patch);
  const cond = conditions(where);
  const sql = text(`u|${table}|${set.join(',')}|${cond.key}`, () => `update \`${table}\` set ${set.map((c) => `\`${c}\` = ?`).join(', ')} where ${cond.sql}`);
  return (await run(db, sql, [...Object.values(patch), ...cond.values])).changes;
}

/** `select * from <table> where <where, all equal> limit 1`, `for update` on MariaDB when asked. */
export function selectFirst<T>(db: Runner, table: string, where: Record<string, unknown>, options: { forUpdate?: boolean } = {}): Promise<T | undefined> {
  const cond = conditions(where);
  const lock = options.forUpdate && dbKind(db as Db) === 'mysql';
  const sql = text(`s|${table}|${cond.key}|${lock ? 'u' : ''}`, () => `select * from \`${table}\` where ${cond.sql} limit 1${lock ? ' for update' : ''}`);
  return first<T>(db, sql, cond.values);
}
