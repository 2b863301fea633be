/**
 * Issue 5, reliability suite: "The database stopped for 30 s during load → callbacks in that window
 * get the provider's retry answer; after restart, all applied; nothing lost."
 *
 * The gateway runs as `npm start` does (server/main.ts in a child process, jobs inline). Payments
 * are created through the merchant API (half Alipay, acknowledged once applied; half SinoPac,
 * acknowledged once stored), then the simulators pay them, spread over the load, and notify with
 * retries through a tap that records each request's start, end and answer. In the middle of the
 * load the database goes away:
 *   - MariaDB: a server of this test's own (not the suite's shared one), SIGTERMed, left down, then
 *     started again on the same datadir and port;
 *   - SQLite: another connection holds BEGIN EXCLUSIVE for longer than the gateway's busy_timeout
 *     (PAYGATE_SQLITE_BUSY_TIMEOUT_MS, at most 10 s), so its writes fail with SQLITE_BUSY.
 * A processor that loses its database half-way cannot give its row's lease back; the row waits for
 * PROCESSING_LEASE_MS (5 min). Once the database is back and the load is over, the gateway's clock
 * is moved past that (SIGUSR2, clock-shift.ts) rather than the test waiting 5 minutes.
 * PAYGATE_RELIABILITY_REAL_TIME=1 leaves the clock alone and waits it out (about 5 more minutes).
 *
 * CI size: 150 orders, MariaDB down 8 s (plus its restart), SQLite locked 12 s.
 * PAYGATE_RELIABILITY_FULL=1: 2,000 orders, 30 s outage on both.
 *
 * MariaDB also shows the "callbacks in that window get the provider's retry answer": every
 * notify in the outage is answered `failure` / 503 {"Status":"F"} well inside the provider's 10 s.
 * SQLite too: a write waits only briefly (PAYGATE_SQLITE_BUSY_TIMEOUT_MS, 250 ms) for another
 * connection's lock, since better-sqlite3 waits synchronously and a long wait would freeze the gateway.
 */
