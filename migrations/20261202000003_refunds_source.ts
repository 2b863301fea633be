import type { Knex } from 'knex';

// Who made a refund: `merchant` (through the API or the dashboard) or `provider` (made in the
// provider's own back office and learned from its news; core/decide.ts).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refunds', (t) => {
    t.string('source', 16).notNullable().defaultTo('merchant');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refunds', (t) => {
    t.dropColumn('source');
  });
}
