/**
 * retryingTransaction (core/db.ts): a transaction the database rolled back whole runs again, with a
 * bounded, jittered pause, counted by reason; anything else is the caller's at once.
 */
import test from 'ava';
import { knexConfig, retryingTransaction, transactionBackoffMs, transactionRetryReason, TRANSACTION_ATTEMPTS } from '../../core/db.ts';
import { ConfigError } from '../../core/errors.ts';
import { dbTest } from '../helpers/db.ts';

const deadlock = () => Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });

function recorder() {
  const seen: [string, string][] = [];
  return { seen, metrics: { dbRetry: (operation: string, reason: string) => void seen.push([operation, reason]) } };
}

test('the reasons: deadlock and certification (1213), lock wait (1205), SQLite busy, a Galera node not ready (1047); nothing else', (t) => {
  t.is(transactionRetryReason(deadlock()), 'deadlock');
  t.is(transactionRetryReason({ errno: 1205 }), 'lock_wait');
  t.is(transactionRetryReason({ code: 'SQLITE_BUSY_SNAPSHOT' }), 'busy');
  t.is(transactionRetryReason({ code: 'ER_UNKNOWN_COM_ERROR', errno: 1047 }), 'not_ready');
  t.is(transactionRetryReason({ code: 'ER_DUP_ENTRY', errno: 1062 }), null);
  t.is(transactionRetryReason(new Error('boom')), null);
  t.is(transactionRetryReason(undefined), null);
});

test('the pause doubles from 10 ms up to 250 ms, jittered over its upper half', (t) => {
  t.is(transactionBackoffMs(1, () => 0), 10);
  t.is(transactionBackoffMs(1, () => 0.999999), 19.99999);
  t.is(transactionBackoffMs(2, () => 0), 20);
  t.is(transactionBackoffMs(10, () => 1), 250);
  for (let attempt = 1; attempt < 20; attempt++) {
    const ms = transactionBackoffMs(attempt);
    t.true(ms >= Math.min(250, 10 * 2 ** attempt) / 2 && ms <= 250, `attempt ${attempt}: ${ms}`);
  }
});

dbTest('a transaction rolled back whole runs again from the start, and only its last write stays', async (t, h) => {
  await h.db.schema.createTable('retry_probe', (tb) => {
    tb.integer('id').primary();
    tb.integer('n').notNullable();
  });
  try {
    await h.db('retry_probe').insert({ id: 1, n: 0 });
    const { seen, metrics } = recorder();
    let runs = 0;
    const result = await retryingTransaction(
      h.db,
      async (trx) => {
        runs++;
        await trx('retry_probe').where({ id: 1 }).increment('n', 1);
        if (runs < 3) throw deadlock();
        return (await trx('retry_probe').where({ id: 1 }).first()).n;
      },
      { operation: 'probe', metrics },
    );
    t.is(runs, 3);
    t.is(result, 1, 'the rolled-back runs left nothing behind');
    t.deepEqual(seen, [
      ['probe', 'deadlock'],
      ['probe', 'deadlock'],
    ]);

    const other = recorder();
    let once = 0;
    await t.throwsAsync(
      retryingTransaction(
        h.db,
        async () => {
          once++;
          throw Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY' });
        },
        { operation: 'probe', metrics: other.metrics },
      ),
      { message: 'dup' },
    );
    t.is(once, 1, 'anything else is not retried');

    let always = 0;
    await t.throwsAsync(
      retryingTransaction(h.db, async () => {
        always++;
        throw deadlock();
      }, { operation: 'probe', metrics: other.metrics }),
      { code: 'ER_LOCK_DEADLOCK' } as never,
    );
    t.is(always, TRANSACTION_ATTEMPTS, 'bounded');
    t.is(other.seen.length, TRANSACTION_ATTEMPTS - 1);

    let raced = 0;
    const versioned = recorder();
    await retryingTransaction(h.db, async () => {
      if (++raced < 2) throw new RangeError('lost the version race');
    }, { operation: 'probe', metrics: versioned.metrics, retryAlso: (err) => (err instanceof RangeError ? 'version' : null) });
    t.deepEqual(versioned.seen, [['probe', 'version']]);
  } finally {
    await h.db.schema.dropTableIfExists('retry_probe');
  }
});

dbTest('two transactions taking two rows in opposite order both land: MariaDB picks a victim that runs again; SQLite runs them one after the other', async (t, h) => {
  await h.db.schema.createTable('retry_pair', (tb) => {
    tb.integer('id').primary();
    tb.integer('n').notNullable();
  });
  try {
    await h.db('retry_pair').insert([{ id: 1, n: 0 }, { id: 2, n: 0 }]);
    const { seen, metrics } = recorder();
    // Each holds its first row until the other has taken its own: the second lock of one of them
    // closes the cycle, and InnoDB rolls one back (1213).
    let holding = 0;
    const bothHold = async () => {
      holding++;
      for (let i = 0; i < 200 && holding < 2; i++) await new Promise((r) => setTimeout(r, 10));
    };
    const cross = (first: number, second: number) =>
      retryingTransaction(
        h.db,
        async (trx) => {
          await trx('retry_pair').where({ id: first }).increment('n', 1);
          await bothHold();
          await trx('retry_pair').where({ id: second }).increment('n', 1);
        },
        { operation: `cross_${first}`, metrics },
      );
    await Promise.all([cross(1, 2), cross(2, 1)]);
    const rows = await h.db('retry_pair').orderBy('id');
    t.deepEqual(rows.map((r: { n: number }) => r.n), [2, 2], 'both transactions landed once each');
    if (h.kind === 'mysql') t.true(seen.some(([, reason]) => reason === 'deadlock'), JSON.stringify(seen));
    else t.deepEqual(seen, [], 'one writer at a time: nothing to retry');
  } finally {
    await h.db.schema.dropTableIfExists('retry_pair');
  }
});

test('DATABASE_URL ?wsrep_sync_wait=N sets it on every MySQL connection; anything but 0-15 is refused naming DATABASE_URL', (t) => {
  const plain = knexConfig('mysql://u:p@127.0.0.1:3306/paygate');
  t.is((plain.pool as { afterCreate?: unknown }).afterCreate, undefined);
  const waiting = knexConfig('mysql://u:p@127.0.0.1:3306/paygate?wsrep_sync_wait=1');
  const sent: string[] = [];
  (waiting.pool as { afterCreate: (conn: unknown, done: (err: Error | null) => void) => void }).afterCreate(
    { query: (sql: string, cb: (err: Error | null) => void) => (sent.push(sql), cb(null)) },
    (err) => t.is(err, null),
  );
  t.deepEqual(sent, ['SET SESSION wsrep_sync_wait = 1']);
  t.is((waiting.connection as { database: string }).database, 'paygate', 'the query string is not part of the database name');
  for (const bad of ['16', '-1', '1.5', 'x', '']) {
    const err = t.throws(() => knexConfig(`mysql://u:p@127.0.0.1/paygate?wsrep_sync_wait=${bad}`), { instanceOf: ConfigError });
    t.is(err.details[0]!.path, 'DATABASE_URL');
  }
});
