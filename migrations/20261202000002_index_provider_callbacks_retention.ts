import type { Knex } from 'knex';

// The retention job (core/jobs/callback-retention.ts) finds old unverified rows by these columns;
// without an index each run would scan the whole inbox.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('provider_callbacks', (t) => {
    t.index(['verified', 'received_at'], 'provider_callbacks_retention_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('provider_callbacks', (t) => {
    t.dropIndex(['verified', 'received_at'], 'provider_callbacks_retention_idx');
  });
}
