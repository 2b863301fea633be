/**
 * Test databases: each test file gets one SQLite database and, when a MariaDB server is available
 * (PAYGATE_TEST_MYSQL_URL, set by test/run.ts), one MariaDB database, both migrated.
 *
 *   dbTest('creates an order', async (t, { db, kind }) => { ... });
 *
 * registers `creates an order [sqlite]` and `creates an order [mariadb]`. Tests in one file share
 * each database (opening one per test is too slow), so every test must create its own rows.
 */
import test, { type ExecutionContext } from 'ava';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateLatest, openDb } from '../../core/db.ts';

export type TestDbKind = 'sqlite' | 'mysql';

export interface TestDbHandle {
  db: Knex;
  kind: TestDbKind;
  url: string;
  close(): Promise<void>;
}

const KIND_LABEL: Record<TestDbKind, string> = { sqlite: 'sqlite', mysql: 'mariadb' };

function mysqlServerUrl(): string | undefined {
  return process.env.PAYGATE_TEST_MYSQL_URL || undefined;
}

export function testDbKinds(): TestDbKind[] {
  return mysqlServerUrl() ? ['sqlite', 'mysql'] : ['sqlite'];
}

/** Set by test/run.ts in CI: a missing MariaDB is a failure there, not a skip. */
export function mysqlRequired(): boolean {
  return process.env.PAYGATE_TEST_REQUIRE_MYSQL === '1';
}

function randomName(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** A connection to the server itself (no database selected), for CREATE/DROP DATABASE. */
async function withServer<T>(serverUrl: string, fn: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const u = new URL(serverUrl.replace(/^mariadb:/, 'mysql:'));
  const conn = await mysql.createConnection({
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    // Generous: on a loaded machine (CI beside other jobs) the handshake alone can take seconds.
    connectTimeout: 30_000,
  });
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

/** A fresh database of `kind`, migrated unless `opts.migrate === false`. */
export async function openTestDb(kind: TestDbKind, opts: { migrate?: boolean } = {}): Promise<TestDbHandle> {
  let url: string;
  let dispose: () => Promise<void>;

  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'paygate-test-'));
    url = `sqlite:${join(dir, 'test.sqlite')}`;
    dispose = () => rm(dir, { recursive: true, force: true });
  } else {
    const serverUrl = mysqlServerUrl();
    if (!serverUrl) throw new Error('PAYGATE_TEST_MYSQL_URL is not set; run the suite with `npm test`');
    const name = `pg_t_${randomName(10)}`;
    await withServer(serverUrl, (conn) =>
      conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`),
    );
    const base = new URL(serverUrl);
    url = `${base.protocol}//${base.username}:${base.password}@${base.host}/${name}`;
    dispose = () => withServer(serverUrl, (conn) => conn.query(`DROP DATABASE IF EXISTS \`${name}\``)).then(() => {});
  }

  // One pool serves every test of a file at once (a dozen apps, each with its simulator and jobs):
  // on a loaded machine a query may wait longer for a connection than one request of one gateway
  // should (core/db.ts's 10 s), so the tests' pool waits up to a minute. A red run showed the 10 s
  // running out at app start, beside the Galera tests and a second suite on two cores.
  const db = openDb(url, { acquireTimeoutMs: 60_000 });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      try {
        await db.destroy();
      } finally {
        await dispose();
      }
    })());

  if (opts.migrate !== false) {
    try {
      await migrateLatest(db);
    } catch (err) {
      await close().catch(() => {});
      throw err;
    }
  }
  return { db, kind, url, close };
}

// One lazily opened database per kind for the whole test file (each test file is its own process).
const shared = new Map<TestDbKind, Promise<TestDbHandle>>();
let cleanupRegistered = false;

function sharedDb(kind: TestDbKind): Promise<TestDbHandle> {
  let handle = shared.get(kind);
  if (!handle) {
    handle = openTestDb(kind);
    shared.set(kind, handle);
  }
  return handle;
}

/** Registers `title [sqlite]` and, with a MariaDB server, `title [mariadb]` on the file's shared DBs. */
export function dbTest(
  title: string,
  fn: (t: ExecutionContext, db: TestDbHandle) => void | Promise<void>,
  options: { serial?: boolean } = {},
): void {
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    test.after.always('close test databases', async () => {
      const opened = [...shared.values()];
      shared.clear();
      // Close every database even if one fails (e.g. MariaDB already gone), then report the first error.
      const results = await Promise.allSettled(
        opened.map(async (pending) => {
          const handle = await pending.catch(() => undefined); // a failed open already failed its tests
          await handle?.close();
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  // Serial tests (background jobs that claim whatever is due in the shared database) run one at a time.
  const register = options.serial ? test.serial : test;
  for (const kind of testDbKinds()) {
    register(`${title} [${KIND_LABEL[kind]}]`, async (t) => fn(t, await sharedDb(kind)));
  }

  if (!mysqlServerUrl()) {
    if (mysqlRequired()) {
      test(`${title} [mariadb]`, (t) => {
        t.fail('PAYGATE_TEST_REQUIRE_MYSQL=1 but PAYGATE_TEST_MYSQL_URL is not set');
      });
    } else {
      test.skip(
        `${title} [mariadb] — skipped: no MariaDB on this machine (set PAYGATE_TEST_MYSQL_URL or install mariadb-server)`,
        () => {},
      );
    }
  }
}
