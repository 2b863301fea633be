import type { Knex } from 'knex';

// Workers read back the rows they just claimed by their lease token; without an index that read
// scans the whole inbox on every claim.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('provider_callbacks', (t) => {
    t.index(['lease_owner'], 'provider_callbacks_lease_owner_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('provider_callbacks', (t) => {
    t.dropIndex(['lease_owner'], 'provider_callbacks_lease_owner_idx');
  });
}
