import type { Knex } from 'knex';

// An order taken by a provider simulator (the demo, tests) is marked for good: its "paid" moved no
// money, and the mark stays with it in the API, events, pages and the dashboard even after the same
// database is later run with real accounts.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.boolean('simulated').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('simulated');
  });
}
