import type { Knex } from 'knex';

// Faults (the provider could not be asked) are counted apart from attempts, and reset by an answer.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.integer('reconcile_faults').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('reconcile_faults');
  });
}
