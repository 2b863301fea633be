/**
 * Every migration added since the first schema can be undone on a database that holds data, and
 * done again: down() keeps the rows other tables point at (a SQLite table rebuild would fail its
 * foreign keys inside a transaction: core/db.ts rollbackConfig), on both databases.
 */
import test from 'ava';
import { rollbackConfig } from '../../core/db.ts';
import { createMerchant } from '../../core/merchants.ts';
import { openTestDb, testDbKinds } from '../helpers/db.ts';

for (const kind of testDbKinds()) {
  test(`the later migrations roll back one by one with a merchant and the rows that point at it in place, and apply again [${kind === 'mysql' ? 'mariadb' : 'sqlite'}]`, async (t) => {
    t.timeout(120_000);
    const h = await openTestDb(kind);
    t.teardown(() => h.close());
    const { merchant } = await createMerchant(h.db, { name: 'Rollback shop' });
    await h.db('idempotency_keys').insert({ merchant_id: merchant.id, key: 'k-1', request_hash: 'h', response_status: null, response_body: null, locked_until: 0, created_at: 0 });
    const undone: string[] = [];
    // Down to the migrations that made the first tables (they drop whole tables, data and all).
    while (undone.length < 13) {
      const [, names] = (await h.db.migrate.down(rollbackConfig(h.db))) as [number, string[]];
      if (names.length === 0) break;
      undone.push(...names);
      t.is((await h.db('merchants').where({ id: merchant.id })).length, 1, `the merchant survives undoing ${names.join(', ')}`);
    }
    t.is(undone.length, 13, undone.join('\n'));
    t.true(undone.includes('20261203100001_merchant_display.ts'));
    t.is((await h.db('idempotency_keys').where({ merchant_id: merchant.id })).length, 1);
    const [, again] = (await h.db.migrate.latest()) as [number, string[]];
    t.deepEqual([...again].sort(), [...undone].sort(), 'and every one applies again');
  });
}