import type { ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import mysql from 'mysql2/promise';
import { openDb } from '../../core/db.ts';
import { openTestDb, type TestDbHandle, type TestDbKind } from '../helpers/db.ts';
import { findMariadbd, freePort, ThrowawayMariaDb } from '../helpers/mariadb.ts';
import {
  assertVerdict,
  createOrders,
  Gateway,
  KIND_LABEL,
  lastResort,
  LEASE_JUMP_MS,
  leasedRows,
  newApiKey,
  payAll,
  perDbTest,
  REAL_TIME,
  sleep,
  startSimulators,
  startTap,
  verdict,
  waitConverged,
  type Simulators,
  type TapRecord,
} from './harness.ts';
import { figure, FULL, size } from './size.ts';

const ORDERS = size(150, 2_000);
const LEAD_MS = size(4_000, 15_000);
const outageMs = (kind: TestDbKind): number => (FULL ? 30_000 : kind === 'sqlite' ? 12_000 : 8_000);

/** The database under test and how to take it away and bring it back. */
interface OutageDb {
  url: string;
  db: Knex;
  /** Resolves once the database is unavailable. */
  down(): Promise<void>;
  /** Makes it available again (resolves once it could serve, for MariaDB once it takes logins). */
  up(): Promise<void>;
  close(): Promise<void>;
  /** Synchronous last resort: lock released / server killed, files removed. */
  killNow(): void;
}

async function sqliteDb(): Promise<OutageDb> {
  const handle: TestDbHandle = await openTestDb('sqlite', { migrate: false });
  const file = handle.url.slice('sqlite:'.length);
  let lock: Database.Database | undefined;
  return {
    url: handle.url,
    db: handle.db,
    async down() {
      lock = new Database(file, { timeout: 10_000 });
      lock.exec('BEGIN EXCLUSIVE');
    },
    async up() {
      lock?.exec('COMMIT');
      lock?.close();
      lock = undefined;
    },
    async close() {
      lock?.close();
      await handle.close();
    },
    killNow() {
      lock?.close();
      rmSync(dirname(file), { recursive: true, force: true });
    },
  };
}

async function mariaDb(): Promise<OutageDb> {
  const server = new ThrowawayMariaDb(findMariadbd()!);
  let db: Knex | undefined;
  try {
    const serverUrl = await server.start();
    const conn = await mysql.createConnection(serverUrl);
    await conn.query('CREATE DATABASE paygate_outage CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
    await conn.end();
    const url = `${serverUrl}/paygate_outage`;
    db = openDb(url);
    return {
      url,
      db,
      down: () => server.stop(),
      async up() {
        server.spawnServer();
        await (await server.waitReady()).end();
      },
      async close() {
        await db?.destroy();
        await server.destroy();
      },
      killNow: () => server.killNow(),
    };
  } catch (err) {
    await db?.destroy().catch(() => {});
    await server.destroy();
    throw err;
  }
}

type Answer = 'ack' | 'retry answer' | 'no answer' | 'other';
type InOutage = Record<Answer, number> & { healthzAsked: number; healthzAnswered: number };

/** What each database's run saw inside the outage. */
const inOutage = new Map<TestDbKind, InOutage>();

/** Every notify in the outage got the provider's retry answer before the provider gave up (its 10 s timeout); the process stayed responsive. */
function assertAnsweredInTime(t: ExecutionContext, c: InOutage): void {
  t.is(c['no answer'], 0, 'every notify in the outage was answered before the provider gave up on it');
  t.true(c['retry answer'] > 0, "notifies in the outage got the provider's retry answer");
  t.is(c.healthzAnswered, c.healthzAsked, '/healthz answered throughout the outage');
}

/** What the provider got, in its own terms: Alipay `success` / `failure`; SinoPac 200 {"Status":"S"} / 503 {"Status":"F"}. */
function classify(r: TapRecord): Answer {
  if (r.outcome !== 'answered') return 'no answer';
  if (r.path.startsWith('/callbacks/alipay/')) {
    if (r.body.trim() === 'success') return 'ack';
    return r.status === 200 && r.body.trim() === 'failure' ? 'retry answer' : 'other';
  }
  if (r.status === 200 && r.body === '{"Status":"S"}') return 'ack';
  return r.status === 503 && r.body === '{"Status":"F"}' ? 'retry answer' : 'other';
}

perDbTest(
  `database unavailable during ${ORDERS} paid notifies: none acknowledged in the outage, each applied once after it, none lost`,
  async (t, kind) => {
    const outage = outageMs(kind);
    t.timeout(FULL || REAL_TIME ? 30 * 60_000 : 5 * 60_000);
    const started = Date.now();
    const dir = await mkdtemp(join(tmpdir(), 'paygate-outage-'));
    let store: OutageDb | undefined;
    let sims: Simulators | undefined;
    let tap: Awaited<ReturnType<typeof startTap>> | undefined;
    let gateway: Gateway | undefined;
    const unregister = lastResort(() => {
      gateway?.proc?.kill('SIGKILL');
      store?.killNow();
      rmSync(dir, { recursive: true, force: true });
    });
    try {
      store = kind === 'sqlite' ? await sqliteDb() : await mariaDb();
      sims = await startSimulators(dir);
      const port = await freePort();
      tap = await startTap(port);
      gateway = new Gateway({ port, databaseUrl: store.url, configFile: sims.configFile, publicUrl: tap.base, apiKey: newApiKey(), logFile: join(dir, 'gateway.log') });
      await gateway.start(REAL_TIME ? {} : { PAYGATE_TEST_CLOCK_STEP_MS: String(LEASE_JUMP_MS) });

      const orders = await createOrders(gateway, ORDERS, `OUTAGE-${Date.now()}`);
      t.is(orders.length, ORDERS);

      // The outage sits in the middle of the load: LEAD_MS of payments before it and after it.
      const window = { start: 0, end: 0, restoredAt: 0 };
      const loadMs = LEAD_MS + outage + LEAD_MS;
      const load = payAll(sims, orders, loadMs);
      // While the database is away the process itself should stay up: /healthz consults nothing.
      const health = { asked: 0, answered: 0 };
      const cut = (async () => {
        await sleep(LEAD_MS);
        await store!.down();
        window.start = Date.now();
        while (Date.now() < window.start + outage - 2_000) {
          health.asked++;
          const ok = await fetch(`${gateway!.base}/healthz`, { signal: AbortSignal.timeout(1_500) }).then((r) => r.arrayBuffer().then(() => r.ok), () => false);
          if (ok) health.answered++;
          await sleep(500);
        }
        await sleep(window.start + outage - Date.now());
        window.end = Date.now();
        await store!.up();
        window.restoredAt = Date.now();
      })();
      const [payErrors] = await Promise.all([load, cut]);
      t.deepEqual(payErrors.slice(0, 5), [], `${payErrors.length} payments could not be made at the simulator`);

      // Rows whose processor lost the database half-way keep their lease; time moves past it.
      const leased = await leasedRows(store.db);
      if (!REAL_TIME) gateway.signal('SIGUSR2');
      const convergeMs = await waitConverged(store.db, sims, orders, REAL_TIME ? LEASE_JUMP_MS + 5 * 60_000 : FULL ? 10 * 60_000 : 120_000);
      await gateway.stop();
      const v = await verdict(store.db, sims, orders);

      // Requests that began after the database went away and ended before it came back.
      const inWindow = tap.records.filter((r) => r.path.includes('/notify') && r.start >= window.start && r.end <= window.end);
      const counts: Record<Answer, number> = { ack: 0, 'retry answer': 0, 'no answer': 0, other: 0 };
      for (const r of inWindow) counts[classify(r)]++;
      const slowest = Math.max(0, ...inWindow.filter((r) => r.outcome === 'answered').map((r) => r.end - r.start));
      figure(`db-outage [${KIND_LABEL[kind]}]`, {
        orders: ORDERS,
        outage: `${((window.end - window.start) / 1000).toFixed(1)}s`,
        restart: `${((window.restoredAt - window.end) / 1000).toFixed(1)}s`,
        inOutage: inWindow.length,
        retryAnswer: counts['retry answer'],
        noAnswer: counts['no answer'],
        ackInOutage: counts.ack,
        other: counts.other,
        slowestAnswerMs: slowest,
        healthz: `${health.answered}/${health.asked}`,
        acknowledged: v.acknowledged,
        retried: v.retried,
        leasedAfter: leased,
        differences: v.differences.length,
        ackedNotApplied: v.ackedNotApplied.length,
        paidBy: Object.entries(v.sources).map(([k, n]) => `${k}=${n}`).join(','),
        converged: convergeMs === null ? 'no' : `${(convergeMs / 1000).toFixed(1)}s`,
        seconds: ((Date.now() - started) / 1000).toFixed(1),
      });

      t.log(`gateway warnings: ${JSON.stringify(gateway.logSummary())}`);
      inOutage.set(kind, { ...counts, healthzAsked: health.asked, healthzAnswered: health.answered });
      const unanswered = inWindow.filter((r) => r.outcome !== 'answered');
      if (unanswered.length > 0) {
        const byReason: Record<string, number> = {};
        for (const r of unanswered) byReason[`${r.outcome}: ${r.body || '(provider timed out)'}`] = (byReason[`${r.outcome}: ${r.body || '(provider timed out)'}`] ?? 0) + 1;
        t.log(`unanswered in the outage: ${JSON.stringify(byReason)}; durations ms: ${unanswered.slice(0, 10).map((r) => r.end - r.start).join(',')}`);
      }
      t.true(inWindow.length > 0, 'notifies arrived while the database was unavailable');
      t.is(counts.ack, 0, 'nothing was acknowledged while the database was unavailable');
      t.is(counts.other, 0, `no answer in the outage was anything but the provider's retry answer: ${JSON.stringify(inWindow.filter((r) => classify(r) === 'other').slice(0, 3))}`);
      assertAnsweredInTime(t, inOutage.get(kind)!);
      t.is(gateway.unexpectedExits.length, 0, `the gateway never died: ${gateway.unexpectedExits.join(', ')}`);
      t.not(convergeMs, null, 'providers and gateway agreed before the deadline');
      assertVerdict(t, v);
      if (!t.passed) t.log(`gateway log tail:\n${gateway.logTail(60)}`);
    } finally {
      await gateway?.close().catch(() => {});
      await tap?.close().catch(() => {});
      await sims?.close().catch(() => {});
      await store?.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
      unregister();
    }
  },
  () => (findMariadbd() ? null : 'no mariadbd binary to start a server of its own (set PAYGATE_TEST_MARIADBD)'),
);
