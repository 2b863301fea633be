import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { claimRows } from '../../core/jobs/lease.ts';
import { JobRunner } from '../../core/jobs/runner.ts';
import { silentLogger } from '../../core/logger.ts';
import test from 'ava';
import { dbTest } from '../helpers/db.ts';

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
