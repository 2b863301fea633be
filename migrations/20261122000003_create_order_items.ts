import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('order_items', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id').primary();
    t.string('order_id', 40).notNullable().references('id').inTable('orders');
    t.integer('line_no').notNullable();
    t.string('sku', 64).notNullable();
    t.string('name', 256).notNullable();
    t.bigInteger('unit_price_minor').notNullable();
    t.integer('quantity').notNullable();
    t.bigInteger('amount_minor').notNullable();
    t.unique(['order_id', 'line_no'], { indexName: 'order_items_order_line_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('order_items');
}
