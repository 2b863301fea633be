/**
 * Writes test/schema/schema-snapshot.json: the landed migrations (name + sha256) and the schema they
 * produce on SQLite. Run it after adding a migration:
 *
 *   npx tsx test/schema/update-snapshot.ts
 *
 * test/schema/schema.test.ts imports the builders below and compares against the committed file.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATIONS_DIR, migrateLatest, openDb, type Db } from '../../core/db.ts';

export const SNAPSHOT_PATH = join(dirname(fileURLToPath(import.meta.url)), 'schema-snapshot.json');
export const UPDATE_COMMAND = 'npx tsx test/schema/update-snapshot.ts';

export interface MigrationEntry {
  name: string;
  sha256: string;
}

export interface ColumnSnapshot {
  name: string;
  type: string;
  notnull: boolean;
  default: string | null;
  pk: number;
}

export interface IndexSnapshot {
  name: string;
  unique: boolean;
  columns: string[];
}

export interface ForeignKeySnapshot {
  columns: string[];
  table: string;
  references: string[];
}

export interface TableSnapshot {
  columns: ColumnSnapshot[];
  indexes: IndexSnapshot[];
  foreignKeys: ForeignKeySnapshot[];
}

export interface SchemaSnapshot {
  migrations: MigrationEntry[];
  schema: Record<string, TableSnapshot>;
}

/** Top-level *.ts files of migrations/ (helpers/ is not a migration), sorted by name. */
export function migrationEntries(dir: string = MIGRATIONS_DIR): MigrationEntry[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => e.name)
    .sort()
    .map((name) => ({ name, sha256: createHash('sha256').update(readFileSync(join(dir, name))).digest('hex') }));
}

type Row = Record<string, unknown>;

async function pragma(db: Db, sql: string): Promise<Row[]> {
  return (await db.raw(sql)) as Row[];
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The normalised SQLite schema: every table but knex's own, its columns, indexes and foreign keys. */
export async function readSqliteSchema(db: Db): Promise<Record<string, TableSnapshot>> {
  const tables = (await pragma(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`))
    .map((r) => String(r.name))
    .filter((name) => !name.startsWith('knex_migrations'));

  const schema: Record<string, TableSnapshot> = {};
  for (const table of tables) {
    const columns = (await pragma(db, `PRAGMA table_info(${quote(table)})`))
      .map((c) => ({
        name: String(c.name),
        type: String(c.type),
        notnull: Number(c.notnull) === 1,
        default: c.dflt_value === null || c.dflt_value === undefined ? null : String(c.dflt_value),
        pk: Number(c.pk),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));

    const indexes: IndexSnapshot[] = [];
    for (const index of await pragma(db, `PRAGMA index_list(${quote(table)})`)) {
      const name = String(index.name);
      const cols = (await pragma(db, `PRAGMA index_info(${quote(name)})`))
        .sort((a, b) => Number(a.seqno) - Number(b.seqno)) // column order inside an index matters: keep it
        .map((c) => String(c.name));
      indexes.push({ name, unique: Number(index.unique) === 1, columns: cols });
    }
    indexes.sort((a, b) => a.name.localeCompare(b.name));

    const byId = new Map<number, ForeignKeySnapshot>();
    for (const fk of (await pragma(db, `PRAGMA foreign_key_list(${quote(table)})`)).sort((a, b) => Number(a.id) - Number(b.id) || Number(a.seq) - Number(b.seq))) {
      const entry = byId.get(Number(fk.id)) ?? { columns: [], table: String(fk.table), references: [] };
      entry.columns.push(String(fk.from));
      entry.references.push(String(fk.to));
      byId.set(Number(fk.id), entry);
    }
    const foreignKeys = [...byId.values()].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

    schema[table] = { columns, indexes, foreignKeys };
  }
  return schema;
}

/** Runs every migration on a fresh in-memory SQLite database and reads the result. */
export async function buildSqliteSchema(): Promise<Record<string, TableSnapshot>> {
  const db = openDb('sqlite::memory:');
  try {
    await migrateLatest(db);
    return await readSqliteSchema(db);
  } finally {
    await db.destroy();
  }
}

export async function buildSnapshot(): Promise<SchemaSnapshot> {
  return { migrations: migrationEntries(), schema: await buildSqliteSchema() };
}

export function readSnapshot(path: string = SNAPSHOT_PATH): SchemaSnapshot {
  return JSON.parse(readFileSync(path, 'utf8')) as SchemaSnapshot;
}

async function main(): Promise<void> {
  const snapshot = await buildSnapshot();
  writeFileSync(SNAPSHOT_PATH, `${JSON.stringify(snapshot, null, 2)}\n`);
  console.log(`wrote ${SNAPSHOT_PATH}: ${snapshot.migrations.length} migrations, ${Object.keys(snapshot.schema).length} tables`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
