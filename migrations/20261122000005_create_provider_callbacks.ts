import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

// The inbox (docs/architecture.md#the-inbox): every provider request is written here raw before anything else happens.
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  await knex.schema.createTable('provider_callbacks', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id').primary();
    t.string('provider', 32).notNullable();
    t.string('account', 64).notNullable();
    t.string('kind', 8).notNullable(); // notify | return
    // Alipay notify_id, SinoPac PayToken... NULL when the request carries none (several NULLs are allowed).
    t.string('dedupe_key', 191).nullable();
    t.string('http_method', 8).notNullable();
    t.string('content_type', 200).notNullable();
    if (mysql) t.text('raw_body', 'mediumtext').notNullable();
    else t.text('raw_body').notNullable();
    t.text('raw_query').notNullable();
    t.text('headers_json').notNullable();
    t.bigInteger('received_at').notNullable();
    t.boolean('verified').nullable(); // NULL until checked
    t.bigInteger('processed_at').nullable();
    t.string('outcome', 32).nullable();
    t.string('error', 1000).nullable();
    t.string('order_id', 40).nullable();
    // Retry bookkeeping for the worker that finishes rows stored but not processed.
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.string('lease_owner', 80).nullable();
    t.bigInteger('lease_until').nullable();
    t.unique(['provider', 'account', 'dedupe_key', 'kind'], { indexName: 'provider_callbacks_dedupe_unique' });
    t.index(['processed_at', 'next_attempt_at'], 'provider_callbacks_pending_idx');
    t.index(['order_id'], 'provider_callbacks_order_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('provider_callbacks');
}
