import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

// The merchant-event outbox: written in the same transaction as the change it reports, delivered
// to the merchant's webhook by the worker with retries.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('events', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id').primary();
    t.string('public_id', 40).notNullable().unique();
    t.string('merchant_id', 40).notNullable().references('id').inTable('merchants');
    t.string('order_id', 40).nullable();
    t.string('type', 40).notNullable();
    t.text('payload_json').notNullable();
    t.bigInteger('created_at').notNullable();
    // pending | delivered | failed (gave up) | skipped (no webhook URL)
    t.string('delivery_status', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.bigInteger('delivered_at').nullable();
    t.string('lease_owner', 80).nullable();
    t.bigInteger('lease_until').nullable();
    t.index(['delivery_status', 'next_attempt_at'], 'events_delivery_idx');
    t.index(['merchant_id', 'id'], 'events_merchant_idx');
    t.index(['lease_owner'], 'events_lease_owner_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('events');
}
