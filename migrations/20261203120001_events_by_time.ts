import type { Knex } from 'knex';

// The merchant's events are listed newest first by creation time, not by id: on a Galera cluster
// auto-increment ids interleave across nodes (node 1 takes 1, 4, 7…), so a later event may carry a
// lower id (docs/high-availability.md).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.index(['merchant_id', 'created_at', 'id'], 'events_merchant_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.dropIndex(['merchant_id', 'created_at', 'id'], 'events_merchant_time_idx');
  });
}
