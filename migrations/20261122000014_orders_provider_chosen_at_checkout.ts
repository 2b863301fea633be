import type { Knex } from 'knex';

// A hosted checkout creates the order before the buyer picks a provider: until then the provider,
// account and method are not known (NULL), and nothing is sent to any provider.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.string('provider', 32).nullable().alter();
    t.string('provider_account', 64).nullable().alter();
    t.string('provider_method', 32).nullable().alter();
    // What the buyer may pick from (JSON list of {provider, account, method}); NULL for direct orders.
    t.text('choices_json').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  // Orders whose buyer never chose cannot satisfy NOT NULL: they are removed with their items.
  const unchosen = knex('orders').whereNull('provider').select('id');
  await knex('order_transitions').whereIn('order_id', unchosen).delete();
  await knex('events').whereIn('order_id', knex('orders').whereNull('provider').select('id')).delete();
  await knex('order_items').whereIn('order_id', knex('orders').whereNull('provider').select('id')).delete();
  await knex('orders').whereNull('provider').delete();
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('choices_json');
  });
  await knex.schema.alterTable('orders', (t) => {
    t.string('provider', 32).notNullable().alter();
    t.string('provider_account', 64).notNullable().alter();
    t.string('provider_method', 32).notNullable().alter();
  });
}
