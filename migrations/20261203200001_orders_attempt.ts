import type { Knex } from 'knex';

// Which try at the provider the order is on (1 for the first). A provider whose trades take a new
// reference for each try (NewebPay's MerchantOrderNo may never be used twice) builds it from this;
// "pay again" after a failure counts it up (docs/architecture.md#paying-again).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.integer('attempt').notNullable().defaultTo(1);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('attempt');
  });
}
