/**
 * paygate on a three-node MariaDB Galera cluster (test/helpers/galera.ts), the part that fits in
 * `npm test`: two gateways, each straight to a different node (multi-writer), over one provider
 * account. Row locks do not cross nodes there; what holds is what certification orders
 * (docs/architecture.md#galera):
 *   - every notify reaches both gateways at the same moment: one transition and one payment.paid
 *     per order;
 *   - refunds of one order through both gateways at once: never more than paid, here or at the
 *     provider; the losers of certification are run again and counted;
 *   - job workers on both nodes claiming the same reconciliation, expiry and webhook rows: each row
 *     done once;
 *   - two gateways booting at the same moment on a fresh database, one through node 1 and one
 *     through node 2, both migrate (core/db.ts migrateLatest): both start, on one schema, with each
 *     migration applied and recorded once.
 *
 * Needs mariadb-server, galera-4, haproxy, mariadb-backup and socat (.ci/run installs them). Without
 * them the test is skipped, with the packages named, unless CI=true, where it fails.
 */
import test from 'ava';
import mysql from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { migrateLatest, migrationSource, openDb, type Db } from '../../core/db.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { expiryJob } from '../../core/jobs/expiry.ts';
import { reconcileJob } from '../../core/jobs/reconcile.ts';
import type { Job } from '../../core/jobs/runner.ts';
import { webhookDeliveryJob } from '../../core/jobs/webhook-delivery.ts';
import { setWebhookUrl } from '../../core/webhook-secrets.ts';
import { silentLogger } from '../../core/logger.ts';
import { GatewayMetrics } from '../../server/metrics.ts';
import { startApp, paymentBody, type TestApp } from '../helpers/app.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import { createFakePaySimulator, type FakePaySimulator } from '../../providers/_template/simulator.ts';
import { findGaleraBinaries, GaleraCluster } from '../helpers/galera.ts';
import { listen, mountSimulator, readAll, type Listening } from '../helpers/sim-server.ts';

const binaries = findGaleraBinaries();
const ORDERS = 40;
const REFUND_PAIRS = 30;
const JOB_ORDERS = 30;
/** How much later the second of two simultaneous migrations starts, per round (ms): each lands in another window of knex's races. */
const MIGRATION_OFFSETS_MS = [0, 4, 8, 15, 40];

interface Rig {
  cluster: GaleraCluster;
  dbs: Db[];
  bank: { sim: FakePaySimulator; simBase: string; close: () => Promise<void> };
  fanOut: Listening;
  apps: TestApp[];
  /** Certification and deadlock retries, from both gateways' metrics. */
  retries: () => Promise<number>;
}

let rig: Promise<Rig> | undefined;

/** One cluster, one database, one provider bank and two gateways for the whole file. */
function setUp(): Promise<Rig> {
  rig ??= (async () => {
    if ('missing' in binaries) throw new Error(`missing packages: ${binaries.missing.join(', ')}`);
    const cluster = new GaleraCluster(binaries);
    await cluster.start();
    const name = `pg_galera_${randomBytes(4).toString('hex')}`;
    const admin = await mysql.createConnection({ uri: cluster.writerUrl });
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await admin.end();
    // Straight to node 1 and node 2: two writers.
    const dbs = [openDb(`${cluster.nodeUrl(1)}/${name}`), openDb(`${cluster.nodeUrl(2)}/${name}`)];
    await migrateLatest(dbs[0]!);
    const bank = await mountSimulator('/sim/fakepay', (baseUrl) => createFakePaySimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, 'applied'));
    // The provider's notifies go to the fan-out, which hands each one to both gateways at the same
    // moment and answers with the first gateway's answer.
    const apps: TestApp[] = [];
    const fanOut = await listen(async (req, res) => {
      const body = await readAll(req);
      const answers = await Promise.all(
        apps.map((app) =>
          fetch(app.url + req.url!, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' }, body: req.method === 'GET' ? undefined : body }).then(
            async (r) => ({ status: r.status, text: await r.text() }),
            () => ({ status: 502, text: 'unreachable' }),
          ),
        ),
      );
      res.writeHead(answers[0]!.status, { 'content-type': 'text/plain' }).end(answers[0]!.text);
    });
    const providers = { fakepay: { default: { ...bank.sim.accountConfig(), callbackBaseUrl: fanOut.base } } };
    for (const db of dbs) apps.push(await startApp({ db, kind: 'mysql', url: '', close: async () => {} }, { modules: [fakePayModule()], providers }));
    const retries = async () => {
      let n = 0;
      for (const app of apps) {
        const text = await app.metrics.registry.getSingleMetricAsString('paygate_db_retries_total');
        for (const m of text.matchAll(/^paygate_db_retries_total\{[^}]*reason="(deadlock|version)"[^}]*\} (\d+)/gm)) n += Number(m[2]);
      }
      return n;
    };
    return { cluster, dbs, bank, fanOut, apps, retries };
  })();
  return rig;
}

