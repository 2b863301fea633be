import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../core/db.ts';
import { startCheckpointer } from '../../core/sqlite-checkpoint.ts';
import { createLogger } from '../../server/logger.ts';

const logger = createLogger('silent');

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

const pragma = async (db: ReturnType<typeof openDb>, name: string): Promise<number> => {
  const rows = (await db.raw(`PRAGMA ${name}`)) as Record<string, number>[];
  return Number(Object.values(rows[0]!)[0]);
};

/** A SQLite file of its own with one table, removed after the test. */
async function freshFile(t: ExecutionContext): Promise<{ file: string; db: ReturnType<typeof openDb> }> {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-ckpt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'db.sqlite');
  const db = openDb(`sqlite:${file}`);
  t.teardown(() => db.destroy());
  await db.schema.createTable('t', (table) => {
    table.increments('id');
    table.string('v', 2000);
  });
  return { file, db };
}

test('commits never checkpoint; the thread copies the log into the database file', async (t) => {
  const { file, db } = await freshFile(t);
  const checkpointer = await startCheckpointer(db, logger, { intervalMs: 3_600_000 });
  t.truthy(checkpointer);
  t.is(await pragma(db, 'wal_autocheckpoint'), 0);
  const before = statSync(file).size;
  // Well past SQLite's automatic threshold (1,000 pages): with it on, a commit would have copied the log.
  for (let i = 0; i < 1_500; i++) await db('t').insert({ v: 'x'.repeat(1_500) });
  t.is(statSync(file).size, before, 'no commit copied the log into the database file');
  t.true(statSync(`${file}-wal`).size > 1_000 * 4096);
  await checkpointer!.stop();
  t.true(statSync(file).size > before + 1_500 * 1_500, 'the thread checkpointed before it stopped');
  t.is(await pragma(db, 'wal_autocheckpoint'), 1_000, 'automatic checkpoints are back once the thread is gone');
});

test('the thread checkpoints on its interval', async (t) => {
  const { file, db } = await freshFile(t);
  const checkpointer = (await startCheckpointer(db, logger, { intervalMs: 30 }))!;
  t.teardown(() => checkpointer.stop());
  const before = statSync(file).size;
  for (let i = 0; i < 200; i++) await db('t').insert({ v: 'y'.repeat(1_500) });
  t.true(await until(() => checkpointer.stats.runs > 0 && statSync(file).size > before + 200 * 1_500));
  t.is(checkpointer.stats.errors, 0);
});

test('nothing to do for MariaDB or an in-memory database', async (t) => {
  const memory = openDb('sqlite::memory:');
  const mysql = openDb('mysql://user:fake@127.0.0.1:1/none');
  t.teardown(() => Promise.all([memory.destroy(), mysql.destroy()]));
  t.is(await startCheckpointer(memory, logger), null);
  t.is(await startCheckpointer(mysql, logger), null);
});
