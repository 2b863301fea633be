import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { migrateLatest, openDb } from '../../core/db.ts';
import { authenticateMerchant } from '../../core/merchants.ts';
import { ensureDemoMerchant } from '../../server/bootstrap.ts';
import { dbTest, openTestDb, type TestDbKind } from '../helpers/db.ts';

const run = promisify(execFile);

/** A fresh, unmigrated database of the same kind as the test's, closed afterwards. */
async function withFreshDb(kind: TestDbKind, fn: (url: string) => Promise<void>): Promise<void> {
  const fresh = await openTestDb(kind, { migrate: false });
  await fresh.db.destroy();
  try {
    await fn(fresh.url);
  } finally {
    await fresh.close().catch(() => undefined);
  }
}

const cli = (url: string, ...args: string[]) =>
  run(process.execPath, ['--import=tsx', 'server/cli.ts', ...args], { env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' } });

dbTest('the CLI migrates, creates a merchant whose printed key works, lists and rotates it', async (t, h) => {
  await withFreshDb(h.kind, async (url) => {
    const migrated = await cli(url, 'migrate');
    t.regex(migrated.stdout, /create_orders/);
    const created = await cli(url, 'merchant:create', '--name', 'Tea shop');
    const key = /API key:\s+(\S+)/.exec(created.stdout)?.[1];
    const id = /merchant:\s+(mch_\S+)/.exec(created.stdout)?.[1];
    t.truthy(key);
    t.truthy(id);
    const db = openDb(url);
    try {
      t.is((await authenticateMerchant(db, key!))?.name, 'Tea shop');
      t.false(JSON.stringify(await db('merchants').select()).includes(key!), 'only the hash is stored');
      const listed = await cli(url, 'merchant:list');
      t.true(listed.stdout.includes(id!));
      t.false(listed.stdout.includes(key!));
      const rotated = await cli(url, 'merchant:rotate-key', '--id', id!);
      const next = /new API key:\s+(\S+)/.exec(rotated.stdout)?.[1];
      t.truthy(next);
      t.is(await authenticateMerchant(db, key!), undefined, 'the old key stops working');
      t.is((await authenticateMerchant(db, next!))?.id, id);
    } finally {
      await db.destroy();
    }
    const usage = await t.throwsAsync(cli(url, 'merchant:create'));
    t.regex(String((usage as { stderr?: string }).stderr), /--name is required/);
  });
});

dbTest('an empty database gets a demo merchant, with PAYGATE_DEMO_API_KEY when given, once', async (t, h) => {
  await withFreshDb(h.kind, async (url) => {
    const db = openDb(url);
    try {
      await migrateLatest(db);
      const out = new PassThrough();
      let printed = '';
      out.on('data', (c) => (printed += String(c)));
      const key = 'pgk_demo_key_for_tests_only_0000000';
      await ensureDemoMerchant(db, key, out);
      t.true(printed.includes(key));
      t.is((await authenticateMerchant(db, key))?.name, 'Demo shop');
      printed = '';
      await ensureDemoMerchant(db, key, out);
      t.is(printed, '', 'not again once a merchant exists');
      t.is(Number((await db('merchants').count({ n: '*' }).first())!.n), 1);
    } finally {
      await db.destroy();
    }
  });
});
