import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { claimRows } from '../../core/jobs/lease.ts';
import { JobRunner, failureDelay } from '../../core/jobs/runner.ts';
import { silentLogger } from '../../core/logger.ts';
import test from 'ava';
import { dbTest, openTestDb, testDbKinds } from '../helpers/db.ts';
import { CLAIM_ATTEMPTS } from '../../core/jobs/lease.ts';

const run = promisify(execFile);

async function insertRows(db: any, tag: string, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const [id] = await db('provider_callbacks').insert({
      provider: 'fakepay',
      account: tag,
      kind: 'notify',
      dedupe_key: `${tag}-${i}`,
      http_method: 'POST',
      content_type: 'text/plain',
      raw_body: '',
      raw_query: '',
      headers_json: '{}',
      received_at: 0,
      attempts: 0,
      next_attempt_at: 0,
    });
    ids.push(Number(id));
  }
  return ids;
}

const claim = (db: any, tag: string, owner: string, now: Date, limit = 25, leaseMs = 60_000) =>
  claimRows<{ id: number }>(db, {
    table: 'provider_callbacks',
    where: (q) => q.where({ account: tag }).whereNull('processed_at'),
    orderBy: 'id',
    limit,
    leaseMs,
    owner,
    now,
  });

dbTest('concurrent claims never hand one row to two workers', async (t, { db }) => {
  const tag = `c${Date.now()}`;
  const ids = await insertRows(db, tag, 40);
  const now = new Date();
  // SKIP LOCKED may pass over a row another claim is looking at; the next round takes it.
  const all: number[] = [];
  for (let round = 0; round < 10 && all.length < ids.length; round++) {
    const claims = await Promise.all([claim(db, tag, 'A', now, 10), claim(db, tag, 'B', now, 10), claim(db, tag, 'C', now, 10)]);
    all.push(...claims.flat().map((r) => Number(r.id)));
  }
  t.is(new Set(all).size, all.length, 'no row claimed twice');
  t.deepEqual([...all].sort((x, y) => x - y), ids);
});

/** `db` whose next `losses` transactions fail the way MariaDB fails a deadlock's victim. */
function losingDeadlocks(db: any, losses: number): { db: any; tried: () => number } {
  let tried = 0;
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop !== 'transaction') return Reflect.get(target, prop, target);
      return (...args: unknown[]) => {
        tried++;
        if (tried <= losses) {
          const err = Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
          return Promise.reject(err);
        }
        return target.transaction(...args);
      };
    },
  });
  return { db: proxy, tried: () => tried };
}

// The claim's deadlock path is MariaDB's (SQLite claims in one statement under its write lock).
if (testDbKinds().includes('mysql')) {
  test('[mariadb] a claim that loses a deadlock is tried again and takes its rows', async (t) => {
    const h = await openTestDb('mysql');
    t.teardown(() => h.close());
    const tag = `d${Date.now()}`;
    const ids = await insertRows(h.db, tag, 3);
    const losing = losingDeadlocks(h.db, CLAIM_ATTEMPTS - 1);
    const rows = await claim(losing.db, tag, 'A', new Date());
    t.is(losing.tried(), CLAIM_ATTEMPTS, 'tried until it won');
    t.deepEqual(rows.map((r) => Number(r.id)), ids);
  });

  test('[mariadb] a claim that keeps losing deadlocks claims nothing this run, throws nothing and leaves the rows free', async (t) => {
    const h = await openTestDb('mysql');
    t.teardown(() => h.close());
    const tag = `e${Date.now()}`;
    const ids = await insertRows(h.db, tag, 2);
    const losing = losingDeadlocks(h.db, CLAIM_ATTEMPTS);
    t.deepEqual(await claim(losing.db, tag, 'A', new Date()), []);
    t.is(losing.tried(), CLAIM_ATTEMPTS);
    const rows = await h.db('provider_callbacks').whereIn('id', ids);
    t.true(rows.every((r: any) => r.lease_owner === null), 'nothing half-claimed');
    t.is((await claim(h.db, tag, 'B', new Date())).length, 2, 'the next run takes them');
  });

  test('[mariadb] errors other than lock conflicts still fail the claim', async (t) => {
    const h = await openTestDb('mysql');
    t.teardown(() => h.close());
    const broken = new Proxy(h.db, {
      get(target, prop) {
        if (prop !== 'transaction') return Reflect.get(target, prop, target);
        return () => Promise.reject(Object.assign(new Error('Table is read only'), { code: 'ER_OPEN_AS_READONLY', errno: 1036 }));
      },
    });
    await t.throwsAsync(claim(broken, 'x', 'A', new Date()), { message: /read only/ });
  });
}

