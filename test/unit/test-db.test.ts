import { dbTest } from '../helpers/db.ts';

dbTest('test database is migrated', async (t, { db }) => {
  t.true(await db.schema.hasTable('orders'));
  t.true(await db.schema.hasTable('provider_callbacks'));
});

dbTest('test database default charset is utf8mb4', async (t, { db, kind }) => {
  if (kind !== 'mysql') {
    t.pass('SQLite has no per-database charset');
    return;
  }
  const [rows] = (await db.raw(
    `SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co
       FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()`,
  )) as [Array<{ cs: string; co: string }>, unknown];
  t.is(rows.length, 1);
  t.is(rows[0]!.cs, 'utf8mb4');
  t.is(rows[0]!.co, 'utf8mb4_bin');
});
