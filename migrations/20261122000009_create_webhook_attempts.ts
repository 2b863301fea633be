import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

// Every delivery attempt of a merchant event, kept for the merchant's and the operator's eyes.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_attempts', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id').primary();
    t.bigInteger('event_id').unsigned().notNullable().references('id').inTable('events');
    t.string('url', 2000).notNullable();
    t.bigInteger('attempted_at').notNullable();
    t.integer('duration_ms').notNullable();
    t.integer('response_status').nullable();
    t.string('error', 500).nullable();
    t.index(['event_id', 'id'], 'webhook_attempts_event_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_attempts');
}