dbTest('a worker that dies leaves its rows to another once the lease runs out', async (t, { db }) => {
  const tag = `k${Date.now()}`;
  await insertRows(db, tag, 3);
  const t0 = new Date();
  const first = await claim(db, tag, 'dead-worker', t0, 10, 1_000);
  t.is(first.length, 3);
  t.is((await claim(db, tag, 'other', new Date(t0.getTime() + 500))).length, 0, 'still leased');
  const taken = await claim(db, tag, 'other', new Date(t0.getTime() + 1_500));
  t.is(taken.length, 3, 'lease expired: taken over');
});

dbTest('three worker processes share the rows without overlap', async (t, h) => {
  const tag = `p${Date.now()}`;
  const ids = await insertRows(h.db, tag, 60);
  const outputs = await Promise.all(
    ['w1', 'w2', 'w3'].map((owner) => run(process.execPath, ['--import=tsx', 'test/helpers/claim-worker.ts', h.url, owner, tag], { cwd: process.cwd() })),
  );
  const handled = outputs.flatMap((o) => JSON.parse(o.stdout) as number[]);
  t.is(new Set(handled).size, handled.length, 'no row handled twice');
  t.deepEqual([...handled].sort((x, y) => x - y), ids);
  const rows = await h.db('provider_callbacks').whereIn('id', ids);
  t.true(rows.every((r: any) => r.processed_at !== null));
});

test('the job runner runs jobs, repeats full batches at once and records failures', async (t) => {
  let calls = 0;
  let failing = 0;
  const runner = new JobRunner(
    [
      { name: 'counts', intervalMs: 10_000, run: async () => (++calls < 3 ? 1 : 0) },
      { name: 'breaks', intervalMs: 10_000, run: async () => { failing++; throw new Error('boom'); } },
    ],
    silentLogger,
  );
  runner.start();
  const deadline = Date.now() + 5_000;
  while ((calls < 3 || failing < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await runner.stop();
  t.is(calls, 3, 'two busy runs were followed at once by a third, then it waits its interval');
  const health = Object.fromEntries(runner.status().map((s) => [s.name, s]));
  t.is(health.counts!.handled, 2);
  t.is(health.breaks!.failures, 1);
  t.is(health.breaks!.lastError, 'boom');
  await t.throwsAsync(runner.runOnce('breaks'), { message: 'boom' });
  await t.throwsAsync(runner.runOnce('nope'), { message: /no job named/ });
});

test('a job that keeps failing waits longer each time, up to a ceiling, and looks often again once it succeeds', async (t) => {
  t.is(failureDelay(250, 1), 500);
  t.is(failureDelay(250, 2), 1_000);
  t.is(failureDelay(250, 4), 4_000);
  t.is(failureDelay(250, 9), 5_000, 'never more than the ceiling');
  t.is(failureDelay(10_000, 1), 10_000, 'never sooner than its own interval');
  // A job looking every 10 ms that fails for a while: with the backoff it runs a handful of times in
  // a second, not a hundred; once it succeeds it is back to its interval.
  let runs = 0;
  let failUntil = Date.now() + 1_000;
  const runner = new JobRunner(
    [
      {
        name: 'flaky',
        intervalMs: 10,
        run: async () => {
          runs++;
          if (Date.now() < failUntil) throw new Error('database away');
          return 0;
        },
      },
    ],
    silentLogger,
  );
  runner.start();
  await new Promise((r) => setTimeout(r, 1_000));
  const failing = runs;
  t.true(failing >= 1 && failing <= 4, `runs while failing: ${failing}`);
  failUntil = 0;
  await new Promise((r) => setTimeout(r, 2_500));
  await runner.stop();
  t.true(runs - failing > 20, `runs once healthy again: ${runs - failing}`);
});
