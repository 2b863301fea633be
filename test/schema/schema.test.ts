/**
 * Pins the schema (Ghost's habit): landed migrations may not change, and the schema they produce must
 * match test/schema/schema-snapshot.json. After adding a migration: npx tsx test/schema/update-snapshot.ts
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import type { Knex } from 'knex';
import { mysqlRequired, openTestDb, testDbKinds, type TestDbKind } from '../helpers/db.ts';
import {
  SNAPSHOT_PATH,
  UPDATE_COMMAND,
  buildSqliteSchema,
  migrationEntries,
  readSnapshot,
  type MigrationEntry,
  type SchemaSnapshot,
} from './update-snapshot.ts';

/** What is wrong with the migrations on disk compared with the snapshot, one sentence each. */
function migrationProblems(landed: readonly MigrationEntry[], current: readonly MigrationEntry[]): string[] {
  const problems: string[] = [];
  const now = new Map(current.map((m) => [m.name, m.sha256]));
  const before = new Map(landed.map((m) => [m.name, m.sha256]));
  for (const { name, sha256 } of landed) {
    const sha = now.get(name);
    if (sha === undefined) {
      problems.push(`migration ${name} was removed: landed migrations stay (add a new migration that undoes it instead)`);
    } else if (sha !== sha256) {
      problems.push(`a landed migration was edited: add a new migration instead (${name} changed)`);
    }
  }
  for (const { name } of current) {
    if (!before.has(name)) {
      problems.push(`migration ${name} is not in the schema snapshot: run ${UPDATE_COMMAND} and commit test/schema/schema-snapshot.json`);
    }
  }
  return problems;
}

function loadSnapshot(t: ExecutionContext): SchemaSnapshot | undefined {
  if (!existsSync(SNAPSHOT_PATH)) {
    t.fail(`${SNAPSHOT_PATH} is missing: run ${UPDATE_COMMAND}`);
    return undefined;
  }
  return readSnapshot();
}

test('landed migrations are unchanged, none removed, none missing from the snapshot', (t) => {
  const snapshot = loadSnapshot(t);
  if (!snapshot) return;
  t.true(snapshot.migrations.length > 0, 'the snapshot lists no migrations');
  const problems = migrationProblems(snapshot.migrations, migrationEntries());
  t.deepEqual(problems, [], problems.join('\n'));
});

test('the schema the migrations produce on SQLite matches the snapshot', async (t) => {
  const snapshot = loadSnapshot(t);
  if (!snapshot) return;
  const actual = await buildSqliteSchema();
  t.true(Object.keys(actual).includes('orders'), 'the migrations produced no orders table');
  t.deepEqual(
    actual,
    snapshot.schema,
    `the schema changed: if you added a migration, run ${UPDATE_COMMAND}` +
      ' (and never edit a landed migration: add a new one)',
  );
});

test('migrationProblems names each kind of drift', (t) => {
  const a = { name: '20261122000001_a.ts', sha256: 'aa' };
  const b = { name: '20261122000002_b.ts', sha256: 'bb' };
  const c = { name: '20261122000003_c.ts', sha256: 'cc' };
  t.deepEqual(migrationProblems([a, b], [a, b]), []);

  const edited = migrationProblems([a, b], [a, { ...b, sha256: 'b2' }]);
  t.is(edited.length, 1);
  t.regex(edited[0]!, /a landed migration was edited: add a new migration instead/);
  t.regex(edited[0]!, /20261122000002_b\.ts/);

  const removed = migrationProblems([a, b], [a]);
  t.is(removed.length, 1);
  t.regex(removed[0]!, /20261122000002_b\.ts was removed/);

  const added = migrationProblems([a, b], [a, b, c]);
  t.is(added.length, 1);
  t.regex(added[0]!, /20261122000003_c\.ts is not in the schema snapshot: run npx tsx test\/schema\/update-snapshot\.ts/);

  t.is(migrationProblems([a, b], [{ ...a, sha256: 'x' }, c]).length, 3);
});

test('the snapshot covers every top-level migration file and only those', (t) => {
  const names = migrationEntries().map((m) => m.name);
  t.true(names.length >= 6);
  t.true(names.every((n) => /^\d{14}_[a-z0-9_]+\.ts$/.test(n)), `unexpected migration file name in ${names.join(', ')}`);
  t.false(names.some((n) => n.includes('table-options')), 'helpers/ must not count as a migration');
});

// ---------------------------------------------------------------------------------------------
// latest → rollback all → latest, on a fresh unmigrated database of each kind

const LABEL: Record<TestDbKind, string> = { sqlite: 'sqlite', mysql: 'mariadb' };

async function appTables(db: Knex, kind: TestDbKind): Promise<string[]> {
  let names: string[];
  if (kind === 'sqlite') {
    const rows = (await db.raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`)) as Array<{ name: string }>;
    names = rows.map((r) => r.name);
  } else {
    const [rows] = (await db.raw(
      'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
    )) as [Array<{ name: string }>, unknown];
    names = rows.map((r) => r.name);
  }
  return names.filter((n) => !n.startsWith('knex_migrations')).sort();
}

function perKind(title: string, fn: (t: ExecutionContext, kind: TestDbKind) => Promise<void>): void {
  const kinds = testDbKinds();
  for (const kind of kinds) test(`${title} [${LABEL[kind]}]`, (t) => fn(t, kind));
  if (!kinds.includes('mysql')) {
    if (mysqlRequired()) {
      test(`${title} [mariadb]`, (t) => t.fail('PAYGATE_TEST_REQUIRE_MYSQL=1 but PAYGATE_TEST_MYSQL_URL is not set'));
    } else {
      test.skip(`${title} [mariadb] — skipped: no MariaDB on this machine (set PAYGATE_TEST_MYSQL_URL)`, () => {});
    }
  }
}

perKind('migrations: latest → rollback all → latest', async (t, kind) => {
  const expected = Object.keys(readSnapshot().schema).sort();
  const handle = await openTestDb(kind, { migrate: false });
  try {
    const { db } = handle;
    t.deepEqual(await appTables(db, kind), [], 'the fresh database is not empty');

    const [, first] = (await db.migrate.latest()) as [number, string[]];
    t.is(first.length, migrationEntries().length, 'latest did not apply every migration');
    t.deepEqual(await appTables(db, kind), expected, 'latest produced other tables than the snapshot');

    const [, undone] = (await db.migrate.rollback(undefined, true)) as [number, string[]];
    t.is(undone.length, first.length, 'rollback --all did not undo every migration');
    t.deepEqual(await appTables(db, kind), [], 'a table survived rollback --all: some down() is incomplete');

    const [, again] = (await db.migrate.latest()) as [number, string[]];
    t.deepEqual([...again].sort(), [...first].sort());
    t.deepEqual(await appTables(db, kind), expected);
    t.true(await db.schema.hasColumn('orders', 'version'));
  } finally {
    await handle.close();
  }
});
