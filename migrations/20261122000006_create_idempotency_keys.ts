import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idempotency_keys', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id').primary();
    t.string('merchant_id', 40).notNullable().references('id').inTable('merchants');
    t.string('key', 255).notNullable();
    // sha256 of method, path and body: the same key with another request is a 409.
    t.string('request_hash', 64).notNullable();
    t.integer('response_status').nullable(); // NULL while the first request is still running
    t.text('response_body').nullable();
    t.bigInteger('locked_until').notNullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['merchant_id', 'key'], { indexName: 'idempotency_keys_merchant_key_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys');
}