function clusterTest(title: string, fn: (t: import('ava').ExecutionContext, rig: Rig) => Promise<void>): void {
  if ('missing' in binaries) {
    if (process.env.CI === 'true') test(title, (t) => t.fail(`CI must run the Galera tests; missing packages: ${binaries.missing.join(', ')}`));
    else test.skip(`${title} — skipped: install ${binaries.missing.join(', ')}`, () => {});
    return;
  }
  test.serial(title, async (t) => {
    t.timeout(5 * 60_000);
    await fn(t, await setUp());
  });
}

test.after.always(async () => {
  const r = await rig?.catch(() => undefined);
  if (!r) return;
  for (const app of r.apps) await app.close().catch(() => undefined);
  for (const db of r.dbs) await db.destroy().catch(() => undefined);
  await r.fanOut.close();
  await r.bank.sim.close();
  await r.bank.close();
  await r.cluster.destroy();
});

clusterTest('galera, two writers: every notify at both gateways at once; one transition and one payment.paid per order', async (t, r) => {
  const [one, two] = r.apps as [TestApp, TestApp];
  // Orders made through both gateways (both nodes).
  const created = await Promise.all(Array.from({ length: ORDERS }, (_, i) => (i % 2 ? two : one).api('POST', '/v1/payments', paymentBody(), {}, one.merchant)));
  t.true(created.every((c) => c.status === 201), created.find((c) => c.status !== 201)?.text ?? '');
  const before = await r.retries();
  await Promise.all(created.map((c) => r.bank.sim.pay(c.body.orderNo)));
  await Promise.all([one.background.drain(), two.background.drain()]);

  const ids = created.map((c) => c.body.id as string);
  const db = r.dbs[0]!;
  // Read on node 1 after both nodes wrote: wait for node 1 to have applied everything committed.
  await db.raw('SET SESSION wsrep_sync_wait = 1');
  const statuses = await db('orders').whereIn('id', ids).select('id', 'status');
  t.deepEqual(
    statuses.filter((o: { status: string }) => o.status !== 'paid'),
    [],
    'every order paid',
  );
  const transitions = await db('order_transitions').whereIn('order_id', ids).where({ to_status: 'paid' }).count({ n: '*' }).first();
  t.is(Number(transitions!.n), ORDERS, 'one transition to paid per order');
  const events = await db('events').whereIn('order_id', ids).where({ type: 'payment.paid' }).count({ n: '*' }).first();
  t.is(Number(events!.n), ORDERS, 'one payment.paid per order');
  const retried = (await r.retries()) - before;
  t.log(`${ORDERS} orders, each notify at both gateways (node 1 and node 2) at once: ${retried} transactions run again after losing certification or a version race`);
  await db.raw('SET SESSION wsrep_sync_wait = 0');
});

