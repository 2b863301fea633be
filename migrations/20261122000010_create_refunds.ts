import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('refunds', (t) => {
    utf8mb4(knex, t);
    t.string('id', 40).primary();
    // Our refund number: what the provider sees (Alipay's out_request_no), unique.
    t.string('refund_no', 32).notNullable().unique();
    t.string('order_id', 40).notNullable().references('id').inTable('orders');
    t.string('merchant_id', 40).notNullable().references('id').inTable('merchants');
    t.bigInteger('amount_minor').notNullable();
    t.string('currency', 3).notNullable();
    // pending (reserved, provider not yet sure) | succeeded | failed
    t.string('status', 16).notNullable();
    t.string('provider_refund_no', 128).nullable();
    t.string('reason', 500).nullable();
    t.string('failure_code', 64).nullable();
    t.string('failure_message', 500).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['order_id', 'status'], 'refunds_order_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('refunds');
}
