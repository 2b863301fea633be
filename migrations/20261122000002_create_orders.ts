import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('orders', (t) => {
    utf8mb4(knex, t);
    t.string('id', 40).primary();
    t.string('merchant_id', 40).notNullable().references('id').inTable('merchants');
    t.string('merchant_order_id', 64).notNullable();
    t.string('order_no', 20).notNullable().unique();
    t.string('subject', 256).notNullable();
    t.string('currency', 3).notNullable();
    t.bigInteger('amount_minor').notNullable();
    t.string('status', 24).notNullable();
    t.string('provider', 32).notNullable();
    t.string('provider_account', 64).notNullable();
    t.string('provider_method', 32).notNullable();
    t.string('provider_trade_no', 128).nullable();
    // The next action the buyer follows (redirect, form, ATM instructions) while it is still usable.
    t.text('action_json').nullable();
    // The provider's decline code and message when the order failed.
    t.string('failure_code', 64).nullable();
    t.string('failure_message', 500).nullable();
    t.string('return_url', 2000).nullable();
    t.bigInteger('paid_at').nullable();
    t.bigInteger('expires_at').notNullable();
    t.boolean('attention').notNullable().defaultTo(false);
    t.string('attention_reason', 500).nullable();
    t.integer('version').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.unique(['merchant_id', 'merchant_order_id'], { indexName: 'orders_merchant_order_unique' });
    t.index(['status', 'updated_at'], 'orders_status_updated_idx');
    t.index(['merchant_id', 'created_at'], 'orders_merchant_created_idx');
    t.index(['status', 'expires_at'], 'orders_status_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('orders');
}