clusterTest('galera, two writers: refunds of one order through both gateways at once never add up to more than paid', async (t, r) => {
  const [one, two] = r.apps as [TestApp, TestApp];
  const paid = 10_000;
  const each = 6_000; // one fits, two would not
  const created = await Promise.all(
    Array.from({ length: REFUND_PAIRS }, () => one.api('POST', '/v1/payments', paymentBody({ amount: paid, items: [{ sku: 'A', name: 'Tea', unitAmount: paid, quantity: 1 }] }))),
  );
  t.true(created.every((c) => c.status === 201));
  await Promise.all(created.map((c) => r.bank.sim.pay(c.body.orderNo)));
  await Promise.all([one.background.drain(), two.background.drain()]);
  const before = await r.retries();
  // Per order, two refunds at the same moment, one through each node: each reservation reads what
  // is reserved on its own node; only certification can tell one of them about the other.
  const pairs = await Promise.all(
    created.map((c) => Promise.all([one, two].map((app) => app.api('POST', `/v1/payments/${c.body.id}/refunds`, { amount: each }, {}, one.merchant)))),
  );
  await Promise.all([one.background.drain(), two.background.drain()]);
  const outcomes = pairs.map((pair) => pair.map((a) => (a.status === 201 ? a.body.status : `${a.status} ${a.body.error?.code}`)).sort().join(' + '));
  const expected = '409 refund_exceeds_payment + succeeded';
  t.deepEqual(
    outcomes.filter((o) => o !== expected),
    [],
    `per order one refund is made and the other refused before the provider is asked (${expected})`,
  );
  const db = r.dbs[1]!;
  await db.raw('SET SESSION wsrep_sync_wait = 1');
  for (const c of created) {
    const rows = await db('refunds').where({ order_id: c.body.id }).select('status', 'amount_minor');
    const ours = rows.filter((row: { status: string }) => row.status === 'succeeded').reduce((n: number, row: { amount_minor: unknown }) => n + Number(row.amount_minor), 0);
    t.is(ours, each);
    t.is(r.bank.sim.byOrderNo(c.body.orderNo)!.refunded, ours, 'the provider gave back exactly what was recorded');
  }
  await db.raw('SET SESSION wsrep_sync_wait = 0');
  t.log(`${REFUND_PAIRS} orders, two refunds of 6,000 on 10,000 at once through node 1 and node 2: ${(await r.retries()) - before} transactions run again`);
});

