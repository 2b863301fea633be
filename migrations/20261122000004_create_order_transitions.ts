import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('order_transitions', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id').primary();
    t.string('order_id', 40).notNullable().references('id').inTable('orders');
    t.string('from_status', 24).notNullable();
    t.string('to_status', 24).notNullable();
    t.string('cause', 500).notNullable();
    // api | callback:<provider_callbacks.id> | reconcile | expiry
    t.string('source', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['order_id', 'id'], 'order_transitions_order_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('order_transitions');
}
