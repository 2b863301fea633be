import type { Knex } from 'knex';

// The merchant's own key-value notes on a payment (`metadata`: string keys and values), stored as
// JSON text as given, returned by the API and carried in every event about the payment.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.text('metadata_json').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('metadata_json');
  });
}