clusterTest('galera, two writers: workers on both nodes claim the same reconciliation, expiry and webhook rows; each is done once', async (t, r) => {
  const [one, two] = r.apps as [TestApp, TestApp];
  const seen = new Map<string, number>();
  const receiver = await listen(async (req, res) => {
    const body = JSON.parse(await readAll(req)) as { id: string };
    seen.set(body.id, (seen.get(body.id) ?? 0) + 1);
    res.writeHead(200).end('ok');
  });
  try {
    await setWebhookUrl(r.dbs[0]!, one.merchant.id, `${receiver.base}/hooks`);
    const created = await Promise.all(Array.from({ length: JOB_ORDERS }, (_, i) => (i % 2 ? two : one).api('POST', '/v1/payments', paymentBody(), {}, one.merchant)));
    t.true(created.every((c) => c.status === 201));
    // Half are paid at the provider without a word to paygate (reconciliation must find them); the
    // other half are never paid (expiry must end them).
    const paidQuietly = created.filter((_, i) => i % 2 === 0);
    const unpaid = created.filter((_, i) => i % 2 === 1);
    for (const c of paidQuietly) {
      const res = await fetch(`${r.bank.simBase}/_control/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderNo: c.body.orderNo, notify: false }) });
      t.is(res.status, 200, await res.text());
    }
    // Two days on: every order is past its expiry and old enough to reconcile.
    const later = (deps: CoreDeps): CoreDeps => ({ ...deps, now: () => new Date(Date.now() + 2 * 86_400_000) });
    const workers = (make: (deps: CoreDeps, owner: string) => Job) => [make(later(one.deps), 'node1-worker'), make(later(two.deps), 'node2-worker')];
    const before = await r.retries();
    // Both workers at once, round after round, until a round finds nothing (at least three rounds).
    const rounds = async (jobs: Job[]) => {
      for (let i = 0; i < 100; i++) {
        const handled = await Promise.all(jobs.map((job) => job.run()));
        if (i >= 2 && handled.every((n) => n === 0)) return;
      }
    };
    await rounds(workers((deps, owner) => reconcileJob(deps, owner, { minAgeMs: 0, batch: 10 })));
    await rounds(workers((deps, owner) => expiryJob(deps, owner, { batch: 10 })));
    await rounds(workers((deps, owner) => webhookDeliveryJob(deps, owner, { batch: 10 })));

    const db = r.dbs[0]!;
    await db.raw('SET SESSION wsrep_sync_wait = 1');
    const statusOf = new Map((await db('orders').whereIn('id', created.map((c) => c.body.id)).select('id', 'status')).map((o: { id: string; status: string }) => [o.id, o.status]));
    t.deepEqual(paidQuietly.map((c) => statusOf.get(c.body.id)), paidQuietly.map(() => 'paid'), 'reconciliation found every quiet payment');
    t.deepEqual(unpaid.map((c) => statusOf.get(c.body.id)), unpaid.map(() => 'expired'), 'expiry ended every unpaid order');
    const moves = await db('order_transitions').whereIn('order_id', created.map((c) => c.body.id)).whereIn('to_status', ['paid', 'expired']).select('order_id', 'to_status');
    t.is(moves.length, JOB_ORDERS, 'one transition per order, whichever worker made it');
    const events = (await db('events').where({ merchant_id: one.merchant.id }).whereIn('order_id', created.map((c) => c.body.id)).select({ id: 'public_id', delivery_status: 'delivery_status' })) as { id: string; delivery_status: string }[];
    await db.raw('SET SESSION wsrep_sync_wait = 0');
    t.deepEqual(events.filter((e) => e.delivery_status !== 'delivered').map((e) => `${e.id} ${e.delivery_status}`), [], 'every event delivered');
    t.deepEqual(events.filter((e) => seen.get(e.id) !== 1).map((e) => `${e.id}×${seen.get(e.id) ?? 0}`), [], 'each event reached the merchant exactly once');
    t.log(`${JOB_ORDERS} orders, ${events.length} events, workers on node 1 and node 2 at once: ${(await r.retries()) - before} claims or writes run again after losing certification`);
  } finally {
    await receiver.close();
  }
});

/** What two databases' schemas are made of (columns and indexes), to compare them. */
async function schemaOf(db: Db): Promise<string[]> {
  const name = (db.client.config.connection as { database: string }).database;
  const [columns] = (await db.raw(
    'SELECT table_name AS t, column_name AS c, column_type AS type, is_nullable AS n, column_default AS d, extra AS x FROM information_schema.columns WHERE table_schema = ?',
    [name],
  )) as [Record<string, unknown>[]];
  const [indexes] = (await db.raw(
    'SELECT table_name AS t, index_name AS i, column_name AS c, seq_in_index AS s, non_unique AS u FROM information_schema.statistics WHERE table_schema = ?',
    [name],
  )) as [Record<string, unknown>[]];
  return [...columns.map((r) => `column ${JSON.stringify(r)}`), ...indexes.map((r) => `index ${JSON.stringify(r)}`)].sort();
}

clusterTest('galera: two gateways migrating one fresh database at the same moment through node 1 and node 2 both start, on one schema, each migration recorded once', async (t, r) => {
  const all = (await migrationSource.getMigrations([])).map((m) => migrationSource.getMigrationName(m));
  const reference = await schemaOf(r.dbs[0]!);
  for (const [round, offset] of MIGRATION_OFFSETS_MS.entries()) {
    const name = `pg_migrate_${round}_${randomBytes(3).toString('hex')}`;
    const admin = await mysql.createConnection({ uri: r.cluster.nodeUrl(1) });
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await admin.end();
    // Node 2 has applied the CREATE DATABASE before its gateway connects.
    const second = await mysql.createConnection({ uri: r.cluster.nodeUrl(2) });
    await second.query('SET SESSION wsrep_sync_wait = 1');
    await second.query(`SHOW DATABASES LIKE '${name}'`);
    await second.end();
    const dbs = [openDb(`${r.cluster.nodeUrl(1)}/${name}`), openDb(`${r.cluster.nodeUrl(2)}/${name}`)] as const;
    // What is checked after, and the gateways that run on it: reads that wait for the node to have
    // applied what the cluster committed (multi-writer, docs/high-availability.md#reads-after-writes).
    const synced = [openDb(`${r.cluster.nodeUrl(1)}/${name}?wsrep_sync_wait=1`), openDb(`${r.cluster.nodeUrl(2)}/${name}?wsrep_sync_wait=1`)] as const;
    const apps: TestApp[] = [];
    try {
      const started = Date.now();
      // What each gateway's boot does (server/bootstrap.ts), at the same moment on two nodes.
      const outcomes = await Promise.allSettled([migrateLatest(dbs[0]), (async () => {
        await new Promise((resolve) => setTimeout(resolve, offset));
        return migrateLatest(dbs[1]);
      })()]);
      const ms = Date.now() - started;
      t.deepEqual(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason)), [], `round ${round}: both migrations finished`);
      const applied = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : []));
      t.deepEqual([...applied[0]!, ...applied[1]!].sort(), all, `round ${round}: every migration applied by exactly one of the two`);
      const recorded = (await synced[0]('knex_migrations').select('name')).map((row: { name: string }) => row.name).sort();
      t.deepEqual(recorded, all, `round ${round}: each migration recorded once`);
      const lock = await synced[0]('knex_migrations_lock').select('is_locked');
      t.deepEqual(lock.map((row: { is_locked: number }) => Number(row.is_locked)), [0], `round ${round}: one lock row, free`);
      t.deepEqual(await schemaOf(synced[1]), reference, `round ${round}: the same schema as a database migrated by one process`);
      // Restarted together: both migrate again, on a database that is up to date.
      const again = await Promise.allSettled(dbs.map((db) => migrateLatest(db)));
      t.deepEqual(again.map((o) => (o.status === 'fulfilled' ? o.value : String(o.reason))), [[], []], `round ${round}: both find nothing to do`);
      // Both gateways run on it: a payment made through each, read back through the other.
      for (const db of synced) apps.push(await startApp({ db, kind: 'mysql', url: '', close: async () => {} }));
      const [one, two] = apps as [TestApp, TestApp];
      const made = await Promise.all([one.api('POST', '/v1/payments', paymentBody(), {}, one.merchant), two.api('POST', '/v1/payments', paymentBody(), {}, one.merchant)]);
      t.deepEqual(made.map((m) => m.status), [201, 201], made.map((m) => m.text).join('\n'));
      const seen = await Promise.all([two.api('GET', `/v1/payments/${made[0].body.id}`, undefined, {}, one.merchant), one.api('GET', `/v1/payments/${made[1].body.id}`, undefined, {}, one.merchant)]);
      t.deepEqual(seen.map((s) => s.status), [200, 200]);
      t.log(`round ${round} (second ${offset} ms later): ${applied.map((a) => a.length).join(' + ')} migrations applied, ${ms} ms`);
    } finally {
      for (const app of apps) await app.close().catch(() => undefined);
      for (const db of [...dbs, ...synced]) await db.destroy();
    }
  }
});

clusterTest('galera: /metrics shows the wsrep cluster size and state of the node a gateway reaches, and nothing of the kind off Galera', async (t, r) => {
  const text = await r.apps[1]!.metrics.render();
  t.regex(text, /^paygate_db_wsrep_cluster_size 3$/m);
  t.regex(text, /^paygate_db_wsrep_local_state 4$/m, 'Synced');
  // Off Galera: a plain MariaDB server (the suite's, when there is one) and SQLite.
  const plain = [openDb('sqlite::memory:'), ...(process.env.PAYGATE_TEST_MYSQL_URL ? [openDb(process.env.PAYGATE_TEST_MYSQL_URL)] : [])];
  try {
    for (const db of plain) {
      if (db.client.config.client === 'better-sqlite3') await migrateLatest(db);
      const metrics = new GatewayMetrics({ db, logger: silentLogger });
      t.notRegex(await metrics.render(), /wsrep/, String(db.client.config.client));
      t.notRegex(await metrics.render(), /wsrep/, 'still not, the second time');
    }
  } finally {
    for (const db of plain) await db.destroy();
  }
});

clusterTest('galera: ?wsrep_sync_wait=1 in DATABASE_URL makes a node read what another node committed a moment before', async (t, r) => {
  const name = (r.dbs[0]!.client.config.connection as { database: string }).database;
  const reader = openDb(`${r.cluster.nodeUrl(3)}/${name}?wsrep_sync_wait=1`);
  try {
    const [[session]] = (await reader.raw('SELECT @@session.wsrep_sync_wait AS w')) as [[{ w: number }]];
    t.is(Number(session.w), 1);
    // Written on node 1, read at once on node 3, a hundred times: never missing.
    let missed = 0;
    for (let i = 0; i < 100; i++) {
      const key = `sync-wait-${i}-${randomBytes(4).toString('hex')}`;
      await r.dbs[0]!('settings').insert({ name: key, value: 'x', created_at: Date.now() });
      if (!(await reader('settings').where({ name: key }).first())) missed++;
    }
    t.is(missed, 0);
  } finally {
    await reader.destroy();
  }
});
