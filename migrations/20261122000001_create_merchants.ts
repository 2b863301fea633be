import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

// Times are BIGINT milliseconds since the epoch (UTC) throughout: one representation on SQLite and
// MySQL alike, with no driver or session time-zone conversions in between.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('merchants', (t) => {
    utf8mb4(knex, t);
    t.string('id', 40).primary();
    t.string('name', 200).notNullable();
    t.string('api_key_hash', 64).notNullable().unique();
    t.string('webhook_url', 2000).nullable();
    t.string('webhook_secret', 100).notNullable();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('merchants');
}
